"""Canary traps for screenplays: every recipient's copy of a Fountain script spells a few
hundred places its own way ("don't" / "do not", "someone" / "somebody", an optional comma),
driven by their codeword from the same Tardos code as the video watermark.

    sites = site_count(master)                       # where copies may differ
    code = TardosCode.generate(key, sites, colluders=2, bias="uniform")
    copy = mark_script(master, code.codeword(j), key)
    pdf = render_pdf(copy, recipient="Jane Doe", copy_id="7F3A-19C2")

Reading a leaked excerpt back is `detect`'s job; it needs `find_sites` and `SiteCode` from
here to know which spelling means which bit. The rules are listed, one by one and with the
reason each is safe, in watermark/script/variants.py.
"""

from watermark.script.canary import SiteCode, mark_script, rules_fingerprint, site_count
from watermark.script.from_pdf import fountain_from_pdf
from watermark.script.layout import Layout, lay_out
from watermark.script.pdf import footer_text, render_pdf
from watermark.script.sites import Site, find_sites, rewrite
from watermark.script.variants import RELIABILITY, RULE_SETS, RULES, RULES_VERSION
from watermark.script.wraps import WrapPlan, WrapSite, find_wraps

__all__ = [
    "RELIABILITY",
    "RULES",
    "RULES_VERSION",
    "RULE_SETS",
    "Layout",
    "Site",
    "SiteCode",
    "WrapPlan",
    "WrapSite",
    "find_sites",
    "find_wraps",
    "footer_text",
    "fountain_from_pdf",
    "lay_out",
    "mark_script",
    "render_pdf",
    "rewrite",
    "rules_fingerprint",
    "site_count",
]

"""The canary trap: each recipient's copy spells the sites after their codeword.

A script's sites are its word sites (sites.py) followed by the bits of its wrap sites
(wraps.py: one per site, then one more per three-way site), one index space for all. Site
k carries code position `positions[k]`, a keyed permutation of the code's positions
repeated as often as needed: consecutive sites fall on distinct positions, so an excerpt of
fewer sites than the code is long never reads the same bit twice. The spelling at site k is
`forms[bit XOR flips[k]]` with a keyed flip per site, so the master's own spelling is not
tied to one bit value and the copies show the master's spelling at about half the sites.

The code is the video's `TardosCode`; the text reads hard, near-noiseless bits from few
positions, which is why it is generated with `bias="uniform"` (see watermark/tardos.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from watermark.errors import WatermarkError
from watermark.keyed import keyed_rng
from watermark.script.fountain import VARIABLE
from watermark.script.layout import LINE_MARKERS, LINES_PER_PAGE, width_of
from watermark.script.sites import Site, apply_edits, edits, find_sites
from watermark.script.variants import (
    KEEPS_UNSTABLE_SITES,
    RULES_VERSION,
    SCANS_PAST_REJECTED,
    rule_set,
)
from watermark.script.wraps import MIN_FILL, find_wraps

__all__ = ["SiteCode", "mark_script", "rules_fingerprint", "site_count"]

_DOMAIN = b"vault/watermark/script/v1"
_FIELDS_SINCE_3 = frozenset({"slots", "cast_only"})  # Rule fields version 3 did not have


@dataclass(frozen=True, eq=False)
class SiteCode:
    """Where each site's bit lives in the codeword, and its keyed flip."""

    positions: np.ndarray  # code position of site k
    flips: np.ndarray  # 0/1 per site

    @classmethod
    def derive(cls, sites: int, code_length: int, key: bytes) -> SiteCode:
        if code_length < 1:
            raise WatermarkError("the code must have at least one position")
        order = keyed_rng(_DOMAIN, b"positions", key, code_length).permutation(code_length)
        positions = order[np.arange(sites) % code_length]
        flips = keyed_rng(_DOMAIN, b"flips", key, sites).integers(0, 2, size=sites)
        return cls(positions=positions.astype(np.int64), flips=flips.astype(np.uint8))

    def forms(self, codeword: np.ndarray) -> np.ndarray:
        """Which spelling (0/1) each site shows in the copy of this codeword."""
        bits = np.asarray(codeword, dtype=np.uint8)
        return bits[self.positions] ^ self.flips

    def evidence(self, forms: np.ndarray, confidence: np.ndarray, code_length: int) -> np.ndarray:
        """Soft evidence per code position from the spelling read at each site.

        forms[k] is the spelling seen at site k, confidence[k] in [0, 1] how sure the reading
        is (0: not seen). Repeated positions add up, clipped to [-1, 1]: agreeing readings
        reinforce, and two colluders' opposite spellings of one bit cancel.
        """
        bits = np.asarray(forms, dtype=np.uint8) ^ self.flips
        signed = np.asarray(confidence, dtype=np.float64) * (2.0 * bits - 1.0)
        values = np.zeros(code_length)
        np.add.at(values, self.positions, signed)
        return np.clip(values, -1.0, 1.0)


def rules_fingerprint(rules: str = RULES_VERSION) -> str:
    """SHA-256 of the data that decides where a copy may differ: every rule of that version
    (all its fields but the note; a field added since version 3 only where a rule sets it,
    so older versions keep their fingerprint), the line plan's widths and limits, and how
    matches are searched. Tests pin it per version, and pin copies of a test scene byte for
    byte, so a change to the rules or to the code that moves sites cannot ship under the
    version of copies it could no longer read."""
    listed = [
        [
            getattr(r, f.name)
            for f in fields(r)
            if f.name != "note" and (f.name not in _FIELDS_SINCE_3 or getattr(r, f.name))
        ]
        for r in rule_set(rules)
    ]
    widths = sorted((k.value, width_of(k)) for k in VARIABLE)
    plan = (widths, LINES_PER_PAGE, MIN_FILL, LINE_MARKERS)
    if rules not in SCANS_PAST_REJECTED:
        plan = (*plan, "retries rejected matches")
    if rules not in KEEPS_UNSTABLE_SITES:
        plan = (*plan, "keeps only stable sites")
    return hashlib.sha256(repr((listed, plan)).encode()).hexdigest()


def site_count(text: str, rules: str = RULES_VERSION) -> int:
    """Word sites plus wrap sites: the code length a script needs, one position per site."""
    return len(find_sites(text, rules)) + find_wraps(text, rules).bits


def mark_script(
    text: str,
    codeword: np.ndarray,
    key: bytes,
    *,
    sites: Sequence[Site] | None = None,
    rules: str = RULES_VERSION,
) -> str:
    """The recipient's copy: the master with every site spelled after `codeword`, its lines
    broken as printed, under the canary rules of version `rules`.

    Same inputs, same copy; two copies differ only inside sites. Pass `sites` (from
    `find_sites(text, rules)`) when marking many copies of one script.
    """
    found = list(find_sites(text, rules) if sites is None else sites)
    wraps = find_wraps(text, rules)
    if not found and not wraps.sites:
        raise WatermarkError(
            "the script has no sites where a copy can differ (no action or dialogue with "
            "contractions, optional commas or the other variants, and no line that could "
            "break elsewhere)",
            "every copy would be identical, so a leak could not be traced",
        )
    code = np.asarray(codeword)
    if code.ndim != 1 or code.size < 1:
        raise WatermarkError("the codeword must be a non-empty 1-d array of bits")
    forms = SiteCode.derive(len(found) + wraps.bits, code.size, key).forms(code)
    changes = edits(found, forms[: len(found)]) + wraps.edits(forms[len(found) :].tolist())
    return apply_edits(text, changes)

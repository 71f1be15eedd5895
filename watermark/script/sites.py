"""Sites: the places in a screenplay where a copy may show either of two spellings.

Every rule of `variants.RULES` is matched over the action and dialogue of the script (never
headings, cues, transitions, notes, boneyard or the title page). Where two matches overlap
the one that starts first wins, then the one listed first, so the sites are deterministic,
in document order and disjoint. Each site stores both spellings as they would stand in that
place (case and apostrophe of the text), so a copy is the master with some spans swapped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from watermark.script.fountain import VARIABLE, Kind, masked, parse
from watermark.script.rules import RuleMatch, match_case
from watermark.script.variants import RULES

__all__ = ["Site", "find_sites", "rewrite"]

_SENTENCE_START = re.compile(r"(?:^[ \t(\"“]*|[.!?][\"'’”)]*[ \t]+[(\"“]?)$")


@dataclass(frozen=True)
class Site:
    """One variant site: text[start:end] shows forms[used]; forms[1 - used] may replace it."""

    index: int
    start: int
    end: int
    rule: str
    kind: str
    forms: tuple[str, str]
    used: int

    @property
    def shown(self) -> str:
        return self.forms[self.used]


def find_sites(text: str) -> list[Site]:
    """All variant sites of a Fountain script, in document order, non-overlapping."""
    return list(_find_sites(text))


@lru_cache(maxsize=8)  # a master is searched again by the layout and by every trace
def _find_sites(text: str) -> tuple[Site, ...]:
    elements = [e for e in parse(text) if e.kind in VARIABLE]
    if not elements:
        return ()
    visible = masked(text)  # notes inside a line of dialogue are spaces here
    starts = [e.start for e in elements]
    ends = [e.end for e in elements]

    found: list[tuple[int, int, RuleMatch]] = []
    for order, rule in enumerate(RULES):
        for match in rule.matches(visible):
            element = _element_of(match.start, match.end, starts, ends)
            if element is None:
                continue
            kind = elements[element].kind
            if rule.action_only and kind is not Kind.ACTION:
                continue
            if rule.dialogue_only and kind is not Kind.DIALOGUE:
                continue
            found.append((match.start, order, match))
    found.sort(key=lambda item: (item[0], item[1]))

    apostrophe = "’" if text.count("’") > text.count("'") else "'"
    sites: list[Site] = []
    last_end = -1
    for start, _, match in found:
        if start < last_end:
            continue
        sites.append(_site(text, len(sites), match, apostrophe))
        last_end = match.end
    return tuple(sites)


def _element_of(start: int, end: int, starts: list[int], ends: list[int]) -> int | None:
    """Index of the element that holds [start, end) entirely, if any."""
    i = bisect_right(starts, start) - 1
    return i if i >= 0 and end <= ends[i] else None


def _site(text: str, index: int, match: RuleMatch, apostrophe: str) -> Site:
    shown = text[match.start : match.end]
    line_start = text.rfind("\n", 0, match.start) + 1
    line_end = text.find("\n", match.end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    letters = [c for c in line if c.isalpha()]
    other = match_case(
        match.rule.forms[1 - match.used],
        shown,
        apostrophe=apostrophe,
        sentence_start=bool(_SENTENCE_START.search(text[line_start : match.start])),
        shouting=len(letters) >= 6 and all(c.isupper() for c in letters),
    )
    forms = (shown, other) if match.used == 0 else (other, shown)
    return Site(index, match.start, match.end, match.rule.id, match.rule.kind, forms, match.used)


def rewrite(text: str, sites: Sequence[Site], forms: Sequence[int]) -> str:
    """The text with site k showing sites[k].forms[forms[k]]; everything else untouched."""
    if len(forms) != len(sites):
        raise ValueError(f"{len(forms)} choices for {len(sites)} sites")
    pieces, cursor = [], 0
    for site, form in zip(sites, forms, strict=True):
        pieces.append(text[cursor : site.start])
        pieces.append(site.forms[int(form)])
        cursor = site.end
    pieces.append(text[cursor:])
    return "".join(pieces)

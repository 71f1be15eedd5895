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
from itertools import pairwise

from watermark.script.fountain import VARIABLE, Element, Kind, cue_name, masked, parse
from watermark.script.rules import RuleMatch, match_case
from watermark.script.variants import RULES_VERSION, SCANS_PAST_REJECTED, rule_set

__all__ = ["Edit", "Site", "apply_edits", "edits", "find_sites", "rewrite"]

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


def find_sites(text: str, rules: str = RULES_VERSION) -> list[Site]:
    """All variant sites of a Fountain script under the canary rules of version `rules`, in
    document order, non-overlapping."""
    return list(_find_sites(text, rules))


@lru_cache(maxsize=8)  # a master is searched again by the layout and by every trace
def _find_sites(text: str, rules: str) -> tuple[Site, ...]:
    listed = rule_set(rules)
    parsed = parse(text)
    elements = [e for e in parsed if e.kind in VARIABLE]
    if not elements:
        return ()
    cast = _cast(parsed)
    retry = rules not in SCANS_PAST_REJECTED
    visible = _joined(masked(text), elements)
    starts = [e.start for e in elements]
    ends = [e.end for e in elements]

    found: list[tuple[int, int, RuleMatch]] = []
    for order, rule in enumerate(listed):
        for match in rule.matches(visible, retry_rejected=retry):
            element = _element_of(match.start, match.end, starts, ends)
            if element is None:
                continue
            kind = elements[element].kind
            if rule.action_only and kind is not Kind.ACTION:
                continue
            if rule.dialogue_only and kind is not Kind.DIALOGUE:
                continue
            if rule.cast_only and not all(name.casefold() in cast for name in match.filled):
                continue
            found.append((match.start, order, match))
    found.sort(key=lambda item: (item[0], item[1]))

    apostrophe = "’" if text.count("’") > text.count("'") else "'"
    sites: list[Site] = []
    last_end = -1
    for start, _, match in found:
        if start < last_end:
            continue
        sites.append(_site(text, visible, len(sites), match, apostrophe))
        last_end = match.end
    return tuple(sites)


def _cast(elements: list[Element]) -> frozenset[str]:
    """The script's one-word character names, case-folded ("NADIA (CONT'D)" is "nadia"):
    a cue of two words ("OLD MAN") is left out, so "man" is never taken for a name."""
    names = set()
    for element in elements:
        if element.kind is Kind.CHARACTER:
            words = cue_name(element.text).split()
            if len(words) == 1:
                names.add(words[0].casefold())
    return frozenset(names)


def _element_of(start: int, end: int, starts: list[int], ends: list[int]) -> int | None:
    """Index of the element that holds [start, end) entirely, if any."""
    i = bisect_right(starts, start) - 1
    return i if i >= 0 and end <= ends[i] else None


def _joined(visible: str, elements: list[Element]) -> str:
    """`visible` with the line break between two lines of one paragraph (action after
    action, dialogue after dialogue) made a space, same length: rules judge their context
    across a printed line break, so a copy whose lines break elsewhere (wraps.py) has
    exactly the master's sites."""
    chars = list(visible)
    for a, b in pairwise(elements):
        if a.kind is b.kind and b.line == a.line + 1:
            chars[a.end : b.start] = " " * (b.start - a.end)
    return "".join(chars)


def _site(text: str, visible: str, index: int, match: RuleMatch, apostrophe: str) -> Site:
    shown = text[match.start : match.end]
    line_start = visible.rfind("\n", 0, match.start) + 1
    line_end = visible.find("\n", match.end)
    line = visible[line_start : line_end if line_end >= 0 else len(visible)]
    letters = [c for c in line if c.isalpha()]
    other = match_case(
        match.forms[1 - match.used],
        shown,
        apostrophe=apostrophe,
        sentence_start=bool(_SENTENCE_START.search(visible[line_start : match.start])),
        shouting=len(letters) >= 6 and all(c.isupper() for c in letters),
    )
    forms = (shown, other) if match.used == 0 else (other, shown)
    return Site(index, match.start, match.end, match.rule.id, match.rule.kind, forms, match.used)


Edit = tuple[int, int, str]  # text[start:end] becomes the string


def edits(sites: Sequence[Site], forms: Sequence[int]) -> list[Edit]:
    """The spans to replace so that site k shows sites[k].forms[forms[k]]."""
    if len(forms) != len(sites):
        raise ValueError(f"{len(forms)} choices for {len(sites)} sites")
    return [(s.start, s.end, s.forms[int(f)]) for s, f in zip(sites, forms, strict=True)]


def apply_edits(text: str, changes: Sequence[Edit]) -> str:
    """The text with every (start, end, replacement) applied; spans must not overlap."""
    pieces, cursor = [], 0
    for start, end, replacement in sorted(changes):
        if start < cursor:
            raise ValueError(f"overlapping edits at offset {start}")
        pieces.append(text[cursor:start])
        pieces.append(replacement)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def rewrite(text: str, sites: Sequence[Site], forms: Sequence[int]) -> str:
    """The text with site k showing sites[k].forms[forms[k]]; everything else untouched."""
    return apply_edits(text, edits(sites, forms))

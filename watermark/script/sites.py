"""Sites: the places in a screenplay where a copy may show either of two spellings.

Every rule of `variants.RULES` is matched over the action and dialogue of the script (never
headings, cues, transitions, notes, boneyard or the title page). Where two matches overlap
the one that starts first wins, then the one listed first, so the sites are deterministic,
in document order and disjoint. Each site stores both spellings as they would stand in that
place (case and apostrophe of the text), so a copy is the master with some spans swapped.

Since rules version 6 a site is also *stable*: showing its other spelling changes nothing
the rules find within reach of it. A site that would make a neighbour's context safe or
unsafe ("Suddenly, Marcus and Anna" lets the names swap; "Suddenly Marcus and Anna" does
not) is left as written in every copy, so every copy has exactly the master's sites.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from watermark.script.fountain import VARIABLE, Element, Kind, cue_name, masked, parse
from watermark.script.rules import MAX_CONTEXT, Rule, RuleMatch, lowered_for_rules, match_case
from watermark.script.variants import (
    KEEPS_UNSTABLE_SITES,
    RULES_VERSION,
    SCANS_PAST_REJECTED,
    rule_set,
)

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
    parsed = parse(text)
    elements = [e for e in parsed if e.kind in VARIABLE]
    if not elements:
        return ()
    scan = _Scan(rule_set(rules), elements, _cast(parsed), rules not in SCANS_PAST_REJECTED)
    visible = _joined(masked(text), elements)
    apostrophe = "’" if text.count("’") > text.count("'") else "'"
    found = scan.matches(visible)
    unstable: set[tuple[int, int]] = set()
    while True:
        chosen = _disjoint(m for m in found if (m[0], m[1]) not in unstable)
        sites = [_site(text, visible, k, m, apostrophe) for k, (_, _, m) in enumerate(chosen)]
        if rules in KEEPS_UNSTABLE_SITES:
            return tuple(sites)
        # A site set aside may uncover one it overlapped, which must be judged in turn.
        newly = {
            (m.start, order)
            for (_, order, m), site in zip(chosen, sites, strict=True)
            if not scan.stable(visible, site, unstable)
        }
        if not newly:
            return tuple(sites)
        unstable |= newly


_Match = tuple[int, int, RuleMatch]  # start, the rule's place in the list, the match


class _Scan:
    """The rules of one version matched over a script's visible text, where they may apply."""

    def __init__(
        self, listed: tuple[Rule, ...], elements: list[Element], cast: frozenset[str], retry: bool
    ) -> None:
        self._listed, self._elements, self._cast, self._retry = listed, elements, cast, retry
        self._starts = [e.start for e in elements]
        self._ends = [e.end for e in elements]

    def matches(self, visible: str, start: int = 0, end: int | None = None) -> list[_Match]:
        """Every allowed match in visible[start:end], by start then by rule order.
        `visible` may be the text with one site respelled: where offsets past that site
        moved, `to_text` maps them back to the master's (to find the element)."""
        return self._matches(visible, start, end, lambda offset: offset)

    def _matches(
        self, visible: str, start: int, end: int | None, to_text: Callable[[int], int]
    ) -> list[_Match]:
        found = []
        lowered = lowered_for_rules(visible[start:end])
        for order, rule in enumerate(self._listed):
            if lowered is not None and not rule.may_occur_in(lowered):
                continue
            for match in rule.matches(visible, start, end, retry_rejected=self._retry):
                if self._allowed(rule, match, to_text(match.start), to_text(match.end)):
                    found.append((match.start, order, match))
        found.sort(key=lambda item: (item[0], item[1]))
        return found

    def _allowed(self, rule: Rule, match: RuleMatch, start: int, end: int) -> bool:
        element = _element_of(start, end, self._starts, self._ends)
        if element is None:
            return False
        kind = self._elements[element].kind
        if rule.action_only and kind is not Kind.ACTION:
            return False
        if rule.dialogue_only and kind is not Kind.DIALOGUE:
            return False
        return not rule.cast_only or all(n.casefold() in self._cast for n in match.filled)

    def stable(self, visible: str, site: Site, set_aside: set[tuple[int, int]]) -> bool:
        """Are the sites around `site` the same whichever spelling it shows? Matches that
        lose to an overlapping one do not count: only what would become a site does."""
        other = site.forms[1 - site.used]
        shift = len(other) - (site.end - site.start)
        respelled = visible[: site.start] + other + visible[site.end :]
        # Anything whose context reaches the site lies within twice the reach of it.
        start = max(0, site.start - 2 * MAX_CONTEXT)
        end = min(len(visible), site.end + 2 * MAX_CONTEXT)

        def to_text(offset: int) -> int:
            if offset <= site.start:
                return offset
            return max(site.start, offset - shift) if offset >= site.end + shift else site.start

        def chosen(found: list[_Match], mapped: Callable[[int], int]) -> set[tuple[int, int]]:
            kept = (m for m in found if (mapped(m[0]), m[1]) not in set_aside)
            return {(mapped(m.start), order) for _, order, m in _disjoint(kept)}

        before = chosen(self.matches(visible, start, end), lambda offset: offset)
        after = chosen(self._matches(respelled, start, end + shift, to_text), to_text)
        return before == after


def _disjoint(found: Iterable[_Match]) -> list[_Match]:
    """Where matches overlap, the one that starts first wins, then the one listed first."""
    chosen: list[_Match] = []
    last_end = -1
    for item in found:
        if item[0] < last_end:
            continue
        chosen.append(item)
        last_end = item[2].end
    return chosen


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

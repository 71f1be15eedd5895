"""Line-break sites: where a printed line of a copy may end a word or two early.

Screenplay lines are ragged on the right (action wraps at 60 characters, dialogue at 35),
so nobody reading a page can tell a line that ends a word or two before it had to. Every
copy prints the planned lines of layout.py, with the line breaks written into its text; at
a wrap site the last word of a line stays, or it (or the last two) opens the next line. A
wrap site is only taken where the words fit on the next line and the line they leave stays
at least `MIN_FILL` full, so a copy keeps its lines, its pages and the look of a typed
page.

Line breaks survive what keeps lines: the PDF's text layer, text copied out of it, a
Fountain copy, and OCR of a photo or scan. Retyping or reflowing loses them; the word sites
(sites.py) remain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from watermark.script.fountain import Kind, parse
from watermark.script.layout import Unit, may_open_line, plan_lines, width_of
from watermark.script.sites import Edit
from watermark.script.variants import RULES_VERSION

__all__ = ["MIN_FILL", "WrapPlan", "WrapSite", "find_wraps"]

MIN_FILL = 0.6  # a line shortened by a wrap site keeps at least this much of its width

Gap = tuple[int, int]  # [start, end) of the whitespace between two units of the master


@dataclass(frozen=True)
class WrapSite:
    """Where a planned line may end: `gaps[0]` as planned (option 0), one unit earlier
    (option 1), or, where the next line has room for two, two units earlier (option 2).

    The option carries one or two code bits: the first says whether the line ends as
    planned (0) or early (1); for a three-way site, the second says how early. A copy breaks
    its line at one gap; the others are spaces.
    """

    index: int
    gaps: tuple[Gap, ...]  # 2 or 3 gaps, latest first
    deep: int | None  # index of the second bit among the plan's second bits, if three-way

    def option(self, first: int, second: int = 0) -> int:
        return 0 if not first else 1 + (int(second) if self.deep is not None else 0)

    def bits(self, option: int) -> tuple[int, int | None]:
        """(first bit, second bit or None when the option does not say it)."""
        if option == 0:
            return 0, None
        return 1, (option - 1 if self.deep is not None else None)

    def edits(self, option: int) -> list[Edit]:
        return [(*gap, "\n" if i == option else " ") for i, gap in enumerate(self.gaps)]


@dataclass(frozen=True)
class WrapPlan:
    """A script's wrap sites and the line breaks every copy has (`fixed`)."""

    sites: tuple[WrapSite, ...]
    fixed: tuple[Gap, ...]
    deep: int  # three-way sites, each with a second bit

    @property
    def bits(self) -> int:
        """Code positions the wrap sites take: one per site and one more per three-way."""
        return len(self.sites) + self.deep

    def bit_indices(self, site: WrapSite) -> tuple[int, int | None]:
        """Where a site's first and second bit sit among the plan's bits: every site's first
        bit, then the three-way sites' second bits."""
        second = None if site.deep is None else len(self.sites) + site.deep
        return site.index, second

    def edits(self, bits: list[int] | tuple[int, ...]) -> list[Edit]:
        """The copy's line breaks: every fixed one, and each wrap site as `bits` say."""
        if len(bits) != self.bits:
            raise ValueError(f"{len(bits)} bits for {self.bits} wrap-site positions")
        changes: list[Edit] = [(a, b, "\n") for a, b in self.fixed]
        for site in self.sites:
            first, second = self.bit_indices(site)
            option = site.option(bits[first], 0 if second is None else bits[second])
            changes += site.edits(option)
        return changes


def find_wraps(text: str, rules: str = RULES_VERSION) -> WrapPlan:
    """The wrap sites and fixed line breaks of a Fountain script, in document order, as the
    lines are planned under the canary rules `rules`."""
    return _find_wraps(text, rules)


@lru_cache(maxsize=8)
def _find_wraps(text: str, rules: str) -> WrapPlan:
    elements = parse(text)
    sites: list[WrapSite] = []
    fixed: list[Gap] = []
    deep = 0
    for index, lines in sorted(plan_lines(text, rules).items()):
        kind = elements[index].kind
        for line, following in pairwise(lines):
            gaps = [(line[-1].end, following[0].start)]
            for moved in (1, 2):
                if not _movable(text, line, following, kind, moved):
                    break
                gaps.append((line[-moved - 1].end, line[-moved].start))
            if len(gaps) == 1:
                fixed.append(gaps[0])
                continue
            three_way = len(gaps) == 3
            sites.append(WrapSite(len(sites), tuple(gaps), deep if three_way else None))
            deep += three_way
    return WrapPlan(tuple(sites), tuple(fixed), deep)


def _movable(text: str, line: list[Unit], following: list[Unit], kind: Kind, moved: int) -> bool:
    """May the last `moved` units of `line` open `following` instead?"""
    if len(line) <= moved:
        return False
    width = width_of(kind)
    kept, going = line[:-moved], line[-moved:]
    shortened = sum(u.width for u in kept) + len(kept) - 1
    grown = sum(u.width for u in following + going) + len(following) + len(going) - 1
    opener = going[0]
    return (
        grown <= width
        and shortened >= MIN_FILL * width
        and any(c.isalnum() for c in text[opener.start : opener.end])  # a word to find
        and may_open_line(text, opener, kind)
    )

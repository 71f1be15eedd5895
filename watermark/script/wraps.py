"""Line-break sites: where a printed line of a copy may end one word early.

Screenplay lines are ragged on the right (action wraps at 60 characters, dialogue at 35),
so nobody reading a page can tell a line that ends one word before it had to. Every copy
prints the planned lines of layout.py, with the line breaks written into its text; at a
wrap site the last word of a line either stays (spelling 0) or opens the next line
(spelling 1). A wrap site is only taken where the word fits on the next line and the line
it leaves stays at least `MIN_FILL` full, so a copy keeps its lines, its pages and the look
of a typed page.

Line breaks survive what keeps lines: the PDF's text layer, text copied out of it, and OCR
of a photo or scan. Retyping or reflowing loses them; the word sites (sites.py) remain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from watermark.script.fountain import Kind, parse
from watermark.script.layout import Unit, may_open_line, plan_lines, width_of
from watermark.script.sites import Edit

__all__ = ["MIN_FILL", "WrapPlan", "WrapSite", "find_wraps"]

MIN_FILL = 0.6  # a line shortened by a wrap site keeps at least this much of its width

Gap = tuple[int, int]  # [start, end) of the whitespace between two units of the master


@dataclass(frozen=True)
class WrapSite:
    """The unit at master[word] ends its line (spelling 0) or opens the next (1)."""

    index: int
    before: Gap
    word: tuple[int, int]
    after: Gap

    def edits(self, form: int) -> list[Edit]:
        first, second = (" ", "\n") if form == 0 else ("\n", " ")
        return [(*self.before, first), (*self.after, second)]


@dataclass(frozen=True)
class WrapPlan:
    """A script's wrap sites and the line breaks every copy has (`fixed`)."""

    sites: tuple[WrapSite, ...]
    fixed: tuple[Gap, ...]

    def edits(self, forms: list[int] | tuple[int, ...]) -> list[Edit]:
        """The copy's line breaks: every fixed one, and each wrap site as `forms` says."""
        if len(forms) != len(self.sites):
            raise ValueError(f"{len(forms)} choices for {len(self.sites)} wrap sites")
        changes: list[Edit] = [(a, b, "\n") for a, b in self.fixed]
        for site, form in zip(self.sites, forms, strict=True):
            changes += site.edits(int(form))
        return changes


def find_wraps(text: str) -> WrapPlan:
    """The wrap sites and fixed line breaks of a Fountain script, in document order."""
    return _find_wraps(text)


@lru_cache(maxsize=8)
def _find_wraps(text: str) -> WrapPlan:
    elements = parse(text)
    sites: list[WrapSite] = []
    fixed: list[Gap] = []
    for index, lines in sorted(plan_lines(text).items()):
        kind = elements[index].kind
        for line, following in pairwise(lines):
            gap = (line[-1].end, following[0].start)
            if _movable(text, line, following, kind):
                word = line[-1]
                before = (line[-2].end, word.start)
                sites.append(WrapSite(len(sites), before, (word.start, word.end), gap))
            else:
                fixed.append(gap)
    return WrapPlan(tuple(sites), tuple(fixed))


def _movable(text: str, line: list[Unit], following: list[Unit], kind: Kind) -> bool:
    """May the last unit of `line` open `following` instead?"""
    if len(line) < 2:
        return False
    word = line[-1]
    width = width_of(kind)
    shortened = sum(u.width for u in line[:-1]) + len(line) - 2
    grown = sum(u.width for u in following) + len(following) + word.width
    return (
        grown <= width
        and shortened >= MIN_FILL * width
        and any(c.isalnum() for c in text[word.start : word.end])  # a word a reader can find
        and may_open_line(text, word, kind)
    )

"""Screenplay page layout: which line of which element goes where on which page.

US screenplay conventions, in Courier 12 (10 characters an inch, 6 lines an inch) on Letter
paper: scene headings and action from 1.5", dialogue 2.5" to 6", parentheticals from 3.1",
character cues at 3.7", transitions ending at 7.5"; 54 lines between 1" margins.

Page breaks fall between elements and are decided on the script's *canonical* form, where
every site shows its longer spelling. Sites are the same in every copy (rules.py), so the
canonical form is the same for the master and every copy, and so are the page breaks:
every copy has the master's page count and the same text on each page. A copy's own lines
are never longer than the canonical ones, so they always fit.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from watermark.script.fountain import Element, Kind, parse
from watermark.script.sites import find_sites, rewrite

__all__ = ["LINES_PER_PAGE", "Layout", "Line", "lay_out"]

LINES_PER_PAGE = 54

# (left edge in inches, width in characters) per kind; transitions are right-aligned.
_FRAME: dict[Kind, tuple[float, int]] = {
    Kind.HEADING: (1.5, 60),
    Kind.ACTION: (1.5, 60),
    Kind.CHARACTER: (3.7, 38),
    Kind.PARENTHETICAL: (3.1, 25),
    Kind.DIALOGUE: (2.5, 35),
    Kind.LYRICS: (2.5, 35),
    Kind.TRANSITION: (1.5, 60),
    Kind.CENTERED: (1.5, 60),
}
_HIDDEN = frozenset({Kind.TITLE, Kind.SECTION, Kind.SYNOPSIS, Kind.PAGE_BREAK})
_DIALOGUE_PARTS = frozenset({Kind.PARENTHETICAL, Kind.DIALOGUE, Kind.LYRICS})
_EMPHASIS = re.compile(r"(?<!\\)[*_]")


@dataclass(frozen=True)
class Line:
    """One printed line: text, left edge (inches), and how it is aligned."""

    text: str
    x: float
    align: str  # "left", "right" (transitions) or "center"
    element: int  # index into the parsed elements; -1 for a blank line


@dataclass(frozen=True)
class Layout:
    """The script's pages (lists of lines) and where each page starts in the text."""

    pages: list[list[Line]]
    page_starts: list[int]  # text offset of the first element of each page
    title: list[Element]

    def page_of(self, offset: int) -> int:
        """1-based page number of a text offset."""
        return max(1, bisect_right(self.page_starts, offset))


def printable(text: str) -> str:
    """Element text as printed: emphasis markers and escapes removed."""
    return _EMPHASIS.sub("", text).replace("\\", "")


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at `width` characters; over-long words are cut."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current += " " + word
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines or [""]


def _lines_of(element: Element, index: int) -> list[Line]:
    x, width = _FRAME[element.kind]
    text = printable(element.text)
    if element.kind in (Kind.HEADING, Kind.TRANSITION, Kind.CHARACTER):
        text = text.upper()
    align = {Kind.TRANSITION: "right", Kind.CENTERED: "center"}.get(element.kind, "left")
    return [Line(t, x, align, index) for t in wrap(text, width)]


def _blocks(elements: list[Element]) -> list[list[int]]:
    """Element indices grouped into what must stay on one page: a cue with its
    dialogue, and a scene heading with whatever follows it."""
    blocks: list[list[int]] = []
    keep_with_next = False
    for i, element in enumerate(elements):
        if element.kind in _HIDDEN and element.kind is not Kind.PAGE_BREAK:
            continue
        joins_cue = element.kind in _DIALOGUE_PARTS and blocks and _is_speech(elements, blocks)
        if keep_with_next or joins_cue:
            blocks[-1].append(i)
        else:
            blocks.append([i])
        keep_with_next = element.kind is Kind.HEADING
    return blocks


def _is_speech(elements: list[Element], blocks: list[list[int]]) -> bool:
    return elements[blocks[-1][-1]].kind in _DIALOGUE_PARTS | {Kind.CHARACTER}


def _gap(elements: list[Element], i: int) -> int:
    """Blank lines printed before element i: as in the source, at most two."""
    if i == 0:
        return 0
    return min(2, max(0, elements[i].line - elements[i - 1].line - 1))


def _paginate(elements: list[Element]) -> list[list[int]]:
    """Element indices per page; a block that does not fit starts a new page."""
    pages: list[list[int]] = [[]]
    used = 0
    blocks = []
    for block in _blocks(elements):
        # A speech longer than a page is printed element by element.
        too_tall = sum(len(_lines_of(elements[i], i)) for i in block) > LINES_PER_PAGE
        blocks.extend([[i] for i in block] if too_tall else [block])
    for block in blocks:
        if elements[block[0]].kind is Kind.PAGE_BREAK:
            if pages[-1]:
                pages.append([])
                used = 0
            continue
        height = sum(_gap(elements, i) + len(_lines_of(elements[i], i)) for i in block)
        if used and used + height > LINES_PER_PAGE:
            pages.append([])
            used = 0
            height -= _gap(elements, block[0])  # no blank line at the top of a page
        pages[-1].extend(block)
        used += height
    return [page for page in pages if page] or [[]]


def lay_out(text: str) -> Layout:
    """Pages of the script as printed; page breaks from the canonical form."""
    elements = parse(text)
    sites = find_sites(text)
    longest = [int(len(s.forms[1]) > len(s.forms[0])) for s in sites]
    canonical = parse(rewrite(text, sites, longest))
    plan = canonical if _same_structure(canonical, elements) else elements
    pages, starts = [], []
    for indices in _paginate(plan):
        lines: list[Line] = []
        for i in indices:
            if lines:
                lines.extend(Line("", 0.0, "left", -1) for _ in range(_gap(elements, i)))
            lines.extend(_lines_of(elements[i], i))
        pages.append(lines)
        starts.append(elements[indices[0]].start if indices else 0)
    title = [e for e in elements if e.kind is Kind.TITLE]
    return Layout(pages=pages, page_starts=starts, title=title)


def _same_structure(a: list[Element], b: list[Element]) -> bool:
    if len(a) != len(b):
        return False
    return all(x.kind is y.kind and x.line == y.line for x, y in zip(a, b, strict=True))

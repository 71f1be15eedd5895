"""Screenplay page layout: which line of which element goes where on which page.

US screenplay conventions, in Courier 12 (10 characters an inch, 6 lines an inch) on Letter
paper: scene headings and action from 1.5", dialogue 2.5" to 6", parentheticals from 3.1",
character cues at 3.7", transitions ending at 7.5"; 54 lines between 1" margins.

Lines and pages are planned on the script's *canonical* form, where every site shows its
longer spelling. Sites are the same in every copy (rules.py), so the canonical form is the
same for the master and every copy, and so is the plan: every copy has the master's page
count and the same text on each page. Action and dialogue are wrapped by *units*, a word or
a whole site ("do not" never splits, as "don't" could not), and a copy prints exactly the
planned lines (wraps.py breaks them in its text), so its lines always fit.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache

from watermark.script.fountain import VARIABLE, Element, Kind, cue_name, is_cue, masked, parse
from watermark.script.sites import Site, find_sites
from watermark.script.variants import RULES_VERSION

__all__ = [
    "LINES_PER_PAGE",
    "LINE_MARKERS",
    "Layout",
    "Line",
    "Unit",
    "lay_out",
    "may_open_line",
    "plan_lines",
    "width_of",
]

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


@dataclass(frozen=True)
class Unit:
    """What a line may not break inside: a word, or every word a site touches. `width` is
    its printed width at the longer spelling of any site in it."""

    start: int
    end: int
    width: int


# A printed line that opens with one of these would be read back as another element
# (a forced heading, a section, a transition...), and in dialogue "(" opens a parenthetical.
LINE_MARKERS = "!#=~>.@"


def width_of(kind: Kind) -> int:
    """Characters per line for an element of this kind."""
    return _FRAME[kind][1]


def plan_lines(text: str, rules: str = RULES_VERSION) -> dict[int, list[list[Unit]]]:
    """The canonical lines (lists of units) of every action and dialogue element that can be
    broken anywhere between its units, by element index of `parse(text)`."""
    return dict(_plan_lines(text, rules))


@lru_cache(maxsize=8)
def _plan_lines(text: str, rules: str) -> tuple[tuple[int, list[list[Unit]]], ...]:
    sites = find_sites(text, rules)
    starts = [s.start for s in sites]
    visible = masked(text)
    elements = parse(text)
    plan: dict[int, list[list[Unit]]] = {}
    for index, element in enumerate(elements):
        if element.kind not in VARIABLE or visible[element.start : element.end] != element.text:
            continue  # a note or boneyard in the line: printed as it stands
        units = _units(text, element, sites, starts)
        lines = _greedy(units, width_of(element.kind)) if units else None
        if lines and _stays_itself(text, element.kind, lines):
            plan[index] = lines
    # A paragraph taller than a page is printed element by element across pages (_paginate);
    # left unplanned, every copy has exactly the master's elements there to break between.
    for paragraph in _paragraphs(elements, list(range(len(elements)))):
        height = sum(
            len(plan[i]) if i in plan else _canonical_height(text, elements[i], i, sites, starts)
            for i in paragraph
            if elements[i].kind in VARIABLE
        )
        if height > LINES_PER_PAGE:
            for i in paragraph:
                plan.pop(i, None)
    return tuple(sorted(plan.items()))


def _stays_itself(text: str, kind: Kind, lines: list[list[Unit]]) -> bool:
    """Does the element still parse as its kind when printed as `lines`, however early its
    lines end? No later line may open like another element; an action paragraph's first
    line, which now has text after it, must not read as a character cue (all capitals), and
    a line of dialogue must not read as a parenthetical (in brackets from end to end)."""
    if len(lines) == 1:
        return True
    if not all(may_open_line(text, line[0], kind) for line in lines[1:]):
        return False
    first = lines[0]
    prefixes = [text[first[0].start : unit.end] for unit in first]
    if kind is Kind.ACTION:
        return not any(is_cue(p) for p in prefixes)
    return not any(p.startswith("(") and p.endswith(")") for p in prefixes)


def _canonical_height(
    text: str, element: Element, index: int, sites: list[Site], starts: list[int]
) -> int:
    """Printed lines of an element not planned by units, at its longer spellings."""
    inside = _sites_in(element, sites, starts) if element.kind in VARIABLE else []
    canonical = _longest(text, element.start, element.end, inside)
    return len(_lines_of(Element(element.kind, 0, 0, element.line, canonical), index))


def _units(text: str, element: Element, sites: list[Site], starts: list[int]) -> list[Unit]:
    """The element's words, the words a site touches merged, with canonical widths."""
    local = _sites_in(element, sites, starts)
    spans = [[m.start() + element.start, m.end() + element.start]
             for m in re.finditer(r"[^ \t]+", element.text)]  # fmt: skip
    for site in local:
        # A site may open or close with a space (", anyway" / " anyway"): the words on
        # both sides of that space are one unit.
        lo = site.start - text[site.start].isspace()
        hi = site.end + text[site.end - 1].isspace()
        touched = [i for i, (a, b) in enumerate(spans) if a < hi and b > lo]
        if len(touched) > 1:
            spans[touched[0] : touched[-1] + 1] = [[spans[touched[0]][0], spans[touched[-1]][1]]]
    units = []
    for a, b in spans:
        inside = [s for s in local if a <= s.start and s.end <= b]
        width = len(printable(_longest(text, a, b, inside)))
        if width == 0:
            return []  # emphasis markers alone: the printer drops them, the plan could not
        units.append(Unit(a, b, width))
    return units


def _sites_in(element: Element, sites: list[Site], starts: list[int]) -> list[Site]:
    lo, hi = bisect_left(starts, element.start), bisect_left(starts, element.end)
    return [s for s in sites[lo:hi] if s.end <= element.end]


def _longest(text: str, start: int, end: int, sites: list[Site]) -> str:
    pieces, cursor = [], start
    for site in sites:
        pieces += [text[cursor : site.start], max(site.forms, key=len)]
        cursor = site.end
    return "".join(pieces) + text[cursor:end]


def _greedy(units: list[Unit], width: int) -> list[list[Unit]] | None:
    """Units wrapped greedily at `width`; None if one alone is too wide."""
    lines: list[list[Unit]] = []
    used = 0
    for unit in units:
        if unit.width > width:
            return None
        if lines and used + 1 + unit.width <= width:
            lines[-1].append(unit)
            used += 1 + unit.width
        else:
            lines.append([unit])
            used = unit.width
    return lines


def may_open_line(text: str, unit: Unit, kind: Kind) -> bool:
    """Would a line of this kind that opens with `unit` still parse as that kind?"""
    first = text[unit.start]
    return first not in LINE_MARKERS and not (kind is Kind.DIALOGUE and first == "(")


def _lines_of(element: Element, index: int) -> list[Line]:
    x, width = _FRAME[element.kind]
    text = printable(element.text)
    if element.kind in (Kind.HEADING, Kind.TRANSITION):
        text = text.upper()
    elif element.kind is Kind.CHARACTER:
        text = _printed_cue(text)
    align = {Kind.TRANSITION: "right", Kind.CENTERED: "center"}.get(element.kind, "left")
    return [Line(t, x, align, index) for t in wrap(text, width)]


def _printed_cue(cue: str) -> str:
    """A cue as printed: the name as written (a forced `@McCLANE` keeps its case), its
    extensions in capitals, and no dual-dialogue mark `^` (the speeches print one after
    the other)."""
    name = cue_name(cue)
    extensions = cue.strip()[len(name) :].rstrip().removesuffix("^").rstrip()
    return name + extensions.upper()


def _blocks(elements: list[Element]) -> list[list[int]]:
    """Element indices grouped into what must stay on one page: a cue with its
    dialogue, a scene heading with whatever follows it, and the lines of a paragraph."""
    blocks: list[list[int]] = []
    keep_with_next = False
    for i, element in enumerate(elements):
        if element.kind in _HIDDEN and element.kind is not Kind.PAGE_BREAK:
            continue
        joins_cue = element.kind in _DIALOGUE_PARTS and blocks and _is_speech(elements, blocks)
        if keep_with_next or joins_cue or (blocks and _continues(elements, blocks[-1][-1], i)):
            blocks[-1].append(i)
        else:
            blocks.append([i])
        keep_with_next = element.kind is Kind.HEADING
    return blocks


def _continues(elements: list[Element], before: int, i: int) -> bool:
    """Element i is the next line of the same paragraph as element `before`."""
    a, b = elements[before], elements[i]
    return a.kind is b.kind and b.line == a.line + 1


def _paragraphs(elements: list[Element], block: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in block:
        if out and _continues(elements, out[-1][-1], i):
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _is_speech(elements: list[Element], blocks: list[list[int]]) -> bool:
    return elements[blocks[-1][-1]].kind in _DIALOGUE_PARTS | {Kind.CHARACTER}


def _gap(elements: list[Element], i: int) -> int:
    """Blank lines printed before element i: as in the source, at most two."""
    if i == 0:
        return 0
    return min(2, max(0, elements[i].line - elements[i - 1].line - 1))


def _paginate(elements: list[Element], heights: list[int]) -> list[list[int]]:
    """Element indices per page; a block that does not fit starts a new page."""
    pages: list[list[int]] = [[]]
    used = 0
    blocks = []
    for block in _blocks(elements):
        # A speech longer than a page is printed paragraph by paragraph, and a paragraph
        # longer than a page element by element.
        if sum(heights[i] for i in block) <= LINES_PER_PAGE:
            blocks.append(block)
            continue
        for paragraph in _paragraphs(elements, block):
            too_tall = sum(heights[i] for i in paragraph) > LINES_PER_PAGE
            blocks.extend([[i] for i in paragraph] if too_tall else [paragraph])
    for block in blocks:
        if elements[block[0]].kind is Kind.PAGE_BREAK:
            if pages[-1]:
                pages.append([])
                used = 0
            continue
        height = sum(_gap(elements, i) + heights[i] for i in block)
        if used and used + height > LINES_PER_PAGE:
            pages.append([])
            used = 0
            height -= _gap(elements, block[0])  # no blank line at the top of a page
        pages[-1].extend(block)
        used += height
    return [page for page in pages if page] or [[]]


def lay_out(text: str, rules: str = RULES_VERSION) -> Layout:
    """Pages of the script as printed; page breaks from the canonical lines (which keep the
    words of every site of the canary rules `rules` together)."""
    elements = parse(text)
    heights = _heights(text, elements, rules)
    pages, starts = [], []
    for indices in _paginate(elements, heights):
        lines: list[Line] = []
        for i in indices:
            if lines:
                lines.extend(Line("", 0.0, "left", -1) for _ in range(_gap(elements, i)))
            lines.extend(_lines_of(elements[i], i))
        pages.append(lines)
        starts.append(elements[indices[0]].start if indices else 0)
    title = [e for e in elements if e.kind is Kind.TITLE]
    return Layout(pages=pages, page_starts=starts, title=title)


def _heights(text: str, elements: list[Element], rules: str) -> list[int]:
    """Printed lines per element, at the longer spelling of every site."""
    planned = plan_lines(text, rules)
    sites = find_sites(text, rules)
    starts = [s.start for s in sites]
    heights = []
    for i, element in enumerate(elements):
        if i in planned or element.kind in _HIDDEN:
            heights.append(len(planned.get(i, ())))
        else:
            heights.append(_canonical_height(text, element, i, sites, starts))
    return heights

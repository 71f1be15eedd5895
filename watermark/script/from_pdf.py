"""A screenplay PDF read back into Fountain, for scripts that reach the vault as PDF.

A PDF's plain text has lost what tells a cue from a line of action: screenwriting software
prints each kind of element at its own left edge (headings and action at the margin,
dialogue about an inch in, parentheticals further, cues near the middle, transitions on
the right) and separates elements by blank lines. Both are read back from where each line
is printed, so a stored PDF is marked only in its action and dialogue, like a Fountain one.

Left out: rotated or oversized text (a watermark), page numbers, `(MORE)` / `(CONTINUED)`
and a footer. A speech continued across pages ("(MORE)", then "NAME (CONT'D)") is joined
again. A line that fits no pattern is kept as action, so no word of the script is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from watermark.errors import WatermarkError
from watermark.script.fountain import is_cue, is_heading, is_transition

__all__ = ["fountain_from_pdf"]

_PT = 72.0
_MARGIN_BAND = 0.8 * _PT  # headers and footers print within this of the page's edges
# Left edges relative to the action margin (inches), between the standard positions:
# dialogue +1.0, parenthetical +1.5 to +1.6, cue +2.0 to +2.2, transition +4 and beyond.
_DIALOGUE_FROM, _PAREN_FROM, _CUE_FROM, _RIGHT_FROM = 0.6, 1.3, 1.8, 3.3
_SCENE_NUMBER = re.compile(r"^\s*([A-Z]?\d+[A-Z]?\.?)\s+(.*?)(?:\s+\1)?\s*$")
_NOT_SCRIPT = re.compile(
    r"^\(?(?:MORE|CONTINUED|CONT'D|CONT’D)\)?:?$|^CONTINUED:(?:\s*\(\d+\))?$|^\d+\.?$"
)
_CONTINUED_CUE = re.compile(r"\s*\((?:CONT'D|CONT’D|CONTINUED|CONT)\)\s*$", re.IGNORECASE)
_FOOTER = re.compile(r"CONFIDENTIAL\s*\|\s*Copy\s")
_MARKUP_START = "!@#~=.>[*_"
_MAX_LEADING = 1.25  # line spacing in font sizes: screenplays print 12 pt type 12 pt apart
_TITLE_LINES = 24  # a title page prints fewer lines than this


@dataclass
class _Line:
    x: float  # left edge, points from the page's left
    right: float
    y: float  # baseline, points from the page's top
    text: str
    blanks: int = 1  # blank lines printed above it (one at the top of a page)
    page_top: bool = False

    @property
    def gap_before(self) -> bool:
        return self.blanks > 0


@dataclass
class _Element:
    kind: str  # heading | action | cue | paren | dialogue | transition | centered | lyrics
    text: str
    centred: bool = False  # printed across the middle of the page
    blanks: int = 1  # blank lines before it


def fountain_from_pdf(data: bytes) -> str:
    """The Fountain text of a screenplay PDF's text layer; empty when it has none.

    Raises WatermarkError when `data` is not a PDF pdfium can open."""
    pages, width = _pages(data)
    lines = [line for page in pages for line in page]
    if not lines:
        return ""
    margin = _action_margin(lines)
    title, body = _title_page(pages)
    elements: list[_Element] = []
    for line in (line for page in body for line in page):
        _add(elements, line, (line.x - margin) / _PT, width)
    return _fountain(title, _without_lone_cues(elements), margin)


# -- the text layer, as printed lines ------------------------------------------------------


def _pages(data: bytes) -> tuple[list[list[_Line]], float]:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        raise WatermarkError(f"not a readable PDF ({error})", "check the file") from error
    try:
        pages, width = [], 8.5 * _PT
        for page in document:
            width, height = page.get_size()
            pages.append(_page_lines(page, height))
        return pages, width
    finally:
        document.close()


def _page_lines(page, height: float) -> list[_Line]:  # page: pypdfium2.PdfPage
    import ctypes

    import pypdfium2.raw as raw

    textpage = page.get_textpage()
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count else ""
    x, y = ctypes.c_double(), ctypes.c_double()
    chars: list[tuple[float, float, float, str]] = []  # baseline, left, size, char
    for i in range(min(count, len(text))):
        if text[i] in "\r\n" or abs(raw.FPDFText_GetCharAngle(textpage.raw, i)) > 0.01:
            continue
        raw.FPDFText_GetCharOrigin(textpage.raw, i, x, y)
        size = raw.FPDFText_GetFontSize(textpage.raw, i)
        chars.append((height - y.value, x.value, size, text[i]))
    if not chars:
        return []
    body = sorted(size for _, _, size, _ in chars)[len(chars) // 2]
    chars = [c for c in chars if c[2] <= 1.5 * body]  # a watermark prints larger
    return _spaced(_rows(chars, body), height, body)


def _rows(chars: list[tuple[float, float, float, str]], size: float) -> list[_Line]:
    """Characters gathered into printed lines (same baseline), read left to right."""
    rows: list[list[tuple[float, float, float, str]]] = []
    for char in sorted(chars):
        if rows and char[0] - rows[-1][0][0] < 0.3 * size:
            rows[-1].append(char)
        else:
            rows.append([char])
    lines = []
    for row in rows:
        row.sort(key=lambda c: c[1])
        steps = sorted(b[1] - a[1] for a, b in pairwise(row))
        advance = steps[len(steps) // 2] if steps else size
        text, last = "", None
        for _, left, _, char in row:
            if last is not None and left - last > 1.8 * advance and not text.endswith(" "):
                text += " "  # a gap the PDF left without a space character
            text += char
            last = left
        words = [c for c in row if not c[3].isspace()]
        if text.strip():
            lines.append(_Line(words[0][1], words[-1][1], row[0][0], " ".join(text.split())))
    return lines


def _spaced(lines: list[_Line], height: float, size: float) -> list[_Line]:
    """The page's script lines, each knowing whether a blank line stands above it."""
    kept = [
        line
        for line in lines
        if _MARGIN_BAND < line.y < height - _MARGIN_BAND + size
        and not _NOT_SCRIPT.match(line.text.upper())
        and not _FOOTER.search(line.text)
    ]
    steps = [b.y - a.y for a, b in pairwise(kept)]
    # One line's step: the closest two lines print, but never more than a script's leading
    # (a sparse page may have no two lines without a blank between them).
    leading = min([step for step in steps if step >= 0.8 * size] + [_MAX_LEADING * size])
    for before, line in zip([None, *kept], kept, strict=False):
        line.blanks = 1 if before is None else max(0, round((line.y - before.y) / leading) - 1)
        line.page_top = before is None
    return kept


def _action_margin(lines: list[_Line]) -> float:
    """The left edge of headings and action: the leftmost edge many lines share."""
    edges: dict[int, int] = {}
    for line in lines:
        if _unnumbered(line.text) == line.text:  # a scene number prints left of the margin
            edges[round(line.x / 3.6)] = edges.get(round(line.x / 3.6), 0) + 1
    if not edges:
        return min(line.x for line in lines)
    common = [edge for edge, n in edges.items() if n >= 0.05 * len(lines)]
    return min(common or edges) * 3.6


def _title_page(pages: list[list[_Line]]) -> tuple[list[_Line], list[list[_Line]]]:
    """A sparse first page with no scene heading is the title page."""
    first = pages[0]
    if len(pages) < 2 or not first or len(first) > _TITLE_LINES:
        return [], pages
    if any(is_heading(_unnumbered(line.text)) for line in first):
        return [], pages
    return first, pages[1:]


# -- lines into screenplay elements --------------------------------------------------------


def _add(elements: list[_Element], line: _Line, offset: float, page_width: float) -> None:
    count = len(elements)
    _place(elements, line, offset, page_width)
    if len(elements) > count:
        elements[-1].blanks = line.blanks


def _place(elements: list[_Element], line: _Line, offset: float, page_width: float) -> None:
    """Add the line to the element it continues, or as a new element."""
    text = line.text
    last = elements[-1] if elements else None
    in_speech = last is not None and last.kind in ("cue", "paren", "dialogue")
    continues = in_speech and not line.gap_before
    if _continued_speech(elements, line):
        return  # the same speech, continued on this page
    centred = abs((line.x + line.right) / 2 - page_width / 2) < 0.4 * _PT
    if offset >= _RIGHT_FROM and text == text.upper():
        elements.append(_Element("transition", text))
    elif offset >= _CUE_FROM and _a_name(text) and line.gap_before:
        elements.append(_Element("cue", text, centred))
    elif offset >= _CUE_FROM and centred and not continues:
        elements.append(_Element("centered", text, centred))
    elif offset >= _DIALOGUE_FROM and (continues or (in_speech and line.page_top)):
        assert last is not None
        if last.kind == "paren" and not last.text.endswith(")"):
            last.text += " " + text
        elif offset >= _PAREN_FROM and text.startswith("("):
            elements.append(_Element("paren", text))
        else:
            _extend_or_add(elements, "dialogue", text, last.kind == "dialogue")
    elif offset >= _DIALOGUE_FROM:
        elements.append(_Element("lyrics", text))  # indented like dialogue, with no speaker
    else:
        unnumbered = _unnumbered(text)
        if is_heading(unnumbered) and unnumbered == unnumbered.upper():
            elements.append(_Element("heading", unnumbered))
        else:
            joins = last is not None and last.kind == "action" and not line.gap_before
            _extend_or_add(elements, "action", text, joins)


def _a_name(text: str) -> bool:
    """A cue: capitals (a forced cue may hold a few small letters, "McCLANE")."""
    letters = [c for c in text if c.isalpha()]
    return is_cue(text) or (
        len(text.split()) <= 4 and sum(map(str.isupper, letters)) > 0.6 * len(letters)
    )


def _without_lone_cues(elements: list[_Element]) -> list[_Element]:
    """A cue-like line no speech follows is a centred card ("THE END") or action."""
    for element, after in zip(elements, [*elements[1:], None], strict=True):
        if element.kind == "cue" and (after is None or after.kind not in ("paren", "dialogue")):
            element.kind = "centered" if element.centred else "action"
    return elements


def _continued_speech(elements: list[_Element], line: _Line) -> bool:
    """Is this the "NAME (CONT'D)" atop a page that goes on with the last page's speech?"""
    if not (line.page_top and elements and elements[-1].kind in ("cue", "paren", "dialogue")):
        return False
    return bool(_CONTINUED_CUE.search(line.text)) and (
        _CONTINUED_CUE.sub("", line.text) == _cue_of(elements)
    )


def _extend_or_add(elements: list[_Element], kind: str, text: str, extend: bool) -> None:
    if extend and elements and elements[-1].kind == kind:
        elements[-1].text += " " + text
    else:
        elements.append(_Element(kind, text))


def _cue_of(elements: list[_Element]) -> str | None:
    for element in reversed(elements):
        if element.kind == "cue":
            return _CONTINUED_CUE.sub("", element.text)
        if element.kind not in ("paren", "dialogue"):
            return None
    return None


def _unnumbered(text: str) -> str:
    """A scene heading without the scene numbers a shooting script prints either side."""
    m = _SCENE_NUMBER.match(text)
    return m.group(2) if m and is_heading(m.group(2)) else text


# -- elements as Fountain ------------------------------------------------------------------


def _fountain(title: list[_Line], elements: list[_Element], margin: float) -> str:
    blocks: list[str] = []
    if title:
        blocks.append(_title_block(title, margin))
    for element, before in zip(elements, [None, *elements], strict=False):
        line = _as_fountain(element)
        lyric = element.kind == "lyrics" and before is not None and before.kind == "lyrics"
        if blocks and (element.kind in ("paren", "dialogue") or lyric):
            blocks[-1] += "\n" + line
        else:
            blocks.append("\n" * min(1, element.blanks - 1) + line)
    return "\n\n".join(blocks) + "\n"


def _title_block(lines: list[_Line], margin: float) -> str:
    """Fountain's title page: the lines printed in from the margin as the title, those at
    the margin (or at the right) as contact details."""
    inset = [_DIALOGUE_FROM <= (line.x - margin) / _PT < _RIGHT_FROM for line in lines]
    title = [line.text for line, i in zip(lines, inset, strict=True) if i]
    contact = [line.text for line, i in zip(lines, inset, strict=True) if not i]
    if not title:
        title, contact = contact[:1], contact[1:]
    block = "Title:\n" + "\n".join(f"    {t}" for t in title)
    if contact:
        block += "\nContact:\n" + "\n".join(f"    {t}" for t in contact)
    return block


def _as_fountain(element: _Element) -> str:
    text = element.text
    if element.kind == "heading":
        return text
    if element.kind == "cue":
        return text if text == text.upper() else "@" + text
    if element.kind == "transition":
        return text if is_transition(text) else "> " + text
    if element.kind == "centered":
        return f"> {text} <"
    if element.kind == "lyrics":
        return "~" + text
    if element.kind == "action":
        capitals = text == text.upper() and any(map(str.isalpha, text))
        forced = text[0] in _MARKUP_START or capitals or is_heading(text) or is_transition(text)
        return "!" + text if forced else text
    return text

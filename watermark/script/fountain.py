"""A small Fountain parser that remembers where every element sits in the original text.

Canary sites are edits to the writer's own file, so every element carries character offsets
into the text it was parsed from: a copy is the master with a few spans replaced, never a
re-serialisation (which would change line endings, spacing and markup the writer chose).
The Python Fountain libraries (jouvence, screenplain) build their own paragraphs and drop the
offsets, hence this parser of the Fountain 1.1 syntax (https://fountain.io/syntax).

Notes `[[...]]` and boneyard `/* ... */` may span lines; they are blanked out (same length,
newlines kept) before lines are classified, so their text never becomes an element and the
offsets of everything else stay true. Inline emphasis (`*`, `_`) is left in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "VARIABLE",
    "Element",
    "Kind",
    "cue_name",
    "is_cue",
    "is_heading",
    "is_transition",
    "masked",
    "parse",
]


class Kind(Enum):
    TITLE = "title page"
    HEADING = "scene heading"
    ACTION = "action"
    CHARACTER = "character"
    PARENTHETICAL = "parenthetical"
    DIALOGUE = "dialogue"
    TRANSITION = "transition"
    CENTERED = "centered"
    LYRICS = "lyrics"
    SECTION = "section"
    SYNOPSIS = "synopsis"
    PAGE_BREAK = "page break"


# Only the prose of the story may vary: headings, cues and transitions are structure a reader
# compares across drafts, lyrics are sung as written, centered text is usually a title card.
VARIABLE = frozenset({Kind.ACTION, Kind.DIALOGUE})


@dataclass(frozen=True)
class Element:
    """One screenplay element: its kind and the [start, end) span of its text (markers
    such as a forcing `!` or `@` excluded) in the parsed string; `line` is 1-based."""

    kind: Kind
    start: int
    end: int
    line: int
    text: str


_HEADING = re.compile(r"^(?:int|ext|est|int\./ext|int/ext|i/e)[. ]", re.IGNORECASE)
_TRANSITION = re.compile(r"^[A-Z0-9 .'’:-]*TO:$")
_CUE_EXTENSION = re.compile(r"\s*(\([^)]*\))*\s*\^?$")
_NOTE = re.compile(r"\[\[.*?\]\]", re.DOTALL)
_BONEYARD = re.compile(r"/\*.*?\*/", re.DOTALL)
_TITLE_KEY = re.compile(r"^[A-Za-z][A-Za-z ]*:")


def masked(text: str) -> str:
    """Boneyard and notes replaced by spaces (newlines kept): offsets stay valid."""

    def spaces(m: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    return _NOTE.sub(spaces, _BONEYARD.sub(spaces, text))


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line without its line ending) for every line."""
    out, offset = [], 0
    for raw in text.splitlines(keepends=True):
        out.append((offset, raw.rstrip("\r\n")))
        offset += len(raw)
    return out


def _is_blank(line: str) -> bool:
    # Two spaces alone are Fountain's way of keeping a blank line inside dialogue.
    return line.strip() == "" and line != "  "


def is_heading(line: str) -> bool:
    """Does this line open like a scene heading ("INT.", "EXT ", "I/E.")?"""
    return bool(_HEADING.match(line))


def is_transition(line: str) -> bool:
    """Is this line a transition Fountain knows without a `>` ("CUT TO:")?"""
    return bool(_TRANSITION.match(line))


def is_cue(line: str) -> bool:
    """Would this line open a speech if a blank line came before it and text after it?"""
    if line.startswith("@"):
        return True
    name = cue_name(line)
    return bool(name) and any(c.isalpha() for c in name) and name == name.upper()


def cue_name(line: str) -> str:
    """A character cue without its extensions and dual-dialogue mark ("NADIA (V.O.) ^")."""
    return _CUE_EXTENSION.sub("", line.strip())


def _title_page_end(lines: list[tuple[int, str]]) -> int:
    """Index of the first line after the title page (0 when there is none)."""
    if not lines or not _TITLE_KEY.match(lines[0][1]):
        return 0
    for i, (_, line) in enumerate(lines):
        if _is_blank(line):
            return i
    return len(lines)


def parse(text: str) -> list[Element]:
    """Elements of a Fountain screenplay in document order (blank lines are not elements)."""
    lines = _lines(masked(text))
    elements: list[Element] = []

    def add(kind: Kind, i: int, skip: int = 0, strip_end: int = 0) -> None:
        offset, line = lines[i]
        lead = len(line) - len(line.lstrip())
        start, end = offset + lead + skip, offset + len(line.rstrip()) - strip_end
        if end > start:
            elements.append(Element(kind, start, end, i + 1, text[start:end]))

    first = _title_page_end(lines)
    for i in range(first):
        add(Kind.TITLE, i)

    in_dialogue = False
    for i in range(first, len(lines)):
        line = lines[i][1]
        stripped = line.strip()
        before_blank = i == first or _is_blank(lines[i - 1][1])
        after_blank = i + 1 == len(lines) or _is_blank(lines[i + 1][1])
        if _is_blank(line):
            in_dialogue = False
            continue
        if in_dialogue:
            is_paren = stripped.startswith("(") and stripped.endswith(")")
            add(Kind.PARENTHETICAL if is_paren else Kind.DIALOGUE, i)
            continue
        kind, skip, strip_end = _classify(stripped, before_blank, after_blank)
        add(kind, i, skip, strip_end)
        in_dialogue = kind is Kind.CHARACTER
    return elements


def _classify(line: str, before_blank: bool, after_blank: bool) -> tuple[Kind, int, int]:
    """Kind of a line outside dialogue, with the marker lengths to drop at either end."""
    if line.startswith("!"):
        return Kind.ACTION, 1, 0
    if re.fullmatch(r"={3,}", line):
        return Kind.PAGE_BREAK, 0, 0
    if line.startswith("#"):
        return Kind.SECTION, 0, 0
    if line.startswith("=") and not line.startswith("=="):
        return Kind.SYNOPSIS, 1, 0
    if line.startswith("~"):
        return Kind.LYRICS, 1, 0
    if line.startswith(">") and line.endswith("<"):
        return Kind.CENTERED, 1, 1
    if line.startswith(">"):
        return Kind.TRANSITION, 1, 0
    if line.startswith(".") and not line.startswith(".."):
        return Kind.HEADING, 1, 0
    if before_blank and is_heading(line):
        return Kind.HEADING, 0, 0
    if before_blank and after_blank and is_transition(line):
        return Kind.TRANSITION, 0, 0
    if before_blank and not after_blank and is_cue(line):
        return Kind.CHARACTER, 1 if line.startswith("@") else 0, 0
    return Kind.ACTION, 0, 0

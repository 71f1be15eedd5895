"""A recipient's copy as a PDF: standard screenplay pages, their name across every page.

fpdf2 (pure Python, no system libraries) draws the pages from `layout.lay_out`, in the core
Courier font, so the PDF has a real text layer that a reader can search and a tracer can
extract. Every page also shows, in a light grey that stays out of the way of reading (and of
OCR, whose thresholding drops it), the recipient's name on the diagonal, and in the footer
the copy id. Both are deterrents anyone can edit out; the trace never relies on them.

The core fonts are Latin-1; typographic characters outside it are printed as their ASCII
equivalents (’ as ', — as --), which is what a typewritten script shows anyway.
"""

from __future__ import annotations

from fpdf import FPDF

from watermark.script.layout import LINES_PER_PAGE, Layout, Line, lay_out, printable

__all__ = ["footer_text", "render_pdf"]

_PT = 72.0  # points per inch
_PAGE_W, _PAGE_H = 8.5 * _PT, 11.0 * _PT
_TOP, _LEADING = 1.0 * _PT, 12.0
_ASCII = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "--", "–": "-", "…": "..."})


def footer_text(recipient: str, copy_id: str) -> str:
    """The footer line; `detect` parses it back (as a claim, never as proof)."""
    return f"CONFIDENTIAL  |  Copy {copy_id}  |  Issued to {recipient}"


def _latin1(text: str) -> str:
    return text.translate(_ASCII).encode("latin-1", "replace").decode("latin-1")


def render_pdf(text: str, *, recipient: str, copy_id: str, title: str | None = None) -> bytes:
    """The script (a recipient's Fountain copy) as a PDF in screenplay format."""
    layout = lay_out(text)
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    pdf.set_title(_latin1(title or _title_of(layout) or "Screenplay"))
    pdf.set_creator("vault")
    if layout.title:
        _page(pdf, recipient, copy_id)
        _title_page(pdf, layout)
    for number, lines in enumerate(layout.pages, start=1):
        _page(pdf, recipient, copy_id)
        if number > 1:  # by convention the first page of the script is not numbered
            pdf.set_font("Courier", size=12)
            pdf.text(7.5 * _PT - pdf.get_string_width(f"{number}."), 0.5 * _PT + 9, f"{number}.")
        _draw_lines(pdf, lines)
    return bytes(pdf.output())


def _page(pdf: FPDF, recipient: str, copy_id: str) -> None:
    """A new page with the diagonal name (drawn first, under the text) and the footer."""
    pdf.add_page()
    name = _latin1(recipient).upper()
    size = max(24.0, min(72.0, 620.0 / max(1, 0.6 * len(name))))
    with pdf.local_context(fill_opacity=0.18, text_color=(120, 120, 120)):
        pdf.set_font("Helvetica", style="B", size=size)
        width = pdf.get_string_width(name)
        with pdf.rotation(angle=52, x=_PAGE_W / 2, y=_PAGE_H / 2):
            pdf.text(_PAGE_W / 2 - width / 2, _PAGE_H / 2 + size / 3, name)
    pdf.set_font("Helvetica", size=8)
    footer = _latin1(footer_text(recipient, copy_id))
    pdf.text(_PAGE_W / 2 - pdf.get_string_width(footer) / 2, _PAGE_H - 0.5 * _PT, footer)


def _draw_lines(pdf: FPDF, lines: list[Line]) -> None:
    pdf.set_font("Courier", size=12)
    # Copies never need more lines than the page holds; squeeze rather than spill if a
    # single element is taller than a page.
    leading = _LEADING * min(1.0, LINES_PER_PAGE / max(1, len(lines)))
    for row, line in enumerate(lines):
        if not line.text:
            continue
        words = _latin1(line.text)
        width = pdf.get_string_width(words)
        if line.align == "right":
            x = 7.5 * _PT - width
        elif line.align == "center":
            x = 4.5 * _PT - width / 2
        else:
            x = line.x * _PT
        pdf.text(x, _TOP + row * leading + 9, words)


def _title_of(layout: Layout) -> str | None:
    for element in layout.title:
        key, _, value = element.text.partition(":")
        if key.strip().lower() == "title" and value.strip():
            return printable(value.strip())
    return None


def _title_page(pdf: FPDF, layout: Layout) -> None:
    """Title, credit and author centred a third of the way down; the rest bottom left."""
    centred, corner, key = [], [], ""
    for element in layout.title:
        head, colon, value = element.text.partition(":")
        if colon and not element.text[:1].isspace() and head.strip().isascii():
            key = head.strip().lower()
            element_text = value.strip()
        else:
            element_text = element.text.strip()
        if not element_text:
            continue
        target = centred if key in ("title", "credit", "author", "authors", "source") else corner
        target.append(printable(element_text))
    pdf.set_font("Courier", size=12)
    for row, line in enumerate(centred):
        words = _latin1(line)
        pdf.text(4.25 * _PT - pdf.get_string_width(words) / 2, 3.5 * _PT + 2 * row * 12, words)
    for row, line in enumerate(corner):
        pdf.text(1.5 * _PT, 9.0 * _PT + row * 12, _latin1(line))

"""A script stored as PDF is read back into Fountain from where its lines are printed: the
vault's own PDFs element for element, and a shooting script laid out by other software
(other margins, scene numbers, page numbers, (MORE) / (CONT'D), CONTINUED:, a watermark)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from fpdf import FPDF

from benchmarks.screenplay import screenplay
from watermark import WatermarkError
from watermark.script import fountain_from_pdf, lay_out, render_pdf
from watermark.script.fountain import Kind, parse
from watermark.script.layout import printable

FIXTURES = Path(__file__).parent / "fixtures"
_UNPRINTED = {Kind.TITLE, Kind.SECTION, Kind.SYNOPSIS, Kind.PAGE_BREAK}
_JOINED = {Kind.ACTION, Kind.DIALOGUE}


def elements(text: str) -> list[tuple[str, str]]:
    """What a reader sees: each printed element's kind and words (a paragraph typed over
    several source lines is one element)."""
    out: list[tuple[str, str]] = []
    for before, element in pairwise([None, *parse(text)]):
        if element.kind in _UNPRINTED:
            continue
        words = " ".join(printable(element.text).split())
        same = before is not None and before.kind is element.kind
        if same and element.kind in _JOINED and element.line == before.line + 1 and out:
            out[-1] = (out[-1][0], f"{out[-1][1]} {words}")
        else:
            out.append((element.kind.value, words))
    return out


@pytest.mark.parametrize("name", ["safehouse.fountain", "rooftop.fountain", "generated"])
def test_the_vaults_own_pdf_reads_back_element_for_element(name: str) -> None:
    master = screenplay(seed=4, pages=12) if name == "generated" else (FIXTURES / name).read_text()
    back = fountain_from_pdf(render_pdf(master, recipient="Ava Stone", copy_id="s0123456789"))
    assert elements(back) == elements(master)
    assert abs(len(lay_out(back).pages) - len(lay_out(master).pages)) <= 1


def test_a_title_page_stays_a_title_page() -> None:
    master = (
        "Title: THE ENVOY\nCredit: Written by\nAuthor: J. Doe\nContact:\n    555-0100\n\n"
        + (FIXTURES / "rooftop.fountain").read_text()
    )
    back = fountain_from_pdf(render_pdf(master, recipient="Ava Stone", copy_id="s0123456789"))
    title = [e.text for e in parse(back) if e.kind is Kind.TITLE]
    assert "THE ENVOY" in title and "555-0100" in title and "J. Doe" in title
    assert elements(back) == elements(master)


# A shooting script as other software prints it: Courier 12, six lines an inch, action at
# 1.25", dialogue at 2.25", parentheticals at 2.85", cues at 3.4", transitions ending at 7.25".
_LEFT = {"action": 1.25, "heading": 1.25, "dialogue": 2.25, "paren": 2.85, "cue": 3.4}
_PAGE_1 = [
    ("heading", "INT. SAFE HOUSE - NIGHT", "12"),
    None,
    ("action", "Rain hammers the window. ANNA counts the money twice,", None),
    ("action", "then a third time.", None),
    None,
    ("cue", "ANNA", None),
    ("paren", "(not looking up)", None),
    ("dialogue", "It is all here. Every note of it.", None),
    ("cue", "(MORE)", None),
]
_PAGE_2 = [
    ("cue", "ANNA (CONT'D)", None),
    ("dialogue", "Nobody followed me.", None),
    None,
    ("transition", "CUT TO:", None),
    None,
    ("heading", "EXT. ROOFTOP - DAWN", "13"),
    None,
    ("action", "BANG! A door slams below.", None),
    None,
    ("action", "Est. 1920, the hotel has seen worse.", None),
]


def _shooting_script() -> bytes:
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_auto_page_break(False)
    for number, lines in enumerate([_PAGE_1, _PAGE_2], start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=60)
        with pdf.rotation(angle=45, x=306, y=396):
            pdf.text(180, 396, "DRAFT")
        pdf.set_font("Courier", size=12)
        if number > 1:
            pdf.text(7.25 * 72 - pdf.get_string_width(f"{number}."), 36 + 9, f"{number}.")
            pdf.text(1.25 * 72, 72, "CONTINUED:")
        y = 72.0 + 24 * (number > 1)
        for line in lines:
            y += 12
            if line is None:
                continue
            kind, text, scene = line
            x = 7.25 * 72 - pdf.get_string_width(text) if kind == "transition" else _LEFT[kind] * 72
            pdf.text(x, y, text)
            if scene:
                pdf.text(0.75 * 72, y, scene)
                pdf.text(7.4 * 72, y, scene)
    return bytes(pdf.output())


def test_a_shooting_script_from_other_software_reads_back() -> None:
    back = fountain_from_pdf(_shooting_script())
    assert elements(back) == [
        ("scene heading", "INT. SAFE HOUSE - NIGHT"),
        ("action", "Rain hammers the window. ANNA counts the money twice, then a third time."),
        ("character", "ANNA"),
        ("parenthetical", "(not looking up)"),
        ("dialogue", "It is all here. Every note of it. Nobody followed me."),
        ("transition", "CUT TO:"),
        ("scene heading", "EXT. ROOFTOP - DAWN"),
        ("action", "BANG! A door slams below."),
        ("action", "Est. 1920, the hotel has seen worse."),  # not read as a heading
    ]
    assert "DRAFT" not in back and "CONTINUED" not in back and "2." not in back


def test_a_pdf_without_text_reads_as_nothing() -> None:
    pdf = FPDF(unit="pt", format="letter")
    pdf.add_page()
    pdf.rect(72, 72, 200, 200)
    assert fountain_from_pdf(bytes(pdf.output())) == ""


def test_a_file_that_is_no_pdf_is_a_watermark_error() -> None:
    with pytest.raises(WatermarkError, match="not a readable PDF"):
        fountain_from_pdf(b"%PDF-1.7\n" + b"\x8f\x02" * 300)

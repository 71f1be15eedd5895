"""The screenplay vault end to end through the CLI: `vault get` hands each member their own
canary-marked copy (Fountain, or a signed PDF with their name on every page), recorded and
logged; `vault trace` names the member from a retyped excerpt, their PDF or a photographed
page; `vault verify` checks a PDF's signature; bad scripts and foreign excerpts are refused
or accuse no one."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from conftest import ADMIN, Studio
from PIL import Image

from benchmarks.screenplay import screenplay
from benchmarks.script_attacks import retype

FIXTURES = Path(__file__).parent / "fixtures"
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract-ocr is not installed"
)


@cache
def _script() -> str:
    scenes = [(FIXTURES / n).read_text(encoding="utf-8") for n in ("safehouse.fountain",)]
    return "\n".join([scenes[0], screenplay(seed=23, pages=6)])


@pytest.fixture
def scripted(studio: Studio) -> tuple[Studio, str]:
    return studio, studio.put(ADMIN, "biopic.fountain", _script().encode(), "script")


def _get(studio: Studio, who: str, script: str, name: str) -> tuple[dict, Path]:
    out = studio.tmp / name
    result = studio.cli(who, "get", script, "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output), out


def _trace(studio: Studio, path: Path) -> dict:
    result = studio.cli(ADMIN, "trace", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _middle(text: str, share: float = 0.5) -> str:
    lines = text.splitlines()
    start = len(lines) // 4
    return "\n".join(lines[start : start + int(len(lines) * share)])


def test_each_member_gets_their_own_copy_recorded_and_replayed(scripted, vault) -> None:
    studio, script = scripted
    dana, dana_path = _get(studio, "dana", script, "dana.fountain")
    ava, ava_path = _get(studio, "ava", script, "ava.fountain")
    assert (dana["recipient"], ava["recipient"]) == ("dana", "ava")
    assert dana["mark"] != ava["mark"] and dana["sites"] > 60
    ours, theirs = dana_path.read_text(), ava_path.read_text()
    assert ours != theirs and ours != _script()
    # The printed lines, other spellings and some line breaks moved: as many lines each.
    assert len(ours.splitlines()) == len(theirs.splitlines()) > len(_script().splitlines())
    entry = studio.last_entry(vault)
    assert (entry.action, entry.outcome, entry.asset_id) == ("get", "ok", script)
    assert studio.cli(ADMIN, "audit", "verify").exit_code == 0


def test_a_retyped_excerpt_names_the_member_and_a_foreign_one_no_one(scripted, tmp_path) -> None:
    studio, script = scripted
    _get(studio, "dana", script, "dana.fountain")
    _, ava = _get(studio, "ava", script, "ava.fountain")
    leak = tmp_path / "leak.txt"
    leak.write_text(retype(_middle(ava.read_text()), np.random.default_rng(3)))
    report = _trace(studio, leak)
    assert report["verdict"] == "accused" and report["kind"] == "script"
    assert [a["recipient"] for a in report["accused"]] == ["ava"]
    assert report["accused"][0]["false_accusation_probability"] < 1e-6
    assert report["source"]["script"] == script and report["read_as"] == "text"
    assert report["segments"][0]["accused"] == report["accused"]
    assert report["accused"][0]["history"][0]["action"] == "get"
    text = studio.cli(ADMIN, "trace", str(leak)).output
    assert "ACCUSED ava" in text and report["accused"][0]["copy_id"] in text

    foreign = tmp_path / "other.txt"
    foreign.write_text(screenplay(seed=99, pages=3))
    report = _trace(studio, foreign)
    assert report["verdict"] == "not from this vault" and report["accused"] == []


def test_a_footer_forged_to_name_another_member_accuses_the_leaker(scripted, tmp_path) -> None:
    studio, script = scripted
    dana, _ = _get(studio, "dana", script, "dana.fountain")
    _, ava = _get(studio, "ava", script, "ava.fountain")
    leak = tmp_path / "leak.txt"
    footer = f"CONFIDENTIAL - copy {dana['copy_id']} - issued to dana"
    leak.write_text(retype(_middle(ava.read_text()), np.random.default_rng(5)) + "\n" + footer)
    report = _trace(studio, leak)
    assert report["claims"] == {"recipient": "dana", "copy_id": dana["copy_id"]}
    assert [a["recipient"] for a in report["accused"]] == ["ava"]
    assert any("issued to dana" in n and "only the canary" in n for n in report["notes"])
    assert any("the visible mark was forged or swapped" in n for n in report["notes"])


def test_a_copy_marked_on_another_text_of_the_script_is_not_misread(
    scripted, vault, tmp_path
) -> None:
    from sqlalchemy import update

    from vault.models import ScriptCopy

    studio, script = scripted
    ava, ava_path = _get(studio, "ava", script, "ava.fountain")
    assert ava["master_sha256"] == hashlib.sha256(_script().encode()).hexdigest()
    # As if the stored PDF's text layer had read differently when the copy was made.
    with vault.transaction() as db:
        db.execute(update(ScriptCopy).values(master_sha256="0" * 64))
    leak = tmp_path / "leak.txt"
    leak.write_text(retype(_middle(ava_path.read_text()), np.random.default_rng(3)))
    report = _trace(studio, leak)
    assert report["accused"] == []
    assert any("another reading of its text" in note for note in report["notes"])
    # The hash is part of the audited record: rewriting it is caught.
    assert studio.cli(ADMIN, "audit", "verify").exit_code != 0


def test_a_copy_made_under_older_rules_is_still_traced(
    scripted, vault, tmp_path, monkeypatch
) -> None:
    from sqlalchemy import update

    import watermark.script
    from vault.models import ScriptCopy
    from watermark.script import site_count

    studio, script = scripted
    assert site_count(_script(), "3") < site_count(_script(), "4")  # the versions differ here
    # Ava's copy was issued by the previous release, under the rules of version 3.
    monkeypatch.setattr(watermark.script, "RULES_VERSION", "3")
    ava, ava_path = _get(studio, "ava", script, "ava.fountain")
    monkeypatch.undo()
    dana, _ = _get(studio, "dana", script, "dana.fountain")
    assert (ava["rules"], dana["rules"]) == ("3", watermark.script.RULES_VERSION)
    leak = tmp_path / "leak.txt"
    leak.write_text(retype(_middle(ava_path.read_text()), np.random.default_rng(4)))
    report = _trace(studio, leak)
    assert [a["recipient"] for a in report["accused"]] == ["ava"]
    assert report["accused"][0]["false_accusation_probability"] < 1e-6
    assert report["accused"][0]["rules"] == "3"
    assert not any("not tested" in note for note in report["notes"])

    # Rules newer than this release cannot be read: the trace says so and accuses no one.
    with vault.transaction() as db:
        db.execute(update(ScriptCopy).where(ScriptCopy.recipient == "ava").values(rules="99"))
    report = _trace(studio, leak)
    assert report["accused"] == []
    assert any("canary rules this release does not know (99)" in n for n in report["notes"])


def test_a_pdf_copy_is_signed_named_and_traced(scripted, tmp_path) -> None:
    studio, script = scripted
    _get(studio, "dana", script, "dana.fountain")
    copy, pdf = _get(studio, "ava", script, "ava.pdf")
    assert copy["format"] == "pdf"
    verified = studio.verify(pdf)
    assert verified["credentials"] == "PDF signature"
    assert verified["c2pa"]["state"] == "Trusted"
    assert verified["vault_copy"]["copy_id"] == copy["copy_id"]
    report = _trace(studio, pdf)
    assert [a["recipient"] for a in report["accused"]] == ["ava"]
    assert report["read_as"] == "pdf-text" and report["signature"]["state"] == "Trusted"
    assert report["claims"]["copy_id"] == copy["copy_id"]  # as the footer shows it
    assert any("copy id" in n and "issued to ava" in n for n in report["notes"])

    altered = bytearray(pdf.read_bytes())
    at = altered.find(b"stream") + 40
    altered[at] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(altered))
    assert studio.verify(tampered)["c2pa"]["state"] == "Invalid"


@needs_tesseract
def test_a_photographed_page_pair_names_the_member(scripted, tmp_path) -> None:
    studio, script = scripted
    _get(studio, "dana", script, "dana.fountain")
    _, pdf = _get(studio, "ava", script, "ava.pdf")
    document = pypdfium2.PdfDocument(pdf.read_bytes())
    pages = [document[i].render(scale=200 / 72).to_pil().convert("L") for i in (2, 3, 4)]
    sheet = Image.new("L", (pages[0].width, sum(p.height for p in pages)), 255)
    for number, page in enumerate(pages):
        sheet.paste(page, (0, number * page.height))
    photo = tmp_path / "photo.png"
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    photo.write_bytes(buffer.getvalue())
    report = _trace(studio, photo)
    assert report["read_as"] == "image-ocr"
    assert [a["recipient"] for a in report["accused"]] == ["ava"]


def test_bad_scripts_are_refused_in_one_logged_line(studio, vault, tmp_path) -> None:
    latin1 = tmp_path / "draft.fountain"
    latin1.write_bytes("EXT. CAFÉ - DAY\n\nShe orders.\n".encode("latin-1"))
    result = studio.cli(ADMIN, "put", str(latin1), "--kind", "script")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "not UTF-8" in result.output and "iconv" in result.output
    entry = studio.last_entry(vault)
    assert (entry.action, entry.outcome) == ("put", "error")

    fdx = tmp_path / "draft.fdx"
    fdx.write_text('<?xml version="1.0"?>\n<FinalDraft DocumentType="Script"></FinalDraft>\n')
    result = studio.cli(ADMIN, "put", str(fdx), "--kind", "script")
    assert result.exit_code == 2 and "Final Draft" in result.output

    empty = tmp_path / "empty.fountain"
    empty.write_text(" \n")
    result = studio.cli(ADMIN, "put", str(empty), "--kind", "script")
    assert result.exit_code == 2 and "empty.fountain is empty" in result.output
    assert (studio.last_entry(vault).action, studio.last_entry(vault).outcome) == ("put", "error")

    torn = tmp_path / "draft.pdf"
    torn.write_bytes(b"%PDF-1.7\n" + b"\x8f\x02" * 300)
    result = studio.cli(ADMIN, "put", str(torn), "--kind", "script")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "draft.pdf is not a readable PDF" in result.output
    assert (studio.last_entry(vault).action, studio.last_entry(vault).outcome) == ("put", "error")

    blank = tmp_path / "blank.png"
    Image.new("L", (400, 300), 255).save(blank)
    result = studio.cli(ADMIN, "trace", str(blank))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert studio.last_entry(vault).action == "trace"


@pytest.mark.parametrize(
    ("content", "name", "says"),
    [(b"", "leak.txt", "is empty"), (b"\x8f\x02" * 300, "leak.pdf", "not a readable PDF")],
)
def test_an_empty_or_unreadable_page_is_not_read_as_a_video(
    studio, vault, tmp_path, content: bytes, name: str, says: str
) -> None:
    leak = tmp_path / name
    leak.write_bytes(content)
    result = studio.cli(ADMIN, "trace", str(leak))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert says in result.output and "video" not in result.output
    assert (studio.last_entry(vault).action, studio.last_entry(vault).outcome) == ("trace", "error")


def test_a_script_stored_as_pdf_is_marked_like_its_fountain(studio, tmp_path) -> None:
    from watermark.script import find_sites, fountain_from_pdf, render_pdf, site_count
    from watermark.script.fountain import Kind, parse

    master = _script()
    pdf = render_pdf(master, recipient="Writers Room", copy_id="draft-3")
    script = studio.put(ADMIN, "biopic.pdf", pdf, "script")
    copy, path = _get(studio, "ava", script, "ava.fountain")
    # Cues, headings and transitions come back as such, and are never varied.
    structure = {Kind.HEADING, Kind.CHARACTER, Kind.TRANSITION}
    fixed = [e.text for e in parse(path.read_text()) if e.kind in structure]
    assert fixed == [e.text.replace("^", "").strip() for e in parse(master) if e.kind in structure]
    # The same word sites; line-break sites as the paragraphs are laid out again.
    back = fountain_from_pdf(pdf)
    assert [s.rule for s in find_sites(back)] == [s.rule for s in find_sites(master)]
    assert copy["sites"] == site_count(back) > 0.95 * site_count(master)
    leak = tmp_path / "leak.txt"
    leak.write_text(retype(_middle(path.read_text()), np.random.default_rng(5)))
    assert [a["recipient"] for a in _trace(studio, leak)["accused"]] == ["ava"]


def test_a_script_without_canary_sites_says_what_a_copy_can_prove(studio) -> None:
    bare = "INT. ROOM - NIGHT\n\nSILENCE.\n\nANNA\nGo.\n"
    script = studio.put(ADMIN, "bare.fountain", bare.encode(), "script")
    copy, _ = _get(studio, "dana", script, "bare.fountain")
    assert copy["sites"] == 0 and "cannot be traced" in copy["confidence"]


def test_damaged_pages_and_a_bad_report_path_are_one_logged_line(scripted, vault, tmp_path) -> None:
    studio, script = scripted
    _, pdf = _get(studio, "ava", script, "ava.pdf")
    data = bytearray(pdf.read_bytes())
    at = data.find(b"/FlateDecode")
    data[at + 1 : at + 3] = b"Fx"  # a filter no reader knows: the page cannot be read
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(bytes(data))
    result = studio.cli(ADMIN, "trace", str(broken))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert (studio.last_entry(vault).action, studio.last_entry(vault).outcome) == ("trace", "error")

    strip = tmp_path / "strip.png"
    Image.new("L", (20, 4000), 255).save(strip)
    result = studio.cli(ADMIN, "trace", str(strip))
    assert result.exit_code == 2 and "not a photographed page" in result.output

    nowhere = tmp_path / "no-such-dir" / "trace.html"
    result = studio.cli(ADMIN, "trace", str(pdf), "--report", str(nowhere))
    assert result.exit_code == 2 and "does not exist" in result.output
    assert studio.last_entry(vault).outcome == "error"

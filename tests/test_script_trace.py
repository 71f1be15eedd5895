"""Tracing a leaked screenplay (detect/script.py, detect/text_source.py): from a recipient's
copy, as text, PDF or photographed page, back to the recipient; and what is refused.

The master is the two hand-written fixture scenes plus a few generated pages, marked for 12
recipients; the full-size figures (200 recipients, a 120-page script) are
benchmarks/bench_script.py.
"""

from __future__ import annotations

import io
import shutil
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.screenplay import screenplay
from benchmarks.script_attacks import merge_lines, pages_of, photograph, retype
from detect.errors import DetectError
from detect.script import script_evidence
from detect.text_source import read_text
from watermark import TardosCode, accuse
from watermark.script import SiteCode, find_sites, find_wraps, mark_script, render_pdf, site_count
from watermark.script.fountain import VARIABLE, parse

FIXTURES = Path(__file__).parent / "fixtures"
KEY = b"script trace key"
USERS = 12
LEAKER = 7
THRESHOLD = 1e-3

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract-ocr is not installed"
)


@cache
def master() -> str:
    names = ("safehouse.fountain", "rooftop.fountain")
    scenes = [(FIXTURES / n).read_text(encoding="utf-8") for n in names]
    return "\n".join([scenes[0], screenplay(seed=11, pages=4), scenes[1]])


@cache
def code() -> TardosCode:
    return TardosCode.generate(KEY, site_count(master()), colluders=2, bias="uniform")


@cache
def copy(user: int) -> str:
    return mark_script(master(), code().codeword(user), KEY)


def accused(suspect, key: bytes = KEY) -> list[int]:
    evidence = script_evidence(master(), suspect, key, code().length)
    return [j for j, _, p in code().rank(evidence.values, code().codewords(range(USERS)))
            if p < THRESHOLD]  # fmt: skip


def test_retyped_excerpt_accuses_its_recipient() -> None:
    rng = np.random.default_rng(5)
    leak = retype(pages_of(copy(LEAKER), 2, 3), rng)
    evidence = script_evidence(master(), leak, KEY, code().length)
    assert evidence.aligned > 0.9 and evidence.sites_read >= 30
    assert evidence.pages is not None and evidence.pages[0] >= 2
    assert accused(leak) == [LEAKER]


def test_wrong_key_accuses_no_one() -> None:
    leak = pages_of(copy(LEAKER), 2, 3)
    assert accused(leak, key=b"another production") == []


def test_the_master_itself_accuses_no_one() -> None:
    assert accused(pages_of(master(), 2, 3)) == []


def test_excerpt_of_another_script_accuses_no_one() -> None:
    other = screenplay(seed=99, pages=3)
    evidence = script_evidence(master(), other, KEY, code().length)
    assert not evidence.from_this_script
    assert "not an excerpt" in evidence.note
    assert not evidence.values.any()


def test_pdf_text_layer_accuses_its_recipient_and_reports_the_claims() -> None:
    pdf = render_pdf(copy(LEAKER), recipient="Marcus Vale", copy_id="C0PY-0007")
    suspect = read_text(pdf, "leak.pdf")
    assert suspect.source == "pdf-text"
    assert (suspect.claims.recipient, suspect.claims.copy_id) == ("Marcus Vale", "C0PY-0007")
    assert "CONFIDENTIAL" not in suspect.text and "MARCUS VALE" not in suspect.text
    assert accused(suspect) == [LEAKER]
    # The video's accusation takes the script's evidence as it is.
    evidence = script_evidence(master(), suspect, KEY, code().length)
    verdict = accuse(evidence, code(), range(USERS), threshold=THRESHOLD)
    assert [a.copy for a in verdict.accused] == [LEAKER]
    assert verdict.to_json()["evidence"]["claims"]["copy_id"] == "C0PY-0007"


def test_a_claimed_copy_gets_half_the_threshold_to_itself_and_proves_nothing() -> None:
    evidence = script_evidence(master(), pages_of(copy(LEAKER), 3, 1), KEY, code().length)

    def probabilities(claimed: tuple[int, ...]) -> dict[int, float]:
        verdict = accuse(evidence, code(), range(USERS), top=USERS, claimed=claimed)
        return {a.copy: a.probability for a in verdict.ranking}

    plain, true, forged = probabilities(()), probabilities((LEAKER,)), probabilities((3,))
    # The claimed copy is corrected for one copy at half the threshold, the rest for all
    # of them at the other half: twice its own tail, and twice the searched probability.
    scores = code().scores(evidence.values, code().codewords(range(USERS)))

    def own_tail(j: int) -> float:
        return code().false_accusation_probability(float(scores[j]), 0, evidence.values)

    assert true[LEAKER] == pytest.approx(min(1.0, 2 * own_tail(LEAKER)))
    assert true[LEAKER] == pytest.approx(plain[LEAKER] * 2 / USERS)  # far from the cap of 1
    assert forged[3] == pytest.approx(min(1.0, 2 * own_tail(3)))
    for j in set(range(USERS)) - {LEAKER}:
        assert true[j] == pytest.approx(min(1.0, 2 * plain[j]))
    assert forged[LEAKER] == pytest.approx(min(1.0, 2 * plain[LEAKER]))
    assert forged[3] > 0.01  # the claim named an innocent: the canaries do not follow it
    # A claim naming a copy that was never issued changes nothing.
    assert probabilities((USERS + 5,)) == plain
    # Where the search's probability is capped at 1 (the master itself: nobody's marks),
    # the claimed copy's is still twice its own tail, not the cap scaled down.
    unmarked = script_evidence(master(), pages_of(master(), 3, 1), KEY, code().length)
    everyone = range(USERS)
    searched = {
        a.copy: a.probability for a in accuse(unmarked, code(), everyone, top=USERS).ranking
    }
    scores = code().scores(unmarked.values, code().codewords(everyone))
    capped = [j for j in everyone if searched[j] == 1.0]
    assert capped
    for j in capped:
        claimed = accuse(unmarked, code(), everyone, top=USERS, claimed=[j]).ranking
        tail = code().false_accusation_probability(float(scores[j]), 0, unmarked.values)
        assert {a.copy: a.probability for a in claimed}[j] == pytest.approx(min(1.0, 2 * tail))
        assert tail >= 1 / USERS  # so 2 * tail >= 2 / USERS: the cap scaled down would be less


def test_a_forged_claim_never_accuses_the_innocent_it_names() -> None:
    rng = np.random.default_rng(8)
    for trial in range(40):
        leaker = int(rng.integers(USERS))
        innocent = int(rng.choice([j for j in range(USERS) if j != leaker]))
        leak = retype(pages_of(copy(leaker), 1 + trial % 5, 1), rng)
        evidence = script_evidence(master(), leak, KEY, code().length)
        verdict = accuse(evidence, code(), range(USERS), threshold=THRESHOLD, claimed=[innocent])
        assert {a.copy for a in verdict.accused} <= {leaker}


def test_line_breaks_are_read_where_the_excerpt_kept_its_lines() -> None:
    pdf = render_pdf(copy(LEAKER), recipient="Marcus Vale", copy_id="C0PY-0007")
    kept = script_evidence(master(), read_text(pdf, "leak.pdf"), KEY, code().length)
    reflowed = script_evidence(
        master(), retype(copy(LEAKER), np.random.default_rng(4)), KEY, code().length
    )
    assert kept.lines_kept and not reflowed.lines_kept
    assert kept.to_json()["lines_kept"] is True and kept.line_breaks_read > 0
    # Every wrap site the PDF shows is read, and read as the leaker's codeword spells it.
    words, wraps = len(find_sites(master())), find_wraps(master()).bits
    positions = SiteCode.derive(words + wraps, code().length, KEY).positions[words:]
    bits = code().codeword(LEAKER)[positions].astype(int) * 2 - 1
    read = kept.values[positions]
    assert np.count_nonzero(read) >= 0.65 * wraps  # a second bit is read only when it is shown
    assert np.all(read[read != 0] * bits[read != 0] > 0)
    assert not np.any(reflowed.values[positions])
    assert kept.sites_read > reflowed.sites_read


def joined(text: str) -> str:
    """The text with each paragraph's printed lines joined into one line again."""
    elements = parse(text)
    chars = list(text)
    for a, b in reversed(list(pairwise(elements))):
        if a.kind is b.kind and a.kind in VARIABLE and b.line == a.line + 1:
            chars[a.end : b.start] = " "
    return "".join(chars)


def test_a_copy_retyped_into_screenplay_software_reads_no_line_breaks() -> None:
    # Its lines joined and printed again at the standard widths: most line ends fall where
    # the copy's did (on this script, enough to look kept), but none ends early, so they
    # are not the copy's breaks and are not read.
    other = screenplay(seed=1, pages=6)
    other_code = TardosCode.generate(KEY, site_count(other), colluders=2, bias="uniform")
    leaked = mark_script(other, other_code.codeword(1), KEY)
    retyped = joined(leaked)
    assert len(retyped.splitlines()) < len(leaked.splitlines())
    suspect = read_text(render_pdf(retyped, recipient="M", copy_id="X-1"), "leak.pdf")
    evidence = script_evidence(other, suspect, KEY, other_code.length)
    assert not evidence.lines_kept and evidence.line_breaks_read == 0
    assert evidence.sites_read <= evidence.sites_covered
    ranking = other_code.rank(evidence.values, other_code.codewords(range(USERS)))
    assert [j for j, _, p in ranking if p < THRESHOLD] == [1]  # the words still name them


def test_colluders_merging_line_by_line_accuse_one_of_them() -> None:
    rng = np.random.default_rng(8)
    merged = merge_lines(copy(3), copy(9), rng)
    found = accused(merged)
    assert found and set(found) <= {3, 9}


@needs_tesseract
def test_photographed_page_accuses_its_recipient() -> None:
    pdf = render_pdf(copy(LEAKER), recipient="Marcus Vale", copy_id="C0PY-0007")
    # PDF page 2 is the first script page (page 1 is the title page): the safehouse scene.
    (shot,) = photograph(pdf, [2], np.random.default_rng(2))
    suspect = read_text(shot, "photo.jpg")
    assert suspect.source == "image-ocr"
    assert accused(suspect) == [LEAKER]


@needs_tesseract
def test_pdf_without_text_layer_falls_back_to_ocr() -> None:
    page = Image.open(io.BytesIO(photograph(
        render_pdf(copy(LEAKER), recipient="M", copy_id="X-1"), [2], np.random.default_rng(3)
    )[0]))  # fmt: skip
    scanned = io.BytesIO()
    page.save(scanned, format="PDF", resolution=200)
    suspect = read_text(scanned.getvalue(), "scan.pdf")
    assert suspect.source == "pdf-ocr" and "OCR" in suspect.note
    assert accused(suspect) == [LEAKER]


@needs_tesseract
def test_image_without_text_is_refused() -> None:
    blank = io.BytesIO()
    Image.new("L", (800, 1000), color=235).save(blank, format="PNG")
    with pytest.raises(DetectError, match="no text could be read"):
        read_text(blank.getvalue(), "blank.png")


def test_binary_data_is_refused_and_windows_text_is_read_with_a_note() -> None:
    with pytest.raises(DetectError, match="neither a PDF, an image nor text"):
        read_text(bytes(range(256)) * 8, "blob.bin")
    suspect = read_text("Nobody’s script — café".encode("cp1252"), "old.txt")
    assert "Windows-1252" in suspect.note and "café" in suspect.text
    with pytest.raises(DetectError, match="empty"):
        read_text(b"  \n", "empty.txt")


def test_script_without_sites_gives_no_evidence_and_says_why() -> None:
    text = "INT. ROOM - DAY\n\nSilence.\n\nANNA\nHello.\n"
    evidence = script_evidence(text, text, KEY, 64)
    assert evidence.sites_total == 0 and not evidence.values.any()
    assert "no variant sites" in evidence.note

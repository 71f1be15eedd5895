"""`vault trace` end to end: an attacked excerpt of one member's copy names that member; an
edit of two shots names both recipients; a second is too short to name anyone; a broken
studio manifest is flagged; the master, a foreign clip and a never-exported render accuse
no one."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest
from conftest import ADMIN, Studio, encode, export_copy, generated_clip, portrait

from benchmarks.attacks import synthetic_clip
from vault.models import AuditEntry


def _leak(copy, out, crop=40, size=(400, 300), skip=10, crf=28):
    """What a leaker does: trim, crop, scale, re-encode (no manifest survives)."""
    with av.open(str(copy)) as source, av.open(str(out), "w") as target:
        stream = target.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.options = {"crf": str(crf)}
        for index, frame in enumerate(source.decode(video=0)):
            if index < skip:
                continue
            picture = frame.to_ndarray(format="rgb24")[crop:-crop, crop:-crop]
            picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
            target.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        target.mux(stream.encode(None))
    return out


def _frames(path, first: int, last: int, size=(400, 300)) -> list[np.ndarray]:
    with av.open(str(path)) as source:
        pictures = [f.to_ndarray(format="rgb24") for f in source.decode(video=0)][first:last]
    return [cv2.resize(p, size, interpolation=cv2.INTER_AREA) for p in pictures]


def _trace(studio: Studio, path, *extra: str) -> dict:
    result = studio.cli(ADMIN, "trace", str(path), "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_an_attacked_excerpt_names_the_member_whose_copy_it_was(rendered, vault) -> None:
    studio = rendered
    copies = {}
    for name in ("dana", "eddie"):
        result, path = export_copy(studio, ADMIN, name, f"{name}.mp4")
        copies[name] = (json.loads(result.output), path)
    leak = _leak(copies["eddie"][1], studio.tmp / "leak.mp4")
    report = _trace(studio, leak)
    assert report["verdict"] == "accused"
    assert report["source"]["shot"] == 7 and report["source"]["render"] == 1
    assert report["source"]["frames"][0] == pytest.approx(10, abs=2)
    assert [a["recipient"] for a in report["accused"]] == ["eddie"]
    accused = report["accused"][0]
    assert accused["copy_id"] == copies["eddie"][0]["copy_id"]
    assert accused["false_accusation_probability"] < 1e-6
    assert accused["history"][0]["action"] == "export"
    assert report["segments"][0]["accused"] == report["accused"]
    assert report["c2pa"]["state"] == "No manifest" and report["c2pa"]["forgery"] is None
    text = studio.cli(ADMIN, "trace", str(leak)).output
    assert "ACCUSED eddie" in text and accused["copy_id"] in text
    with vault.session() as db:
        last = db.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
    assert (last.action, last.outcome) == ("trace", "ok")


def test_the_master_and_a_foreign_clip_accuse_no_one(rendered, tmp_path) -> None:
    studio = rendered
    assert export_copy(studio, ADMIN, "dana", "dana.mp4")[0].exit_code == 0
    render_asset = json.loads(studio.cli(ADMIN, "ls", "--json").output)
    master = next(a for a in render_asset if a["kind"] == "render")
    report = _trace(studio, studio.get(master["id"], "master.mp4"))
    assert report["verdict"] == "no mark found" and report["accused"] == []
    assert report["source"]["render_id"] == "r7.1"
    foreign = tmp_path / "foreign.mp4"
    foreign.write_bytes(generated_clip(40))
    report = _trace(studio, foreign)
    assert report["verdict"] == "not from this vault" and report["source"] is None


def test_a_render_never_exported_has_nobody_to_accuse(rendered) -> None:
    studio = rendered
    master = next(
        a for a in json.loads(studio.cli(ADMIN, "ls", "--json").output) if a["kind"] == "render"
    )
    report = _trace(studio, studio.get(master["id"], "master.mp4"))
    assert report["verdict"] == "never exported"


def test_tracing_what_is_not_media_is_a_logged_one_line_error(studio, vault, tmp_path) -> None:
    junk = tmp_path / "dump.bin"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    result = studio.cli(ADMIN, "trace", str(junk))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "not a readable video" in result.output
    assert studio.last_entry(vault).action == "trace"
    assert studio.cli("ava", "trace", str(junk)).exit_code == 4  # actors may not trace
    text = tmp_path / "notes.txt"
    text.write_text("FADE IN:\n\nINT. NOWHERE - DAY\n\nNothing happens here at all.\n")
    report = _trace(studio, text)  # text is read as script pages, and matches none
    assert report["kind"] == "script" and report["verdict"] == "not from this vault"


def test_an_edit_of_two_shots_is_split_and_each_traced_with_a_report_page(rendered) -> None:
    studio = rendered
    plate = studio.put(
        ADMIN, "plate8.mp4", encode(synthetic_clip(2, 30, 320, 240, 3).frames), "footage"
    )
    face = studio.put(ADMIN, "president8.jpg", portrait(), "face")
    assert studio.cli("vic", "shot", "add", "8", "--plate", plate, "--face", face).exit_code == 0
    assert studio.render("vic", 8).exit_code == 0
    export_copy(studio, ADMIN, "dana", "dana.mp4")
    eddie = studio.tmp / "eddie8.mp4"
    result = studio.cli(ADMIN, "export", "--shot", "8", "--to", "eddie", "-o", str(eddie))
    assert result.exit_code == 0, result.output
    trailer = studio.tmp / "trailer.mp4"
    edit = _frames(studio.tmp / "dana.mp4", 5, 57) + _frames(eddie, 4, 56)
    trailer.write_bytes(encode(np.stack(edit)))

    page = studio.tmp / "trace.html"
    report = _trace(studio, trailer, "--report", str(page))
    first, second = report["segments"]
    assert first["frames"] == [0, 52] and second["frames"] == [52, 104]
    assert (first["source"]["shot"], second["source"]["shot"]) == (7, 8)
    assert [a["recipient"] for a in first["accused"]] == ["dana"]
    assert [a["recipient"] for a in second["accused"]] == ["eddie"]
    assert report["verdict"] == "accused"
    assert {a["recipient"] for a in report["accused"]} == {"dana", "eddie"}
    assert all(a["false_accusation_probability"] < 1e-6 for a in report["accused"])
    kinds = {c["kind"] for c in first["attacks"]}
    assert {"scale", "excerpt"} <= kinds and "mirror" not in kinds
    assert report["attacks"][0]["kind"] == "re-encode"
    scores = np.array(first["frame_scores"])
    assert len(scores) == 52 and scores.mean() > 1.0  # dana's mark, frame after frame

    text = studio.cli(ADMIN, "trace", str(trailer)).output
    assert "an edit of 2 shots" in text
    assert "ACCUSED dana" in text and "ACCUSED eddie" in text
    html = page.read_text()
    assert html.count("<svg") == 2 and html.count("data:image/jpeg;base64,") == 4
    assert "Accused: dana" in html and "Accused: eddie" in html


def test_one_second_of_a_damaged_copy_is_not_enough_to_name_anyone(rendered) -> None:
    studio = rendered
    _, copy = export_copy(studio, ADMIN, "dana", "dana.mp4")
    export_copy(studio, ADMIN, "eddie", "eddie.mp4")
    short = _leak(copy, studio.tmp / "short.mp4", crop=80, size=(160, 120), skip=30, crf=38)
    report = _trace(studio, short)
    assert report["verdict"] == "insufficient evidence" and report["accused"] == []
    assert report["source"]["shot"] == 7
    assert any("too little footage" in note for note in report["segments"][0]["notes"])


def test_a_copy_whose_studio_manifest_was_tampered_with_is_flagged_as_forged(rendered) -> None:
    studio = rendered
    _, copy = export_copy(studio, ADMIN, "dana", "dana.mp4")
    data = bytearray(copy.read_bytes())
    data[data.find(b"mdat") + 4000] ^= 0x01
    altered = studio.tmp / "altered.mp4"
    altered.write_bytes(data)
    report = _trace(studio, altered)
    assert report["c2pa"]["state"] == "Invalid"
    assert report["c2pa"]["forgery"].startswith("FORGERY")
    assert [a["recipient"] for a in report["accused"]] == ["dana"]  # the mark still speaks
    assert "FORGERY" in studio.cli(ADMIN, "trace", str(altered)).output


def test_audio_only_is_a_logged_one_line_error(studio, vault, tmp_path) -> None:
    sound = tmp_path / "call.m4a"
    with av.open(str(sound), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000)
        for index in range(20):
            samples = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, index * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    result = studio.cli(ADMIN, "trace", str(sound))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "no video stream" in result.output
    assert (studio.last_entry(vault).action, studio.last_entry(vault).outcome) == ("trace", "error")

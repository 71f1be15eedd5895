"""`vault trace` end to end: an attacked excerpt of one member's copy names that member;
the master, a foreign clip and a never-exported render accuse no one."""

from __future__ import annotations

import json

import av
import cv2
import pytest
from conftest import ADMIN, Studio, export_copy, generated_clip

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


def _trace(studio: Studio, path) -> dict:
    result = studio.cli(ADMIN, "trace", str(path), "--json")
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
    assert report["c2pa"] == "No manifest"
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


def test_tracing_what_is_not_video_is_a_logged_one_line_error(studio, vault, tmp_path) -> None:
    text = tmp_path / "script.txt"
    text.write_text("FADE IN:\n")
    result = studio.cli(ADMIN, "trace", str(text))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "not a readable video" in result.output
    assert studio.last_entry(vault).action == "trace"
    assert studio.cli("ava", "trace", str(text)).exit_code == 4  # actors may not trace

"""Shots, `vault render` and `vault verify` end to end: the swap inside the vault, C2PA on
every render, refusals logged, nothing left behind."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import av
import cv2
import numpy as np
import pyrage
import pytest
from conftest import ACTOR, ADMIN, Studio, actor_clip, generated_clip, install_plugin, portrait

from vault.provenance import SigningCredentials
from vault.studio_ca import create_studio_credentials


@pytest.fixture
def shot12(studio: Studio) -> dict[str, str]:
    """Shot 12: the real actor clip (or a generated one) and a real portrait."""
    plate_data = actor_clip() if ACTOR.exists() else generated_clip()
    plate = studio.put(ADMIN, "plate12.mp4", plate_data, "footage")
    face = studio.put(ADMIN, "president.jpg", portrait(), "face")
    added = studio.cli("vic", "shot", "add", "12", "--plate", plate, "--face", face, "--json")
    assert added.exit_code == 0, added.output
    return {"plate": plate, "face": face, "plate_data": plate_data}


def test_a_render_is_signed_trusted_versioned_and_says_what_it_is(studio, vault, shot12) -> None:
    first = studio.render("vic", 12)
    assert first.exit_code == 0, first.output
    render1 = json.loads(first.output)
    assert (render1["render"], render1["signed"], render1["rendered_by"]) == (1, True, "vic")
    render2 = json.loads(studio.render("vic", 12).output)
    assert render2["render"] == 2 and render2["asset"] != render1["asset"]  # render 1 is kept

    report = studio.verify(studio.get(render1["asset"], "r1.mp4"))
    c2pa = report["c2pa"]
    assert c2pa["state"] == "Trusted" and c2pa["failures"] == []
    assert c2pa["ai_generated"] and "Article 50(4)" in c2pa["disclosure"]
    assert c2pa["claim_generator"].startswith("vault ")
    assert c2pa["render"]["shot"] == 12 and c2pa["render"]["render"] == 1
    assert c2pa["render"]["rendered_by"] == "vic"
    plate_hash = hashlib.sha256(shot12["plate_data"]).hexdigest()
    face_hash = hashlib.sha256(portrait()).hexdigest()
    assert {(i["relationship"], i["hash"]) for i in c2pa["ingredients"]} == {
        ("parentOf", f"sha256:{plate_hash}"),
        ("componentOf", f"sha256:{face_hash}"),
    }
    assert report["vault_render"]["render_id"] == render1["render_id"] == "r12.1"

    listed = json.loads(studio.cli("vic", "shot", "list", "--json").output)
    assert listed[0]["shot"] == 12 and listed[0]["renders"] == 2


@pytest.mark.skipif(not ACTOR.exists(), reason="../shared/data/footage is absent")
def test_the_render_has_the_face_swapped_and_keeps_the_plate_s_frames(studio, shot12) -> None:
    done = json.loads(studio.render("vic", 12).output)
    with av.open(str(studio.get(done["asset"], "r.mp4"))) as container:
        swapped = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(io.BytesIO(shot12["plate_data"])) as container:
        original = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(swapped) == len(original) == done["frames"] == 12
    difference = np.abs(np.stack(swapped).astype(int) - np.stack(original).astype(int)).mean(axis=3)
    changed = difference > 25
    assert changed.any(axis=(1, 2)).all()  # every frame has its face swapped
    assert changed[:, 60:260, 220:420].sum() > 0.9 * changed.sum()  # and only the face
    assert changed.mean() < 0.05


def test_a_flipped_byte_a_cut_or_another_signer_do_not_pass(studio, shot12, tmp_path) -> None:
    done = json.loads(studio.render("vic", 12).output)
    path = studio.get(done["asset"], "r.mp4")
    data = bytearray(path.read_bytes())
    data[data.find(b"mdat") + 4000] ^= 0x01
    flipped = tmp_path / "flipped.mp4"
    flipped.write_bytes(data)
    report = studio.verify(flipped)["c2pa"]
    assert report["state"] == "Invalid"
    assert any(f.startswith("assertion.bmffHash.mismatch") for f in report["failures"])
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: len(data) * 2 // 3])
    assert studio.verify(cut)["c2pa"]["state"] == "Invalid"

    other = create_studio_credentials("Someone Else")
    forged = _signed_elsewhere(path.read_bytes(), other)
    report = studio.verify(_write(tmp_path / "forged.mp4", forged))
    assert report["c2pa"]["state"] == "Valid" and report["vault_render"] is None
    assert any("not signed by this studio" in note for note in report["notes"])


def _signed_elsewhere(video: bytes, credentials) -> bytes:
    """The same pictures under another studio's valid signature (its own manifest)."""
    from vault.provenance import sign_video

    manifest = {
        "claim_generator_info": [{"name": "elsewhere", "version": "1"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                        }
                    ]
                },
            }
        ],
    }
    stripped = _strip(video)
    return sign_video(
        manifest,
        stripped,
        SigningCredentials(credentials.signer_chain_pem, credentials.signer_key_pem),
        [],
    )


def _strip(video: bytes) -> bytes:
    """The MP4 re-muxed by PyAV: the same frames, no C2PA box."""
    out = io.BytesIO()
    with av.open(io.BytesIO(video)) as source, av.open(out, "w", format="mp4") as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    return out.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_an_unsigned_render_must_be_asked_for_and_is_logged(studio, vault, shot12) -> None:
    done = json.loads(studio.render("vic", 12, "--unsigned").output)
    assert done["signed"] is False and done["manifest"] is None
    entry = json.loads(bytes(studio.last_entry(vault).entry).split(b"\n")[0])
    assert entry["action"] == "render" and entry["detail"]["render"]["signed"] is False
    report = studio.verify(studio.get(done["asset"], "u.mp4"))
    assert report["c2pa"]["state"] == "No manifest"


def test_refusals_are_one_line_logged_and_change_nothing(studio, vault, shot12, tmp_path) -> None:
    before = studio.counts(vault)
    cases = [
        ("vic", ("render", "--shot", "99"), "no shot 99", "error"),
        ("ava", ("render", "--shot", "12"), "may not render", "denied"),
    ]
    for who, args, message, outcome in cases:
        result = studio.cli(who, *args)
        assert result.exit_code != 0
        assert result.output.strip().count("\n") == 0 and message in result.output
        entry = studio.last_entry(vault)
        assert (entry.action, entry.outcome) == ("render", outcome)
    revoked = studio.cli(ADMIN, "revoke", "vic", "--asset", shot12["plate"])
    assert revoked.exit_code == 0
    result = studio.cli("vic", "render", "--shot", "12")
    assert result.exit_code == 4 and "may not read footage" in result.output
    assert studio.counts(vault) == before


def test_a_plate_that_is_not_video_or_a_face_without_a_face_is_refused(studio, vault) -> None:
    text = studio.put(ADMIN, "notes.mp4", b"this is not a video\n" * 100, "footage")
    blank = cv2.imencode(".jpg", np.full((200, 200, 3), 128, np.uint8))[1].tobytes()
    face = studio.put(ADMIN, "blank.jpg", blank, "face")
    good_face = studio.put(ADMIN, "president.jpg", portrait(), "face")
    plate = studio.put(ADMIN, "plate.mp4", generated_clip(), "footage")
    assert (
        studio.cli("vic", "shot", "add", "1", "--plate", text, "--face", good_face).exit_code == 0
    )
    assert studio.cli("vic", "shot", "add", "2", "--plate", plate, "--face", face).exit_code == 0
    before = studio.counts(vault)
    result = studio.cli("vic", "render", "--shot", "1")
    assert (
        result.exit_code == 2
        and "shot 1:" in result.output
        and "not a readable video" in result.output
    )
    result = studio.cli("vic", "render", "--shot", "2")
    assert result.exit_code == 2 and "no face found in the reference image" in result.output
    assert studio.counts(vault) == before
    assert studio.last_entry(vault).outcome == "error"
    wrong_kind = studio.cli("vic", "shot", "add", "3", "--plate", face, "--face", face)
    assert wrong_kind.exit_code == 2 and "not a plate" in wrong_kind.output
    twice = studio.cli("vic", "shot", "add", "1", "--plate", plate, "--face", face)
    assert twice.exit_code != 0 and "already exists" in twice.output


def test_an_expired_signing_certificate_stops_the_render_before_any_work(
    studio, vault, shot12
) -> None:
    old = create_studio_credentials(
        "Test Film", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=900)
    )
    layout = vault.layout
    layout.signer_chain.write_bytes(old.signer_chain_pem)
    layout.signer_key.write_bytes(pyrage.encrypt(old.signer_key_pem, [vault.recipient()]))
    before = studio.counts(vault)
    result = studio.render("vic", 12)
    assert result.exit_code == 2 and "signing certificate expired on" in result.output
    assert studio.counts(vault) == before
    assert (studio.last_entry(vault).action, studio.last_entry(vault).outcome) == (
        "render",
        "error",
    )


def test_no_plaintext_reaches_the_disk_and_ctrl_c_leaves_the_vault_as_it_was(
    studio, vault, shot12, tmp_path, monkeypatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where any temporary file would go
    done = json.loads(studio.render("vic", 12).output)
    assert list(scratch.iterdir()) == []
    plate_head = shot12["plate_data"][:64]
    for path in studio.home.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert plate_head not in content and b"ftypisom" not in content, path
    assert done["render"] == 1

    (tmp_path / "plugins").mkdir()
    install_plugin(
        tmp_path / "plugins",
        monkeypatch,
        "interrupting_engine",
        "class Interrupting:\n"
        "    def __init__(self):\n"
        "        self.calls = 0\n"
        "    def __call__(self, frames):\n"
        "        self.calls += 1\n"
        "        if self.calls == 2:\n"
        "            raise KeyboardInterrupt\n"
        "        return frames\n"
        "def make(face, **settings):\n"
        "    return Interrupting()\n",
        {"interrupting": "interrupting_engine:make"},
    )
    plate = studio.put(ADMIN, "long.mp4", generated_clip(40), "footage")
    added = studio.cli(
        "vic",
        "shot",
        "add",
        "13",
        "--plate",
        plate,
        "--face",
        shot12["face"],
        "--backend",
        "interrupting",
    )
    assert added.exit_code == 0, added.output
    before = studio.counts(vault)
    result = studio.cli("vic", "render", "--shot", "13")
    assert result.exit_code == 130
    assert studio.counts(vault) == before
    assert not any(vault.layout.pending.glob("*"))


def test_verify_refuses_what_is_not_media_in_one_line(studio, tmp_path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("INT. SITUATION ROOM - NIGHT\n")
    result = studio.cli(ADMIN, "verify", str(text))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"vault: {text} is not an MP4, JPEG, PNG or PDF file, the formats checked here; "
        "give the file as it was delivered (vault renders and copies are MP4, scripts PDF)"
    ]
    missing = studio.cli(ADMIN, "verify", str(tmp_path / "nowhere.mp4"))
    assert missing.exit_code == 2 and "cannot read" in missing.output

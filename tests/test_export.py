"""`vault export`: per-recipient marked, signed copies; grants; durable lookup by watermark."""

from __future__ import annotations

import json

import av
import pytest
from conftest import ADMIN, export_copy, generated_clip
from sqlalchemy import select

from vault.models import Copy, Render, Shot


def _stripped(path, out):
    """The copy re-encoded without its manifest, as a leaker's tool would write it."""
    with av.open(str(path)) as source, av.open(str(out), "w") as target:
        stream = target.add_stream("libx264", rate=30)
        video = source.streams.video[0]
        stream.width, stream.height = video.codec_context.width, video.codec_context.height
        stream.pix_fmt, stream.options = "yuv420p", {"crf": "23"}
        for frame in source.decode(video=0):
            frame.pts = None
            target.mux(stream.encode(frame.reformat(format="yuv420p")))
        target.mux(stream.encode(None))
    return out


def test_two_recipients_get_different_signed_copies_each_traceable_to_them(rendered, vault) -> None:
    studio = rendered
    copies = {}
    for name in ("dana", "eddie"):
        result, path = export_copy(studio, "dana", name, f"{name}.mp4")
        assert result.exit_code == 0, result.output
        copies[name] = (json.loads(result.output), path)
    assert copies["dana"][1].read_bytes() != copies["eddie"][1].read_bytes()

    for name, (record, path) in copies.items():
        report = studio.verify(path)
        c2pa = report["c2pa"]
        assert c2pa["state"] == "Trusted" and c2pa["ai_generated"]
        assert c2pa["actions"] == ["c2pa.opened", "c2pa.watermarked"]
        assert c2pa["soft_binding"]["alg"] == "org.vault.forensic-luma.v1"
        assert c2pa["soft_binding"]["blocks"][0]["value"] == record["copy_id"]
        assert c2pa["copy"]["recipient"] == name and c2pa["copy"]["requested_by"] == "dana"
        assert [i["relationship"] for i in c2pa["ingredients"]] == ["parentOf"]
        assert report["vault_copy"]["copy_id"] == record["copy_id"]
        assert report["found_by"] == "manifest"

        stripped = _stripped(path, studio.tmp / f"{name}-leak.mp4")
        leaked = studio.verify(stripped)
        assert leaked["c2pa"]["state"] == "No manifest"
        assert leaked["found_by"] == "watermark"
        assert leaked["vault_copy"]["recipient"] == name
        assert leaked["vault_copy"]["false_accusation_probability"] < 1e-6

    with vault.session() as db:
        rows = {c.recipient: c for c in db.scalars(select(Copy))}
    assert set(rows) == {"dana", "eddie"} and rows["dana"].mark != rows["eddie"].mark
    assert all(r.requested_by == "dana" and r.render == "r7.1" for r in rows.values())


def test_a_clip_the_vault_never_issued_names_no_one(rendered) -> None:
    studio = rendered
    assert export_copy(studio, ADMIN, "dana", "dana.mp4")[0].exit_code == 0
    foreign = studio.tmp / "foreign.mp4"
    foreign.write_bytes(generated_clip(30))
    report = studio.verify(foreign)
    assert report["c2pa"]["state"] == "No manifest" and report["vault_copy"] is None
    assert any("no mark" in note for note in report["notes"])


def test_exports_are_refused_and_logged_where_grants_say_no(rendered, vault) -> None:
    studio = rendered
    cases = [
        ("ava", "dana", "may not export", 4),  # actors have no export right
        ("dana", "ava", "ava may not receive render r7.1", 4),  # actors cannot read renders
        ("dana", "nobody", "no crew member 'nobody'", 1),
    ]
    for who, to, message, code in cases:
        result, path = export_copy(studio, who, to, f"{who}-{to}.mp4")
        assert result.exit_code == code, result.output
        assert message in result.output and result.output.count("\n") == 1
        assert not path.exists()
        entry = studio.last_entry(vault)
        assert entry.action == "export" and entry.outcome in ("denied", "error")
    assert studio.cli(ADMIN, "crew", "revoke", "eddie").exit_code == 0
    result, path = export_copy(studio, "dana", "eddie", "revoked.mp4")
    assert result.exit_code == 4 and "revoked" in result.output and not path.exists()
    granted = studio.cli(ADMIN, "grant", "ava", "--shot", "7")
    assert granted.exit_code == 0
    assert export_copy(studio, "dana", "ava", "ava.mp4")[0].exit_code == 0  # now she may
    with vault.session() as db:
        assert [c.recipient for c in db.scalars(select(Copy))] == ["ava"]


def test_there_is_nothing_to_export_before_a_render(studio) -> None:
    out = studio.tmp / "x.mp4"
    result = studio.cli(ADMIN, "export", "--shot", "3", "--to", "dana", "-o", str(out))
    assert result.exit_code == 1 and "there is no render of shot 3" in result.output
    assert not out.exists()


def test_rewriting_a_copy_or_render_row_is_caught_by_audit_verify(rendered, vault) -> None:
    studio = rendered
    assert export_copy(studio, ADMIN, "dana", "dana.mp4")[0].exit_code == 0
    assert export_copy(studio, ADMIN, "eddie", "eddie.mp4")[0].exit_code == 0
    assert "audit log OK" in studio.cli(ADMIN, "audit", "verify").output
    with vault.transaction() as db:
        moved, hidden = db.scalars(select(Copy).order_by(Copy.mark)).all()
        moved.mark = 999  # an insider moving the mark onto someone else's codeword
        render = db.scalars(select(Render)).one()
        render.signed = False
        hidden.master = db.scalars(select(Shot)).one().plate  # now a copy of the plate
    result = studio.cli(ADMIN, "audit", "verify")  # (the last: "never exported" to a trace)
    assert result.exit_code != 0
    assert f"copy {moved.id} in the database differs" in result.output
    assert f"copy {hidden.id} in the database differs" in result.output
    assert "render r7.1 in the database differs" in result.output


def test_a_member_without_the_trace_right_still_gets_the_c2pa_report(rendered) -> None:
    studio = rendered
    _, path = export_copy(studio, ADMIN, "dana", "dana.mp4")
    stripped = _stripped(path, studio.tmp / "reposted.mp4")
    result = studio.cli("dana", "verify", str(stripped), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["c2pa"]["state"] == "No manifest" and report["vault_copy"] is None
    assert any("needs the trace right" in note for note in report["notes"])


def test_footage_and_renders_leave_by_get_as_marked_copies_only(rendered, vault) -> None:
    studio = rendered
    assets = json.loads(studio.cli(ADMIN, "ls", "--json").output)
    plate = next(a for a in assets if a["kind"] == "footage")
    mine = studio.tmp / "vic-plate.mp4"
    result = studio.cli("vic", "get", plate["id"], "-o", str(mine), "--json")
    assert result.exit_code == 0, result.output
    copy = json.loads(result.output)
    assert copy["master"] == plate["id"] and copy["render"] is None
    assert mine.read_bytes() != studio.get(plate["id"], "stored.mp4").read_bytes()
    report = studio.verify(mine)
    assert report["c2pa"]["state"] == "Trusted" and not report["c2pa"]["ai_generated"]
    assert report["vault_copy"]["copy_id"] == copy["copy_id"]

    leak = _stripped(mine, studio.tmp / "plate-leak.mp4")
    traced = json.loads(studio.cli(ADMIN, "trace", str(leak), "--json").output)
    assert [a["recipient"] for a in traced["accused"]] == ["vic"]
    assert traced["source"]["master"] == plate["id"] and traced["source"]["render"] is None

    again = studio.cli("vic", "get", plate["id"], "-o", str(studio.tmp / "again.mp4"), "--json")
    exported = export_copy(studio, ADMIN, "vic", "vic-render.mp4")[0]
    marks = {json.loads(r.output)["mark"] for r in (again, exported)}
    assert marks == {copy["mark"]}  # one row of the code per recipient, not per download

    raw = studio.cli("vic", "get", plate["id"], "-o", str(studio.tmp / "raw.mp4"), "--raw")
    assert raw.exit_code == 4 and not (studio.tmp / "raw.mp4").exists()
    assert studio.last_entry(vault).outcome == "denied"
    render = next(a for a in assets if a["kind"] == "render")
    result = studio.cli("dana", "get", render["id"], "-o", str(studio.tmp / "r.mp4"), "--json")
    assert json.loads(result.output)["render"] == "r7.1"
    assert studio.cli(ADMIN, "audit", "verify").exit_code == 0


def test_a_vault_from_before_footage_copies_migrates_and_still_traces(rendered, vault) -> None:
    """Schema 0002 (copies of renders only, fingerprints by render) upgrades in place."""
    from alembic import command

    from vault.db import _alembic_config

    studio = rendered
    result, copy = export_copy(studio, ADMIN, "dana", "dana.mp4")
    copy_id = json.loads(result.output)["copy_id"]
    with vault.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "0002")
    reopened = studio.cli(ADMIN, "audit", "verify")  # opening the vault migrates it back
    assert reopened.exit_code == 0, reopened.output
    leak = _stripped(copy, studio.tmp / "leak.mp4")
    traced = json.loads(studio.cli(ADMIN, "trace", str(leak), "--json").output)
    assert [a["copy_id"] for a in traced["accused"]] == [copy_id]
    assert traced["source"]["render_id"] == "r7.1"


def test_footage_that_cannot_carry_a_mark_does_not_leave_except_raw(studio, vault) -> None:
    camera_raw = studio.put(ADMIN, "A001_C003.braw", bytes(range(256)) * 400, "footage")
    out = studio.tmp / "take.mp4"
    result = studio.cli("vic", "get", camera_raw, "-o", str(out))
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "cannot leave as a marked copy" in result.output and not out.exists()
    entry = studio.last_entry(vault)
    assert (entry.action, entry.outcome) == ("get", "error")
    assert studio.get(camera_raw, "original.braw").read_bytes() == bytes(range(256)) * 400
    assert studio.cli(ADMIN, "audit", "verify").exit_code == 0


@pytest.mark.parametrize("start", ["0001", "0002", "0003"])
def test_every_older_schema_upgrades_to_the_current_one(tmp_path, start) -> None:
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from vault.db import SCHEMA_HEAD, _alembic_config, current_revision

    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), start)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    assert current_revision(engine) == SCHEMA_HEAD
    copies = inspect(engine)
    assert not any(c["column_names"] == ["mark"] for c in copies.get_unique_constraints("copies"))
    assert {"master", "render"} <= {c["name"] for c in copies.get_columns("copies")}
    assert "master_sha256" in {c["name"] for c in copies.get_columns("script_copies")}

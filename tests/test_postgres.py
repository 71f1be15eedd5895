"""The same vault on PostgreSQL (a studio server), through a real server on a Unix socket."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from conftest import (
    ADMIN,
    ADMIN_PASS,
    FAST_KDF,
    UNSEAL,
    assert_concurrent_writers_serialise,
    write_file,
)

from vault import Vault

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*command: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True)


@pytest.fixture(scope="module")
def postgres_url():
    pytest.importorskip(
        "psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')"
    )
    if not PG_BIN or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="vault-pg-"))  # pytest's tmp is private to root
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    shutil.chown(base, "postgres")
    shutil.chown(sockets, "postgres")
    bin_dir = PG_BIN[-1]
    port = _free_port()
    _as_postgres(f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    _as_postgres(
        f"{bin_dir}/pg_ctl",
        "-D",
        str(data),
        "-w",
        "-l",
        str(base / "log"),
        "-o",
        f"-k {sockets} -c listen_addresses='' -p {port}",
        "start",
    )
    try:
        _as_postgres(f"{bin_dir}/createdb", "-h", str(sockets), "-p", str(port), "vault")
        yield f"postgresql+psycopg://postgres@/vault?host={sockets}&port={port}"
    finally:
        _as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _new_database(postgres_url: str, name: str) -> str:
    """Create another database on the test server; its URL."""
    sockets = postgres_url.split("host=")[1].split("&")[0]
    port = postgres_url.split("port=")[1]
    _as_postgres(f"{PG_BIN[-1]}/createdb", "-h", sockets, "-p", port, name)
    return postgres_url.replace("/vault?", f"/{name}?")


def test_vault_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    home = tmp_path / "vault"
    vault = Vault.init(home, ADMIN, ADMIN_PASS, UNSEAL, db_url=postgres_url, work_factor=FAST_KDF)
    assert not (home / "vault.db").exists()
    admin = vault.login(ADMIN, ADMIN_PASS, "test")
    keys = vault.unseal(UNSEAL)
    admin.crew_add("eddie", "editor", "eddie-passphrase")
    source = write_file(tmp_path / "plate.mov", 500_000)
    asset = admin.put(source, "footage", shot=4)
    admin.set_rule("eddie", "asset", asset["id"], "deny")
    eddie = vault.login("eddie", "eddie-passphrase", "get")
    with pytest.raises(Exception, match="deny rule"):
        eddie.get(asset["id"], tmp_path / "no.mov", keys)
    admin.get(asset["id"], tmp_path / "out.mov", keys, raw=True)
    assert (tmp_path / "out.mov").read_bytes() == source.read_bytes()
    vault.close()

    reopened = Vault.open(home)  # vault.json remembers the database URL
    report = reopened.login(ADMIN, ADMIN_PASS, "audit.verify").audit_verify()
    assert report.ok, report.problems
    reopened.close()


def test_concurrent_appends_get_distinct_positions(postgres_url: str, tmp_path: Path) -> None:
    """Row locks on the log head serialise writers: no two entries share a position."""
    url = _new_database(postgres_url, "vault2")
    vault = Vault.init(tmp_path / "v", ADMIN, ADMIN_PASS, UNSEAL, db_url=url, work_factor=FAST_KDF)
    assert_concurrent_writers_serialise(vault.login(ADMIN, ADMIN_PASS, "ls"))
    vault.close()


def test_verify_while_others_append_sees_one_stable_log(
    postgres_url: str, tmp_path: Path, monkeypatch
) -> None:
    from vault import audit_verify

    monkeypatch.setattr(audit_verify, "_PARALLEL_THRESHOLD", 10)  # use worker processes
    monkeypatch.setattr(audit_verify, "_CHUNK", 50)
    url = _new_database(postgres_url, "vault3")
    vault = Vault.init(tmp_path / "v", ADMIN, ADMIN_PASS, UNSEAL, db_url=url, work_factor=FAST_KDF)
    admin = vault.login(ADMIN, ADMIN_PASS, "ls")
    with vault.transaction() as db:
        for _ in range(500):
            vault.log.append(db, actor=ADMIN, action="ls", outcome="ok", signer=admin.signer)
    stop = threading.Event()

    def keep_appending() -> None:
        while not stop.is_set():
            admin.ls()

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        reports = [admin.audit_verify() for _ in range(3)]
    finally:
        stop.set()
        writer.join()
    for report in reports:
        assert report.ok, report.problems
    vault.close()


# -- schema migrations with data, on either database ------------------------------------------

_ROWS_0002 = [
    "INSERT INTO members (name, role, public_key, sealed_key, created_at) "
    "VALUES ('dana', 'editor', 'age1x', :blob, 't')",
    *(
        "INSERT INTO assets (id, kind, name, size, sha256, object_id, added_by, added_at) "
        f"VALUES ('{a}', '{kind}', '{a}.bin', 1, 'h', 'o-{a}', 'dana', 't')"
        for a, kind in (("plate", "footage"), ("face", "face"), ("out", "render"), ("s", "script"))
    ),
    "INSERT INTO shots (number, plate, face, backend, settings, created_by, created_at) "
    "VALUES (7, 'plate', 'face', 'b', '{}', 'dana', 't')",
    "INSERT INTO renders (id, shot, number, asset, backend, settings, plate_sha256, "
    "face_sha256, frames, signed, rendered_by, rendered_at) "
    "VALUES ('r7.1', 7, 1, 'out', 'b', '{}', 'p', 'f', 10, true, 'dana', 't')",
    "INSERT INTO copies (id, mark, render, recipient, requested_by, created_at, sha256) "
    "VALUES ('c1', 3, 'r7.1', 'dana', 'dana', 't', 'h')",
    "INSERT INTO fingerprints (render, fps, frames, signatures) VALUES ('r7.1', 25, 10, :blob)",
]
_SCRIPT_COPY_0003 = (
    "INSERT INTO script_copies (id, script, mark, recipient, requested_by, created_at, format, "
    "rules, sites, sha256) VALUES ('sc1', 's', 0, 'dana', 'dana', 't', 'pdf', '2', 40, 'h')"
)


def _migrate_with_data(url: str) -> None:
    """Schema 0002 with a render, its copy and fingerprints, upgraded to the head and back:
    the copy's master and the fingerprints move with it (migration 0003), both ways, and a
    script copy made under 0003 survives 0004 (a table rebuild on SQLite) both ways."""
    from alembic import command
    from sqlalchemy import create_engine, inspect, text

    from vault.db import SCHEMA_HEAD, _alembic_config, current_revision

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0002")
            for statement in _ROWS_0002:
                connection.execute(text(statement), {"blob": b"\x01\x02"})
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "0003")
            connection.execute(text(_SCRIPT_COPY_0003))
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
        assert current_revision(engine) == SCHEMA_HEAD
        with engine.connect() as connection:
            assert connection.execute(text("SELECT master FROM copies")).scalar() == "out"
            script_copy = connection.execute(
                text("SELECT id, sites, master_sha256 FROM script_copies")
            )
            assert list(script_copy) == [("sc1", 40, None)]
            moved = connection.execute(text("SELECT asset, signatures FROM master_fingerprints"))
            assert [(a, bytes(s)) for a, s in moved] == [("out", b"\x01\x02")]
        columns = {c["name"] for c in inspect(engine).get_columns("script_copies")}
        assert "master_sha256" in columns
        with engine.begin() as connection:
            command.downgrade(_alembic_config(connection), "0003")
            assert connection.execute(text("SELECT id FROM script_copies")).scalar() == "sc1"
            connection.execute(text("DELETE FROM script_copies"))  # 0002 has no place for it
        with engine.begin() as connection:
            command.downgrade(_alembic_config(connection), "0002")
        with engine.connect() as connection:
            back = connection.execute(text("SELECT render, signatures FROM fingerprints"))
            assert [(r, bytes(s)) for r, s in back] == [("r7.1", b"\x01\x02")]
            assert connection.execute(text("SELECT render FROM copies")).scalar() == "r7.1"
        assert "master" not in {c["name"] for c in inspect(engine).get_columns("copies")}
    finally:
        engine.dispose()


def test_migrations_carry_data_on_postgres(postgres_url: str) -> None:
    _migrate_with_data(_new_database(postgres_url, "migrations"))


def test_migrations_carry_data_on_sqlite(tmp_path: Path) -> None:
    _migrate_with_data(f"sqlite:///{tmp_path / 'old.db'}")

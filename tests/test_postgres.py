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
    url = postgres_url.replace("/vault?", "/vault2?")
    sockets = postgres_url.split("host=")[1].split("&")[0]
    port = postgres_url.split("port=")[1]
    _as_postgres(f"{PG_BIN[-1]}/createdb", "-h", sockets, "-p", port, "vault2")
    vault = Vault.init(tmp_path / "v", ADMIN, ADMIN_PASS, UNSEAL, db_url=url, work_factor=FAST_KDF)
    assert_concurrent_writers_serialise(vault.login(ADMIN, ADMIN_PASS, "ls"))
    vault.close()


def test_verify_while_others_append_sees_one_stable_log(
    postgres_url: str, tmp_path: Path, monkeypatch
) -> None:
    from vault import audit_verify

    monkeypatch.setattr(audit_verify, "_PARALLEL_THRESHOLD", 10)  # use worker processes
    monkeypatch.setattr(audit_verify, "_CHUNK", 50)
    url = postgres_url.replace("/vault?", "/vault3?")
    sockets = postgres_url.split("host=")[1].split("&")[0]
    port = postgres_url.split("port=")[1]
    _as_postgres(f"{PG_BIN[-1]}/createdb", "-h", sockets, "-p", port, "vault3")
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

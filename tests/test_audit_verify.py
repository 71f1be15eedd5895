"""`audit verify` gives the same verdict in-process and across worker processes."""

from __future__ import annotations

import sqlite3

import pytest

from vault import audit_verify, signing
from vault.audit_verify import verify_log


def fill(vault, admin, n: int) -> None:
    with vault.transaction() as db:
        for i in range(n):
            vault.log.append(
                db,
                actor=admin.name,
                action="ls",
                outcome="ok",
                signer=admin.signer,
                detail={"i": i},
            )


def verify(vault):
    with vault.session() as db:
        return verify_log(db, vault.log, signing.b64decode(vault.config.audit_public_key))


@pytest.fixture(params=["in-process", "workers"])
def mode(request, monkeypatch):
    if request.param == "workers":  # small chunks so a small log spans many workers
        monkeypatch.setattr(audit_verify, "_PARALLEL_THRESHOLD", 10)
        monkeypatch.setattr(audit_verify, "_CHUNK", 7)
    return request.param


def test_clean_log_verifies(vault, admin, crew, mode) -> None:
    fill(vault, admin, 60)
    report = verify(vault)
    assert report.ok, report.problems
    assert report.entries == 1 + 4 + 60


def test_altered_entry_is_named(vault, admin, mode, home) -> None:
    fill(vault, admin, 60)
    with sqlite3.connect(home / "vault.db") as db:
        db.execute(  # {"i":33} becomes {"i":34}
            "UPDATE audit_entries SET entry = replace(entry, X'2269223a3333', X'2269223a3334') "
            "WHERE seq = 34"
        )
    report = verify(vault)
    assert "entry 34: the signature does not verify (entry altered)" in report.problems


def test_missing_entry_in_the_middle_is_named(vault, admin, mode, home) -> None:
    fill(vault, admin, 60)
    with sqlite3.connect(home / "vault.db") as db:
        db.execute("DELETE FROM audit_entries WHERE seq = 22")
    report = verify(vault)
    assert "entry 22 is missing" in report.problems
    assert any("log head does not match" in p for p in report.problems)


def test_members_table_is_not_trusted_for_keys(vault, admin, crew, mode, home) -> None:
    """Swapping a member's public key in the table does not change which key verifies."""
    fill(vault, admin, 20)
    other = signing.b64encode(signing.public_key_of(signing.new_seed()))
    with sqlite3.connect(home / "vault.db") as db:
        db.execute("UPDATE members SET public_key = ? WHERE name = 'eddie'", (other,))
    report = verify(vault)
    assert report.problems == ["member 'eddie' in the database differs from what the log recorded"]


def test_entries_signed_after_revocation_are_caught(vault, admin, crew, mode) -> None:
    eddie = vault.login("eddie", crew.passphrases["eddie"], "ls")
    admin.crew_revoke("eddie")
    with vault.transaction() as db:  # a forged entry by a stolen, revoked key
        seq = vault.log.append(db, actor="eddie", action="ls", outcome="ok", signer=eddie.signer)
    report = verify(vault)
    assert f"entry {seq} is signed by 'eddie' after that member was revoked" in report.problems


def test_index_column_of_a_crew_entry_is_checked(vault, admin, crew, mode, home) -> None:
    with sqlite3.connect(home / "vault.db") as db:
        db.execute("UPDATE audit_entries SET action = 'ls' WHERE action = 'crew.add' AND seq = 1")
    report = verify(vault)
    assert "entry 1: the database columns disagree with the signed entry" in report.problems

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


def test_a_signed_entry_beyond_the_signers_rights_is_caught(vault, admin, crew, mode) -> None:
    """An actor with database access signs a crew.add of a new admin with their own key."""
    actor = vault.login("ava", crew.passphrases["ava"], "ls")
    forged_key = signing.b64encode(signing.public_key_of(signing.new_seed()))
    with vault.transaction() as db:
        seq = vault.log.append(
            db,
            actor="ava",
            action="crew.add",
            outcome="ok",
            signer=actor.signer,
            detail={"member": {"name": "mole", "role": "admin", "public_key": forged_key}},
        )
    report = verify(vault)
    assert f"entry {seq}: 'ava' (actor) had no right to crew.add" in report.problems


def test_malformed_crew_entry_is_reported_not_crashed_on(vault, admin, mode) -> None:
    with vault.transaction() as db:
        vault.log.append(
            db,
            actor="x",
            action="crew.add",
            outcome="denied",
            signer=None,
            detail={"member": {"name": "y", "role": "admin", "public_key": "!!notb64"}},
        )
        vault.log.append(
            db,
            actor=admin.name,
            action="crew.add",
            outcome="ok",
            signer=admin.signer,
            detail={"member": {"name": 7, "role": None, "public_key": "!!"}},
        )
    report = verify(vault)
    assert not report.ok and report.entries == 3


def test_a_planted_far_position_is_flagged_quickly(vault, admin, home) -> None:
    with sqlite3.connect(home / "vault.db") as db:
        db.execute(
            "INSERT INTO audit_entries (seq, time, actor, action, outcome, entry) "
            "VALUES (1000000000000, 't', 'x', 'ls', 'ok', X'00')"
        )
    report = verify(vault)
    assert any("not contiguous" in p for p in report.problems)


def test_swapped_recipient_in_vault_json_is_refused(vault, home) -> None:
    import json

    from vault import Vault
    from vault.errors import IntegrityError

    config = json.loads((home / "vault.json").read_text())
    config["vault_recipient"] = "age1" + "q" * 58
    (home / "vault.json").write_text(json.dumps(config))
    with pytest.raises(IntegrityError, match=r"keys in vault\.json differ"):
        Vault.open(home)

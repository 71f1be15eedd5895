"""The vault through its library API: init, crew, grants, put/get, refusals, fail-closed."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import (
    ADMIN,
    ADMIN_PASS,
    FAST_KDF,
    UNSEAL,
    assert_concurrent_writers_serialise,
    write_file,
    write_script,
)

from vault import Vault
from vault.errors import (
    AccessDenied,
    AuditUnavailable,
    AuthenticationFailed,
    IntegrityError,
    NewerFormat,
    NotAVault,
    NotFound,
    UsageError,
    VaultExists,
)


def last_entry(vault: Vault) -> dict:
    with vault.session() as db:
        return vault.log.entries(db, limit=1)[0]


def entry_count(vault: Vault) -> int:
    with vault.session() as db:
        return vault.log.head(db)[0]


def test_init_creates_the_layout_with_private_permissions(vault: Vault, home) -> None:
    for relative in [
        "vault.json",
        "vault.db",
        "objects",
        "objects/.pending",
        "keys/vault-identity.age",
        "keys/audit-log.key.age",
        "keys/studio-root-ca.pem",
        "keys/studio-root-ca.key.age",
        "keys/c2pa-signer.chain.pem",
        "keys/c2pa-signer.key.age",
    ]:
        assert (home / relative).exists(), relative
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    assert oct((home / "keys/vault-identity.age").stat().st_mode & 0o777) == "0o600"
    config = json.loads((home / "vault.json").read_text())
    assert config["vault_recipient"].startswith("age1") and config["kdf_work_factor"] == FAST_KDF
    first = last_entry(vault)
    assert first["action"] == "init" and first["actor"] == ADMIN and first["signed_by"] == ADMIN


def test_second_init_is_refused_and_changes_nothing(vault: Vault, home) -> None:
    before = (home / "vault.json").read_bytes(), (home / "vault.db").read_bytes()
    with pytest.raises(VaultExists, match="already holds a vault"):
        Vault.init(home, "other", "other-passphrase", "other-unseal", work_factor=FAST_KDF)
    assert ((home / "vault.json").read_bytes(), (home / "vault.db").read_bytes()) == before


def test_init_refuses_a_non_empty_directory(tmp_path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(VaultExists, match="not an empty directory"):
        Vault.init(tmp_path / "x", ADMIN, ADMIN_PASS, UNSEAL, work_factor=FAST_KDF)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # no staging left behind


def test_open_without_a_vault_says_how_to_make_one(tmp_path) -> None:
    with pytest.raises(NotAVault, match="vault init"):
        Vault.open(tmp_path / "nothing")


def test_newer_format_is_refused(vault: Vault, home) -> None:
    config = json.loads((home / "vault.json").read_text())
    config["format"] = 99
    (home / "vault.json").write_text(json.dumps(config))
    with pytest.raises(NewerFormat, match="upgrade"):
        Vault.open(home)


def test_newer_schema_is_refused(vault: Vault, home) -> None:
    with sqlite3.connect(home / "vault.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(NewerFormat, match="newer version"):
        Vault.open(home)


def test_a_database_from_another_vault_is_refused(vault: Vault, home, tmp_path) -> None:
    other = Vault.init(tmp_path / "other", ADMIN, ADMIN_PASS, UNSEAL, work_factor=FAST_KDF)
    other.close()
    with pytest.raises(NotAVault, match="another vault"):
        Vault.open(home, f"sqlite:///{tmp_path / 'other' / 'vault.db'}")


def test_put_and_get_round_trip(admin, keys, tmp_path) -> None:
    source = write_file(tmp_path / "plate.mov", 1_000_000)
    asset = admin.put(source, "footage", shot=12)
    assert asset["kind"] == "footage" and asset["shot"] == 12 and asset["size"] == 1_000_000
    out = tmp_path / "copy.mov"
    admin.get(asset["id"], out, keys, raw=True)  # the original as stored, not a marked copy
    assert out.read_bytes() == source.read_bytes()
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_unknown_member_is_refused_and_logged(vault: Vault) -> None:
    with pytest.raises(AuthenticationFailed, match="unknown member"):
        vault.login("mallory", "whatever-pass", "get")
    entry = last_entry(vault)
    assert (entry["actor"], entry["outcome"], entry["signed_by"]) == ("mallory", "denied", None)
    assert "unknown member" in entry["reason"]


def test_wrong_passphrase_is_refused_and_logged(vault: Vault, crew) -> None:
    with pytest.raises(AuthenticationFailed, match="wrong passphrase"):
        vault.login("eddie", "not-his-passphrase", "ls")
    assert last_entry(vault)["reason"] == "authentication failed: wrong passphrase"


def test_passphrases_never_enter_the_log(vault: Vault, crew, admin) -> None:
    with pytest.raises(AuthenticationFailed):
        vault.login("eddie", "a-guess-at-his-passphrase", "ls")
    with vault.session() as db:
        text = json.dumps(vault.log.entries(db))
    for secret in [*crew.passphrases.values(), UNSEAL, "a-guess-at-his-passphrase"]:
        assert secret not in text


def test_revoked_member_can_do_nothing(vault: Vault, crew, admin) -> None:
    admin.crew_revoke("eddie")
    with pytest.raises(AuthenticationFailed, match="revoked"):
        vault.login("eddie", crew.passphrases["eddie"], "ls")
    assert last_entry(vault)["reason"] == "authentication failed: member revoked"


def test_cannot_revoke_yourself(admin) -> None:
    with pytest.raises(UsageError, match="yourself"):
        admin.crew_revoke(ADMIN)


def test_crew_add_validates_and_refuses_duplicates(admin, crew) -> None:
    with pytest.raises(UsageError, match="already a crew member"):
        admin.crew_add("eddie", "editor", "another-passphrase")
    with pytest.raises(UsageError, match="unknown role"):
        admin.crew_add("zed", "caterer", "zed-passphrase")
    with pytest.raises(UsageError, match="too short"):
        admin.crew_add("zed", "editor", "short")
    with pytest.raises(UsageError, match="not a valid member name"):
        admin.crew_add("bad name", "editor", "zed-passphrase")


def test_non_admin_cannot_manage_crew_and_the_attempt_is_signed(vault: Vault, crew) -> None:
    director = vault.login("dana", crew.passphrases["dana"], "crew.add")
    with pytest.raises(AccessDenied):
        director.crew_add("spy", "admin", "spy-passphrase")
    entry = last_entry(vault)
    assert (entry["actor"], entry["action"], entry["outcome"], entry["signed_by"]) == (
        "dana",
        "crew.add",
        "denied",
        "dana",
    )


def test_deny_by_default_and_grants(vault: Vault, crew, admin, keys, tmp_path) -> None:
    # Models: footage leaves only as a marked video copy, and these bytes are no video.
    plate = admin.put(write_file(tmp_path / "p.pt", 1000), "model", shot=12)
    other = admin.put(write_file(tmp_path / "q.pt", 1000, seed=1), "model", shot=13)
    actor = vault.login("ava", crew.passphrases["ava"], "get")
    assert actor.ls() == []
    with pytest.raises(AccessDenied, match="no grant"):
        actor.get(plate["id"], tmp_path / "out", keys)
    assert not (tmp_path / "out").exists()
    admin.set_rule("ava", "shot", "12", "allow")
    actor.get(plate["id"], tmp_path / "out", keys)
    assert [a["id"] for a in actor.ls()] == [plate["id"]]
    with pytest.raises(AccessDenied):
        actor.get(other["id"], tmp_path / "out2", keys)
    admin.set_rule("ava", "asset", plate["id"], "deny")
    with pytest.raises(AccessDenied, match="deny rule on asset"):
        actor.get(plate["id"], tmp_path / "out3", keys)


def test_revoke_overrides_role_default(vault: Vault, crew, admin, keys, tmp_path) -> None:
    script = admin.put(write_script(tmp_path / "s.fountain", 100), "script")
    director = vault.login("dana", crew.passphrases["dana"], "get")
    director.get(script["id"], tmp_path / "ok.fountain", keys)
    admin.set_rule("dana", "kind", "script", "deny")
    with pytest.raises(AccessDenied):
        director.get(script["id"], tmp_path / "no.fountain", keys)


def test_put_is_limited_to_the_roles_kinds(vault: Vault, crew, tmp_path) -> None:
    editor = vault.login("eddie", crew.passphrases["eddie"], "put")
    editor.put(write_file(tmp_path / "p.mov", 100), "footage")
    with pytest.raises(AccessDenied, match="may not add script"):
        editor.put(write_script(tmp_path / "s.fountain", 100), "script")
    actor = vault.login("ava", crew.passphrases["ava"], "put")
    with pytest.raises(AccessDenied, match="may not put"):
        actor.put(write_script(tmp_path / "x", 100), "script")


def test_grant_targets_are_checked(admin, crew) -> None:
    with pytest.raises(NotFound, match="no crew member"):
        admin.set_rule("nobody", "kind", "script", "allow")
    with pytest.raises(NotFound, match="no asset"):
        admin.set_rule("ava", "asset", "feedfeedfeed", "allow")
    with pytest.raises(UsageError, match="unknown kind"):
        admin.set_rule("ava", "kind", "poster", "allow")


@pytest.mark.parametrize("problem", ["missing", "directory", "unreadable"])
def test_bad_input_file_is_refused_and_logged(vault: Vault, admin, tmp_path, problem: str) -> None:
    path = tmp_path / "input"
    if problem == "directory":
        path.mkdir()
    elif problem == "unreadable":
        path.symlink_to(path)  # a symlink loop: even root cannot open it
    before = entry_count(vault)
    with pytest.raises(UsageError):
        admin.put(path, "footage")
    entry = last_entry(vault)
    assert entry_count(vault) == before + 1 and entry["outcome"] == "error"
    assert not any((vault.layout.pending).iterdir())


def test_unknown_kind_and_unknown_asset(admin, keys, tmp_path) -> None:
    with pytest.raises(UsageError, match="unknown kind"):
        admin.put(write_file(tmp_path / "x", 10), "poster")
    with pytest.raises(NotFound, match="no asset"):
        admin.get("000000000000", tmp_path / "out", keys)


def test_get_into_a_directory_or_missing_directory_is_refused(admin, keys, tmp_path) -> None:
    asset = admin.put(write_file(tmp_path / "x", 10), "footage")
    with pytest.raises(UsageError, match="is a directory"):
        admin.get(asset["id"], tmp_path, keys)
    with pytest.raises(UsageError, match="does not exist"):
        admin.get(asset["id"], tmp_path / "no" / "such" / "dir", keys)


def test_wrong_unseal_passphrase(vault: Vault) -> None:
    with pytest.raises(AuthenticationFailed, match="VAULT_UNSEAL"):
        vault.unseal("not the unseal passphrase")


def test_get_of_a_corrupted_row_leaves_nothing(vault: Vault, admin, keys, tmp_path, home) -> None:
    asset = admin.put(write_file(tmp_path / "x", 5000), "footage")
    with sqlite3.connect(home / "vault.db") as connection:
        connection.execute("UPDATE assets SET sha256 = ? WHERE id = ?", ("0" * 64, asset["id"]))
    with pytest.raises(IntegrityError, match="did not record"):
        admin.get(asset["id"], tmp_path / "out", keys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault", "x"]
    assert last_entry(vault)["outcome"] == "error"


def _break_audit_writes(home) -> None:
    """A real database failure: the engine refuses every new audit entry."""
    with sqlite3.connect(home / "vault.db") as connection:
        connection.execute(
            "CREATE TRIGGER no_more_audit BEFORE INSERT ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit log is read-only'); END"
        )


def test_fail_closed_get_reveals_nothing(vault: Vault, admin, keys, tmp_path, home) -> None:
    asset = admin.put(write_file(tmp_path / "x", 5000), "footage")
    _break_audit_writes(home)
    with pytest.raises(AuditUnavailable, match="nothing was done"):
        admin.get(asset["id"], tmp_path / "out", keys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault", "x"]


def test_fail_closed_put_stores_nothing(vault: Vault, admin, tmp_path, home) -> None:
    _break_audit_writes(home)
    with pytest.raises(AuditUnavailable):
        admin.put(write_file(tmp_path / "x", 5000), "footage")
    assert list(vault.objects.object_ids()) == [] and list(vault.objects.pending_ids()) == []
    with vault.session() as db:
        from vault.models import Asset

        assert db.query(Asset).count() == 0


def test_fail_closed_grant_changes_nothing(vault: Vault, admin, crew, home) -> None:
    _break_audit_writes(home)
    with pytest.raises(AuditUnavailable):
        admin.set_rule("ava", "kind", "footage", "allow")
    with vault.session() as db:
        from vault.models import Grant

        assert db.query(Grant).count() == 0


def test_audit_verify_passes_on_a_busy_vault(vault: Vault, crew, admin, keys, tmp_path) -> None:
    asset = admin.put(write_file(tmp_path / "x", 100), "model", shot=1)
    admin.set_rule("ava", "shot", "1", "allow")
    vault.login("ava", crew.passphrases["ava"], "get").get(asset["id"], tmp_path / "o", keys)
    admin.crew_revoke("vic")
    with pytest.raises(AuthenticationFailed):
        vault.login("vic", crew.passphrases["vic"], "ls")
    note = admin.audit_checkpoint(keys)
    admin.put(write_file(tmp_path / "y", 100), "footage")
    report = admin.audit_verify(against=note)
    assert report.ok, report.problems
    assert report.entries > report.against_size > 0


def test_concurrent_writers_on_sqlite_get_distinct_positions(admin) -> None:
    """BEGIN IMMEDIATE serialises writers: no two entries share a position."""
    assert_concurrent_writers_serialise(admin)


def test_a_revoke_that_lands_before_delivery_wins(vault, crew, admin, keys, tmp_path) -> None:
    """A session opened before the member was revoked cannot fetch anything afterwards."""
    asset = admin.put(write_file(tmp_path / "p.mov", 1000), "footage")
    editor = vault.login("eddie", crew.passphrases["eddie"], "get")
    admin.crew_revoke("eddie")
    with pytest.raises(AccessDenied, match="member revoked"):
        editor.get(asset["id"], tmp_path / "late.mov", keys)
    assert not (tmp_path / "late.mov").exists()


def test_no_plaintext_exists_before_its_entry(vault, admin, keys, tmp_path) -> None:
    """The get entry is committed first; a failed delivery adds an error entry after it
    (a model: footage and renders leave as marked copies, made before any entry)."""
    asset = admin.put(write_file(tmp_path / "p.pt", 1000), "model")
    vault.objects.path_of(asset_id_to_object(vault, asset["id"])).unlink()
    with pytest.raises(IntegrityError):
        admin.get(asset["id"], tmp_path / "x.mov", keys)
    with vault.session() as db:
        last_two = vault.log.entries(db, limit=2)
    assert [(e["action"], e["outcome"]) for e in last_two] == [("get", "ok"), ("get", "error")]


def asset_id_to_object(vault: Vault, asset_id: str) -> str:
    from vault.models import Asset

    with vault.session() as db:
        return db.get(Asset, asset_id).object_id


@pytest.mark.parametrize(
    ("field", "value"), [("kdf_work_factor", "x"), ("vault_recipient", "junk"), ("vault_id", 7)]
)
def test_a_hand_edited_vault_json_is_one_clear_error(vault, home, field, value) -> None:
    config = json.loads((home / "vault.json").read_text())
    config[field] = value
    (home / "vault.json").write_text(json.dumps(config))
    with pytest.raises(NotAVault, match=f"damaged fields: {field}"):
        Vault.open(home)


def test_a_database_password_is_never_stored_or_shown(tmp_path) -> None:
    url = "postgresql+psycopg://alice:S3cretPW@localhost/vault"
    with pytest.raises(UsageError, match="contains a password") as refused:
        Vault.init(tmp_path / "v", ADMIN, ADMIN_PASS, UNSEAL, db_url=url, work_factor=FAST_KDF)
    assert "S3cretPW" not in str(refused.value)
    from vault.db import make_engine

    with pytest.raises(NotAVault, match="database URL") as bad_driver:
        make_engine("postgresql+nodriver://alice:S3cretPW@host/db")
    assert "S3cretPW" not in str(bad_driver.value) and "***" in str(bad_driver.value)

"""Tampering with a vault at rest is caught: the audit log, the tables it vouches for, the objects.

One vault is prepared per module: a crew of seven, puts by several members, grants and a
deny rule, a revoked member, successful gets, refused gets and logins, and a checkpoint
kept outside the vault (then more reads and refusals after it). Every trial copies that
vault (shutil.copytree), mutates the copy at random, and shows the mutation is caught:

- the audit log and the tables (sqlite3 straight on vault.db): `vault audit verify` exits
  5 and says the log FAILED verification; a tail truncated with the head and checkpoints
  fixed up passes that, and is caught only by `--against` the kept checkpoint;
- an asset row's sha256/size/object: also `get` fails with IntegrityError;
- the object files: `get` fails with IntegrityError (library) and exits non-zero with one
  `vault: ...` line (CLI), leaves no output or `.vault-partial-*` file, and logs the error.

No CLI run may print a traceback. Set VAULT_TEST_SEED to replay a run; the seed is printed
(shown with -s or on failure).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ADMIN, ADMIN_PASS, FAST_KDF, UNSEAL, Crew, run_vault, write_file, write_script

from vault import Vault, merkle
from vault.access import ROLES
from vault.errors import AccessDenied, AuthenticationFailed, IntegrityError
from vault.models import ASSET_KINDS

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("VAULT_TEST_SEED") or secrets.randbits(32))
ROLE_OF = {
    ADMIN: "admin",
    "sue": "security",
    "dana": "director",
    "eddie": "editor",
    "ava": "actor",
    "vic": "vfx",
    "tom": "producer",
}
CREW = Crew({name: ADMIN_PASS if name == ADMIN else f"{name}-passphrase" for name in ROLE_OF})
# (putter, file name, kind, shot, size): sizes differ and span several 64 KiB age chunks.
PUTS = [
    ("dana", "script.fountain", "script", None, 3_000),
    # Random bytes are no video, and footage leaves only as a marked video copy: the
    # "plates" here are models, read back as stored.
    ("vic", "plate_s3.pt", "model", 3, 150_000),
    ("vic", "plate_s7.pt", "model", 7, 90_000),
    ("vic", "face_ava.npz", "face", None, 70_000),
    ("vic", "model_s7.pt", "model", 7, 200_000),
]
AGE_NONCE = 16


@dataclass(frozen=True)
class Prepared:
    home: Path
    kept: Path  # a checkpoint kept outside the vault
    kept_size: int
    size: int  # entries in the log
    quiet_from: int  # from this entry on, nothing changes a table (reads, refusals, ...)
    inputs: dict[str, Path]  # asset id -> the file that was put


@dataclass
class Trial:
    home: Path
    out: Path
    rng: random.Random
    prepared: Prepared


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    base = tmp_path_factory.mktemp("tamper")
    home = base / "vault"
    scratch = base / "scratch"
    scratch.mkdir()
    vault = Vault.init(
        home, ADMIN, ADMIN_PASS, UNSEAL, work_factor=FAST_KDF, production="Tamper Test"
    )
    try:
        keys = vault.unseal(UNSEAL)
        admin = vault.login(ADMIN, ADMIN_PASS, "setup")
        for name, role in ROLE_OF.items():
            if name != ADMIN:
                admin.crew_add(name, role, CREW.passphrases[name])
        crew = {name: vault.login(name, CREW.passphrases[name], "setup") for name in ROLE_OF}
        inputs = {}
        for i, (who, name, kind, shot, size) in enumerate(PUTS):
            write = write_script if kind == "script" else write_file
            source = write(base / name, size, seed=SEED + i)
            inputs[crew[who].put(source, kind, shot=shot)["id"]] = source
        script, plate_s3, plate_s7, face, model = inputs
        admin.set_rule("ava", "asset", plate_s3, "allow")
        admin.set_rule("eddie", "asset", plate_s3, "allow")
        admin.set_rule("ava", "shot", "7", "allow")
        admin.set_rule("eddie", "shot", "7", "deny")
        admin.set_rule("vic", "kind", "script", "allow")
        admin.crew_revoke("tom")
        crew["dana"].get(script, scratch / "3", keys)  # issues a marked copy: a table changes
        quiet_from = head_size(vault)

        # Reads and refusals only from here on.
        crew["ava"].get(plate_s3, scratch / "1", keys)
        crew["vic"].get(face, scratch / "2", keys)
        with pytest.raises(AccessDenied):
            crew["ava"].get(face, scratch / "4", keys)
        with pytest.raises(AccessDenied):
            crew["eddie"].get(plate_s7, scratch / "5", keys)
        with pytest.raises(AuthenticationFailed):
            vault.login("ava", "not-avas-passphrase", "get")
        with pytest.raises(AuthenticationFailed):
            vault.login("tom", CREW.passphrases["tom"], "ls")
        with pytest.raises(AccessDenied):
            crew["eddie"].crew_add("mallory", "admin", "mallory-passphrase")
        note = crew["sue"].audit_checkpoint(keys)
        kept = base / "kept-checkpoint.txt"
        kept.write_text(note, encoding="utf-8")
        kept_size = int(note.splitlines()[1])

        for name in ("ava", "eddie", "vic"):
            crew[name].ls()
        crew["eddie"].get(plate_s3, scratch / "6", keys)
        with pytest.raises(AccessDenied):
            crew["eddie"].get(model, scratch / "7", keys)
        with pytest.raises(AuthenticationFailed):
            vault.login("mallory", "mallory-passphrase", "ls")
        crew["sue"].audit_log(limit=5)
        admin.crew_list()
        assert crew["sue"].audit_verify(note).ok
        size = head_size(vault)
    finally:
        vault.close()
    shutil.rmtree(scratch)
    assert quiet_from < kept_size < size
    return Prepared(home, kept, kept_size, size, quiet_from, inputs)


@pytest.fixture
def trial(prepared: Prepared, tmp_path: Path, request: pytest.FixtureRequest) -> Trial:
    print(f"\ntamper seed {SEED} (set VAULT_TEST_SEED={SEED} to replay)")
    home = tmp_path / "vault"
    shutil.copytree(prepared.home, home)
    out = tmp_path / "out"
    out.mkdir()
    return Trial(home, out, random.Random(f"{SEED}/{request.node.name}"), prepared)


# -- helpers --------------------------------------------------------------------------------


def head_size(vault: Vault) -> int:
    with vault.session() as db:
        return vault.log.head(db)[0]


@contextmanager
def database(home: Path) -> Iterator[sqlite3.Connection]:
    """The vault's SQLite file, opened behind the vault's back; committed on success."""
    with closing(sqlite3.connect(home / "vault.db")) as db:
        yield db
        db.commit()


def cli(home: Path, who: str, *args: str):
    result = run_vault(CREW.env(who, home), *args)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def assert_verify_fails(home: Path, who: str = ADMIN, *extra: str) -> str:
    result = cli(home, who, "audit", "verify", *extra)
    assert result.returncode == 5, result.stdout + result.stderr
    assert "audit log FAILED verification" in result.stdout, result.stdout
    assert "PROBLEM: " in result.stdout, result.stdout
    return result.stdout


def newest_entry(home: Path) -> tuple:
    with database(home) as db:
        return db.execute(
            "SELECT action, asset_id, outcome FROM audit_entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()


def assert_get_fails(
    trial: Trial, asset_ids: list[str], control: str | None = None, one_line: bool = True
) -> None:
    """Each asset fails to decrypt, by library and CLI, leaving nothing; `control` still works."""
    vault = Vault.open(trial.home)
    try:
        session = vault.login(ADMIN, ADMIN_PASS, "tamper-test")
        keys = vault.unseal(UNSEAL)
        for asset_id in asset_ids:
            with pytest.raises(IntegrityError):
                session.get(asset_id, trial.out / f"{asset_id}.lib", keys)
            assert list(trial.out.iterdir()) == [], "a failed get left a file behind"
            assert newest_entry(trial.home) == ("get", asset_id, "error")
        if control is not None:
            copy = trial.out / "control"
            session.get(control, copy, keys, raw=True)  # the stored bytes, not a marked copy
            assert copy.read_bytes() == trial.prepared.inputs[control].read_bytes()
            copy.unlink()
    finally:
        vault.close()
    for asset_id in asset_ids:
        result = cli(trial.home, ADMIN, "get", asset_id, "-o", str(trial.out / asset_id))
        assert result.returncode == IntegrityError.exit_code, result.stderr
        assert result.stdout == ""
        assert result.stderr.startswith("vault: "), result.stderr
        if one_line:
            assert len(result.stderr.splitlines()) == 1, result.stderr
        assert list(trial.out.iterdir()) == [], "a failed get left a file behind"
        assert newest_entry(trial.home) == ("get", asset_id, "error")


def entry_seqs(db: sqlite3.Connection) -> list[int]:
    return [seq for (seq,) in db.execute("SELECT seq FROM audit_entries ORDER BY seq")]


def assets_of(home: Path) -> dict[str, tuple]:
    """asset id -> (kind, shot, size, sha256, object_id)."""
    with database(home) as db:
        rows = db.execute("SELECT id, kind, shot, size, sha256, object_id FROM assets")
        return {row[0]: row[1:] for row in rows}


def object_path(home: Path, object_id: str) -> Path:
    return home / "objects" / object_id[:2] / f"{object_id}.age"


def payload_start(blob: bytes) -> int:
    """Where the age payload starts: after the header's MAC line and the 16-byte nonce."""
    mac_line = blob.index(b"\n---")
    return blob.index(b"\n", mac_line + 1) + 1 + AGE_NONCE


def pick_object(trial: Trial) -> tuple[str, Path, str]:
    """A random asset, the path of its object file, and another asset as a control."""
    assets = assets_of(trial.home)
    asset_id, control = trial.rng.sample(sorted(assets), 2)
    return asset_id, object_path(trial.home, assets[asset_id][4]), control


# -- a clean copy passes everything (so every failure below is the mutation's doing) -------


def test_an_untouched_copy_verifies_and_decrypts(trial: Trial) -> None:
    result = cli(trial.home, ADMIN, "audit", "verify", "--against", str(trial.prepared.kept))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"extends the kept checkpoint at size {trial.prepared.kept_size}" in result.stdout
    asset_id = trial.rng.choice(sorted(trial.prepared.inputs))
    # --raw: a script otherwise leaves as the recipient's canary copy, not the stored bytes.
    result = cli(trial.home, ADMIN, "get", asset_id, "--raw", "-o", str(trial.out / "file"))
    assert result.returncode == 0, result.stderr
    assert (trial.out / "file").read_bytes() == trial.prepared.inputs[asset_id].read_bytes()


# -- the audit log ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(4))
def test_changed_byte_in_an_entry(trial: Trial, n: int) -> None:
    with database(trial.home) as db:
        seq = trial.rng.choice(entry_seqs(db))
        (blob,) = db.execute("SELECT entry FROM audit_entries WHERE seq = ?", (seq,)).fetchone()
        blob = bytearray(blob)
        at = trial.rng.randrange(len(blob))
        blob[at] ^= trial.rng.randrange(1, 256)
        db.execute("UPDATE audit_entries SET entry = ? WHERE seq = ?", (bytes(blob), seq))
    print(f"entry {seq}: byte {at} of {len(blob)} changed")
    assert_verify_fails(trial.home)


@pytest.mark.parametrize("column", ["actor", "action", "outcome"])
def test_changed_index_column(trial: Trial, column: str) -> None:
    choices = {
        "actor": [*sorted(ROLE_OF), "mallory"],
        "action": ["init", "put", "get", "ls", "grant", "revoke", "crew.add", "audit.verify"],
        "outcome": ["ok", "denied", "error"],
    }[column]
    with database(trial.home) as db:
        seq = trial.rng.choice(entry_seqs(db))
        (old,) = db.execute(f"SELECT {column} FROM audit_entries WHERE seq = ?", (seq,)).fetchone()
        new = trial.rng.choice([c for c in choices if c != old])
        db.execute(f"UPDATE audit_entries SET {column} = ? WHERE seq = ?", (new, seq))
    print(f"entry {seq}: {column} {old!r} -> {new!r}")
    assert "columns disagree with the signed entry" in assert_verify_fails(trial.home)


@pytest.mark.parametrize("n", range(3))
def test_deleted_entry(trial: Trial, n: int) -> None:
    with database(trial.home) as db:
        seq = trial.rng.choice(entry_seqs(db))
        db.execute("DELETE FROM audit_entries WHERE seq = ?", (seq,))
    print(f"entry {seq} of {trial.prepared.size} deleted")
    assert_verify_fails(trial.home)


@pytest.mark.parametrize("n", range(3))
def test_swapped_entries(trial: Trial, n: int) -> None:
    with database(trial.home) as db:
        a, b = trial.rng.sample(entry_seqs(db), 2)
        blobs = dict(db.execute("SELECT seq, entry FROM audit_entries WHERE seq IN (?, ?)", (a, b)))
        db.execute("UPDATE audit_entries SET entry = ? WHERE seq = ?", (blobs[b], a))
        db.execute("UPDATE audit_entries SET entry = ? WHERE seq = ?", (blobs[a], b))
    print(f"entries {a} and {b} swapped")
    assert_verify_fails(trial.home)


@pytest.mark.parametrize("n", range(3))
def test_truncated_log_with_consistent_head(trial: Trial, n: int) -> None:
    """Cut the newest entries and forge a matching head: only the kept checkpoint knows."""
    prepared = trial.prepared
    # Keep at least every entry that changed a table, so the tables still match the log.
    keep = trial.rng.randrange(prepared.quiet_from, prepared.kept_size)
    with database(trial.home) as db:
        rows = db.execute("SELECT entry FROM audit_entries WHERE seq < ? ORDER BY seq", (keep,))
        leaves = [merkle.leaf_hash(bytes(entry)) for (entry,) in rows]
        frontier: list[bytes] = []
        for size, leaf in enumerate(leaves):
            frontier = merkle.frontier_append(frontier, size, leaf)
        assert merkle.frontier_root(frontier) == merkle.root_from_leaf_hashes(leaves)
        db.execute("DELETE FROM audit_entries WHERE seq >= ?", (keep,))
        db.execute(
            "UPDATE log_state SET size = ?, frontier = ? WHERE id = 1",
            (keep, json.dumps([h.hex() for h in frontier])),
        )
        db.execute("DELETE FROM checkpoints WHERE tree_size > ?", (keep,))
    print(f"log cut from {prepared.size} to {keep} entries (kept checkpoint: {prepared.kept_size})")
    kept = str(prepared.kept)
    report = assert_verify_fails(trial.home, ADMIN, "--against", kept)
    assert f"the kept checkpoint covers {prepared.kept_size} entries" in report
    inside = cli(trial.home, ADMIN, "audit", "verify")
    assert inside.returncode == 0, "the forged head should be self-consistent:\n" + inside.stdout

    # Growing the cut log back past the kept checkpoint's size does not hide the cut.
    vault = Vault.open(trial.home)
    try:
        session = vault.login("sue", CREW.passphrases["sue"], "tamper-test")
        while head_size(vault) <= prepared.kept_size:
            session.ls()
    finally:
        vault.close()
    report = assert_verify_fails(trial.home, ADMIN, "--against", kept)
    assert f"the kept checkpoint at size {prepared.kept_size} is not a prefix" in report


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE log_state SET size = size + 1",
        "UPDATE log_state SET frontier = '[]'",
        "UPDATE log_state SET frontier = 'not json'",
        "DELETE FROM log_state",
    ],
    ids=["size", "frontier-length", "frontier-json", "row-deleted"],
)
def test_damaged_log_head_is_reported(trial: Trial, damage: str) -> None:
    with database(trial.home) as db:
        db.execute(damage)
    assert_verify_fails(trial.home)


# -- the tables the log vouches for ----------------------------------------------------------


@pytest.mark.parametrize("field", ["sha256", "size", "kind", "shot", "object_id"])
def test_altered_asset_row(trial: Trial, field: str) -> None:
    rng = trial.rng
    assets = assets_of(trial.home)
    asset_id, other = rng.sample(sorted(assets), 2)
    kind, shot, size, sha256, object_id = assets[asset_id]
    with database(trial.home) as db:
        if field == "sha256":
            at = rng.randrange(64)
            digit = rng.choice([c for c in "0123456789abcdef" if c != sha256[at]])
            new = sha256[:at] + digit + sha256[at + 1 :]
        elif field == "size":
            new = size + rng.choice([-1, 1]) * rng.randint(1, size - 1)
        elif field == "kind":
            new = rng.choice([k for k in ASSET_KINDS if k != kind])
        elif field == "shot":
            new = rng.choice([s for s in [None, *range(10)] if s != shot])
        else:  # point two rows at each other's objects (object_id is unique, so in 3 steps)
            new = assets[other][4]
            db.execute("UPDATE assets SET object_id = 'x' WHERE id = ?", (other,))
            db.execute("UPDATE assets SET object_id = ? WHERE id = ?", (new, asset_id))
            db.execute("UPDATE assets SET object_id = ? WHERE id = ?", (object_id, other))
        db.execute(f"UPDATE assets SET {field} = ? WHERE id = ?", (new, asset_id))
    print(f"asset {asset_id}: {field} changed to {new!r}")
    assert f"asset {asset_id} in the database differs" in assert_verify_fails(trial.home)
    if field in ("sha256", "size"):
        assert_get_fails(trial, [asset_id])
    elif field == "object_id":
        assert_get_fails(trial, [asset_id, other])


@pytest.mark.parametrize("field", ["role", "public_key", "revoked_at"])
def test_altered_member_row(trial: Trial, field: str) -> None:
    rng = trial.rng
    with database(trial.home) as db:
        members = {
            name: (role, key, revoked_at)
            for name, role, key, revoked_at in db.execute(
                "SELECT name, role, public_key, revoked_at FROM members"
            )
        }
        active = sorted(name for name, (_, _, revoked_at) in members.items() if not revoked_at)
        if field == "revoked_at":
            name = "tom"  # un-revoke the revoked member
        elif field == "public_key":  # an active member, so that their login shows it too
            name = rng.choice(active)
        else:
            name = rng.choice(sorted(members))
        role = members[name][0]
        if field == "role":
            new = rng.choice([r for r in ROLES if r != role])
        elif field == "public_key":
            new = members[rng.choice([m for m in sorted(members) if m != name])][1]
        else:
            new = None
        db.execute(f"UPDATE members SET {field} = ? WHERE name = ?", (new, name))
    print(f"member {name}: {field} changed to {new!r}")
    verifier = "sue" if name == ADMIN else ADMIN
    assert f"member {name!r} in the database differs" in assert_verify_fails(trial.home, verifier)
    if field == "public_key":
        vault = Vault.open(trial.home)
        try:
            with pytest.raises(IntegrityError, match="does not match its public key"):
                vault.login(name, CREW.passphrases[name], "tamper-test")
        finally:
            vault.close()


@pytest.mark.parametrize("n", range(2))
def test_altered_grant_row(trial: Trial, n: int) -> None:
    with database(trial.home) as db:
        rules = db.execute("SELECT id, member, scope, value, effect FROM grants ORDER BY id")
        rule_id, member, scope, value, effect = trial.rng.choice(list(rules))
        new = "deny" if effect == "allow" else "allow"
        db.execute("UPDATE grants SET effect = ? WHERE id = ?", (new, rule_id))
    print(f"grant {member}/{scope}/{value}: {effect} -> {new}")
    assert f"grant {member}/{scope}/{value} in the database differs" in assert_verify_fails(
        trial.home
    )


# -- the objects -----------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(4))
def test_truncated_object(trial: Trial, n: int) -> None:
    asset_id, path, control = pick_object(trial)
    blob = path.read_bytes()
    start = payload_start(blob)
    # A third of the cuts land in the header (and nonce), the rest in the payload.
    length = (
        trial.rng.randrange(start)
        if trial.rng.random() < 1 / 3
        else trial.rng.randrange(start, len(blob))
    )
    os.truncate(path, length)
    print(f"asset {asset_id}: object cut to {length} of {len(blob)} bytes (payload at {start})")
    assert_get_fails(trial, [asset_id], control)


def flip_bit(trial: Trial, in_header: bool) -> tuple[str, str]:
    """Flip one random bit of a random object, in its header or in its nonce and payload."""
    asset_id, path, control = pick_object(trial)
    blob = bytearray(path.read_bytes())
    start = payload_start(blob) - AGE_NONCE
    at = trial.rng.randrange(start) if in_header else trial.rng.randrange(start, len(blob))
    bit = trial.rng.randrange(8)
    blob[at] ^= 1 << bit
    path.write_bytes(blob)
    print(f"asset {asset_id}: bit {bit} of byte {at} of {len(blob)} flipped (header: {start})")
    return asset_id, control


@pytest.mark.parametrize("n", range(3))
def test_flipped_bit_in_object_payload(trial: Trial, n: int) -> None:
    asset_id, control = flip_bit(trial, in_header=False)
    assert_get_fails(trial, [asset_id], control)


@pytest.mark.parametrize("n", range(2))
def test_flipped_bit_in_object_header(trial: Trial, n: int) -> None:
    asset_id, control = flip_bit(trial, in_header=True)
    assert_get_fails(trial, [asset_id], control)


@pytest.mark.parametrize("n", range(3))
def test_swapped_objects(trial: Trial, n: int) -> None:
    assets = assets_of(trial.home)
    a, b, control = trial.rng.sample(sorted(assets), 3)
    path_a, path_b = object_path(trial.home, assets[a][4]), object_path(trial.home, assets[b][4])
    swap = path_a.with_suffix(".swap")
    os.replace(path_a, swap)
    os.replace(path_b, path_a)
    os.replace(swap, path_b)
    print(f"objects of assets {a} and {b} swapped")
    assert_get_fails(trial, [a, b], control)


@pytest.mark.parametrize("n", range(3))
def test_deleted_object(trial: Trial, n: int) -> None:
    asset_id, path, control = pick_object(trial)
    path.unlink()
    print(f"asset {asset_id}: object deleted")
    assert_get_fails(trial, [asset_id], control)


def test_unparseable_object_header_is_reported_on_one_line(trial: Trial) -> None:
    asset_id, path, control = pick_object(trial)
    blob = bytearray(path.read_bytes())
    blob[len(b"age-encryption.org/v")] ^= 1  # "age-encryption.org/v1" -> ".../v0"
    path.write_bytes(blob)
    assert_get_fails(trial, [asset_id], control)

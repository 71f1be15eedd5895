"""The command line: the contract's exact forms, --json, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import (
    ADMIN,
    ADMIN_PASS,
    FAST_KDF,
    UNSEAL,
    invoke,
    run_vault,
    write_file,
    write_script,
)

from vault.cli import cli

ADMIN_ENV = {"VAULT_USER": ADMIN, "VAULT_PASSPHRASE": ADMIN_PASS, "VAULT_UNSEAL": UNSEAL}


@pytest.fixture
def env(home) -> dict[str, str]:
    return {"VAULT_HOME": str(home), **ADMIN_ENV}


@pytest.fixture
def initialised(runner, env) -> dict[str, str]:
    result = invoke(runner, env, "init", "--admin", ADMIN, "--kdf-work-factor", str(FAST_KDF))
    assert result.exit_code == 0, result.output
    for name, role in [("eddie", "editor"), ("ava", "actor")]:
        added = invoke(
            runner,
            {**env, "VAULT_NEW_PASSPHRASE": f"{name}-passphrase"},
            "crew",
            "add",
            name,
            "--role",
            role,
        )
        assert added.exit_code == 0, added.output
    return env


def as_member(env: dict[str, str], name: str) -> dict[str, str]:
    return {**env, "VAULT_USER": name, "VAULT_PASSPHRASE": f"{name}-passphrase"}


def put(runner, env, path, *options: str) -> str:
    result = invoke(runner, env, "put", str(path), *options)
    assert result.exit_code == 0, result.output
    return result.output.split()[-1]


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("vault: ") and "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


COMMANDS = [
    [],
    ["init"],
    ["crew"],
    ["crew", "add"],
    ["crew", "list"],
    ["crew", "revoke"],
    ["put"],
    ["ls"],
    ["grant"],
    ["revoke"],
    ["get"],
    ["audit"],
    ["audit", "log"],
    ["audit", "verify"],
    ["audit", "checkpoint"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "vault")
def test_every_command_has_help(runner, command) -> None:
    result = runner.invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_the_story_through_the_cli(runner, initialised, tmp_path) -> None:
    env = initialised
    # A model: footage leaves only as a marked video copy (tests/test_export.py).
    plate = write_file(tmp_path / "plate.pt", 300_000)
    plate_id = put(runner, env, plate, "--kind", "model", "--shot", "12")
    script_id = put(runner, env, write_script(tmp_path / "s.fountain", 500), "--kind", "script")
    listing = json.loads(invoke(runner, env, "ls", "--json").output)
    assert {a["id"] for a in listing} == {plate_id, script_id}
    assert next(a for a in listing if a["id"] == plate_id)["shot"] == 12

    actor = as_member(env, "ava")
    denied = invoke(runner, actor, "get", plate_id, "-o", str(tmp_path / "leak.mov"))
    assert_one_line_error(denied, "may not read", "ask the security officer")
    assert denied.exit_code == 4 and not (tmp_path / "leak.mov").exists()

    granted = invoke(runner, env, "grant", "ava", "--shot", "12", "--asset", script_id)
    assert granted.exit_code == 0 and granted.output.count("granted") == 2
    got = invoke(runner, actor, "get", plate_id, "-o", str(tmp_path / "copy.mov"))
    assert got.exit_code == 0, got.output
    assert (tmp_path / "copy.mov").read_bytes() == plate.read_bytes()

    revoked = invoke(runner, env, "revoke", "ava", "--shot", "12")
    assert revoked.exit_code == 0
    assert_one_line_error(invoke(runner, actor, "get", plate_id, "-o", str(tmp_path / "x")))

    crew = json.loads(invoke(runner, env, "crew", "list", "--json").output)
    assert [(m["name"], m["role"]) for m in crew] == [
        (ADMIN, "admin"),
        ("eddie", "editor"),
        ("ava", "actor"),
    ]
    assert invoke(runner, env, "crew", "revoke", "ava").exit_code == 0
    gone = invoke(runner, actor, "ls")
    assert_one_line_error(gone, "revoked")
    assert gone.exit_code == 3

    log = json.loads(invoke(runner, env, "audit", "log", "--json", "--who", "ava").output)
    assert [(e["action"], e["outcome"]) for e in log] == [
        ("get", "denied"),
        ("get", "ok"),
        ("get", "denied"),
        ("ls", "denied"),
    ]
    by_asset = json.loads(invoke(runner, env, "audit", "log", "--json", "--asset", plate_id).output)
    assert by_asset[0]["action"] == "put" and all(e["asset"] == plate_id for e in by_asset)

    kept = tmp_path / "kept-checkpoint.txt"
    checkpoint = invoke(runner, env, "audit", "checkpoint", "-o", str(kept))
    assert checkpoint.exit_code == 0 and checkpoint.output == kept.read_text()
    assert checkpoint.output.splitlines()[0].startswith("vault.local/")
    verified = invoke(runner, env, "audit", "verify", "--against", str(kept))
    assert verified.exit_code == 0 and "audit log OK" in verified.output
    report = json.loads(invoke(runner, env, "audit", "verify", "--json").output)
    assert report["ok"] and report["problem_count"] == 0 and report["entries"] > 10


def test_put_prints_the_asset_id_last(runner, initialised, tmp_path) -> None:
    asset_id = put(runner, initialised, write_file(tmp_path / "f.mov", 10), "--kind", "footage")
    assert len(asset_id) == 12 and int(asset_id, 16) >= 0
    described = json.loads(
        invoke(
            runner, initialised, "put", str(tmp_path / "f.mov"), "--kind", "face", "--json"
        ).output
    )
    assert described["kind"] == "face" and described["size"] == 10


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["put", "/no/such/file", "--kind", "footage"], ["does not exist"]),
        (["put", "/tmp", "--kind", "footage"], ["is a directory"]),
        (["get", "000000000000", "-o", "/tmp/never"], ["no asset"]),
        (["grant", "ava"], ["say what to grant"]),
        (["grant", "nobody", "--kind", "script"], ["no crew member"]),
        (["crew", "revoke", "nobody"], ["no such member"]),
        (["crew", "revoke", ADMIN], ["yourself"]),
    ],
)
def test_bad_input_is_one_line(runner, initialised, args, fragments) -> None:
    assert_one_line_error(invoke(runner, initialised, *args), *fragments)


def test_wrong_and_missing_secrets(runner, initialised) -> None:
    wrong = invoke(runner, {**initialised, "VAULT_PASSPHRASE": "nope-nope"}, "ls")
    assert_one_line_error(wrong, "wrong passphrase")
    no_user = {k: v for k, v in initialised.items() if k != "VAULT_USER"}
    assert_one_line_error(invoke(runner, no_user, "ls"), "VAULT_USER")
    no_pass = {k: v for k, v in initialised.items() if k != "VAULT_PASSPHRASE"}
    assert_one_line_error(invoke(runner, no_pass, "ls"), "VAULT_PASSPHRASE is not set")
    bad_unseal = {**initialised, "VAULT_UNSEAL": "not-the-unseal"}
    assert_one_line_error(invoke(runner, bad_unseal, "audit", "checkpoint"), "VAULT_UNSEAL")


def test_no_vault_and_second_init(runner, initialised, tmp_path) -> None:
    elsewhere = {**initialised, "VAULT_HOME": str(tmp_path / "none")}
    assert_one_line_error(invoke(runner, elsewhere, "ls"), "no vault at", "vault init")
    again = invoke(runner, initialised, "init", "--admin", "x", "--kdf-work-factor", "10")
    assert_one_line_error(again, "already holds a vault")


def test_verify_against_a_checkpoint_the_log_no_longer_extends(runner, initialised, tmp_path):
    import sqlite3

    kept = tmp_path / "kept.txt"
    invoke(runner, initialised, "audit", "checkpoint", "-o", str(kept))
    home = initialised["VAULT_HOME"]
    with sqlite3.connect(f"{home}/vault.db") as db:  # an insider rewrites one old entry
        db.execute("UPDATE audit_entries SET entry = replace(entry, 'eddie', 'edwin') WHERE seq=1")
    result = invoke(runner, initialised, "audit", "verify", "--against", str(kept))
    assert result.exit_code == 5 and "FAILED" in result.output and "Traceback" not in result.output


def test_real_subprocess_round_trip(home, tmp_path) -> None:
    env = {"VAULT_HOME": str(home), **ADMIN_ENV}
    created = run_vault(env, "init", "--admin", ADMIN, "--kdf-work-factor", "10")
    assert created.returncode == 0, created.stderr
    source = write_file(tmp_path / "plate.mov", 2_000_000)
    stored = run_vault(env, "put", str(source), "--kind", "footage", "--shot", "3")
    assert stored.returncode == 0, stored.stderr
    asset_id = stored.stdout.split()[-1]
    got = run_vault(env, "get", asset_id, "-o", str(tmp_path / "out.mov"), "--raw")
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out.mov").read_bytes() == source.read_bytes()
    missing = run_vault(env, "get", asset_id, "-o", str(tmp_path / "nodir" / "x"))
    assert missing.returncode == 2 and missing.stderr.startswith("vault: ")
    assert "Traceback" not in missing.stderr
    verified = run_vault(env, "audit", "verify")
    assert verified.returncode == 0 and "audit log OK" in verified.stdout


def test_disk_full_during_put_loses_nothing(home, tmp_path) -> None:
    """The kernel refuses writes past a file-size limit: a real ENOSPC-like failure."""
    import resource
    import signal

    env = {"VAULT_HOME": str(home), **ADMIN_ENV}
    assert run_vault(env, "init", "--admin", ADMIN, "--kdf-work-factor", "10").returncode == 0
    source = write_file(tmp_path / "huge.mov", 6_000_000)

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))

    full = run_vault(env, "put", str(source), "--kind", "footage", preexec_fn=limit_file_size)
    assert full.returncode == 6, full.stderr
    assert full.stderr.startswith("vault: the disk is full") and "Traceback" not in full.stderr
    assert not any((home / "objects" / ".pending").iterdir())
    assert not list((home / "objects").glob("??/*.age"))
    listing = run_vault(env, "ls", "--json")
    assert json.loads(listing.stdout) == []
    log = json.loads(run_vault(env, "audit", "log", "--json").stdout)
    assert any(e["action"] == "put" and e["outcome"] == "error" for e in log)
    assert run_vault(env, "audit", "verify").returncode == 0


def test_disk_full_during_get_leaves_no_partial_file(home, tmp_path) -> None:
    import resource
    import signal

    env = {"VAULT_HOME": str(home), **ADMIN_ENV}
    assert run_vault(env, "init", "--admin", ADMIN, "--kdf-work-factor", "10").returncode == 0
    stored = run_vault(
        env, "put", str(write_file(tmp_path / "p.mov", 6_000_000)), "--kind", "footage"
    )
    asset_id = stored.stdout.split()[-1]
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))

    full = run_vault(
        env, "get", asset_id, "-o", str(out_dir / "p.mov"), "--raw", preexec_fn=limit_file_size
    )
    assert full.returncode == 6, full.stderr
    assert full.stderr.startswith("vault: the disk is full") and "Traceback" not in full.stderr
    assert list(out_dir.iterdir()) == []
    log = json.loads(run_vault(env, "audit", "log", "--json").stdout)
    assert (log[-1]["action"], log[-1]["outcome"]) == ("get", "error")


def test_undecodable_file_names_and_user_names_are_one_line(home, tmp_path) -> None:
    env = {"VAULT_HOME": str(home), **ADMIN_ENV}
    assert run_vault(env, "init", "--admin", ADMIN, "--kdf-work-factor", "10").returncode == 0
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/take\xff.mov")
    write_file(Path(odd), 100)
    refused = run_vault(env, "put", odd, "--kind", "footage")
    assert refused.returncode == 2 and "not valid UTF-8" in refused.stderr
    assert "Traceback" not in refused.stderr
    named = run_vault(env, "put", odd, "--kind", "footage", "--name", "take.mov")
    assert named.returncode == 0, named.stderr
    stranger = run_vault({**env, "VAULT_USER": os.fsdecode(b"mal\xfflory")}, "ls")
    assert stranger.returncode == 3 and "unknown member" in stranger.stderr
    assert run_vault(env, "audit", "verify").returncode == 0

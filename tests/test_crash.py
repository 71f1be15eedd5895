"""Crash safety of `vault put`: SIGKILL the real program at random moments, then check the vault.

One uninterrupted put of a large file is timed first; then the same put is started again
and again and killed after a random delay, the delays spread evenly over that whole run
(startup, login, encryption, the commit, publishing, exit). After every kill the vault
must be in one of two states: the put never happened (no asset, no audit entry) or it
happened completely (one asset and its audit entry, committed together). After all the
kills, the reopened vault must verify, hold no orphan or missing object, keep nothing
pending, contain no plaintext, and decrypt every listed asset to exactly the input.

Set VAULT_TEST_SEED to replay a run; the seed is printed (shown with -s or on failure).
"""

from __future__ import annotations

import collections
import filecmp
import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from conftest import ADMIN, ADMIN_PASS, FAST_KDF, UNSEAL, Crew, run_vault, write_file

from vault import Vault

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("VAULT_TEST_SEED") or secrets.randbits(32))
KILLS = 25  # kills with delays spread over one whole put
SPREAD = 1.1  # the delays cover the calibrated duration of a put times this
TOP_UP = 5  # extra, commit-triggered kills if no random kill landed after the commit
SIZE = 40 << 20  # big enough that a put takes about 0.5-1 s here
CREW = Crew({ADMIN: ADMIN_PASS})
FINISHED = "finished before the kill"


def start_put(home: Path, source: Path) -> subprocess.Popen:
    """The real `vault put`, as run_vault runs it, but left running so it can be killed."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "vault", "put", str(source), "--kind", "footage"],
        env={**base, **CREW.env(ADMIN, home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def db_state(home: Path) -> tuple[dict[str, str], int]:
    """({asset id: object id}, number of audit entries), read straight from SQLite."""
    with closing(sqlite3.connect(home / "vault.db", timeout=30)) as db:
        assets = dict(db.execute("SELECT id, object_id FROM assets"))
        (entries,) = db.execute("SELECT count(*) FROM audit_entries").fetchone()
    return assets, entries


def pending_files(home: Path) -> set[str]:
    return {p.name for p in (home / "objects" / ".pending").iterdir()}


def kill(process: subprocess.Popen) -> subprocess.CompletedProcess:
    process.send_signal(signal.SIGKILL)  # a no-op if the put already exited
    stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def kill_after(home: Path, source: Path, delay: float) -> subprocess.CompletedProcess:
    """Start a put and SIGKILL it `delay` seconds later (unless it finished first)."""
    started = time.monotonic()
    process = start_put(home, source)
    time.sleep(max(0.0, delay - (time.monotonic() - started)))
    return kill(process)


def kill_at_commit(home: Path, source: Path) -> subprocess.CompletedProcess:
    """Start a put and SIGKILL it as soon as its asset row is visible (after the commit)."""
    before, _ = db_state(home)
    process = start_put(home, source)
    while process.poll() is None:
        try:
            if set(db_state(home)[0]) - set(before):
                break
        except sqlite3.OperationalError:  # the writer holds a lock for a moment
            pass
        time.sleep(0.001)
    return kill(process)


def classify(
    home: Path, process: subprocess.CompletedProcess, before: tuple, pending_before: set
) -> str:
    """Check the vault right after one kill; return where the kill landed."""
    (assets_before, entries_before) = before
    assets, entries = db_state(home)
    new = set(assets) - set(assets_before)
    assert set(assets_before) <= set(assets), "a kill removed an existing asset"
    assert len(new) <= 1, f"one put created {len(new)} assets"
    if process.returncode == 0:
        assert len(new) == 1 and entries == entries_before + 1, process.stdout
        return FINISHED
    assert process.returncode == -signal.SIGKILL, (process.returncode, process.stderr)
    assert "Traceback" not in process.stderr
    if new:
        # The asset row and its audit entry are one transaction: both or neither.
        assert entries == entries_before + 1, "asset committed without exactly one audit entry"
        (object_id,) = (assets[a] for a in new)
        unpublished = f"{object_id}.age" in pending_files(home)
        return "after commit, " + ("before publish" if unpublished else "published")
    assert entries == entries_before, "a put killed before its commit left an audit entry"
    leftovers = pending_files(home) - pending_before
    return "before commit, " + ("object pending" if leftovers else "no object yet")


def test_sigkill_during_put_leaves_a_consistent_vault(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"\ncrash test seed {SEED} (set VAULT_TEST_SEED={SEED} to replay)")
    home = tmp_path / "vault"
    Vault.init(home, ADMIN, ADMIN_PASS, UNSEAL, work_factor=FAST_KDF).close()
    source = write_file(tmp_path / "plate.mov", SIZE, seed=SEED)
    plaintext = source.read_bytes()

    # Calibrate: how long does one uninterrupted put take on this machine?
    started = time.monotonic()
    finished = run_vault(CREW.env(ADMIN, home), "put", str(source), "--kind", "footage")
    duration = time.monotonic() - started
    assert finished.returncode == 0, finished.stderr
    print(f"one uninterrupted put of {SIZE >> 20} MiB takes {duration:.3f} s")

    # One kill per equal slice of that run (stretched a little, as runs vary by tens of ms),
    # at a random moment inside its slice. A put that finishes before its kill is counted but
    # is no kill: it is made up for with a delay drawn anywhere in the span.
    span = duration * SPREAD
    delays = [(i + rng.random()) * span / KILLS for i in range(KILLS)]
    rng.shuffle(delays)
    landed: collections.Counter[str] = collections.Counter()
    for _ in range(2 * KILLS):
        if landed.total() - landed[FINISHED] >= KILLS:
            break
        delay = delays.pop() if delays else rng.uniform(0, span)
        before, pending_before = db_state(home), pending_files(home)
        process = kill_after(home, source, delay)
        landed[classify(home, process, before, pending_before)] += 1

    def after_commit() -> int:
        return sum(n for where, n in landed.items() if where.startswith("after commit"))

    top_ups = 0
    while after_commit() == 0 and top_ups < TOP_UP:
        top_ups += 1
        before, pending_before = db_state(home), pending_files(home)
        process = kill_at_commit(home, source)
        landed[classify(home, process, before, pending_before)] += 1

    kills = landed.total() - landed[FINISHED]
    before_commit = kills - after_commit()
    print(f"{kills} kills ({top_ups} commit-triggered top-ups), landed:")
    for where, count in sorted(landed.items()):
        print(f"  {count:3d}  {where}")

    # The real program, reopening the vault (and so recovering it), must verify the log.
    verified = run_vault(CREW.env(ADMIN, home), "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit log OK" in verified.stdout and "Traceback" not in verified.stderr

    vault = Vault.open(home)
    try:
        assert list((home / "objects" / ".pending").iterdir()) == []
        assets, _ = db_state(home)
        assert len(assets) == 1 + landed[FINISHED] + after_commit()

        # Every object file belongs to exactly one asset; every asset has its object.
        stored = {}
        for path in (home / "objects").rglob("*"):
            if path.is_file():
                assert path.parent.parent == home / "objects", f"stray file {path}"
                assert path.suffix == ".age" and path.parent.name == path.stem[:2], path
                stored[path.stem] = path
        references = collections.Counter(assets.values())
        assert all(n == 1 for n in references.values()), "two assets share an object"
        assert set(references) - set(stored) == set(), "an asset's object is missing"
        assert set(stored) - set(references) == set(), "an orphan object was left behind"

        # No plaintext anywhere in VAULT_HOME: database, WAL, objects, keys, temp files.
        middle = len(plaintext) // 2
        needles = [plaintext[middle : middle + 64], plaintext[-64:]]
        for path in home.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(n in data for n in needles), f"plaintext found in {path}"

        # Every listed asset decrypts to exactly the input file.
        session = vault.login(ADMIN, ADMIN_PASS, "crash-test")
        keys = vault.unseal(UNSEAL)
        listed = session.ls()
        assert {a["id"] for a in listed} == set(assets)
        out = tmp_path / "out"
        out.mkdir()
        for asset in listed:
            assert asset["size"] == SIZE
            target = out / asset["id"]
            session.get(asset["id"], target, keys, raw=True)
            assert filecmp.cmp(target, source, shallow=False), asset
            target.unlink()
    finally:
        vault.close()

    print(f"{len(listed)} assets listed and decrypted; {before_commit} kills before the commit")
    assert before_commit >= 1, "no kill landed before the commit"
    assert after_commit() >= 1, "no kill landed after the commit, even commit-triggered ones"
    shutil.rmtree(home)  # passed: free the disk (a failed run keeps it for inspection)

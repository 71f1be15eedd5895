"""Audit log performance through the library: appends per second and `verify_log` time.

(a) appends/s: a vault created with scrypt work factor 10 is opened and its admin logs
    in; then N entries (default 5,000) are appended one per transaction, each committed
    (AuditLog.append signed by the member's Signer inside Vault.transaction), as the CLI
    does for one command; then N more, batched 1,000 per transaction.
(b) verify: one vault with two crew members added by MemberSession.crew_add (so the
    replay in verify knows their keys) is filled, 10,000 entries per transaction and
    signed in turn by the admin and the crew, up to each of `--sizes` entries; a
    checkpoint is signed halfway through each fill (as `vault get` leaves them), so
    verify checks a real consistency proof. Then `verify_log` is timed as
    MemberSession.audit_verify calls it, and its report must be ok.

Targets: >= 2,000 appends/s (one per transaction) and verify of 1,000,000 entries <= 30 s.

    python benchmarks/bench_audit.py [--appends 5000] [--sizes 100000,1000000]
                                     [--workdir DIR] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from vault import signing
from vault.audit import Signer, request_digest
from vault.audit_verify import verify_log
from vault.core import Vault

WORK_FACTOR = 10
ADMIN, ADMIN_PASSPHRASE = "bench-admin", "bench-admin-passphrase"
UNSEAL_PASSPHRASE = "bench-unseal-passphrase"
CREW = {"dana": "director", "eddie": "editor"}
BATCH = 1_000
FILL_BATCH = 10_000
APPEND_TARGET = 2_000.0  # appends/s, one per transaction
VERIFY_TARGET_SECONDS = 30.0
VERIFY_TARGET_ENTRIES = 1_000_000


@dataclass
class Row:
    measurement: str
    entries: int
    seconds: float
    rate: float
    unit: str
    target: str = ""
    result: str = ""


# -- vaults -------------------------------------------------------------------------------


def create_vault(home: Path) -> Vault:
    """A fresh vault (work factor 10), closed and opened again as a command would."""
    Vault.init(home, ADMIN, ADMIN_PASSPHRASE, UNSEAL_PASSPHRASE, work_factor=WORK_FACTOR).close()
    return Vault.open(home)


def add_crew(vault: Vault) -> list[Signer]:
    """Add CREW through the admin's session; returns the signers of admin and crew."""
    admin = vault.login(ADMIN, ADMIN_PASSPHRASE, "bench")
    signers = [admin.signer]
    for name, role in CREW.items():
        admin.crew_add(name, role, f"{name}-passphrase")
        signers.append(vault.login(name, f"{name}-passphrase", "bench").signer)
    return signers


def log_size(vault: Vault) -> int:
    with vault.session() as db:
        return vault.log.head(db)[0]


# -- entries ------------------------------------------------------------------------------


def append_command_entry(vault: Vault, db, signer: Signer, number: int) -> None:
    """What one read-only command (`vault ls`) logs: one signed entry."""
    vault.log.append(
        db,
        actor=signer.name,
        action="ls",
        outcome="ok",
        signer=signer,
        request=request_digest("ls", {}),
        detail={"listed": number % 50},
    )


def append_mixed_entry(vault: Vault, db, signer: Signer, number: int) -> None:
    """Entries that do not change the vault's tables: ls, get and denied gets."""
    kind = number % 3
    if kind == 0:
        append_command_entry(vault, db, signer, number)
        return
    asset = secrets.token_hex(6)
    arguments = {"asset": asset, "out": f"/tmp/out-{number}.mov"}
    fields = (
        {"outcome": "ok", "detail": {"sha256": "0" * 64, "size": number, "because": "bench"}}
        if kind == 1
        else {"outcome": "denied", "reason": f"{signer.name} may not read asset {asset}"}
    )
    vault.log.append(
        db,
        actor=signer.name,
        action="get",
        signer=signer,
        asset_id=asset,
        request=request_digest("get", arguments),
        **fields,
    )


# -- (a) appends --------------------------------------------------------------------------


def time_appends(vault: Vault, signer: Signer, count: int, per_transaction: int) -> float:
    """Seconds to append `count` entries, committing every `per_transaction`."""
    start = time.perf_counter()
    done = 0
    while done < count:
        batch = min(per_transaction, count - done)
        with vault.transaction() as db:
            for i in range(done, done + batch):
                append_command_entry(vault, db, signer, i)
        done += batch
    return time.perf_counter() - start


def time_bare_sqlite_commits(path: Path, count: int) -> float:
    """The disk's ceiling: bare SQLite durable commits (WAL, synchronous=FULL) of one row."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, entry BLOB)")
        row = secrets.token_bytes(600)  # about the size of an audit entry
        start = time.perf_counter()
        for i in range(count):
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT INTO t VALUES (?, ?)", (i, row))
            connection.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        connection.close()


def bench_appends(workdir: Path, count: int) -> list[Row]:
    vault = create_vault(workdir / "appends")
    try:
        signer = vault.login(ADMIN, ADMIN_PASSPHRASE, "bench").signer
        bare = time_bare_sqlite_commits(workdir / "bare.db", count)
        single = time_appends(vault, signer, count, 1)
        batched = time_appends(vault, signer, count, BATCH)
    finally:
        vault.close()
    rate = count / single
    return [
        Row(
            "bare SQLite durable commit, same disk (ceiling)",
            count,
            bare,
            count / bare,
            "commits/s",
        ),
        Row(
            "append, 1 per transaction (CLI)",
            count,
            single,
            rate,
            "appends/s",
            f">= {APPEND_TARGET:,.0f}/s",
            verdict(rate >= APPEND_TARGET),
        ),
        Row(f"append, {BATCH:,} per transaction", count, batched, count / batched, "appends/s"),
    ]


# -- (b) fill and verify ------------------------------------------------------------------


def fill(vault: Vault, signers: list[Signer], target: int, audit_seed: bytes) -> int:
    """Append until the log holds `target` entries; sign a checkpoint halfway."""
    size = log_size(vault)
    halfway = size + (target - size) // 2
    turn = itertools.cycle(signers)
    while size < target:
        batch = min(FILL_BATCH, target - size)
        with vault.transaction() as db:
            for number in range(size, size + batch):
                append_mixed_entry(vault, db, next(turn), number)
            if size < halfway <= size + batch:
                vault.log.sign_checkpoint(db, audit_seed)
        size += batch
        if size % 100_000 < batch or size == target:
            progress(f"  filled {size:,}/{target:,}")
    return size


def time_verify(vault: Vault, expected: int) -> float:
    public_key = signing.b64decode(vault.config.audit_public_key)
    with vault.session() as db:
        start = time.perf_counter()
        report = verify_log(db, vault.log, public_key)
        seconds = time.perf_counter() - start
    if not report.ok or report.entries != expected:
        raise RuntimeError(f"verify failed on {report.entries} entries: {report.problems[:5]}")
    return seconds


def bench_verify(workdir: Path, sizes: list[int]) -> Iterator[Row]:
    vault = create_vault(workdir / "verify")
    try:
        signers = add_crew(vault)
        audit_seed = vault.unseal(UNSEAL_PASSPHRASE).audit_seed
        for target in sorted(sizes):
            before = log_size(vault)
            start = time.perf_counter()
            size = fill(vault, signers, target, audit_seed)
            seconds = time.perf_counter() - start
            added = size - before
            yield Row(
                f"fill ({FILL_BATCH:,} per transaction, +{added:,})",
                size,
                seconds,
                added / seconds if seconds else 0.0,
                "appends/s",
            )
            progress(f"verifying {size:,} entries ...")
            seconds = time_verify(vault, size)
            checked = size >= VERIFY_TARGET_ENTRIES
            yield Row(
                "verify_log",
                size,
                seconds,
                size / seconds,
                "entries/s",
                f"<= {VERIFY_TARGET_SECONDS:.0f} s at {VERIFY_TARGET_ENTRIES:,}" if checked else "",
                verdict(seconds <= VERIFY_TARGET_SECONDS) if checked else "",
            )
    finally:
        vault.close()


# -- output -------------------------------------------------------------------------------


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def markdown(rows: list[Row]) -> str:
    lines = [
        "| measurement | entries | seconds | rate | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.measurement} | {r.entries:,} | {r.seconds:.2f} | {r.rate:,.0f} {r.unit} "
            f"| {r.target} | {r.result} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=5_000, help="entries for (a)")
    parser.add_argument(
        "--sizes", default="100000,1000000", help="comma-separated log sizes to verify"
    )
    parser.add_argument("--workdir", type=Path, help="where temporary data goes (default /tmp)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.appends < 1 or any(s < 1 for s in args.sizes):
        parser.error("--appends and --sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-audit-", dir=args.workdir))
    try:
        progress(f"appending {args.appends:,} entries ...")
        rows = bench_appends(workdir, args.appends)
        for row in bench_verify(workdir, args.sizes):
            rows.append(row)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(markdown(rows))
    return 1 if any(r.result == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

"""`vault audit verify`: recompute everything the log claims, trust nothing stored.

Checks, in one pass over the entries:
- sequence numbers are contiguous and each entry names this log and its own position;
- the index columns agree with the signed bytes;
- every signed entry verifies under the key its member was given by an earlier
  `init`/`crew.add` entry (so the members table is not trusted), no revoked member
  signs, and no unauthenticated entry claims success;
- the recomputed Merkle root equals the stored head and the latest signed checkpoint;
- optionally, that the log extends a checkpoint kept elsewhere (a consistency proof);
- the members, assets and grants tables equal what the log says happened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import checkpoint, merkle, signing
from vault.audit import ENTRY_CONTEXT, AuditLog, as_entry_bytes, split_entry
from vault.errors import IntegrityError
from vault.models import Asset, AuditEntry, Grant, Member

_PARALLEL_THRESHOLD = 20_000  # below this, a process pool costs more than it saves
_CHUNK = 10_000
_MAX_LISTED_PROBLEMS = 50


@dataclass
class AuditReport:
    entries: int = 0
    root: str = ""
    checkpoint_size: int | None = None
    against_size: int | None = None
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < _MAX_LISTED_PROBLEMS:
            self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "root": self.root,
            "checkpoint_size": self.checkpoint_size,
            "against_size": self.against_size,
            "problem_count": self.problem_count,
            "problems": self.problems,
        }


class _SignatureChecker:
    """Verifies signatures in chunks, in worker processes when there are many."""

    def __init__(self, expected: int) -> None:
        self._pool = (
            ProcessPoolExecutor(max_workers=os.cpu_count() or 1)
            if expected >= _PARALLEL_THRESHOLD
            else None
        )
        self._jobs: list[tuple[bytes, bytes, bytes]] = []
        self._seqs: list[int] = []
        self._pending: list[tuple[list[int], Future[list[int]]]] = []
        self.bad: list[int] = []

    def add(self, seq: int, public_key: bytes, signature: bytes, message: bytes) -> None:
        self._jobs.append((public_key, signature, message))
        self._seqs.append(seq)
        if len(self._jobs) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._jobs:
            return
        jobs, seqs = self._jobs, self._seqs
        self._jobs, self._seqs = [], []
        if self._pool is None:
            self.bad.extend(seqs[i] for i in signing.verify_batch(jobs))
        else:
            self._pending.append((seqs, self._pool.submit(signing.verify_batch, jobs)))

    def finish(self) -> list[int]:
        self._flush()
        for seqs, future in self._pending:
            self.bad.extend(seqs[i] for i in future.result())
        if self._pool is not None:
            self._pool.shutdown()
        return sorted(self.bad)


@dataclass
class _Replay:
    """The state the log says the vault should be in."""

    keys: dict[str, bytes] = field(default_factory=dict)
    members: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    assets: dict[str, tuple] = field(default_factory=dict)
    rules: dict[tuple[str, str, str], str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)

    def apply(self, body: dict[str, Any]) -> None:
        detail = body["detail"]
        action = body["action"]
        if action in ("init", "crew.add"):
            member = detail["member"]
            self.keys[member["name"]] = signing.b64decode(member["public_key"])
            self.members[member["name"]] = (member["role"], member["public_key"], False)
        elif action == "crew.revoke":
            name = detail["member"]
            self.revoked.add(name)
            role, public_key, _ = self.members[name]
            self.members[name] = (role, public_key, True)
        elif action == "put":
            asset = detail["asset"]
            self.assets[asset["id"]] = (
                asset["kind"],
                asset["name"],
                asset["shot"],
                asset["size"],
                asset["sha256"],
                asset["object_id"],
                body["actor"],
                body["time"],
            )
        elif action in ("grant", "revoke"):
            rule = detail["rule"]
            self.rules[(rule["member"], rule["scope"], rule["value"])] = rule["effect"]


def _rows(db: Session) -> Iterator[tuple]:
    query = select(
        AuditEntry.seq,
        AuditEntry.time,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.asset_id,
        AuditEntry.outcome,
        AuditEntry.entry,
    ).order_by(AuditEntry.seq)
    yield from db.execute(query.execution_options(yield_per=_CHUNK))


def _check_entry(
    row: tuple,
    expected_seq: int,
    vault_id: str,
    replay: _Replay,
    signatures: _SignatureChecker,
    report: AuditReport,
) -> None:
    seq, time, actor, action, asset_id, outcome, entry = row
    if seq != expected_seq:
        report.add(f"entry {expected_seq} is missing or out of order (found {seq} in its place)")
    try:
        body_bytes, signer, signature = split_entry(entry)
        body = json.loads(body_bytes)
    except (ValueError, UnicodeDecodeError):
        report.add(f"entry {seq} is not a well-formed audit entry")
        return
    if body.get("v") != 1 or body.get("log") != vault_id or body.get("seq") != expected_seq:
        report.add(f"entry {seq} claims another position or another vault's log")
    if (
        body.get("time"),
        body.get("actor"),
        body.get("action"),
        body.get("asset"),
        body.get("outcome"),
    ) != (
        time,
        actor,
        action,
        asset_id,
        outcome,
    ):
        report.add(f"entry {seq}: the database columns disagree with the signed entry")
    founding = expected_seq == 0 and body.get("action") == "init" and body.get("outcome") == "ok"
    if body.get("action") == "init" and not founding:
        report.add(f"entry {seq} claims to found the vault, but only entry 0 may")
    if founding:
        _apply(replay, body, seq, report)  # the founding admin signs the entry that creates them
    if signer is None:
        if body.get("outcome") == "ok":
            report.add(f"entry {seq} records a successful {body.get('action')} nobody signed")
    else:
        if signer != body.get("actor"):
            report.add(f"entry {seq} is signed by {signer!r} but names {body.get('actor')!r}")
        elif signer in replay.revoked:
            report.add(f"entry {seq} is signed by {signer!r} after that member was revoked")
        key = replay.keys.get(signer)
        if key is None:
            report.add(f"entry {seq} is signed by {signer!r}, who no earlier entry added")
        else:
            signatures.add(seq, key, signature or b"", ENTRY_CONTEXT + body_bytes)
    if body.get("outcome") == "ok" and not founding:
        _apply(replay, body, seq, report)


def _apply(replay: _Replay, body: dict[str, Any], seq: int, report: AuditReport) -> None:
    try:
        replay.apply(body)
    except (KeyError, TypeError, ValueError):
        report.add(f"entry {seq}: its {body.get('action')} details are malformed")


def _check_tables(db: Session, replay: _Replay, report: AuditReport) -> None:
    members = {
        m.name: (m.role, m.public_key, m.revoked_at is not None) for m in db.scalars(select(Member))
    }
    for name in sorted(set(members) | set(replay.members)):
        if members.get(name) != replay.members.get(name):
            report.add(f"member {name!r} in the database differs from what the log recorded")
    assets = {
        a.id: (a.kind, a.name, a.shot, a.size, a.sha256, a.object_id, a.added_by, a.added_at)
        for a in db.scalars(select(Asset))
    }
    for asset_id in sorted(set(assets) | set(replay.assets)):
        if assets.get(asset_id) != replay.assets.get(asset_id):
            report.add(f"asset {asset_id} in the database differs from what the log recorded")
    rules = {(g.member, g.scope, g.value): g.effect for g in db.scalars(select(Grant))}
    for key in sorted(set(rules) | set(replay.rules)):
        if rules.get(key) != replay.rules.get(key):
            report.add(f"grant {'/'.join(key)} in the database differs from what the log recorded")


def _check_checkpoint(
    note: str,
    verifier: str,
    log: AuditLog,
    leaves: list[bytes],
    root: bytes,
    label: str,
    report: AuditReport,
) -> int | None:
    try:
        cp = checkpoint.open_checkpoint(note, verifier, expected_origin=log.origin)
    except checkpoint.CheckpointError as exc:
        report.add(f"{label}: {exc}")
        return None
    if cp.size > len(leaves):
        report.add(
            f"{label} covers {cp.size} entries but the log now has {len(leaves)}: "
            f"the newest {cp.size - len(leaves)} entries were removed"
        )
        return cp.size
    proof = merkle.consistency_proof(leaves, cp.size, len(leaves)) if cp.size else []
    if cp.size and not merkle.verify_consistency(cp.size, len(leaves), cp.root_hash, root, proof):
        report.add(
            f"{label} at size {cp.size} is not a prefix of this log: "
            "earlier entries were altered, removed or reordered"
        )
    return cp.size


def verify_log(
    db: Session, log: AuditLog, audit_public_key: bytes, against: str | None = None
) -> AuditReport:
    report = AuditReport()
    replay = _Replay()
    total = db.query(AuditEntry).count()
    signatures = _SignatureChecker(total)
    leaves: list[bytes] = []
    try:
        for row in _rows(db):
            row = (*row[:6], as_entry_bytes(row[6]))
            leaves.append(merkle.leaf_hash(row[6]))
            _check_entry(row, len(leaves) - 1, log.vault_id, replay, signatures, report)
    finally:
        bad = signatures.finish()
    for seq in bad:
        report.add(f"entry {seq}: the signature does not verify (entry altered)")
    report.entries = len(leaves)
    root = merkle.root_from_leaf_hashes(leaves)
    report.root = root.hex()
    try:
        head_matches = (len(leaves), root) == log.head(db)
    except IntegrityError:
        head_matches = False
    if not head_matches:
        report.add("the stored log head does not match the entries (entries added or removed)")
    verifier = log.verifier(audit_public_key)
    latest = log.latest_checkpoint(db)
    if latest is not None:
        report.checkpoint_size = _check_checkpoint(
            latest, verifier, log, leaves, root, "the latest stored checkpoint", report
        )
    if against is not None:
        report.against_size = _check_checkpoint(
            against, verifier, log, leaves, root, "the kept checkpoint", report
        )
    _check_tables(db, replay, report)
    return report

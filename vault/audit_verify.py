"""`vault audit verify`: recompute everything the log claims, trust nothing stored.

Checks:
- sequence numbers are contiguous and each entry names this log and its own position;
- the index columns agree with the signed bytes;
- every signed entry verifies under the key its member was given by an earlier
  `init`/`crew.add` entry (so the members table is not trusted), no revoked member
  signs, and no unauthenticated entry claims success;
- every state change (crew, grants, puts) was within its signer's role at that point;
- the founding entry vouches for the keys in vault.json;
- the recomputed Merkle root equals the stored head and the latest signed checkpoint;
- optionally, that the log extends a checkpoint kept elsewhere (a consistency proof);
- the members, assets and grants tables equal what the log says happened.

Speed: a million entries means a million Ed25519 verifications. The log is cut into
chunks of positions; worker processes each read and check their chunk on their own
database connection, so every core verifies signatures and the parent only assembles
leaf hashes and replays the few entries that change state. Which key a member held at
each position is read first from the crew entries; the replay later confirms it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from vault import access, checkpoint, merkle, signing
from vault.audit import ENTRY_CONTEXT, AuditLog, as_entry_bytes, split_entry
from vault.errors import IntegrityError
from vault.export import copy_view
from vault.models import (
    Asset,
    AuditEntry,
    Copy,
    Grant,
    LogState,
    Member,
    Render,
    ScriptCopy,
    Shot,
)
from vault.render import render_view
from vault.script_copies import script_copy_view

_PARALLEL_THRESHOLD = 20_000  # below this, a process pool costs more than it saves
_CHUNK = 25_000
_KEY_ACTIONS = ("init", "crew.add", "crew.revoke")
# A `get` of a script is one: it issues a marked copy.
_STATE_ACTIONS = (*_KEY_ACTIONS, "put", "grant", "revoke", "shot.add", "render", "export", "get")
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


@dataclass
class _Replay:
    """The state the log says the vault should be in."""

    members: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    assets: dict[str, tuple] = field(default_factory=dict)
    rules: dict[tuple[str, str, str], str] = field(default_factory=dict)
    shots: dict[int, tuple] = field(default_factory=dict)
    renders: dict[str, tuple] = field(default_factory=dict)
    copies: dict[str, tuple] = field(default_factory=dict)
    script_copies: dict[str, tuple] = field(default_factory=dict)

    def authority_problem(self, body: dict[str, Any]) -> str | None:
        """Why the signer had no right to this state change, if they had none.

        A valid signature proves who wrote an entry, not that they were allowed to: an
        actor with write access to the database could sign a `crew.add` of an admin.
        """
        action, actor = body["action"], body["actor"]
        if action == "init":
            return None
        role, _, revoked = self.members.get(actor, (None, None, True))
        if revoked or role is None:
            return f"entry {body['seq']}: {actor!r} was not an active member"
        if action in ("crew.add", "crew.revoke"):
            allowed = access.has_capability(role, access.CREW)
        elif action in ("grant", "revoke"):
            allowed = access.has_capability(role, access.GRANT)
        elif action in ("shot.add", "render"):
            allowed = access.has_capability(role, access.RENDER)
        elif action == "export":
            allowed = access.has_capability(role, access.EXPORT)
        elif action == "get":  # an original, unmarked, only to whoever may investigate
            raw = body["detail"].get("raw", False)
            allowed = access.has_capability(role, access.TRACE if raw else access.GET)
        else:  # put
            allowed = access.may_write_kind(role, body["detail"]["asset"]["kind"])
        if allowed:
            return None
        return f"entry {body['seq']}: {actor!r} ({role}) had no right to {action}"

    def apply(self, body: dict[str, Any]) -> None:
        detail = body["detail"]
        action = body["action"]
        if action in ("init", "crew.add"):
            member = detail["member"]
            self.members[member["name"]] = (member["role"], member["public_key"], False)
        elif action == "crew.revoke":
            name = detail["member"]
            role, public_key, _ = self.members[name]
            self.members[name] = (role, public_key, True)
        elif action in ("put", "render"):
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
        if action == "shot.add":
            shot = detail["shot"]
            self.shots[shot["shot"]] = (shot["plate"], shot["face"], shot["backend"], body["actor"])
        elif action == "render":
            render = detail["render"]
            self.renders[render["render_id"]] = _render_row(render)
        elif action in ("export", "get") and "copy" in detail:  # a get of video is a copy
            copy = detail["copy"]
            if "master" not in copy:  # logged before schema 0003: the render's asset
                copy = copy | {"master": self.renders.get(copy["render"], (None,) * 3)[2]}
            self.copies[copy["copy_id"]] = _copy_row(copy)
        elif action == "get" and "script_copy" in detail:
            copy = detail["script_copy"]
            self.script_copies[copy["copy_id"]] = _script_copy_row(copy)


def _render_row(render: dict[str, Any]) -> tuple:
    return (render["shot"], render["render"], render["asset"], render["signed"], render["manifest"])


def _copy_row(copy: dict[str, Any]) -> tuple:
    return (
        copy["mark"],
        copy["master"],
        copy["render"],
        copy["recipient"],
        copy["requested_by"],
        copy["sha256"],
    )


def _script_copy_row(copy: dict[str, Any]) -> tuple:
    master = copy.get("master_sha256")  # absent from entries written before schema 0004
    return (copy["script"], copy["mark"], copy["recipient"], copy["rules"], copy["sha256"], master)


def _apply(replay: _Replay, body: dict[str, Any], report: AuditReport) -> None:
    try:
        problem = replay.authority_problem(body)
        if problem is not None:
            report.add(problem)
        replay.apply(body)
    except (KeyError, TypeError, ValueError):
        report.add(f"entry {body.get('seq')}: its {body.get('action')} details are malformed")


def _bodies(entries: Iterable[object]) -> Iterator[dict[str, Any]]:
    for stored in entries:
        try:
            body = json.loads(split_entry(as_entry_bytes(stored))[0].decode())
        except (ValueError, UnicodeDecodeError):
            continue  # reported by the chunk that holds it
        if isinstance(body, dict):
            yield body


_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.time,
    AuditEntry.actor,
    AuditEntry.action,
    AuditEntry.asset_id,
    AuditEntry.outcome,
    AuditEntry.entry,
)


class _Keys:
    """Which Ed25519 key each member held at each position of the log."""

    def __init__(self, events: list[tuple[int, str, str | None]]) -> None:
        self.events = sorted(events)
        self._by_name: dict[str, list[tuple[int, bytes | None]]] = {}
        for seq, name, public_key in self.events:
            key = signing.b64decode(public_key) if public_key is not None else None
            self._by_name.setdefault(name, []).append((seq, key))

    def at(self, name: str, seq: int) -> tuple[bytes | None, str]:
        """The key `name` signs with at `seq`, or None and why not."""
        current: bytes | None = None
        known = False
        for event_seq, key in self._by_name.get(name, ()):
            if event_seq > seq or (event_seq == seq and seq != 0):
                break  # only the founding entry may be signed by the key it introduces
            current, known = key, True
        if not known:
            return None, f"is signed by {name!r}, who no earlier entry added"
        if current is None:
            return None, f"is signed by {name!r} after that member was revoked"
        return current, ""


def _key_events(bodies: Iterable[dict[str, Any]]) -> list[tuple[int, str, str | None]]:
    """Key introductions and revocations, from entries that succeeded."""
    events = []
    for body in bodies:
        try:
            if body.get("outcome") != "ok":
                continue
            seq = body["seq"]
            if body["action"] in ("init", "crew.add"):
                member = body["detail"]["member"]
                name, public_key = member["name"], member["public_key"]
                if len(signing.b64decode(public_key)) != 32:
                    continue
            elif body["action"] == "crew.revoke":
                name, public_key = body["detail"]["member"], None
            else:
                continue
            if isinstance(seq, int) and isinstance(name, str):
                events.append((seq, name, public_key))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue  # a malformed entry is reported by the chunk that holds it
    return events


@dataclass
class _ChunkResult:
    leaves: bytes = b""
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)


def _check_chunk(
    rows: Iterable[tuple], start: int, end: int, vault_id: str, keys: _Keys
) -> _ChunkResult:
    """Check the entries at positions start..end-1; missing positions are problems."""
    result = _ChunkResult()
    leaves = []
    expected = start
    for row in rows:
        seq = row[0]
        while expected < seq:
            result.problems.append(f"entry {expected} is missing")
            expected += 1
        entry = as_entry_bytes(row[6])
        leaves.append(merkle.leaf_hash(entry))
        try:
            effect = _check_entry(row, entry, vault_id, keys, result.problems)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            result.problems.append(f"entry {seq} has malformed fields ({exc.__class__.__name__})")
            effect = None
        if effect is not None:
            result.effects.append(effect)
        result.rows += 1
        expected = seq + 1
    while expected < end:
        result.problems.append(f"entry {expected} is missing")
        expected += 1
    result.leaves = b"".join(leaves)
    return result


def _check_entry(
    row: tuple, entry: bytes, vault_id: str, keys: _Keys, problems: list[str]
) -> dict[str, Any] | None:
    """Check one entry; returns its body if it changed the vault's state."""
    seq, time, actor, action, asset_id, outcome, _ = row
    try:
        body_bytes, signer, signature = split_entry(entry)
        body = json.loads(body_bytes.decode())
        claimed = (body["time"], body["actor"], body["action"], body["asset"], body["outcome"])
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        problems.append(f"entry {seq} is not a well-formed audit entry")
        return None
    if body.get("v") != 1 or body.get("log") != vault_id or body.get("seq") != seq:
        problems.append(f"entry {seq} claims another position or another vault's log")
    if claimed != (time, actor, action, asset_id, outcome):
        problems.append(f"entry {seq}: the database columns disagree with the signed entry")
    if body["action"] == "init" and seq != 0:
        problems.append(f"entry {seq} claims to found the vault, but only entry 0 may")
    if signer is None:
        if body["outcome"] == "ok":
            problems.append(f"entry {seq} records a successful {body['action']} nobody signed")
    elif signer != body["actor"]:
        problems.append(f"entry {seq} is signed by {signer!r} but names {body['actor']!r}")
    else:
        key, why_not = keys.at(signer, seq)
        if key is None:
            problems.append(f"entry {seq} {why_not}")
        elif not signing.verify(key, signature or b"", ENTRY_CONTEXT + body_bytes):
            problems.append(f"entry {seq}: the signature does not verify (entry altered)")
    if body["outcome"] == "ok" and body["action"] in _STATE_ACTIONS:
        return body
    return None


def _check_chunk_in_worker(
    url: str, start: int, end: int, vault_id: str, keys: _Keys
) -> _ChunkResult:
    # A plain engine: the parent holds the write lock for a consistent snapshot, and
    # SQLite's WAL lets readers in beside it. A bare DB-API cursor: at a million rows,
    # SQLAlchemy's per-row result processing is a tenth of the whole verification.
    engine = create_engine(url)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT seq, time, actor, action, asset_id, outcome, entry FROM audit_entries "
            f"WHERE seq >= {int(start)} AND seq < {int(end)} ORDER BY seq"
        )
        return _check_chunk(iter(cursor.fetchone, None), start, end, vault_id, keys)
    finally:
        connection.close()
        engine.dispose()


def _chunk_query(start: int, end: int):
    return (
        select(*_COLUMNS)
        .where(AuditEntry.seq >= start, AuditEntry.seq < end)
        .order_by(AuditEntry.seq)
    )


def _check_all_chunks(db: Session, size: int, vault_id: str, keys: _Keys) -> list[_ChunkResult]:
    ranges = [(a, min(a + _CHUNK, size)) for a in range(0, size, _CHUNK)]
    if size < _PARALLEL_THRESHOLD:
        return [
            _check_chunk(db.execute(_chunk_query(a, b)), a, b, vault_id, keys) for a, b in ranges
        ]
    url = db.get_bind().url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = [
            pool.submit(_check_chunk_in_worker, url, a, b, vault_id, keys) for a, b in ranges
        ]
        return [future.result() for future in futures]


def _check_founding_keys(
    effects: list[dict[str, Any]], audit_key: bytes, recipient: str | None, report: AuditReport
) -> None:
    """vault.json's keys must be the ones the founding entry signed for.

    Otherwise a swapped `vault_recipient` would quietly encrypt new assets to someone else.
    """
    founding = next((b for b in effects if b.get("action") == "init"), None)
    detail = founding.get("detail", {}) if founding else {}
    if detail.get("audit_public_key") != signing.b64encode(audit_key):
        report.add("the audit key in vault.json is not the one the vault was founded with")
    if recipient is not None and detail.get("vault_recipient") != recipient:
        report.add("the vault recipient in vault.json is not the one the vault was founded with")


def _check_tables(db: Session, replay: _Replay, report: AuditReport) -> None:
    members = {
        m.name: (m.role, m.public_key, m.revoked_at is not None) for m in db.scalars(select(Member))
    }
    for name in sorted(set(members) | set(replay.members), key=str):
        if members.get(name) != replay.members.get(name):
            report.add(f"member {name!r} in the database differs from what the log recorded")
    assets = {
        a.id: (a.kind, a.name, a.shot, a.size, a.sha256, a.object_id, a.added_by, a.added_at)
        for a in db.scalars(select(Asset))
    }
    for asset_id in sorted(set(assets) | set(replay.assets), key=str):
        if assets.get(asset_id) != replay.assets.get(asset_id):
            report.add(f"asset {asset_id} in the database differs from what the log recorded")
    tables = {
        "shot": (
            {
                s.number: (s.plate, s.face, s.backend, s.created_by)
                for s in db.scalars(select(Shot))
            },
            replay.shots,
        ),
        "render": (
            {r.id: _render_row(render_view(r)) for r in db.scalars(select(Render))},
            replay.renders,
        ),
        "copy": (
            {c.id: _copy_row(copy_view(c)) for c in db.scalars(select(Copy))},
            replay.copies,
        ),
        "script copy": (
            {c.id: _script_copy_row(script_copy_view(c)) for c in db.scalars(select(ScriptCopy))},
            replay.script_copies,
        ),
    }
    for what, (stored, logged) in tables.items():
        for key in sorted(set(stored) | set(logged), key=str):
            if stored.get(key) != logged.get(key):
                report.add(f"{what} {key} in the database differs from what the log recorded")
    rules = {(g.member, g.scope, g.value): g.effect for g in db.scalars(select(Grant))}
    for key in sorted(set(rules) | set(replay.rules), key=str):
        if rules.get(key) != replay.rules.get(key):
            label = "/".join(map(str, key))
            report.add(f"grant {label} in the database differs from what the log recorded")


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
    db: Session,
    log: AuditLog,
    audit_public_key: bytes,
    against: str | None = None,
    vault_recipient: str | None = None,
) -> AuditReport:
    report = AuditReport()
    # Hold the log head's row lock for the whole check: every writer takes it first, so the
    # worker processes' own connections see one stable log (SQLite's BEGIN IMMEDIATE
    # already gives that; PostgreSQL needs the row lock).
    db.execute(select(LogState.size).where(LogState.id == 1).with_for_update())
    # Positions are checked up to the number of rows: a row planted at a huge position
    # must not make verification enumerate the gap.
    size = db.scalar(select(func.count()).select_from(AuditEntry)) or 0
    last = db.scalar(select(func.max(AuditEntry.seq)))
    if last is not None and last >= size:
        report.add(f"the log's positions are not contiguous: the last is {last}, not {size - 1}")
    crew_rows = db.execute(select(AuditEntry.entry).where(AuditEntry.action.in_(_KEY_ACTIONS)))
    keys = _Keys(_key_events(_bodies(row[0] for row in crew_rows)))
    leaves: list[bytes] = []
    effects: list[dict[str, Any]] = []
    rows = 0
    for chunk in _check_all_chunks(db, size, log.vault_id, keys):
        leaves.extend(chunk.leaves[i : i + 32] for i in range(0, len(chunk.leaves), 32))
        rows += chunk.rows
        effects.extend(chunk.effects)
        for problem in chunk.problems:
            report.add(problem)
    replay = _Replay()
    for body in effects:
        _apply(replay, body, report)
    _check_founding_keys(effects, audit_public_key, vault_recipient, report)
    if rows != size:
        report.add("the log holds entries outside its sequence of positions")
    if sorted(_key_events(effects)) != keys.events:
        report.add(
            "the crew entries' index columns were altered (keys checked differ from the log)"
        )
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

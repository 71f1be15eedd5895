"""The audit log: one signed entry per operation, leaves of an RFC 6962 Merkle tree.

Entry format (the exact bytes that are hashed into the tree):

    <body: canonical JSON, one line>\\n<signer name> <base64 Ed25519 signature>

or, for an attempt whose actor could not be authenticated, `<body>\\n-`. The signature
covers `b"vault audit entry v1\\n" + body`. The body names the log (vault id), its own
sequence number, time, actor, action, asset, outcome, reason, details and the SHA-256
of the request. Secrets never enter it.

Checkpoints are C2SP tlog-checkpoints signed by the audit log key; keep one outside the
vault and `vault audit verify --against` proves the log still extends it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from vault import checkpoint, merkle, signing
from vault.errors import IntegrityError
from vault.models import AuditEntry, Checkpoint, LogState

ENTRY_CONTEXT = b"vault audit entry v1\n"
OUTCOMES = ("ok", "denied", "error")
UNSIGNED = b"-"


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def canonical_json(value: Any) -> bytes:
    # ASCII escapes keep any text representable, file names with undecodable bytes included.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def request_digest(action: str, arguments: dict[str, Any]) -> str:
    """SHA-256 of the request as the command received it (never including secrets)."""
    return hashlib.sha256(canonical_json({"action": action, "arguments": arguments})).hexdigest()


def encode_entry(body: bytes, signer: Signer | None) -> bytes:
    if signer is None:
        return body + b"\n" + UNSIGNED
    signature = signing.sign(signer.seed, ENTRY_CONTEXT + body)
    return body + b"\n" + signer.name.encode() + b" " + signing.b64encode(signature).encode()


def as_entry_bytes(stored: object) -> bytes:
    """The entry as stored; SQLite hands back text if someone rewrote the blob as text."""
    if isinstance(stored, bytes):
        return stored
    if isinstance(stored, bytearray | memoryview):  # some drivers hand back buffers
        return bytes(stored)
    return str(stored).encode()


def split_entry(entry: bytes) -> tuple[bytes, str | None, bytes | None]:
    """(body, signer name, signature); raises ValueError on a malformed entry."""
    body, _, signature_line = entry.rpartition(b"\n")
    if not body:
        raise ValueError("entry has no signature line")
    if signature_line == UNSIGNED:
        return body, None, None
    name, _, encoded = signature_line.partition(b" ")
    return body, name.decode(), signing.b64decode(encoded.decode())


_STATE = LogState.__table__
_ENTRIES = AuditEntry.__table__
# Built once: constructing SQLAlchemy statements per append costs more than the signature.
_HEAD = select(_STATE.c.size, _STATE.c.frontier).where(_STATE.c.id == 1)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
_INSERT_ENTRY = insert(_ENTRIES)
_UPDATE_HEAD = (
    update(_STATE)
    .where(_STATE.c.id == 1)
    .values(size=bindparam("new_size"), frontier=bindparam("new_frontier"))
)


def _frontier_of(state: Any) -> list[bytes]:
    """The stored Merkle frontier, checked: one 32-byte root per set bit of the size."""
    damaged = IntegrityError("the audit log's head is damaged", "run `vault audit verify`")
    if state is None:
        raise damaged
    try:
        frontier = [bytes.fromhex(h) for h in json.loads(state.frontier)]
        size = int(state.size)
    except (ValueError, TypeError) as exc:
        raise damaged from exc
    if size < 0 or len(frontier) != size.bit_count() or any(len(h) != 32 for h in frontier):
        raise damaged
    return frontier


def origin_of(vault_id: str) -> str:
    return f"vault.local/{vault_id}"


def key_name_of(vault_id: str) -> str:
    return f"vault-audit-{vault_id}"


class AuditLog:
    def __init__(self, vault_id: str) -> None:
        self.vault_id = vault_id
        self.origin = origin_of(vault_id)
        self.key_name = key_name_of(vault_id)

    def create(self, db: Session) -> None:
        db.add(LogState(id=1, size=0, frontier="[]"))

    def append(
        self,
        db: Session,
        *,
        actor: str | None,
        action: str,
        outcome: str,
        signer: Signer | None,
        asset_id: str | None = None,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        request: str | None = None,
        time: str | None = None,
    ) -> int:
        """Add an entry inside the caller's transaction; the caller commits or rolls back."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        # Core-level execution with prebuilt statements: an append is on every command's path.
        connection = db.connection()
        state = connection.execute(_HEAD_FOR_UPDATE).first()
        frontier = _frontier_of(state)
        seq = state.size
        now = time or utc_now()
        body = canonical_json(
            {
                "v": 1,
                "log": self.vault_id,
                "seq": seq,
                "time": now,
                "actor": actor,
                "action": action,
                "asset": asset_id,
                "outcome": outcome,
                "reason": reason,
                "detail": detail or {},
                "request": request,
            }
        )
        entry = encode_entry(body, signer)
        frontier = merkle.frontier_append(frontier, seq, merkle.leaf_hash(entry))
        connection.execute(
            _INSERT_ENTRY,
            {
                "seq": seq,
                "time": now,
                "actor": actor,
                "action": action,
                "asset_id": asset_id,
                "outcome": outcome,
                "entry": entry,
            },
        )
        connection.execute(
            _UPDATE_HEAD,
            {"new_size": seq + 1, "new_frontier": json.dumps([h.hex() for h in frontier])},
        )
        return seq

    def head(self, db: Session) -> tuple[int, bytes]:
        state = db.execute(_HEAD).first()
        frontier = _frontier_of(state)
        return state.size, merkle.frontier_root(frontier)

    def sign_checkpoint(self, db: Session, audit_seed: bytes) -> str:
        """Sign the current head and keep it; returns the signed note text."""
        size, root = self.head(db)
        note = checkpoint.sign_checkpoint(
            checkpoint.Checkpoint(self.origin, size, root),
            self.key_name,
            signing.as_cryptography_key(audit_seed),
        )
        existing = db.get(Checkpoint, size)
        if existing is None:
            db.add(Checkpoint(tree_size=size, note=note, created_at=utc_now()))
        else:
            existing.note = note
        return note

    def verifier(self, audit_public_key: bytes) -> str:
        return checkpoint.verifier_key(
            self.key_name, signing.as_cryptography_public_key(audit_public_key)
        )

    def latest_checkpoint(self, db: Session) -> str | None:
        row = db.scalars(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)).first()
        return row.note if row else None

    def entries(
        self,
        db: Session,
        who: str | None = None,
        asset: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Entries as dicts parsed from their signed bytes (not from the index columns)."""
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if who:
            query = query.where(AuditEntry.actor == who)
        if asset:
            query = query.where(AuditEntry.asset_id == asset)
        if limit:
            query = query.order_by(None).order_by(AuditEntry.seq.desc()).limit(limit)
        rows = list(db.scalars(query))
        if limit:
            rows.reverse()
        return [_parse_for_display(row) for row in rows]


def _parse_for_display(row: AuditEntry) -> dict[str, Any]:
    try:
        body, signer, _ = split_entry(as_entry_bytes(row.entry))
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        # Show what the index says, flagged: the log must stay readable to investigate it.
        parsed, signer = (
            {
                "seq": row.seq,
                "time": row.time,
                "actor": row.actor,
                "action": row.action,
                "asset": row.asset_id,
                "outcome": row.outcome,
                "detail": {},
                "request": None,
                "reason": "UNREADABLE ENTRY: run `vault audit verify`",
            },
            None,
        )
    parsed["signed_by"] = signer
    return parsed

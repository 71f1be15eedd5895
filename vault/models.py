"""The metadata schema (SQLAlchemy 2 ORM). Changes go through Alembic migrations.

Times are ISO-8601 UTC strings so that SQLite and PostgreSQL store the same text
that the audit log signs.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ASSET_KINDS = ("script", "footage", "model", "face", "render")


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Facts about the vault that must travel with the database (vault id, keys)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 Ed25519
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)  # age file, scrypt stanza
    created_at: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[str | None] = mapped_column(String(40), default=None)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    shot: Mapped[int | None] = mapped_column(default=None)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(32), unique=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[str] = mapped_column(String(40))


class Grant(Base):
    """An allow or deny rule for one member on one asset, one shot or one kind."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("member", "scope", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    member: Mapped[str] = mapped_column(ForeignKey("members.name"))
    scope: Mapped[str] = mapped_column(String(8))  # asset | shot | kind
    value: Mapped[str] = mapped_column(String(64))
    effect: Mapped[str] = mapped_column(String(8))  # allow | deny
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[str] = mapped_column(String(40))


class AuditEntry(Base):
    """One leaf of the Merkle log. `entry` is authoritative; other columns index it."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_actor", "actor"),
        Index("ix_audit_asset", "asset_id"),
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    asset_id: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(8))
    entry: Mapped[bytes] = mapped_column(LargeBinary)


class LogState(Base):
    """The log's size and compact Merkle frontier, so an append costs O(log n)."""

    __tablename__ = "log_state"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int]
    frontier: Mapped[str] = mapped_column(Text)  # JSON list of hex subtree roots


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    tree_size: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40))


class Shot(Base):
    """A shot binds a plate (footage) to the face put on it and the swap settings."""

    __tablename__ = "shots"
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    plate: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    face: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    backend: Mapped[str] = mapped_column(String(64))
    settings: Mapped[str] = mapped_column(Text)  # JSON object of strings
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))


class Render(Base):
    """One master render of a shot: render 1, 2, ... each kept, each its own asset."""

    __tablename__ = "renders"
    __table_args__ = (UniqueConstraint("shot", "number"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shot: Mapped[int] = mapped_column(ForeignKey("shots.number"))
    number: Mapped[int]
    asset: Mapped[str] = mapped_column(ForeignKey("assets.id"), unique=True)
    backend: Mapped[str] = mapped_column(String(64))
    settings: Mapped[str] = mapped_column(Text)
    plate_sha256: Mapped[str] = mapped_column(String(64))
    face_sha256: Mapped[str] = mapped_column(String(64))
    frames: Mapped[int]
    signed: Mapped[bool] = mapped_column(Boolean)
    manifest: Mapped[str | None] = mapped_column(String(128), default=None)  # C2PA label
    rendered_by: Mapped[str] = mapped_column(String(64))
    rendered_at: Mapped[str] = mapped_column(String(40))


class Copy(Base):
    """One recipient's individually marked copy of a master, as it left the vault: a render
    (`vault export`) or footage (`vault get`).

    `mark` is the recipient's row in the vault's collusion-secure code, the same on every
    copy they receive: the watermark carries it, and tracing reads it back."""

    __tablename__ = "copies"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    mark: Mapped[int] = mapped_column(index=True)  # the recipient's, on all their copies
    master: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    render: Mapped[str | None] = mapped_column(ForeignKey("renders.id"), default=None)
    recipient: Mapped[str] = mapped_column(ForeignKey("members.name"))
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[str | None] = mapped_column(String(128), default=None)


class ScriptCopy(Base):
    """A screenplay copy that left the vault: whose it is and which canary variants it carries.

    `mark` is the copy's row in that script's own code (one position per canary site);
    `rules` is the variant rule set it was made with, which tracing must use again, and
    `master_sha256` the hash of the master text it was marked from (NULL before 0004)."""

    __tablename__ = "script_copies"
    __table_args__ = (UniqueConstraint("script", "mark"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    script: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    mark: Mapped[int]
    recipient: Mapped[str] = mapped_column(ForeignKey("members.name"))
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(16))  # fountain | pdf
    rules: Mapped[str] = mapped_column(String(32))
    sites: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    master_sha256: Mapped[str | None] = mapped_column(String(64))


class Fingerprint(Base):
    """A master's perceptual fingerprints (detect/), so `vault trace` can find the render
    or footage a leak comes from without decrypting them all."""

    __tablename__ = "master_fingerprints"
    asset: Mapped[str] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    fps: Mapped[float]
    frames: Mapped[int]
    signatures: Mapped[bytes] = mapped_column(LargeBinary)  # float16, frames x 64

"""What an authenticated crew member can do. Every method writes exactly one audit entry.

Fail closed: the entry for a successful operation is committed in the same transaction
as its effect, and any result (a decrypted file) is revealed only after that commit.
A refusal is logged, then raised.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault import access, export, render, script_copies, sealing, shots, signing, trace
from vault.audit import Signer, request_digest, utc_now
from vault.audit_verify import AuditReport, verify_log
from vault.errors import (
    AccessDenied,
    IntegrityError,
    NotFound,
    StorageError,
    UsageError,
    VaultError,
)
from vault.layout import fsync_directory
from vault.models import ASSET_KINDS, Asset, Grant, Member, Render
from vault.objects import STREAM_BUFFER, PendingObject, Progress, StoredObject, storage_error
from vault.render import FrameProgress

if TYPE_CHECKING:
    from vault.core import UnsealedKeys, Vault

PUT_KINDS = ("script", "footage", "model", "face")
MAX_NAME = 255  # the assets.name column


MARKED_KINDS = ("script", "footage", "render")


def _decodable(data: bytes) -> bool:
    """Whether PyAV decodes a first video frame out of `data` (so the mark can go in)."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            first = next(container.decode(video=0), None) if container.streams.video else None
    except (av.error.FFmpegError, ValueError, OSError):
        return False
    return first is not None


def _render_of(session: MemberSession, asset: Asset) -> Render | None:
    with session.vault.session() as db:
        return db.scalar(select(Render).where(Render.asset == asset.id))


def _denied(member: str, asset: Asset, decision: access.Decision) -> AccessDenied:
    return AccessDenied(
        f"{member} may not read asset {asset.id} ({decision.because})",
        "ask the security officer for a grant",
    )


def asset_view(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "kind": asset.kind,
        "name": asset.name,
        "shot": asset.shot,
        "size": asset.size,
        "sha256": asset.sha256,
        "added_by": asset.added_by,
        "added_at": asset.added_at,
    }


def member_view(member: Member) -> dict[str, Any]:
    return {
        "name": member.name,
        "role": member.role,
        "public_key": member.public_key,
        "created_at": member.created_at,
        "created_by": member.created_by,
        "revoked_at": member.revoked_at,
    }


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # undecodable bytes in a file name arrive as surrogates
        return False
    return True


def _open_input(path: Path):
    if not path.exists():
        raise UsageError(f"{path} does not exist", "check the path")
    if path.is_dir():
        raise UsageError(f"{path} is a directory", "put one file at a time")
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", "check its permissions") from exc


def _read_small(path: Path) -> bytes:
    """A file expected to be small (a script), whole; a UsageError when it is not."""
    with _open_input(path) as source:
        data = source.read(script_copies.MAX_SCRIPT_BYTES + 1)
    if len(data) > script_copies.MAX_SCRIPT_BYTES:
        raise UsageError(
            f"{path} is over {script_copies.MAX_SCRIPT_BYTES // 1_000_000} MB: not a script"
        )
    return data


class MemberSession:
    def __init__(self, vault: Vault, signer: Signer, role: str) -> None:
        self.vault = vault
        self.signer = signer
        self.role = role

    @property
    def name(self) -> str:
        return self.signer.name

    # -- audit plumbing --------------------------------------------------------------------

    def _record(
        self, db: Session, action: str, outcome: str, arguments: dict[str, Any], **fields
    ) -> int:
        return self.vault.log.append(
            db,
            actor=self.name,
            action=action,
            outcome=outcome,
            signer=self.signer,
            request=request_digest(action, arguments),
            **fields,
        )

    def _refuse(
        self, action: str, arguments: dict[str, Any], error: VaultError, asset_id: str | None = None
    ) -> NoReturn:
        """Log a refused or failed operation in its own transaction, then raise `error`."""
        outcome = "denied" if isinstance(error, AccessDenied) else "error"
        with self.vault.transaction() as db:
            self._record(db, action, outcome, arguments, asset_id=asset_id, reason=error.problem)
        raise error

    def may(self, capability: str) -> bool:
        """Whether this member's role has `capability` (no audit entry: nothing was tried)."""
        return access.has_capability(self.role, capability)

    def _require(self, capability: str, action: str, arguments: dict[str, Any]) -> None:
        if not access.has_capability(self.role, capability):
            self._refuse(
                action,
                arguments,
                AccessDenied(
                    f"{self.name} ({self.role}) may not {action}", "ask the security officer"
                ),
            )

    def _rules(self, db: Session, member: str) -> dict[tuple[str, str], access.Rule]:
        return {
            (g.scope, g.value): access.Rule(g.scope, g.value, g.effect)
            for g in db.scalars(select(Grant).where(Grant.member == member))
        }

    def _decide(self, db: Session, asset: Asset) -> access.Decision:
        member = db.scalar(select(Member).where(Member.name == self.name))
        if member is None or not member.active:
            return access.Decision(False, "member revoked")
        return access.can_read(
            self.role, self._rules(db, self.name), asset.kind, asset.id, asset.shot
        )

    # -- assets ----------------------------------------------------------------------------

    def put(
        self,
        path: Path,
        kind: str,
        shot: int | None = None,
        name: str | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Encrypt a file into the vault; returns the new asset's record."""
        path = Path(path)
        name = name or path.name
        arguments = {"path": str(path), "kind": kind, "shot": shot, "name": name}
        if len(name) > MAX_NAME:
            self._refuse(
                "put",
                arguments,
                UsageError(f"the asset name is longer than {MAX_NAME} characters", "shorten it"),
            )
        if not _is_utf8(name):
            self._refuse(
                "put",
                arguments,
                UsageError("the asset name is not valid UTF-8", "give one with --name"),
            )
        if kind not in PUT_KINDS:
            self._refuse(
                "put",
                arguments,
                UsageError(f"unknown kind {kind!r}", f"use one of {', '.join(PUT_KINDS)}"),
            )
        if shot is not None and shot < 0:
            self._refuse(
                "put", arguments, UsageError("a shot number cannot be negative", "use 0 or more")
            )
        self._require(access.PUT, "put", arguments)
        if not access.may_write_kind(self.role, kind):
            self._refuse(
                "put",
                arguments,
                AccessDenied(
                    f"{self.name} ({self.role}) may not add {kind} assets",
                    "ask the security officer",
                ),
            )
        try:
            if kind == "script":  # only what a copy can be made of: its copies are marked
                script_copies.check_script(_read_small(path), name)
            source = _open_input(path)
        except UsageError as error:
            self._refuse("put", arguments, error)
        with source:
            asset = self.store_new(
                source,
                "put",
                arguments,
                lambda db, pending, now: self.new_asset(db, pending, kind, name, shot, now),
                progress,
            )
        return asset_view(asset)

    def store_new(
        self,
        source: BinaryIO,
        action: str,
        arguments: dict[str, Any],
        add_rows: Callable[[Session, PendingObject, str], tuple[Asset, dict[str, Any]]],
        progress: Progress | None = None,
    ) -> Asset:
        """Encrypt `source` as a new object and commit the rows `add_rows` adds for it (the
        asset and the audit detail it returns) with one audit entry: all or nothing. The
        object is published only after the commit, so a crash leaves no trace but a pending
        file that recovery removes."""
        try:
            pending = self.vault.objects.write_pending(source, self.vault.recipient(), progress)
        except StorageError as error:
            self._refuse(action, arguments, error)
        try:
            with self.vault.transaction() as db:
                now = utc_now()
                asset, detail = add_rows(db, pending, now)
                self._record(
                    db, action, "ok", arguments, asset_id=asset.id, detail=detail, time=now
                )
        except BaseException:
            # The commit may have happened even though it reported failure (a connection
            # lost after COMMIT): let recovery ask the database instead of deleting.
            pending.release()
            with contextlib.suppress(Exception):
                self.vault.recover()
            raise
        self.vault.objects.publish(pending)
        return asset

    def new_asset(
        self, db: Session, pending: PendingObject, kind: str, name: str, shot: int | None, now: str
    ) -> tuple[Asset, dict[str, Any]]:
        """The asset row for a just-encrypted object, added to `db`, and its audit detail."""
        asset = Asset(
            id=self._new_asset_id(db),
            kind=kind,
            name=name,
            shot=shot,
            size=pending.size,
            sha256=pending.sha256,
            object_id=pending.object_id,
            added_by=self.name,
            added_at=now,
        )
        db.add(asset)
        return asset, {"asset": asset_view(asset) | {"object_id": asset.object_id}}

    def _new_asset_id(self, db: Session) -> str:
        while True:
            candidate = secrets.token_hex(6)
            if db.get(Asset, candidate) is None:
                return candidate

    def _asset(self, asset_id: str, action: str, arguments: dict[str, Any]) -> Asset:
        with self.vault.session() as db:
            asset = db.get(Asset, asset_id)
        if asset is None:
            self._refuse(
                action,
                arguments,
                NotFound(f"no asset {asset_id!r}", "`vault ls` lists the assets you can read"),
            )
        return asset

    def asset_kind(self, asset_id: str) -> str | None:
        """The kind of an asset this member may read, else None (no such asset, or hidden)."""
        with self.vault.session() as db:
            asset = db.get(Asset, asset_id)
            return asset.kind if asset and self._decide(db, asset).allowed else None

    def get(
        self,
        asset_id: str,
        out: Path,
        keys: UnsealedKeys,
        progress: Progress | None = None,
        *,
        raw: bool = False,
        frames: FrameProgress | None = None,
    ) -> dict[str, Any]:
        """Write an asset to `out`; the file appears only once the audit entry is committed.

        Video (footage, renders) and scripts leave as the member's own marked copy, recorded
        like an export, or not at all; other assets, and with `raw` (security officers only)
        anything, leave as stored."""
        out = Path(out)
        arguments = {"asset": asset_id, "out": str(out)} | ({"raw": True} if raw else {})
        self._require(access.GET, "get", arguments)
        if raw:
            self._require(access.TRACE, "get", arguments)  # who investigates may see originals
        asset = self._asset(asset_id, "get", arguments)
        if out.is_dir():
            self._refuse(
                "get",
                arguments,
                UsageError(f"{out} is a directory", "give a file name with -o"),
                asset_id=asset_id,
            )
        if not out.parent.is_dir():
            self._refuse(
                "get",
                arguments,
                UsageError(f"the directory {out.parent} does not exist", "create it first"),
                asset_id=asset_id,
            )
        if asset.kind in MARKED_KINDS and not raw:  # the member's own copy, never the original
            with self.vault.session() as db:
                decision = self._decide(db, asset)
            if not decision.allowed:
                self._refuse("get", arguments, _denied(self.name, asset, decision), asset.id)
            if asset.kind == "script":
                return script_copies.copy_script(self, keys, asset, out, arguments)
            data = render.decrypted(self, keys, asset, "get", arguments)
            if not _decodable(data):  # it could not carry the member's mark: it stays in
                self._refuse(
                    "get",
                    arguments,
                    UsageError(
                        f"{asset.id} is not a video this tool can decode, so it cannot leave "
                        "as a marked copy",
                        "ask the security officer (`vault get --raw`) or store a decodable proxy",
                    ),
                    asset.id,
                )
            request = export.CopyRequest("get", arguments, self.name, out, _render_of(self, asset))
            return export.issue_copy(self, keys, asset, request, data, frames)
        # Decide and log in one transaction, before any plaintext exists: a revoke that
        # lands first wins, and no decrypted byte is ever on disk without its entry.
        with self.vault.transaction() as db:
            decision = self._decide(db, asset)
            if decision.allowed:
                self._record(
                    db,
                    "get",
                    "ok",
                    arguments,
                    asset_id=asset_id,
                    detail={
                        "sha256": asset.sha256,
                        "size": asset.size,
                        "because": decision.because,
                    }
                    | ({"raw": True} if raw else {}),
                )
                self.vault.log.sign_checkpoint(db, keys.audit_seed)
        if not decision.allowed:
            self._refuse("get", arguments, _denied(self.name, asset, decision), asset_id)
        self._deliver(asset, out, keys, arguments, progress)
        return asset_view(asset)

    def _deliver(
        self, asset: Asset, out: Path, keys: UnsealedKeys, arguments: dict[str, Any], progress
    ) -> None:
        """Decrypt beside `out`, check, rename into place; a failure is logged and raised."""
        temporary = out.with_name(f".{out.name}.vault-partial-{secrets.token_hex(4)}")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb", buffering=STREAM_BUFFER) as sink:
                expected = StoredObject(asset.object_id, asset.size, asset.sha256)
                self.vault.objects.decrypt_to(
                    asset.object_id, keys.identity, sink, expected, progress
                )
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(temporary, out)
            fsync_directory(out.parent)
        except (OSError, IntegrityError, StorageError) as exc:
            temporary.unlink(missing_ok=True)
            error = storage_error(exc, f"writing {out}") if isinstance(exc, OSError) else exc
            self._refuse("get", arguments, error, asset_id=asset.id)
        finally:
            temporary.unlink(missing_ok=True)

    def ls(self) -> list[dict[str, Any]]:
        """The assets this member may read."""
        with self.vault.transaction() as db:
            rules = self._rules(db, self.name)
            visible = [
                asset_view(a)
                for a in db.scalars(select(Asset).order_by(Asset.added_at))
                if access.can_read(self.role, rules, a.kind, a.id, a.shot).allowed
            ]
            self._record(db, "ls", "ok", {}, detail={"listed": len(visible)})
        return visible

    # -- crew ------------------------------------------------------------------------------

    def crew_add(self, name: str, role: str, passphrase: str) -> dict[str, Any]:
        from vault.core import check_member_name, check_new_passphrase, check_role

        arguments = {"name": name, "role": role}
        self._require(access.CREW, "crew.add", arguments)
        try:
            check_member_name(name)
            check_role(role)
            check_new_passphrase(passphrase, f"{name}'s")
        except UsageError as error:
            self._refuse("crew.add", arguments, error)
        seed = signing.new_seed()
        public_key = signing.b64encode(signing.public_key_of(seed))
        sealed = sealing.seal(seed, passphrase, self.vault.config.kdf_work_factor)
        with self.vault.transaction() as db:
            if db.scalar(select(Member).where(Member.name == name)) is not None:
                db.rollback()
                self._refuse(
                    "crew.add",
                    arguments,
                    UsageError(f"{name!r} is already a crew member", "choose another name"),
                )
            now = utc_now()
            self._record(
                db,
                "crew.add",
                "ok",
                arguments,
                time=now,
                detail={"member": {"name": name, "role": role, "public_key": public_key}},
            )
            member = Member(
                name=name,
                role=role,
                public_key=public_key,
                sealed_key=sealed,
                created_at=now,
                created_by=self.name,
            )
            db.add(member)
        return member_view(member)

    def crew_list(self) -> list[dict[str, Any]]:
        self._require(access.CREW, "crew.list", {})
        with self.vault.transaction() as db:
            members = [member_view(m) for m in db.scalars(select(Member).order_by(Member.id))]
            self._record(db, "crew.list", "ok", {})
        return members

    def crew_revoke(self, name: str) -> dict[str, Any]:
        arguments = {"name": name}
        self._require(access.CREW, "crew.revoke", arguments)
        if name == self.name:
            self._refuse(
                "crew.revoke",
                arguments,
                UsageError("you cannot revoke yourself", "ask another admin or security officer"),
            )
        with self.vault.transaction() as db:
            member = db.scalar(select(Member).where(Member.name == name))
            if member is None or not member.active:
                db.rollback()
                state = "no such member" if member is None else "already revoked"
                self._refuse(
                    "crew.revoke",
                    arguments,
                    NotFound(
                        f"cannot revoke {name!r}: {state}", "`vault crew list` shows the crew"
                    ),
                )
            member.revoked_at = utc_now()
            self._record(
                db, "crew.revoke", "ok", arguments, detail={"member": name}, time=member.revoked_at
            )
        return member_view(member)

    # -- grants ----------------------------------------------------------------------------

    def set_rule(self, member: str, scope: str, value: str, effect: str) -> dict[str, Any]:
        """`vault grant` (effect allow) or `vault revoke` (effect deny) on one scope."""
        action = "grant" if effect == "allow" else "revoke"
        arguments = {"member": member, "scope": scope, "value": value}
        self._require(access.GRANT, action, arguments)
        with self.vault.transaction() as db:
            problem = self._check_rule_target(db, member, scope, value)
            if problem is not None:
                db.rollback()
                self._refuse(action, arguments, problem)
            rule = db.scalar(
                select(Grant).where(
                    Grant.member == member, Grant.scope == scope, Grant.value == value
                )
            )
            now = utc_now()
            self._record(
                db,
                action,
                "ok",
                arguments,
                asset_id=value if scope == "asset" else None,
                time=now,
                detail={
                    "rule": {"member": member, "scope": scope, "value": value, "effect": effect}
                },
            )
            if rule is None:
                rule = Grant(
                    member=member,
                    scope=scope,
                    value=value,
                    effect=effect,
                    granted_by=self.name,
                    granted_at=now,
                )
                db.add(rule)
            else:
                rule.effect, rule.granted_by, rule.granted_at = effect, self.name, now
        return {"member": member, "scope": scope, "value": value, "effect": effect}

    def _check_rule_target(
        self, db: Session, member: str, scope: str, value: str
    ) -> VaultError | None:
        if db.scalar(select(Member).where(Member.name == member)) is None:
            return NotFound(f"no crew member {member!r}", "`vault crew list` shows the crew")
        if scope == "asset" and db.get(Asset, value) is None:
            return NotFound(f"no asset {value!r}", "`vault ls` lists the assets")
        if scope == "shot" and not value.isdigit():
            return UsageError(f"{value!r} is not a shot number", "use a whole number")
        if scope == "kind" and value not in ASSET_KINDS:
            return UsageError(f"unknown kind {value!r}", f"use one of {', '.join(ASSET_KINDS)}")
        if scope not in access.SCOPES:
            return UsageError(f"unknown scope {scope!r}", "use --asset, --shot or --kind")
        return None

    # -- audit -----------------------------------------------------------------------------

    # -- shots and renders ------------------------------------------------------------------

    def shot_add(
        self,
        number: int,
        plate: str,
        face: str,
        backend: str = "landmark",
        settings: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Bind shot `number` to a plate, a face and swap settings (vault/shots.py)."""
        return shots.add_shot(self, number, plate, face, backend, settings)

    def shot_list(self) -> list[dict[str, Any]]:
        return shots.list_shots(self)

    def render(
        self,
        keys: UnsealedKeys,
        shot: int,
        device: str = "auto",
        signed: bool = True,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> dict[str, Any]:
        """Render `shot` into its next master render (vault/render.py)."""
        return render.render_shot(self, keys, shot, device=device, signed=signed, progress=progress)

    def export(
        self,
        keys: UnsealedKeys,
        shot: int,
        recipient: str,
        out: Path,
        render_number: int | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> dict[str, Any]:
        """Write `recipient`'s marked, signed copy of a render of `shot` (vault/export.py)."""
        return export.export_copy(self, keys, shot, recipient, out, render_number, progress)

    def trace(
        self, keys: UnsealedKeys, path: Path, threshold: float = 1e-6, page: Path | None = None
    ):
        """Trace a leaked file to its master and the copy it was (vault/trace.py)."""
        return trace.trace_file(self, keys, path, threshold, page)

    def audit_log(
        self, who: str | None = None, asset: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        arguments = {"who": who, "asset": asset, "limit": limit}
        self._require(access.AUDIT, "audit.log", arguments)
        with self.vault.transaction() as db:
            entries = self.vault.log.entries(db, who=who, asset=asset, limit=limit)
            self._record(db, "audit.log", "ok", arguments)
        return entries

    def audit_verify(self, against: str | None = None) -> AuditReport:
        arguments = {"against": against is not None}
        self._require(access.AUDIT, "audit.verify", arguments)
        public_key = signing.b64decode(self.vault.config.audit_public_key)
        with self.vault.session() as db:
            report = verify_log(
                db, self.vault.log, public_key, against, self.vault.config.vault_recipient
            )
        try:
            with self.vault.transaction() as db:
                self._record(
                    db,
                    "audit.verify",
                    "ok" if report.ok else "error",
                    arguments,
                    detail={
                        "entries": report.entries,
                        "root": report.root,
                        "problems": report.problem_count,
                    },
                )
        except IntegrityError:
            # A damaged head cannot take this entry; the diagnosis must still reach the
            # security officer (verification reveals nothing secret).
            if report.ok:
                raise
            report.add("this verification could not be logged: the log head is damaged")
        return report

    def audit_checkpoint(self, keys: UnsealedKeys) -> str:
        self._require(access.AUDIT, "audit.checkpoint", {})
        with self.vault.transaction() as db:
            self._record(db, "audit.checkpoint", "ok", {})
            note = self.vault.log.sign_checkpoint(db, keys.audit_seed)
        return note

"""Opening, creating, unsealing and logging in to a vault.

`Vault` is the vault at rest: its layout, public config and database. `login`
authenticates a crew member and returns a `MemberSession` (vault.session) through
which every operation goes; `unseal` yields the keys only operations that decrypt
(or sign checkpoints) need.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyrage
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from vault import db as database
from vault import sealing, signing
from vault.access import ROLES
from vault.audit import AuditLog, Signer, request_digest, utc_now
from vault.errors import (
    AuditUnavailable,
    AuthenticationFailed,
    IntegrityError,
    NotAVault,
    UsageError,
    VaultExists,
)
from vault.layout import FORMAT_VERSION, Layout, VaultConfig, read_config, write_config
from vault.models import Asset, Member, Meta
from vault.objects import ObjectStore
from vault.studio_ca import create_studio_credentials

_MEMBER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSPHRASE = 8


def check_member_name(name: str) -> None:
    if not _MEMBER_NAME.match(name):
        raise UsageError(
            f"{name!r} is not a valid member name",
            "use letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit)",
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}", f"choose one of: {', '.join(ROLES)}")


def check_new_passphrase(passphrase: str, whose: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise UsageError(
            f"the {whose} passphrase is too short", f"use at least {MIN_PASSPHRASE} characters"
        )


@dataclass(frozen=True)
class UnsealedKeys:
    """Secrets available only after the unseal passphrase was given."""

    identity: pyrage.x25519.Identity
    audit_seed: bytes


class Vault:
    def __init__(self, layout: Layout, config: VaultConfig, engine: Engine) -> None:
        self.layout = layout
        self.config = config
        self.engine = engine
        self.objects = ObjectStore(layout.objects)
        self.log = AuditLog(config.vault_id)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, home: Path, db_url: str | None = None) -> Vault:
        layout = Layout(Path(home))
        config = read_config(layout)
        url = db_url or config.db_url or database.sqlite_url(layout.default_db)
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
            raise NotAVault(
                f"the vault database {url.removeprefix('sqlite:///')} is missing",
                "restore it from a backup",
            )
        engine = database.make_engine(url)
        database.ensure_schema_current(engine)
        vault = cls(layout, config, engine)
        vault._check_database_belongs_here()
        vault.recover()
        return vault

    def _check_database_belongs_here(self) -> None:
        with self.session() as db:
            meta = {row.key: row.value for row in db.scalars(select(Meta))}
        if meta.get("vault_id") != self.config.vault_id:
            raise NotAVault(
                "the database belongs to another vault", "check --db / VAULT_DB and VAULT_HOME"
            )
        # A swapped recipient would encrypt new assets to someone else's key.
        if (meta.get("vault_recipient"), meta.get("audit_public_key")) != (
            self.config.vault_recipient,
            self.config.audit_public_key,
        ):
            raise IntegrityError(
                "the keys in vault.json differ from the ones the database recorded",
                "restore vault.json from a backup, then run `vault audit verify`",
            )

    def recover(self) -> tuple[int, int]:
        """Finish or undo puts that a crash interrupted."""

        def committed(object_id: str) -> bool:
            with self.session() as db:
                return db.scalar(select(Asset.id).where(Asset.object_id == object_id)) is not None

        return self.objects.recover(committed)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-only look at the database (rolled back when the block ends)."""
        db = Session(self.engine, expire_on_commit=False)
        try:
            yield db
        except SQLAlchemyError as exc:
            raise IntegrityError(
                f"the vault database could not be read ({exc.__class__.__name__})",
                "check --db / VAULT_DB, then run `vault audit verify`",
            ) from exc
        finally:
            db.close()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction, committed if the block succeeds.

        Fail closed: if the database refuses anything (and so the audit entry), the
        whole operation is refused and nothing it did is kept.
        """
        db = Session(self.engine, expire_on_commit=False)
        try:
            yield db
            db.commit()
        except SQLAlchemyError as exc:
            db.rollback()
            raise AuditUnavailable(
                "the audit log could not be written, so nothing was done",
                f"check the vault database ({exc.__class__.__name__}: {exc.orig or exc})"
                if hasattr(exc, "orig")
                else "check the vault database",
            ) from exc
        finally:
            db.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- creating --------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        home: Path,
        admin: str,
        admin_passphrase: str,
        unseal_passphrase: str,
        db_url: str | None = None,
        production: str = "Production",
        work_factor: int = sealing.DEFAULT_WORK_FACTOR,
    ) -> Vault:
        """Create a vault at `home` (built beside it, then renamed into place)."""
        home = Path(home)
        check_member_name(admin)
        check_new_passphrase(admin_passphrase, "admin's")
        check_new_passphrase(unseal_passphrase, "unseal")
        if db_url and database.has_password(db_url):
            raise UsageError(
                "the database URL contains a password, which vault.json would keep in clear",
                "drop it from the URL and use ~/.pgpass or PGPASSWORD instead",
            )
        if (home / "vault.json").exists():
            raise VaultExists(
                f"{home} already holds a vault", "use it, or choose another VAULT_HOME"
            )
        if home.exists() and (not home.is_dir() or any(home.iterdir())):
            raise VaultExists(
                f"{home} exists and is not an empty directory", "choose a new VAULT_HOME"
            )
        staging = home.with_name(f".{home.name}.init-{secrets.token_hex(4)}")
        try:
            _build_vault(
                Layout(staging),
                admin,
                admin_passphrase,
                unseal_passphrase,
                db_url,
                production,
                work_factor,
            )
            if home.exists():
                home.rmdir()
            os.replace(staging, home)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return cls.open(home, db_url)

    # -- keys ------------------------------------------------------------------------------

    def unseal(self, passphrase: str) -> UnsealedKeys:
        try:
            sealed = self.layout.vault_identity.read_bytes()
            audit_key = self.layout.audit_key.read_bytes()
        except OSError as exc:
            raise IntegrityError(
                f"the vault's key files are missing ({exc.strerror})", "restore keys/ from a backup"
            ) from exc
        identity_text = sealing.unseal(sealed, passphrase, what="vault (VAULT_UNSEAL)")
        try:
            identity = pyrage.x25519.Identity.from_str(identity_text.decode().strip())
            audit_seed = pyrage.decrypt(audit_key, [identity])
        except (pyrage.IdentityError, pyrage.DecryptError, UnicodeDecodeError) as exc:
            raise IntegrityError(
                "the vault's key files are damaged", "restore keys/ from a backup"
            ) from exc
        if str(identity.to_public()) != self.config.vault_recipient:
            raise IntegrityError(
                "the vault identity does not match vault.json", "restore keys/ from a backup"
            )
        return UnsealedKeys(identity, audit_seed)

    def recipient(self) -> pyrage.x25519.Recipient:
        return pyrage.x25519.Recipient.from_str(self.config.vault_recipient)

    # -- crew ------------------------------------------------------------------------------

    def login(self, name: str, passphrase: str, attempting: str, arguments: dict | None = None):
        """Authenticate `name`; every failure is audit-logged (unsigned) before it is raised."""
        from vault.session import MemberSession

        request = request_digest(attempting, arguments or {})
        member = None
        valid_name = _MEMBER_NAME.match(name) is not None
        if valid_name:  # an invalid name (even undecodable bytes) is unknown
            with self.session() as db:
                member = db.scalar(select(Member).where(Member.name == name))
        if member is None:
            reason = "unknown member"
        elif not member.active:
            reason = "member revoked"
        else:
            reason = None
            try:  # outside any transaction: scrypt is slow and must not hold the DB lock
                seed = sealing.unseal(member.sealed_key, passphrase, what=f"member {name}")
            except AuthenticationFailed:
                reason = "wrong passphrase"
        if reason is not None:
            with self.transaction() as db:
                self.log.append(
                    db,
                    actor=name if valid_name else None,
                    action=attempting,
                    outcome="denied",
                    signer=None,
                    reason=f"authentication failed: {reason}",
                    request=request,
                )
            raise AuthenticationFailed(
                f"cannot act as {name!r}: {reason}",
                "check VAULT_USER and VAULT_PASSPHRASE, or ask the security officer",
            )
        if signing.b64encode(signing.public_key_of(seed)) != member.public_key:
            raise IntegrityError(
                f"the stored key of member {name!r} does not match its public key",
                "the members table was altered: run `vault audit verify`",
            )
        return MemberSession(self, Signer(name, seed), member.role)


def _build_vault(
    layout: Layout,
    admin: str,
    admin_passphrase: str,
    unseal_passphrase: str,
    db_url: str | None,
    production: str,
    work_factor: int,
) -> VaultConfig:
    layout.home.mkdir(mode=0o700, parents=True)
    layout.keys.mkdir(mode=0o700)
    ObjectStore(layout.objects).create()

    identity = pyrage.x25519.Identity.generate()
    recipient = identity.to_public()
    (layout.vault_identity).write_bytes(
        sealing.seal(str(identity).encode() + b"\n", unseal_passphrase, work_factor)
    )
    audit_seed = signing.new_seed()
    layout.audit_key.write_bytes(pyrage.encrypt(audit_seed, [recipient]))
    credentials = create_studio_credentials(production)
    layout.root_ca_cert.write_bytes(credentials.root_cert_pem)
    layout.root_ca_key.write_bytes(pyrage.encrypt(credentials.root_key_pem, [recipient]))
    layout.signer_chain.write_bytes(credentials.signer_chain_pem)
    layout.signer_key.write_bytes(pyrage.encrypt(credentials.signer_key_pem, [recipient]))
    for path in layout.keys.iterdir():
        path.chmod(0o600)

    vault_id = secrets.token_hex(8)
    now = utc_now()
    config = VaultConfig(
        format=FORMAT_VERSION,
        vault_id=vault_id,
        created_at=now,
        vault_recipient=str(recipient),
        audit_key_name=AuditLog(vault_id).key_name,
        audit_public_key=signing.b64encode(signing.public_key_of(audit_seed)),
        kdf_work_factor=work_factor,
        db_url=db_url,
    )
    engine = database.make_engine(db_url or database.sqlite_url(layout.default_db))
    try:
        database.create_schema(engine)
        admin_seed = signing.new_seed()
        admin_public = signing.b64encode(signing.public_key_of(admin_seed))
        log = AuditLog(vault_id)
        with Session(engine) as db:
            db.add_all(
                [
                    Meta(key="vault_id", value=vault_id),
                    Meta(key="audit_public_key", value=config.audit_public_key),
                    Meta(key="vault_recipient", value=config.vault_recipient),
                ]
            )
            db.add(
                Member(
                    name=admin,
                    role="admin",
                    public_key=admin_public,
                    sealed_key=sealing.seal(admin_seed, admin_passphrase, work_factor),
                    created_at=now,
                    created_by=None,
                )
            )
            log.create(db)
            db.flush()
            log.append(
                db,
                actor=admin,
                action="init",
                outcome="ok",
                signer=Signer(admin, admin_seed),
                detail={
                    "member": {"name": admin, "role": "admin", "public_key": admin_public},
                    "vault_recipient": config.vault_recipient,
                    "audit_public_key": config.audit_public_key,
                    "production": production,
                },
                request=request_digest("init", {"admin": admin, "production": production}),
            )
            log.sign_checkpoint(db, audit_seed)
            db.commit()
    finally:
        engine.dispose()
    write_config(layout, config)
    return config

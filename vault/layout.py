"""Where things live inside VAULT_HOME, and the small `vault.json` that names them.

VAULT_HOME/
  vault.json                   format version, vault id, public keys, KDF work factor
  vault.db                     SQLite metadata and audit log (unless --db names another)
  objects/ab/<object-id>.age   encrypted assets (age v1, to the vault's X25519 recipient)
  objects/.pending/            fully written objects waiting for their DB commit
  keys/vault-identity.age      the vault's X25519 identity, sealed under the unseal passphrase
  keys/audit-log.key.age       the audit log's Ed25519 key, encrypted to the vault recipient
  keys/studio-root-ca.*        studio root CA certificate and its encrypted key
  keys/c2pa-signer.*           C2PA signing certificate chain and its encrypted key
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from vault.errors import NewerFormat, NotAVault

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Layout:
    home: Path

    @property
    def config(self) -> Path:
        return self.home / "vault.json"

    @property
    def default_db(self) -> Path:
        return self.home / "vault.db"

    @property
    def objects(self) -> Path:
        return self.home / "objects"

    @property
    def pending(self) -> Path:
        return self.objects / ".pending"

    @property
    def keys(self) -> Path:
        return self.home / "keys"

    @property
    def vault_identity(self) -> Path:
        return self.keys / "vault-identity.age"

    @property
    def audit_key(self) -> Path:
        return self.keys / "audit-log.key.age"

    @property
    def root_ca_cert(self) -> Path:
        return self.keys / "studio-root-ca.pem"

    @property
    def root_ca_key(self) -> Path:
        return self.keys / "studio-root-ca.key.age"

    @property
    def signer_chain(self) -> Path:
        return self.keys / "c2pa-signer.chain.pem"

    @property
    def signer_key(self) -> Path:
        return self.keys / "c2pa-signer.key.age"


@dataclass(frozen=True)
class VaultConfig:
    """Public facts about a vault; nothing here is secret."""

    format: int
    vault_id: str
    created_at: str
    vault_recipient: str  # age1... X25519 recipient every object is encrypted to
    audit_key_name: str  # signed-note key name of the checkpoint signer
    audit_public_key: str  # base64 Ed25519 public key
    kdf_work_factor: int
    db_url: str | None = None  # None: the SQLite file inside VAULT_HOME


def write_config(layout: Layout, config: VaultConfig) -> None:
    write_file_atomically(layout.config, json.dumps(asdict(config), indent=2).encode() + b"\n")


def read_config(layout: Layout) -> VaultConfig:
    if not layout.config.is_file():
        raise NotAVault(
            f"no vault at {layout.home}",
            "create one with `vault init --admin NAME` or point VAULT_HOME at an existing vault",
        )
    try:
        raw = json.loads(layout.config.read_text())
        fmt = int(raw["format"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise NotAVault(
            f"{layout.config} is unreadable or damaged", "restore it from a backup"
        ) from exc
    if fmt > FORMAT_VERSION:
        raise NewerFormat(
            f"this vault uses format {fmt}, this tool knows only up to {FORMAT_VERSION}",
            "upgrade the vault tool",
        )
    try:
        config = VaultConfig(**raw)
    except TypeError as exc:
        raise NotAVault(
            f"{layout.config} has unexpected fields", "restore it from a backup"
        ) from exc
    _check_types(layout, config)
    return config


def _check_types(layout: Layout, config: VaultConfig) -> None:
    """A hand-edited vault.json must fail here, in one line, not deep inside a command."""
    fields = {
        "vault_id": str,
        "created_at": str,
        "vault_recipient": str,
        "audit_key_name": str,
        "audit_public_key": str,
        "kdf_work_factor": int,
    }
    wrong = [name for name, kind in fields.items() if not isinstance(getattr(config, name), kind)]
    if config.db_url is not None and not isinstance(config.db_url, str):
        wrong.append("db_url")
    if not str(config.vault_recipient).startswith("age1"):
        wrong.append("vault_recipient")
    if wrong:
        raise NotAVault(
            f"{layout.config} has damaged fields: {', '.join(sorted(set(wrong)))}",
            "restore it from a backup",
        )


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write, fsync, rename over `path`, fsync the directory: old content or new, never half."""
    # A fresh unguessable name, created exclusively: a link planted beside `path` is not
    # followed (copies are written into directories other people may write to).
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)

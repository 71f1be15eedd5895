"""Seal small secrets (keys) under a passphrase, as age v1 files with one scrypt stanza.

Why not `pyrage.passphrase.encrypt`: rage calibrates scrypt to about one second,
which on this class of machine means N=2^19 and 512 MiB of memory for *every*
command that unseals a key. The vault needs a work factor it chooses (and records),
so sealing writes the age header itself from vetted primitives (scrypt, HKDF,
HMAC-SHA-256, ChaCha20-Poly1305 from `cryptography`), exactly as the age v1 spec
lays it out. Unsealing goes through rage (pyrage), an independent implementation,
so every sealed file is checked by a second codec, and the `age` CLI opens them too.

Sealed payloads are tiny (keys), so the payload is always a single final STREAM chunk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pyrage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vault.errors import AuthenticationFailed, UsageError

DEFAULT_WORK_FACTOR = 17  # scrypt N = 2^17: 128 MiB, ~0.3 s here; OWASP's floor for scrypt
MIN_WORK_FACTOR = 10  # only for tests; production vaults keep the default or raise it
MAX_WORK_FACTOR = 22

_AGE_VERSION_LINE = b"age-encryption.org/v1"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_MAX_SEALED_PAYLOAD = 64 * 1024  # one STREAM chunk


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def seal(secret: bytes, passphrase: str, work_factor: int = DEFAULT_WORK_FACTOR) -> bytes:
    """Encrypt `secret` (at most 64 KiB) to `passphrase` as an age v1 file."""
    if not MIN_WORK_FACTOR <= work_factor <= MAX_WORK_FACTOR:
        raise UsageError(
            f"scrypt work factor {work_factor} is out of range",
            f"use {MIN_WORK_FACTOR}..{MAX_WORK_FACTOR}",
        )
    if len(secret) > _MAX_SEALED_PAYLOAD:
        raise ValueError("sealed secrets are limited to one 64 KiB chunk")
    if not passphrase:
        raise UsageError("the passphrase is empty", "choose a passphrase of at least 8 characters")
    file_key = os.urandom(16)
    salt = os.urandom(16)
    wrap_key = Scrypt(salt=_SCRYPT_LABEL + salt, length=32, n=2**work_factor, r=8, p=1).derive(
        passphrase.encode()
    )
    wrapped = ChaCha20Poly1305(wrap_key).encrypt(bytes(12), file_key, None)
    header = b"%s\n-> scrypt %s %d\n%s\n---" % (
        _AGE_VERSION_LINE,
        _b64(salt),
        work_factor,
        _b64(wrapped),
    )
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    nonce = os.urandom(16)
    payload_key = _hkdf(file_key, nonce, b"payload")
    last_chunk_nonce = bytes(11) + b"\x01"
    body = ChaCha20Poly1305(payload_key).encrypt(last_chunk_nonce, secret, None)
    return header + b" " + _b64(mac) + b"\n" + nonce + body


def unseal(sealed: bytes, passphrase: str, what: str = "key") -> bytes:
    """Decrypt a sealed secret; a wrong passphrase raises `AuthenticationFailed`."""
    try:
        return pyrage.passphrase.decrypt(sealed, passphrase)
    except pyrage.DecryptError as exc:
        raise AuthenticationFailed(
            f"wrong passphrase for the {what}", "check the passphrase and try again"
        ) from exc


def work_factor_of(sealed: bytes) -> int:
    """The scrypt work factor recorded in a sealed file's stanza (for reporting)."""
    stanza = sealed.split(b"\n", 2)[1].split()
    return int(stanza[3])

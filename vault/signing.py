"""Ed25519 for crew identities, audit entries and checkpoints: the one module touching it.

libsodium (PyNaCl) signs. Verification is the hot path of `vault audit verify` (a
million signatures), so it uses the fastest verifier available: the Zcash Foundation's
ed25519-zebra (Rust) when installed, about 45 us a signature here, else libsodium (about
58 us; OpenSSL through `cryptography` takes about 105 us). Every signature this vault
makes is valid under both: zebra's ZIP-215 rules accept all that libsodium's stricter
RFC 8032 checks accept.
"""

from __future__ import annotations

import base64
import functools

import nacl.bindings
import nacl.exceptions

try:
    import ed25519_zebra as _zebra
except ImportError:  # pragma: no cover - the fallback is exercised where zebra is absent
    _zebra = None
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEED_BYTES = 32


def new_seed() -> bytes:
    """A fresh Ed25519 private key (its 32-byte seed)."""
    return nacl.bindings.randombytes(SEED_BYTES)


def public_key_of(seed: bytes) -> bytes:
    public, _secret = nacl.bindings.crypto_sign_seed_keypair(seed)
    return public


def sign(seed: bytes, message: bytes) -> bytes:
    return nacl.bindings.crypto_sign(message, _expanded(seed))[: nacl.bindings.crypto_sign_BYTES]


@functools.lru_cache(maxsize=16)
def _expanded(seed: bytes) -> bytes:
    """libsodium's 64-byte signing key for a seed (derived once per process, not per entry)."""
    return nacl.bindings.crypto_sign_seed_keypair(seed)[1]


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    if _zebra is not None:
        return _zebra.ed_verify(signature, message, public_key)
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def as_cryptography_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def as_cryptography_public_key(public_key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_key)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)

"""Ed25519 for crew identities, audit entries and checkpoints: the one module touching it.

libsodium (PyNaCl) does the work: it verifies about twice as fast as the OpenSSL path,
which matters when `vault audit verify` checks a million entry signatures.
"""

from __future__ import annotations

import base64

import nacl.bindings
import nacl.exceptions
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SEED_BYTES = 32


def new_seed() -> bytes:
    """A fresh Ed25519 private key (its 32-byte seed)."""
    return nacl.bindings.randombytes(SEED_BYTES)


def public_key_of(seed: bytes) -> bytes:
    public, _secret = nacl.bindings.crypto_sign_seed_keypair(seed)
    return public


def sign(seed: bytes, message: bytes) -> bytes:
    _public, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
    return nacl.bindings.crypto_sign(message, secret)[: nacl.bindings.crypto_sign_BYTES]


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False
    return True


def verify_batch(jobs: list[tuple[bytes, bytes, bytes]]) -> list[int]:
    """Check (public key, signature, message) triples; return the indices that fail."""
    return [
        i
        for i, (public, signature, message) in enumerate(jobs)
        if not verify(public, signature, message)
    ]


def as_cryptography_key(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def as_cryptography_public_key(public_key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_key)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)

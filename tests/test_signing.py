"""Ed25519: RFC 8032 test vector, and both verifiers agree."""

from __future__ import annotations

import pytest

from vault import signing

# RFC 8032 section 7.1, TEST 2 (one-byte message 0x72).
SECRET = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
PUBLIC = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


@pytest.fixture(params=["zebra", "libsodium"])
def verifier(request, monkeypatch):
    if request.param == "libsodium":
        monkeypatch.setattr(signing, "_zebra", None)
    elif signing._zebra is None:
        pytest.skip("ed25519-zebra is not installed")
    return request.param


def test_rfc8032_vector(verifier) -> None:
    assert signing.public_key_of(SECRET) == PUBLIC
    assert signing.sign(SECRET, b"\x72") == SIGNATURE
    assert signing.verify(PUBLIC, SIGNATURE, b"\x72")


def test_rejections(verifier) -> None:
    assert not signing.verify(PUBLIC, SIGNATURE, b"\x73")
    assert not signing.verify(PUBLIC, SIGNATURE[:-1] + b"\x01", b"\x72")
    assert not signing.verify(signing.public_key_of(signing.new_seed()), SIGNATURE, b"\x72")
    assert not signing.verify(PUBLIC[:31], SIGNATURE, b"\x72")
    assert not signing.verify(PUBLIC, SIGNATURE[:63], b"\x72")

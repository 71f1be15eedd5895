"""Passphrase sealing writes age v1 files that rage (and the age CLI) can open."""

from __future__ import annotations

import os
import shutil

import pyrage
import pytest
from conftest import age_decrypt_with_passphrase

from vault import sealing
from vault.errors import AuthenticationFailed, UsageError


@pytest.mark.parametrize("payload", [b"", b"k", os.urandom(32), os.urandom(64 * 1024)])
def test_seal_round_trips_through_rage(payload: bytes) -> None:
    sealed = sealing.seal(payload, "correct horse", work_factor=10)
    assert sealed.startswith(b"age-encryption.org/v1\n-> scrypt ")
    assert pyrage.passphrase.decrypt(sealed, "correct horse") == payload
    assert sealing.unseal(sealed, "correct horse") == payload


def test_work_factor_is_recorded_in_the_stanza() -> None:
    assert sealing.work_factor_of(sealing.seal(b"x", "pw-pw-pw", work_factor=12)) == 12


def test_wrong_passphrase_is_an_authentication_failure() -> None:
    sealed = sealing.seal(b"secret", "right passphrase", work_factor=10)
    with pytest.raises(AuthenticationFailed, match="wrong passphrase"):
        sealing.unseal(sealed, "wrong passphrase")


@pytest.mark.parametrize("position", [30, 60, 100, -5])
def test_any_flipped_byte_is_rejected(position: int) -> None:
    sealed = bytearray(sealing.seal(b"secret key material", "pass-pass", work_factor=10))
    sealed[position] ^= 0x01
    with pytest.raises(AuthenticationFailed):
        sealing.unseal(bytes(sealed), "pass-pass")


def test_each_seal_is_fresh() -> None:
    assert sealing.seal(b"x", "pass-pass", 10) != sealing.seal(b"x", "pass-pass", 10)


@pytest.mark.parametrize("factor", [9, 23])
def test_work_factor_bounds(factor: int) -> None:
    with pytest.raises(UsageError):
        sealing.seal(b"x", "pass-pass", factor)


def test_empty_passphrase_is_refused() -> None:
    with pytest.raises(UsageError):
        sealing.seal(b"x", "", 10)


@pytest.mark.skipif(shutil.which("age") is None, reason="the Debian `age` binary is not installed")
def test_age_cli_opens_a_sealed_file(tmp_path) -> None:
    """age reads passphrases only from a terminal, so drive it through a pseudo-terminal."""
    sealed_path = tmp_path / "sealed.age"
    sealed_path.write_bytes(sealing.seal(b"AGE-SECRET-KEY-EXAMPLE\n", "terminal passphrase", 10))
    out_path = tmp_path / "plain"
    assert age_decrypt_with_passphrase(sealed_path, out_path, "terminal passphrase") == 0
    assert out_path.read_bytes() == b"AGE-SECRET-KEY-EXAMPLE\n"

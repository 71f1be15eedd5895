"""An emergency without the tool: the Debian `age` CLI opens the vault's files."""

from __future__ import annotations

import shutil

import pytest
from conftest import (
    UNSEAL,
    age_decrypt_with_identity,
    age_decrypt_with_passphrase,
    write_file,
    write_script,
)

pytestmark = pytest.mark.skipif(
    shutil.which("age") is None,
    reason="the Debian `age` binary is not installed (apt-get install age)",
)


def test_age_decrypts_an_object_with_the_vault_identity(vault, admin, keys, tmp_path) -> None:
    source = write_file(tmp_path / "plate.mov", 1_500_000)
    asset = admin.put(source, "footage", shot=12)
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(str(keys.identity) + "\n")
    (object_id,) = list(vault.objects.object_ids())
    out = tmp_path / "recovered.mov"
    age_decrypt_with_identity(identity_file, vault.objects.path_of(object_id), out)
    assert out.read_bytes() == source.read_bytes()
    assert asset["size"] == out.stat().st_size


def test_emergency_procedure_from_the_unseal_passphrase_alone(vault, admin, tmp_path) -> None:
    """The README's procedure: unseal the identity with age, then decrypt an object."""
    source = write_script(tmp_path / "script.fountain", 20_000)
    admin.put(source, "script")
    identity_file = tmp_path / "identity.txt"
    assert age_decrypt_with_passphrase(vault.layout.vault_identity, identity_file, UNSEAL) == 0
    (object_id,) = list(vault.objects.object_ids())
    out = tmp_path / "recovered.fountain"
    age_decrypt_with_identity(identity_file, vault.objects.path_of(object_id), out)
    assert out.read_bytes() == source.read_bytes()

"""An emergency without the tool: the Debian `age` CLI opens the vault's files."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess

import pytest
from conftest import UNSEAL, write_file

pytestmark = pytest.mark.skipif(
    shutil.which("age") is None,
    reason="the Debian `age` binary is not installed (apt-get install age)",
)


def age_decrypt_with_passphrase(sealed, out, passphrase: str) -> int:
    """age reads passphrases only from a terminal: answer it through a pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("age", ["age", "-d", "-o", str(out), str(sealed)])
    seen = b""
    while b"passphrase" not in seen.lower():
        seen += os.read(fd, 1024)
    os.write(fd, passphrase.encode() + b"\n")
    while True:
        try:
            if not os.read(fd, 1024):
                break
        except OSError:
            break
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_age_decrypts_an_object_with_the_vault_identity(vault, admin, keys, tmp_path) -> None:
    source = write_file(tmp_path / "plate.mov", 1_500_000)
    asset = admin.put(source, "footage", shot=12)
    identity_file = tmp_path / "identity.txt"
    identity_file.write_text(str(keys.identity) + "\n")
    (object_id,) = list(vault.objects.object_ids())
    out = tmp_path / "recovered.mov"
    result = subprocess.run(
        [
            "age",
            "-d",
            "-i",
            str(identity_file),
            "-o",
            str(out),
            str(vault.objects.path_of(object_id)),
        ],
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == source.read_bytes()
    assert asset["size"] == out.stat().st_size


def test_emergency_procedure_from_the_unseal_passphrase_alone(vault, admin, tmp_path) -> None:
    """The README's procedure: unseal the identity with age, then decrypt an object."""
    source = write_file(tmp_path / "script.fountain", 20_000)
    admin.put(source, "script")
    identity_file = tmp_path / "identity.txt"
    assert age_decrypt_with_passphrase(vault.layout.vault_identity, identity_file, UNSEAL) == 0
    (object_id,) = list(vault.objects.object_ids())
    out = tmp_path / "recovered.fountain"
    subprocess.run(
        [
            "age",
            "-d",
            "-i",
            str(identity_file),
            "-o",
            str(out),
            str(vault.objects.path_of(object_id)),
        ],
        check=True,
    )
    assert out.read_bytes() == source.read_bytes()

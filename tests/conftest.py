"""Shared fixtures: real vaults in temporary directories, a fast KDF, CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from vault import Vault
from vault.cli import cli

FAST_KDF = 10  # scrypt 2^10: the format and code paths are the same, only cheaper
ADMIN, ADMIN_PASS = "sec", "security-officer-pass"
UNSEAL = "unseal-the-vault-now"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class Crew:
    """Names and passphrases of a small production crew."""

    passphrases: dict[str, str]

    def env(self, name: str, home: Path, **extra: str) -> dict[str, str]:
        return {
            "VAULT_HOME": str(home),
            "VAULT_USER": name,
            "VAULT_PASSPHRASE": self.passphrases[name],
            "VAULT_UNSEAL": UNSEAL,
            **extra,
        }


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def vault(home: Path) -> Vault:
    v = Vault.init(home, ADMIN, ADMIN_PASS, UNSEAL, work_factor=FAST_KDF, production="Test Film")
    yield v
    v.close()


@pytest.fixture
def admin(vault: Vault):
    return vault.login(ADMIN, ADMIN_PASS, "test")


@pytest.fixture
def keys(vault: Vault):
    return vault.unseal(UNSEAL)


@pytest.fixture
def crew(admin) -> Crew:
    passphrases = {ADMIN: ADMIN_PASS}
    for name, role in [("dana", "director"), ("eddie", "editor"), ("ava", "actor"), ("vic", "vfx")]:
        passphrases[name] = f"{name}-passphrase"
        admin.crew_add(name, role, passphrases[name])
    return Crew(passphrases)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, env: dict[str, str], *args: str):
    """Run the CLI in-process with exactly `env` for the vault variables."""
    clean = {k: None for k in os.environ if k.startswith("VAULT_")}
    return runner.invoke(cli, list(args), env={**clean, **env}, catch_exceptions=False)


def run_vault(env: dict[str, str], *args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `vault` program in a subprocess."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    return subprocess.run(
        [sys.executable, "-m", "vault", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        **kwargs,
    )


def write_file(path: Path, size: int, seed: int = 0) -> Path:
    import random

    rng = random.Random(seed)
    path.write_bytes(rng.randbytes(size))
    return path


def age_decrypt_with_passphrase(sealed: Path, out: Path, passphrase: str) -> int:
    """Run `age -d`, which reads passphrases only from a terminal, on a pseudo-terminal."""
    import pty

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


def age_decrypt_with_identity(identity_file: Path, encrypted: Path, out: Path) -> None:
    subprocess.run(
        ["age", "-d", "-i", str(identity_file), "-o", str(out), str(encrypted)],
        check=True,
        capture_output=True,
    )


def assert_concurrent_writers_serialise(session, threads: int = 4, each: int = 10) -> None:
    """Writers in parallel threads: every entry gets its own position and the log verifies."""
    import threading

    before = session.audit_verify().entries + 1  # + the verification's own entry
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(each):
                session.ls()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    report = session.audit_verify()
    assert report.ok, report.problems
    assert report.entries == before + threads * each


def install_plugin(
    root: Path, monkeypatch: pytest.MonkeyPatch, module: str, source: str, entries: dict[str, str]
) -> None:
    """Install a swap-backend plug-in the way pip would: `module`.py and a dist-info naming its
    entry points in the `vault.swap_backends` group, on sys.path for this test."""
    (root / f"{module}.py").write_text(source)
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    from swap.backends import ENTRY_POINT_GROUP

    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, module, raising=False)

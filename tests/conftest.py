"""Shared fixtures: real vaults in temporary directories, a fast KDF, CLI runners."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from vault import Vault
from vault.cli import cli
from vault.models import Asset, AuditEntry, Render

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


def write_script(path: Path, size: int, seed: int = 0) -> Path:
    """About `size` bytes of a Fountain script (a script must be UTF-8 text to be stored)."""
    import random

    rng = random.Random(seed)
    words = [
        "she",
        "he",
        "runs",
        "turns",
        "door",
        "light",
        "gun",
        "window",
        "slowly",
        "quiet",
        "look",
        "down",
        "back",
    ]
    lines = ["INT. SAFEHOUSE - NIGHT", ""]
    while sum(len(line) + 1 for line in lines) < size:
        lines += [" ".join(rng.choices(words, k=9)).capitalize() + ".", ""]
    path.write_text("\n".join(lines)[:size], encoding="utf-8")
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


# -- a studio: a vault with a crew and media, driven through the CLI ----------------------

FACE = SHARED_DATA / "faces" / "obama.jpg"
ACTOR = SHARED_DATA / "footage" / "again.mkv"


@cache
def actor_clip(n: int = 12) -> bytes:
    """The first `n` frames of a real shot with one face, re-encoded (12 frames: 0.4 s)."""
    with av.open(str(ACTOR)) as container:
        frames = [
            f.to_ndarray(format="rgb24")
            for _, f in zip(range(n), container.decode(video=0), strict=False)
        ]
    return encode(np.stack(frames))


def generated_clip(n: int = 10) -> bytes:
    """A face-less generated clip: every frame passes the swap unchanged, but it renders."""
    x = np.arange(160)[None, :, None]
    frames = np.stack([np.broadcast_to((x + 9 * i) % 256, (96, 160, 3)) for i in range(n)])
    return encode(frames.astype(np.uint8))


def encode(frames: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for picture in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def portrait() -> bytes:
    if FACE.exists():
        return FACE.read_bytes()
    pytest.skip("../shared/data/faces is absent")


class Studio:
    """A vault with a crew, a plate and a face stored, and helpers to run the CLI."""

    def __init__(self, home: Path, crew: Crew, runner, tmp: Path) -> None:
        self.home, self.crew, self.runner, self.tmp = home, crew, runner, tmp

    def cli(self, who: str, *args: str):
        return invoke(self.runner, self.crew.env(who, self.home), *args)

    def put(self, who: str, name: str, data: bytes, kind: str) -> str:
        path = self.tmp / name
        path.write_bytes(data)
        result = self.cli(who, "put", str(path), "--kind", kind, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["id"]

    def render(self, who: str, shot: int, *extra: str):
        return self.cli(who, "render", "--shot", str(shot), "--json", *extra)

    def get(self, asset: str, name: str) -> Path:
        """The asset as stored (`--raw`: a master, not a marked copy)."""
        out = self.tmp / name
        result = self.cli(ADMIN, "get", asset, "-o", str(out), "--raw")
        assert result.exit_code == 0, result.output
        return out

    def verify(self, path: Path) -> dict:
        result = self.cli(ADMIN, "verify", str(path), "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    def counts(self, vault) -> tuple[int, int, int]:
        with vault.session() as db:
            assets = db.scalar(select(func.count()).select_from(Asset))
            renders = db.scalar(select(func.count()).select_from(Render))
        objects = len(list((self.home / "objects").rglob("*")))
        return assets, renders, objects

    def last_entry(self, vault) -> AuditEntry:
        with vault.session() as db:
            return db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()


@pytest.fixture
def studio(home, vault, crew, runner, tmp_path) -> Studio:
    return Studio(home, crew, runner, tmp_path)


def _textured_clip(n: int = 60) -> bytes:
    """A generated clip with texture the watermark can hide in (the real one when present)."""
    if ACTOR.exists():
        return actor_clip(n)
    rng = np.random.default_rng(5)
    base = (rng.random((96, 128, 3)) * 255).astype(np.uint8)
    return encode(np.stack([np.roll(base, i, axis=1) for i in range(n)]))


@pytest.fixture
def rendered(studio: Studio) -> Studio:
    """Shot 7 rendered once, from a textured plate the watermark can hide in."""
    plate = studio.put(ADMIN, "plate.mp4", _textured_clip(), "footage")
    face = studio.put(ADMIN, "president.jpg", portrait(), "face")
    assert studio.cli("vic", "shot", "add", "7", "--plate", plate, "--face", face).exit_code == 0
    assert studio.render("vic", 7).exit_code == 0
    return studio


def export_copy(studio: Studio, who: str, to: str, name: str):
    out = studio.tmp / name
    return studio.cli(who, "export", "--shot", "7", "--to", to, "-o", str(out), "--json"), out

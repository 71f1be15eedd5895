"""Put and get throughput of the real `vault` CLI, side by side with the `age` CLI.

For each size (GiB) one file of random-ish data is generated, then these run alternately
(`--repeat N` times, the fastest run of each is kept):

    vault put FILE --kind footage        age -r RECIPIENT -o X FILE
    vault get ID -o OUT                  age -d -i IDENTITY -o Y X

Both tools use the same X25519 recipient: the vault's, from VAULT_HOME/vault.json, and
the identity unsealed through the library. The vault is created by `vault init` with the
default scrypt work factor (17), so each vault command's wall time and peak memory
include its real start-up: imports, the member login and, for `get`, the unseal.

Every command runs under its own tiny Python wrapper that times the child and prints
`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`, so the peak RSS is the command's own.
Decrypted outputs are checked against the input's SHA-256. MB = 10^6 bytes throughout.

Note: `vault put`/`get` fsync what they write; `age` does not, so `age` is measured twice:
as it is, and followed by `sync FILE` (fsync of its output), the same durability. Dirty
pages are flushed (os.sync) before every measurement, so none starts with another's
writeback pending.

    python benchmarks/bench_storage.py --sizes 1,4 [--repeat N] [--workdir DIR] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from vault.core import Vault

GIB = 1 << 30
MIB = 1 << 20
MB = 1_000_000
ADMIN = "bench-admin"
ADMIN_PASSPHRASE = "bench-admin-passphrase"
UNSEAL_PASSPHRASE = "bench-unseal-passphrase"
AGE = shutil.which("age") or "/usr/bin/age"
TOOLS = ("vault", "age", "age+fsync")

# Runs argv[1:] and prints its wall time and peak RSS (KiB on Linux) as one JSON line.
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True)
seconds = time.perf_counter() - start
print(json.dumps({
    "rc": done.returncode,
    "seconds": seconds,
    "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "stdout": done.stdout.decode(errors="replace"),
    "stderr": done.stderr.decode(errors="replace"),
}))
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_bytes: int
    stdout: str


@dataclass
class Row:
    size_gib: float
    size_bytes: int
    op: str
    tool: str
    seconds: float
    mb_per_s: float
    peak_rss_mb: float
    ratio_vault_over_age: float | None = None


# -- measuring ----------------------------------------------------------------------------


def measure(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `command` under the wrapper, after flushing dirty pages; fail loudly on error."""
    os.sync()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        problem = result["stderr"].strip()
        raise RuntimeError(f"{' '.join(command)} exited {result['rc']}: {problem}")
    return Run(result["seconds"], result["maxrss_kib"] * 1024, result["stdout"])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(8 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


def check_same(path: Path, expected: str, what: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise RuntimeError(f"{what}: {path} has sha256 {actual}, expected {expected}")


# -- setting up ---------------------------------------------------------------------------


def make_input(path: Path, size: int) -> str:
    """Write `size` bytes: one random MiB, stamped with a counter per MiB; returns sha256."""
    block = bytearray(os.urandom(MIB))
    digest = hashlib.sha256()
    with open(path, "wb") as sink:
        written, counter = 0, 0
        while written < size:
            block[:8] = counter.to_bytes(8, "little")
            chunk = memoryview(block)[: min(MIB, size - written)]
            sink.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            counter += 1
        sink.flush()
        os.fsync(sink.fileno())
    return digest.hexdigest()


def vault_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VAULT_HOME": str(home),
        "VAULT_USER": ADMIN,
        "VAULT_PASSPHRASE": ADMIN_PASSPHRASE,
        "VAULT_UNSEAL": UNSEAL_PASSPHRASE,
    }


def vault_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "vault", *args]


def create_vault(home: Path) -> None:
    """`vault init` with the default KDF work factor."""
    subprocess.run(
        vault_command("init", "--admin", ADMIN),
        env=vault_env(home),
        check=True,
        capture_output=True,
    )


def write_identity(home: Path, path: Path) -> str:
    """Unseal the vault identity into an age identity file; returns the recipient."""
    vault = Vault.open(home)
    try:
        identity = vault.unseal(UNSEAL_PASSPHRASE).identity
    finally:
        vault.close()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as sink:
        sink.write(f"{identity}\n")
    return json.loads((home / "vault.json").read_text())["vault_recipient"]


# -- one size -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    home: Path
    identity_file: Path
    recipient: str


def one_round(setup: Setup, source: Path, expected: str, scratch: Path) -> dict[tuple, Run]:
    """vault put, age encrypt, vault get, age decrypt; outputs checked, then deleted."""
    env = vault_env(setup.home)
    encrypted, from_vault, from_age = (
        scratch / "age.out",
        scratch / "vault.get",
        scratch / "age.get",
    )
    runs: dict[tuple, Run] = {}
    runs["put", "vault"] = measure(
        vault_command("put", str(source), "--kind", "footage", "--json"), env
    )
    asset_id = json.loads(runs["put", "vault"].stdout)["id"]
    encrypt = [AGE, "-r", setup.recipient, "-o", str(encrypted), str(source)]
    runs["put", "age"] = measure(encrypt)
    runs["put", "age+fsync"] = measure(durably(encrypt, encrypted))
    runs["get", "vault"] = measure(vault_command("get", asset_id, "-o", str(from_vault)), env)
    check_same(from_vault, expected, "vault get")
    from_vault.unlink()
    decrypt = [AGE, "-d", "-i", str(setup.identity_file), "-o", str(from_age), str(encrypted)]
    runs["get", "age"] = measure(decrypt)
    check_same(from_age, expected, "age -d")
    from_age.unlink()
    runs["get", "age+fsync"] = measure(durably(decrypt, from_age))
    from_age.unlink()
    encrypted.unlink()
    return runs


def durably(command: list[str], output: Path) -> list[str]:
    """`command`, then fsync its output (coreutils `sync FILE`): what `vault` does."""
    return ["sh", "-c", f'"$@" && sync {shlex.quote(str(output))}', "sh", *command]


def bench_size(setup: Setup, size_gib: float, repeat: int, scratch: Path) -> list[Row]:
    size = int(size_gib * GIB)
    source = scratch / f"input-{size_gib:g}GiB.bin"
    print(f"generating {size_gib:g} GiB ...", file=sys.stderr)
    expected = make_input(source, size)
    best: dict[tuple, Run] = {}
    peak: dict[tuple, int] = {}
    for round_number in range(repeat):
        print(f"  round {round_number + 1}/{repeat}", file=sys.stderr)
        for key, run in one_round(setup, source, expected, scratch).items():
            if key not in best or run.seconds < best[key].seconds:
                best[key] = run
            peak[key] = max(peak.get(key, 0), run.peak_rss_bytes)
    source.unlink()
    return rows_for(size_gib, size, best, peak)


def rows_for(
    size_gib: float, size: int, best: dict[tuple, Run], peak: dict[tuple, int]
) -> list[Row]:
    rows = []
    for op in ("put", "get"):
        rates = {tool: size / best[op, tool].seconds / MB for tool in TOOLS}
        for tool in TOOLS:
            rows.append(
                Row(
                    size_gib=size_gib,
                    size_bytes=size,
                    op=op,
                    tool=tool,
                    seconds=best[op, tool].seconds,
                    mb_per_s=rates[tool],
                    peak_rss_mb=peak[op, tool] / MB,
                    ratio_vault_over_age=None if tool == "vault" else rates["vault"] / rates[tool],
                )
            )
    return rows


# -- output -------------------------------------------------------------------------------


def markdown(rows: list[Row]) -> str:
    lines = [
        "| size | op | tool | seconds | MB/s | peak RSS MB | vault's throughput ÷ this tool's |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = "" if r.ratio_vault_over_age is None else f"{r.ratio_vault_over_age:.2f}"
        lines.append(
            f"| {r.size_gib:g} GiB | {r.op} | {r.tool} | {r.seconds:.2f} | {r.mb_per_s:.0f} "
            f"| {r.peak_rss_mb:.0f} | {ratio} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4", help="comma-separated sizes in GiB (1,4)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; best kept")
    parser.add_argument("--workdir", type=Path, help="where temporary data goes (default /tmp)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    args = parser.parse_args(argv)
    args.sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    if args.repeat < 1 or not args.sizes or min(args.sizes) <= 0:
        parser.error("--repeat must be >= 1 and --sizes positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="bench-storage-", dir=args.workdir))
    try:
        home = scratch / "vault"
        create_vault(home)
        recipient = write_identity(home, scratch / "identity.txt")
        setup = Setup(home, scratch / "identity.txt", recipient)
        rows = [row for size in args.sizes for row in bench_size(setup, size, args.repeat, scratch)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print(markdown(rows))


if __name__ == "__main__":
    main()

"""Leak tracing end to end: `vault export` → an attack → `vault trace`, through the library
the CLI calls, in a temporary vault, on the real clips.

Set-up: each real clip of ../shared/data/footage is played ping-pong to 12 s (so a 10 s
excerpt exists), stored as a plate, rendered as a shot (landmark swap with a real portrait)
and exported to four crew members. Generated shots fill the vault up to 100 renders, so the
fingerprint search works among 100 (only matching renders are decrypted).

  single     for every clip and attack: a random 10 s excerpt of one member's copy, attacked
             (benchmarks/attacks.py: real libx264/libx265 encodes), written as an MP4, and
             traced. Right: the member is accused (p < 1e-6). Wrong: anyone else is.
  collusion  three members' copies averaged, or spliced in 1 s segments, then traced: right
             when everyone accused is a colluder and at least one is.
  time       seconds per trace of a 10 s excerpt with 100 renders in the vault (target ≤ 30).

    python benchmarks/bench_leaks.py [--attacks a,b,...] [--clips again,book,...]
        [--renders 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.attacks import (  # noqa: E402
    ATTACKS,
    collude_average,
    collude_interleave,
    decode,
    encode,
    excerpt,
    load_footage,
    synthetic_clip,
)
from vault import Vault  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CLIPS = {
    "again": DATA / "footage" / "again.mkv",
    "book": DATA / "footage" / "book.mkv",
    "bottle": DATA / "footage" / "bottle-detection.mp4",
    "car": DATA / "footage" / "car-detection.mp4",
}
FACE = DATA / "faces" / "obama.jpg"
CREW = ("ana", "ben", "cai", "dee")
PASS = "benchmark-pass-1234"
DEFAULT_ATTACKS = (
    "h264-crf30",
    "h264-crf35",
    "h265-crf30",
    "scale-360p",
    "crop-offcentre-25",
    "letterbox",
    "brightness+10",
    "contrast-0.8",
    "gamma-1.25",
    "hflip",
    "fps-to-25",
    "drop-10pct",
    "reencode-3gen",
    "camcorder",
    "chain",
)


def build(folder: Path, clips: list[str], renders: int):
    vault = Vault.init(folder / "vault", "sec", PASS, PASS, work_factor=10)
    session = vault.login("sec", PASS, "benchmark")
    keys = vault.unseal(PASS)
    for name in CREW:
        session.crew_add(name, "director", PASS)
    face = session.put(_file(folder, "face.jpg", FACE.read_bytes()), "face")["id"]
    copies: dict[str, dict[str, Path]] = {}
    for number, clip in enumerate(clips, 1):
        plate = encode(load_footage(CLIPS[clip], loop_to_s=12.0), crf=16)
        plate_id = session.put(_file(folder, f"{clip}.mp4", plate), "footage")["id"]
        session.shot_add(number, plate_id, face)
        session.render(keys, number)
        copies[clip] = {}
        for name in CREW:
            out = folder / f"{clip}-{name}.mp4"
            session.export(keys, number, name, out)
            copies[clip][name] = out
    for number in range(len(clips) + 1, renders + 1):  # other shots, never exported
        filler = encode(synthetic_clip(2, 25, 160, 120, number))
        plate_id = session.put(_file(folder, f"filler{number}.mp4", filler), "footage")["id"]
        session.shot_add(number, plate_id, face)
        session.render(keys, number)
    return vault, session, keys, copies


def _file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def trace(session, keys, folder: Path, clip, name: str) -> tuple[dict, float]:
    path = folder / f"suspect-{name}.mp4"
    path.write_bytes(encode(clip, crf=18))
    started = time.perf_counter()
    report = session.trace(keys, path)
    return report.to_json(), time.perf_counter() - started


def single(session, keys, folder, copies, attacks, rng) -> list[dict]:
    rows = []
    for clip_name, issued in copies.items():
        for number, attack in enumerate(attacks):
            leaker = CREW[number % len(CREW)]
            piece, _ = excerpt(decode(issued[leaker].read_bytes()), 10.0, rng)
            suspect = ATTACKS[attack](piece, rng)
            report, seconds = trace(session, keys, folder, suspect, f"{clip_name}-{attack}")
            rows.append(_row(clip_name, attack, [leaker], report, seconds))
            _progress(rows[-1])
    return rows


def collusion(session, keys, folder, copies, rng) -> list[dict]:
    rows = []
    for clip_name, issued in copies.items():
        colluders = list(CREW[:3])
        start = int(rng.integers(0, 30))
        clips = [decode(issued[name].read_bytes()) for name in colluders]
        clips = [type(c)(c.frames[start : start + 300], c.fps) for c in clips]
        for label, attack in (
            ("average-3", lambda cs: collude_average(cs)),
            ("splice-3", lambda cs: collude_interleave(cs, 1.0, rng)),
        ):
            report, seconds = trace(session, keys, folder, attack(clips), f"{clip_name}-{label}")
            rows.append(_row(clip_name, label, colluders, report, seconds))
            _progress(rows[-1])
    return rows


def _row(clip: str, attack: str, guilty: list[str], report: dict, seconds: float) -> dict:
    """One trial: right when someone is accused and only the guilty (a lone leaker must
    come first), wrong for every innocent accused."""
    accused = [a["recipient"] for a in report["accused"]]
    right = accused[:1] == guilty if len(guilty) == 1 else set(accused) <= set(guilty)
    return {
        "clip": clip,
        "attack": attack,
        "leaker": "+".join(guilty),
        "accused": accused,
        "right": bool(accused) and right,
        "wrong": [a for a in accused if a not in guilty],
        "p": report["accused"][0]["false_accusation_probability"]
        if accused
        else report["best_probability"],
        "seconds": seconds,
        "attacks_seen": [c["kind"] for c in report["attacks"]],
    }


def _progress(row: dict) -> None:
    print(
        f"  {row['clip']:7} {row['attack']:18} accused {','.join(row['accused']) or '-':12}"
        f" p={row['p'] or 1:.1e} {row['seconds']:.1f} s",
        file=sys.stderr,
    )


def table(rows: list[dict], clips: list[str]) -> str:
    attacks = list(dict.fromkeys(r["attack"] for r in rows))
    out = [
        "| attack | " + " | ".join(clips) + " | worst p (right) | wrong |",
        "|---" * (len(clips) + 3) + "|",
    ]
    for attack in attacks:
        cells, ps, wrong = [], [], 0
        for clip in clips:
            row = next((r for r in rows if r["attack"] == attack and r["clip"] == clip), None)
            if row is None:
                cells.append("")
                continue
            cells.append("✓" if row["right"] else "✗ " + (",".join(row["accused"]) or "none"))
            wrong += len(row["wrong"])
            if row["right"]:
                ps.append(row["p"])
        worst = f"{max(ps):.1e}" if ps else "-"
        out.append(f"| {attack} | " + " | ".join(cells) + f" | {worst} | {wrong} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attacks", default=",".join(DEFAULT_ATTACKS))
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--renders", type=int, default=100)
    parser.add_argument("--no-collusion", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    clips = [c for c in args.clips.split(",") if CLIPS[c].exists()]
    attacks = args.attacks.split(",")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        vault, session, keys, copies = build(Path(folder), clips, args.renders)
        print(
            f"vault built: {args.renders} renders, {len(clips) * len(CREW)} copies issued, "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        rows = single(session, keys, Path(folder), copies, attacks, rng)
        if not args.no_collusion:
            rows += collusion(session, keys, Path(folder), copies, rng)
        vault.close()
    times = [r["seconds"] for r in rows]
    right = sum(r["right"] for r in rows)
    wrong = sum(len(r["wrong"]) for r in rows)
    print(
        f"Leaks traced end to end ({args.renders} renders in the vault, "
        f"{len(clips) * len(CREW)} copies issued; 10 s excerpts; ✓ = the leaker accused "
        "at p < 1e-6, for collusion: only colluders and at least one)\n"
    )
    print(table(rows, clips))
    print(
        f"\nright {right}/{len(rows)}, wrong accusations {wrong}; seconds per trace: median "
        f"{statistics.median(times):.1f}, max {max(times):.1f} (target ≤ 30)"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

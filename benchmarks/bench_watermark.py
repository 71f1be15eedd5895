"""Forensic watermark benchmark: quality, speed, robustness, blind reading, collusion, peers.

Every number comes from real encodes (PyAV libx264/libx265) of real footage from
../shared/data/footage and of generated footage (benchmarks/attacks.py), in one run:

  quality    PSNR and SSIM (luma) of marked copies against the master, and flicker: the
             mark's own frame-to-frame change next to the picture's.
  figure     docs/watermark.jpg: a generated frame, its marked copy, the difference x16.
  extract-time  informed extraction of a 10 s clip, 360p and 1080p (run it on an idle machine).
  speed      embedding time over the H.264 encode it accompanies (ratio, same frames, same
             run) at 1080p and 480p.
  single     one leaker among --copies issued copies: a random --seconds excerpt of a longer
             master, marked, delivered (CRF 18), attacked, read informed; right recipient
             first, innocents accused, the accepted false-accusation probabilities, time.
  blind      the same for H.264 CRF 30 and 480p, read without the master.
  hd         the scaling attacks, the chain and the camcorder on a generated 1080p master
             (the real footage here is at most 768x432, where "720p" would be an upscale).
  collusion  3 colluders averaging or interleaving 60 s copies.
  bound      the Tardos code's false-accusation bound checked by simulation.
  peers      invisible-watermark (dwtDct, dwtDctSvd) and blind-watermark on the same clips and
             attacks, exact-ID rate next to ours (needs .venv-bench: `make bench-setup`).

    python benchmarks/bench_watermark.py [--sections quality,figure,speed,...] [--trials 3]
        [--peer-trials 1] [--copies 1000] [--seconds 10] [--seed 0] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.attacks import (  # noqa: E402
    ATTACKS,
    Clip,
    collude_average,
    collude_interleave,
    encode,
    load_footage,
    pingpong,
    reencode,
    synthetic_clip,
)
from watermark import Reference, TardosCode, accuse, code_length, embed, extract  # noqa: E402

FOOTAGE = ROOT.parent / "shared" / "data" / "footage"
KEY = b"benchmark production key"
COLLUDERS = 3
EPSILON = 1e-6
THRESHOLD = 1e-6
SINGLE_ATTACKS = ["none", *ATTACKS]
BLIND_ATTACKS = ["h264-crf30", "scale-480p"]
HD_ATTACKS = ["h264-crf30", "scale-720p", "scale-480p", "scale-360p", "chain", "camcorder"]
PEER_ATTACKS = [
    "none",
    "h264-crf23",
    "h264-crf30",
    "scale-480p",
    "crop-centre-10",
    "brightness+10",
    "chain",
    "camcorder",
    "still-jpeg",
]


# --- footage ---------------------------------------------------------------------------------


@dataclass
class Master:
    """A master shot with its reference (built once) and a name for the tables."""

    name: str
    clip: Clip
    reference: Reference = field(init=False)

    def __post_init__(self) -> None:
        self.reference = Reference.from_frames(self.clip.frames, fps=self.clip.fps)


def masters(seconds: float) -> list[Master]:
    """Real footage (looped forward and back where short) and generated footage.

    Masters are longer than the excerpt so the excerpt's offset is really unknown.
    """
    length = max(2 * seconds, 20.0)
    found = []
    for name, start in (("bottle-detection.mp4", 0.0), ("car-detection.mp4", 0.0)):
        if (FOOTAGE / name).exists():
            clip = load_footage(FOOTAGE / name, start_s=start, seconds=length, loop_to_s=length)
            found.append(Master(name.split("-")[0], clip))
    if (FOOTAGE / "book.mkv").exists():
        found.append(Master("book", load_footage(FOOTAGE / "book.mkv", loop_to_s=length)))
    found.append(Master("synthetic", synthetic_clip(length, 24.0, 640, 360, seed=11)))
    return found


def mark(master: Master, start: int, count: int, code: TardosCode, copy: int) -> Clip:
    """The recipient's delivered file for frames [start, start + count): marked, CRF 18."""
    frames = master.clip.frames[start : start + count]
    marked = embed(frames, code.codeword(copy), KEY, first_frame=start)
    return reencode(Clip(marked, master.clip.fps), crf=18, preset="medium")


# --- measures --------------------------------------------------------------------------------


def luma(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float32) @ np.float32([0.2126, 0.7152, 0.0722])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two luma pictures (Wang et al. 2004: Gaussian window σ 1.5, K1 .01, K2 .03)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5)

    a, b = a.astype(np.float64), b.astype(np.float64)
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma**2, blur(b * b) - mb**2, blur(a * b) - ma * mb
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return float(s.mean())


# --- sections --------------------------------------------------------------------------------


def quality(footage: list[Master], code: TardosCode, seconds: float) -> list[dict]:
    rows = []
    for master in footage:
        count = int(seconds * master.clip.fps)
        original = master.clip.frames[:count]
        marked = embed(original, code.codeword(5), KEY)
        y0, y1 = luma(original), luma(marked)
        psnrs = [psnr(a, b) for a, b in zip(y0, y1, strict=True)]
        ssims = [ssim(a, b) for a, b in zip(y0, y1, strict=True)]
        mark_change = np.abs(np.diff(y1 - y0, axis=0))
        picture_change = np.abs(np.diff(y0, axis=0))
        rows.append(
            {
                "footage": master.name,
                "size": f"{original.shape[2]}x{original.shape[1]}",
                "psnr_copy": psnr(y0, y1),
                "psnr_min_frame": min(psnrs),
                "ssim_mean": statistics.fmean(ssims),
                "ssim_min_frame": min(ssims),
                "mark_change_mean": float(mark_change.mean()),
                "mark_change_p99": float(np.percentile(mark_change, 99)),
                "picture_change_mean": float(picture_change.mean()),
            }
        )
    return rows


def figure(code: TardosCode, path: Path) -> None:
    """Master, marked copy and their difference (x16 around mid-grey), side by side.

    Generated footage only: the shared real footage stays out of the repository.
    """
    clip = synthetic_clip(1.0, 24.0, 640, 360, seed=11)
    frame = clip.frames[12:13]
    marked = embed(frame, code.codeword(5), KEY, first_frame=12)
    difference = np.clip(128 + 16 * (marked.astype(np.float32) - frame), 0, 255).astype(np.uint8)
    strip = np.concatenate([frame[0], marked[0], difference[0]], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])


def extract_time(footage: list[Master], code: TardosCode, seconds: float) -> list[dict]:
    """Informed extraction of one excerpt against a 2x longer master, nothing else running."""
    rows = []
    hd = Master("synthetic-1080p", synthetic_clip(2 * seconds, 24.0, 1920, 1080, seed=13))
    for master in [footage[0], hd]:
        count = round(seconds * master.clip.fps)
        copy = mark(master, count // 2, count, code, 9)
        for attack in ("h264-crf30", "crop-offcentre-10"):
            suspect = _attacked(copy, attack, 0)
            _, accused, _, took = read(suspect, code, range(1000), master)
            rows.append(
                {
                    "footage": master.name,
                    "size": f"{suspect.frames.shape[2]}x{suspect.frames.shape[1]}",
                    "attack": attack,
                    "frames": len(suspect.frames),
                    "seconds": took,
                    "right": accused == [9],
                }
            )
    return rows


def speed(code: TardosCode, frames: int) -> list[dict]:
    """Embedding vs the libx264 encode it accompanies (CRF 18, preset medium), same frames."""
    rows = []
    for width, height in ((1920, 1080), (854, 480)):
        clip = synthetic_clip(frames / 24.0, 24.0, width, height, seed=5)
        start = time.perf_counter()
        encode(clip, crf=18, preset="medium")
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(0, len(clip.frames), 16):
            embed(clip.frames[i : i + 16], code.codeword(1), KEY, first_frame=i)
        embed_s = time.perf_counter() - start
        rows.append(
            {
                "size": f"{width}x{height}",
                "frames": len(clip.frames),
                "encode_ms_per_frame": 1000 * encode_s / len(clip.frames),
                "embed_ms_per_frame": 1000 * embed_s / len(clip.frames),
                "ratio": embed_s / encode_s,
            }
        )
    return rows


@dataclass
class Trial:
    attack: str
    footage: str
    mode: str
    leaker: int
    top: int | None
    accused: list[int]
    probability: float
    seconds: float

    @property
    def right(self) -> bool:
        return self.top == self.leaker and self.leaker in self.accused

    @property
    def innocents(self) -> int:
        return len([a for a in self.accused if a != self.leaker])


def read(
    suspect: Clip, code: TardosCode, issued: range, master: Master | None
) -> tuple[int | None, list[int], float, float]:
    start = time.perf_counter()
    evidence = extract(
        suspect.frames,
        KEY,
        code.length,
        master=master.reference if master else None,
        fps=suspect.fps,
    )
    verdict = accuse(evidence, code, issued, threshold=THRESHOLD)
    took = time.perf_counter() - start
    top = verdict.ranking[0].copy if verdict.ranking else None
    best = verdict.accused[0].probability if verdict.accused else verdict.ranking[0].probability
    return top, [a.copy for a in verdict.accused], best, took


def single(
    footage: list[Master],
    code: TardosCode,
    copies: int,
    seconds: float,
    trials: int,
    rng: np.random.Generator,
    progress: Callable[[str], None],
    attacks: list[str] = SINGLE_ATTACKS,
) -> list[Trial]:
    results = []
    issued = range(copies)
    for attack in attacks:
        for trial in range(trials):
            master = footage[trial % len(footage)]
            count = round(seconds * master.clip.fps)
            start = int(rng.integers(0, len(master.clip.frames) - count + 1))
            leaker = int(rng.integers(0, copies))
            copy = mark(master, start, count, code, leaker)
            suspect = copy if attack == "none" else ATTACKS[attack](copy, rng)
            modes = ["informed", "blind"] if attack in BLIND_ATTACKS else ["informed"]
            for mode in modes:
                top, accused, p, took = read(
                    suspect, code, issued, master if mode == "informed" else None
                )
                results.append(Trial(attack, master.name, mode, leaker, top, accused, p, took))
                progress(f"{attack:18s} {master.name:9s} {mode:8s} right={top == leaker} p={p:.1e}")
    return results


def collusion(
    footage: list[Master],
    code: TardosCode,
    copies: int,
    trials: int,
    rng: np.random.Generator,
    progress: Callable[[str], None],
) -> list[dict]:
    """3 colluders, 60 s: pixel average and interleaved segments of their copies."""
    rows = []
    sources = [m for m in footage if m.name != "book"]
    for kind in ("average", "interleave"):
        for trial in range(trials):
            base = sources[trial % len(sources)]
            count = round(60.0 * base.clip.fps)
            clip = Clip(base.clip.frames[pingpong(len(base.clip.frames), count)], base.clip.fps)
            master = Master(base.name, clip)
            colluders = [int(c) for c in rng.choice(copies, COLLUDERS, replace=False)]
            marked = [mark(master, 0, len(clip.frames), code, c) for c in colluders]
            suspect = (
                collude_average(marked)
                if kind == "average"
                else collude_interleave(marked, segment_s=2.0, rng=rng)
            )
            _top, accused, p, took = read(suspect, code, range(copies), master)
            caught = [a for a in accused if a in colluders]
            innocents = [a for a in accused if a not in colluders]
            rows.append(
                {
                    "kind": kind,
                    "footage": master.name,
                    "colluders": colluders,
                    "accused": accused,
                    "caught": len(caught),
                    "innocents": len(innocents),
                    "probability": p,
                    "seconds": took,
                }
            )
            progress(
                f"collusion {kind} {master.name}: caught {len(caught)} innocents {len(innocents)}"
            )
    return rows


def bound(code: TardosCode, copies: int, trials: int, rng: np.random.Generator) -> dict:
    """Simulate the code alone: colluders mix their bits, no video; count innocents accused.

    Also checks the bound itself: for an innocent, the chance of scoring above s must not
    exceed the Chernoff bound at s.
    """
    codewords = code.codewords(range(copies)).astype(np.float64) * 2 - 1
    caught = innocents = 0
    for _ in range(trials):
        colluders = rng.choice(copies, COLLUDERS, replace=False)
        mixed = codewords[colluders]
        evidence = np.where(rng.random(code.length) < 0.5, mixed.mean(axis=0), mixed[0])
        evidence = np.clip(evidence + rng.normal(0, 0.3, code.length), -1, 1)
        hits = code.accuse(evidence, codewords > 0, threshold=THRESHOLD)
        caught += any(j in colluders for j, _, _ in hits)
        innocents += sum(j not in colluders for j, _, _ in hits)
    # Innocent tail: random evidence, scores of all copies; empirical P(S >= s) vs bound.
    evidence = rng.uniform(-1, 1, code.length)
    scores = code.scores(evidence, codewords > 0)
    s = float(np.quantile(scores, 0.99))
    return {
        "trials": trials,
        "caught_rate": caught / trials,
        "innocents_accused": innocents,
        "empirical_tail_at_p99": float(np.mean(scores >= s)),
        "bound_at_p99": code.false_accusation_probability(s, code.length, evidence),
    }


def peers(
    footage: list[Master],
    code: TardosCode,
    copies: int,
    trials: int,
    rng: np.random.Generator,
    progress: Callable[[str], None],
) -> list[dict]:
    """Peers and ours on the same 3 s clips and attacks; exact-ID rate for each."""
    from benchmarks.peers import available_peers

    methods = available_peers()
    rows = []
    for attack in PEER_ATTACKS:
        for trial in range(trials):
            master = footage[trial % len(footage)]
            count = round(3.0 * master.clip.fps)
            start = int(rng.integers(0, len(master.clip.frames) - count + 1))
            leaker = int(rng.integers(0, copies))
            seed = int(rng.integers(1 << 31))
            ours = _attacked(mark(master, start, count, code, leaker), attack, seed)
            top, accused, _, _ = read(ours, code, range(copies), master)
            rows.append(
                {
                    "method": "ours (informed)",
                    "attack": attack,
                    "right": top == leaker and leaker in accused,
                }
            )
            for method in methods:
                frames = master.clip.frames[start : start + count]
                copy = reencode(
                    Clip(method.embed(frames, leaker), master.clip.fps), crf=18, preset="medium"
                )
                suspect = _attacked(copy, attack, seed)
                # A user of a blind image watermark would at least scale the leak back.
                restored = np.stack(
                    [cv2.resize(f, (frames.shape[2], frames.shape[1])) for f in suspect.frames]
                )
                rows.append(
                    {
                        "method": method.name,
                        "attack": attack,
                        "right": method.identify(restored) == leaker,
                    }
                )
            progress(f"peers {attack} trial {trial}")
    return rows


def _attacked(clip: Clip, attack: str, seed: int) -> Clip:
    return clip if attack == "none" else ATTACKS[attack](clip, np.random.default_rng(seed))


# --- tables ----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def single_table(results: list[Trial], mode: str) -> str:
    rows = []
    for attack in dict.fromkeys(t.attack for t in results if t.mode == mode):
        group = [t for t in results if t.attack == attack and t.mode == mode]
        accepted = [t.probability for t in group if t.accused]
        rows.append(
            [
                attack,
                len(group),
                f"{100 * sum(t.right for t in group) / len(group):.0f}%",
                sum(t.innocents for t in group),
                f"{max(accepted):.1e}" if accepted else "-",
                f"{statistics.median(t.seconds for t in group):.1f}",
            ]
        )
    return table(
        ["attack", "trials", "right first", "innocents", "worst accepted p", "extract s"], rows
    )


def rate(rows: list[dict], method: str, attack: str) -> str:
    group = [r["right"] for r in rows if r["method"] == method and r["attack"] == attack]
    return f"{100 * statistics.fmean(group):.0f}%" if group else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        default="quality,speed,single,collusion,bound,peers",
        help="comma-separated: quality, figure, speed, single (includes blind), collusion, "
        "bound, peers, hd, extract-time",
    )
    parser.add_argument("--trials", type=int, default=3, help="trials per single-leaker attack")
    parser.add_argument("--collusion-trials", type=int, default=2)
    parser.add_argument("--peer-trials", type=int, default=1)
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every result here")
    args = parser.parse_args(argv)
    sections = set(args.sections.split(","))
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    length = code_length(args.copies, COLLUDERS, EPSILON)
    code = TardosCode.generate(KEY, length, COLLUDERS)
    print(f"code: n={args.copies} copies, c={COLLUDERS} colluders, eps={EPSILON}: m={length} bits")
    out: dict[str, object] = {"code_length": length, "copies": args.copies}

    def progress(line: str) -> None:
        print("  " + line, file=sys.stderr, flush=True)

    needs_footage = {"quality", "extract-time", "single", "collusion", "peers"}
    footage = masters(args.seconds) if sections & needs_footage else []
    if "quality" in sections:
        rows = quality(footage, code, args.seconds)
        out["quality"] = rows
        print("\n## Quality (luma, marked copy vs master, before any encode)\n")
        print(
            table(
                [
                    "footage",
                    "size",
                    "PSNR copy dB",
                    "PSNR worst frame",
                    "SSIM mean",
                    "SSIM worst frame",
                    "mark change/frame",
                    "mark change p99",
                    "picture change/frame",
                ],
                [
                    [
                        r["footage"],
                        r["size"],
                        f"{r['psnr_copy']:.1f}",
                        f"{r['psnr_min_frame']:.1f}",
                        f"{r['ssim_mean']:.4f}",
                        f"{r['ssim_min_frame']:.4f}",
                        f"{r['mark_change_mean']:.3f}",
                        f"{r['mark_change_p99']:.2f}",
                        f"{r['picture_change_mean']:.2f}",
                    ]
                    for r in rows
                ],
            )
        )
    if "figure" in sections:
        figure(code, ROOT / "docs" / "watermark.jpg")
        print("\nwrote docs/watermark.jpg (master | marked | difference x16)")
    if "speed" in sections:
        rows = speed(code, 96)
        out["speed"] = rows
        print("\n## Speed (embedding vs the libx264 CRF 18 medium encode of the same frames)\n")
        print(
            table(
                ["size", "frames", "encode ms/frame", "embed ms/frame", "embed / encode"],
                [
                    [
                        r["size"],
                        r["frames"],
                        f"{r['encode_ms_per_frame']:.1f}",
                        f"{r['embed_ms_per_frame']:.1f}",
                        f"{100 * r['ratio']:.0f}%",
                    ]
                    for r in rows
                ],
            )
        )
    if "extract-time" in sections:
        rows = extract_time(footage, code, args.seconds)
        out["extract_time"] = rows
        print(f"\n## Informed extraction time, {args.seconds:.0f} s clip, 20 s master\n")
        print(
            table(
                ["footage", "suspect size", "attack", "frames", "extract s", "right"],
                [
                    [
                        r["footage"],
                        r["size"],
                        r["attack"],
                        r["frames"],
                        f"{r['seconds']:.1f}",
                        r["right"],
                    ]
                    for r in rows
                ],
            )
        )
    if "single" in sections:
        results = single(footage, code, args.copies, args.seconds, args.trials, rng, progress)
        out["single"] = [t.__dict__ for t in results]
        print(
            f"\n## Single leaker, informed, {args.seconds:.0f} s excerpts, {args.copies} copies\n"
        )
        print(single_table(results, "informed"))
        print(f"\n## Single leaker, blind, {args.seconds:.0f} s excerpts\n")
        print(single_table(results, "blind"))
    if "hd" in sections:
        hd = [Master("synthetic-1080p", synthetic_clip(2 * args.seconds, 24.0, 1920, 1080, 13))]
        results = single(
            hd, code, args.copies, args.seconds, args.trials, rng, progress, HD_ATTACKS
        )
        out["hd"] = [t.__dict__ for t in results]
        print(f"\n## Single leaker on a 1080p master, {args.seconds:.0f} s excerpts\n")
        print(single_table(results, "informed"))
        print()
        print(single_table(results, "blind"))
    if "collusion" in sections:
        rows = collusion(footage, code, args.copies, args.collusion_trials, rng, progress)
        out["collusion"] = rows
        print("\n## Collusion: 3 colluders, 60 s, informed\n")
        print(
            table(
                ["attack", "footage", "colluders caught", "innocents accused", "p", "extract s"],
                [
                    [
                        r["kind"],
                        r["footage"],
                        f"{r['caught']}/3",
                        r["innocents"],
                        f"{r['probability']:.1e}",
                        f"{r['seconds']:.1f}",
                    ]
                    for r in rows
                ],
            )
        )
    if "bound" in sections:
        row = bound(code, args.copies, 200, rng)
        out["bound"] = row
        print("\n## Tardos code alone (simulation, 3 colluders, half averaged half interleaved)\n")
        print(
            table(
                [
                    "trials",
                    "a colluder caught",
                    "innocents accused",
                    "innocent tail at s",
                    "bound at s",
                ],
                [
                    [
                        row["trials"],
                        f"{100 * row['caught_rate']:.0f}%",
                        row["innocents_accused"],
                        f"{row['empirical_tail_at_p99']:.3f}",
                        f"{row['bound_at_p99']:.3f}",
                    ]
                ],
            )
        )
    if "peers" in sections:
        rows = peers(footage, code, args.copies, args.peer_trials, rng, progress)
        out["peers"] = rows
        methods = list(dict.fromkeys(r["method"] for r in rows))
        print("\n## Exact-ID rate on the same 3 s clips and attacks\n")
        print(
            table(
                ["attack", *methods],
                [
                    [
                        attack,
                        *[rate(rows, m, attack) for m in methods],
                    ]
                    for attack in PEER_ATTACKS
                ],
            )
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Leak-tracing benchmark. So far: the render index (detect/), as the number of renders grows.

index     N generated 10 s renders (128x72, 25 fps; each its own scene, pan and objects)
          are fingerprinted and indexed, for N = 10, 100, 1000. Then excerpts of 3 s from
          random renders, each attacked (re-encode, crop, scale, letterbox, flip,
          brightness, frame rate, camcorder...: benchmarks/attacks.py), are looked up:
          right render first, its score against the best wrong one, and the lookup time
          split into the suspect's own fingerprints (constant) and the index search.

  python benchmarks/bench_trace.py [--sizes 10,100,1000] [--queries 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.attacks import ATTACKS, excerpt, synthetic_clip  # noqa: E402
from detect import FingerprintIndex, signatures  # noqa: E402
from detect.fingerprint import suspect_windows, window_signatures  # noqa: E402

QUERY_ATTACKS = (
    "h264-crf30",
    "scale-360p",
    "crop-offcentre-10",
    "crop-centre-25",
    "letterbox",
    "hflip",
    "brightness+10",
    "fps-to-24",
    "drop-10pct",
    "camcorder",
)


def build(n: int) -> tuple[FingerprintIndex, float]:
    index = FingerprintIndex()
    started = time.perf_counter()
    for seed in range(n):
        clip = synthetic_clip(10, 25, 128, 72, seed)
        index.add(f"render-{seed}", signatures(clip.frames), clip.fps)
    return index, time.perf_counter() - started


def query(index: FingerprintIndex, n: int, queries: int, rng: np.random.Generator) -> dict:
    right, margins, total, own = 0, [], [], []
    for q in range(queries):
        seed = int(rng.integers(n))
        piece, _ = excerpt(synthetic_clip(10, 25, 128, 72, seed), 3.0, rng)
        suspect = ATTACKS[QUERY_ATTACKS[q % len(QUERY_ATTACKS)]](piece, rng)
        started = time.perf_counter()
        window_signatures(suspect.frames[:48], suspect_windows())
        own.append(time.perf_counter() - started)
        started = time.perf_counter()
        matches = index.search(suspect.frames, suspect.fps)
        total.append(time.perf_counter() - started)
        right += bool(matches) and matches[0].master == f"render-{seed}"
        wrong = [m.score for m in matches if m.master != f"render-{seed}"]
        if matches and matches[0].master == f"render-{seed}":
            margins.append(matches[0].score - (max(wrong) if wrong else 0.0))
    return {
        "renders": n,
        "queries": queries,
        "right_first": right,
        "median_margin": statistics.median(margins) if margins else None,
        "lookup_ms": statistics.median(total) * 1000,
        "suspect_fingerprints_ms": statistics.median(own) * 1000,
        "search_ms": (statistics.median(total) - statistics.median(own)) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    print("Render index: attacked 3 s excerpts looked up among N renders of 10 s")
    print(
        f"{'renders':>8} {'build s':>8} {'right':>7} {'margin':>7} {'lookup ms':>10} "
        f"{'own fp ms':>10} {'search ms':>10}"
    )
    for n in (int(v) for v in args.sizes.split(",")):
        index, seconds = build(n)
        row = query(index, n, args.queries, rng) | {"build_seconds": seconds}
        rows.append(row)
        print(
            f"{n:8d} {seconds:8.1f} {row['right_first']:3d}/{row['queries']:<3d} "
            f"{row['median_margin']:7.3f} {row['lookup_ms']:10.0f} "
            f"{row['suspect_fingerprints_ms']:10.0f} {row['search_ms']:10.0f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

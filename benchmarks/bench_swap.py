"""Face-swap benchmark: identity, untouched pixels, pose, jitter, speed; before/after images.

Every figure comes from the real clips with faces in ../shared/data/footage and the real
portraits in ../shared/data/faces, in one run:

  quality    per clip and target portrait (landmark backend): the dlib identity distance of
             the actor to the target before and after the swap on frontal frames (|yaw| ≤ 20°)
             and its fall; pixels changed outside the swap mask (before encoding); the head
             pose difference (yaw, pitch, roll) between original and swapped frames; landmark
             jitter of the swapped face next to the original footage's. Before/after frames
             go to benchmarks/output/swap_<clip>_<target>_<strength>.jpg. Each figure is
             given with shape strength 0.4 (the default) and 0 (no reshaping), which shows
             what the reshaping buys and the pose measure's own noise.
  speed      640x480 frames/s of analysis + landmark swap, with tracking (detect every 5th
             frame) and with detection on every frame; the whole pipeline (decode, swap,
             H.264 encode) next to a plain decode + encode of the same clip, same run.
  autoencoder  training steps/s at 64 px and inference frames/s at 640x480, on this machine's
             device (CUDA when present).

    python benchmarks/bench_swap.py [--sections quality,speed,autoencoder] [--json FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from swap import DlibAnalyser, identity_distance  # noqa: E402
from swap.landmark import LandmarkSwap  # noqa: E402
from swap.pipeline import read_batches, swap_video  # noqa: E402
from swap.pose import head_pose  # noqa: E402
from swap.tracking import FaceTracker, landmark_jitter  # noqa: E402
from swap.warp import reshaped, with_forehead  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
CLIPS = ("again", "book")
TARGETS = ("obama", "biden")
OUTPUT = ROOT / "benchmarks" / "output"
FRONTAL_YAW = 20.0  # degrees
EVERY = 3  # frames sampled for the identity and pose figures


def portrait(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DATA / "faces" / f"{name}.jpg")), cv2.COLOR_BGR2RGB)


def clip(name: str) -> np.ndarray:
    return np.concatenate(list(read_batches(DATA / "footage" / f"{name}.mkv")))


def outside_mask(
    original: np.ndarray, swapped: np.ndarray, backend: LandmarkSwap
) -> tuple[int, float]:
    """Pixels changed outside the swap's hull (forehead included), and the jitter of the
    landmarks the swap was drawn on. Both come from a second tracker run with the backend's
    settings: tracking is deterministic, so its faces are the ones the backend swapped."""
    tracker = FaceTracker(backend.analyser, backend.tracker.detect_every)
    changed, placed = 0, []
    for before, after in zip(original, swapped, strict=True):
        hull = np.zeros(before.shape[:2], np.uint8)
        for face in tracker.track(before):
            goal = reshaped(face.landmarks, backend._source, backend.shape_strength)
            outline = with_forehead(goal)
            cv2.fillConvexPoly(hull, cv2.convexHull(np.int32(np.round(outline))), 1)
            placed.append(goal)
        changed += int(((before != after).any(axis=2) & (hull == 0)).sum())
    return changed, landmark_jitter(placed)


def quality(strengths: list[float]) -> list[dict]:
    analyser = DlibAnalyser()
    rows = []
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for strength in strengths:
        for target_name in TARGETS:
            for clip_name in CLIPS:
                rows.append(_quality_row(analyser, clip_name, target_name, strength))
    return rows


def _quality_row(analyser: DlibAnalyser, clip_name: str, target_name: str, strength: float) -> dict:
    target_image = portrait(target_name)
    target = analyser.embed(target_image, analyser.detect(target_image)[0])
    frames = clip(clip_name)
    backend = LandmarkSwap(target_image, analyser, shape_strength=strength)
    swapped = backend(frames)
    before, after, poses, raw_before, raw_after = [], [], [], [], []
    for i, (a, b) in enumerate(zip(frames, swapped, strict=True)):
        fa, fb = analyser.detect(a), analyser.detect(b)
        if not (fa and fb):
            continue
        raw_before.append(fa[0].landmarks)
        raw_after.append(fb[0].landmarks)
        pose_a = head_pose(fa[0].landmarks, a.shape[:2])
        pose_b = head_pose(fb[0].landmarks, b.shape[:2])
        poses.append(np.abs(np.subtract(pose_a, pose_b)))
        if i % EVERY == 0 and abs(pose_a[0]) <= FRONTAL_YAW:
            before.append(identity_distance(analyser.embed(a, fa[0]), target))
            after.append(identity_distance(analyser.embed(b, fb[0]), target))
    pose = np.stack(poses)
    outside, jitter_placed = outside_mask(frames, swapped, backend)
    middle = len(frames) // 2
    path = OUTPUT / f"swap_{clip_name}_{target_name}_{strength:g}.jpg"
    side = np.hstack([frames[middle], swapped[middle]])
    cv2.imwrite(str(path), cv2.cvtColor(side, cv2.COLOR_RGB2BGR))
    return {
        "shape_strength": strength,
        "clip": clip_name,
        "target": target_name,
        "frontal_frames": len(before),
        "distance_before": float(np.mean(before)),
        "distance_after": float(np.mean(after)),
        "identity_fall": 1 - float(np.mean(after)) / float(np.mean(before)),
        "changed_outside_mask": outside,
        "yaw_difference": float(np.median(pose[:, 0])),
        "pitch_difference": float(np.median(pose[:, 1])),
        "roll_difference": float(np.median(pose[:, 2])),
        "pose_difference_p95": float(np.percentile(pose.max(axis=1), 95)),
        "jitter_original": landmark_jitter(raw_before),
        "jitter_swapped": landmark_jitter(raw_after),
        "jitter_placed": jitter_placed,
        "image": str(path.relative_to(ROOT)),
    }


def speed() -> dict:
    frames = clip("again")
    target = portrait("obama")
    result: dict[str, float] = {"frames": len(frames)}
    for every in (5, 1):
        backend = LandmarkSwap(target, detect_every=every)
        backend(frames[:5])  # warm the models
        backend.reset()
        started = time.perf_counter()
        backend(frames)
        result[f"swap_fps_detect_every_{every}"] = len(frames) / (time.perf_counter() - started)
    data = (DATA / "footage" / "again.mkv").read_bytes()
    started = time.perf_counter()
    swap_video(io.BytesIO(data), io.BytesIO(), lambda batch: batch)
    transcode = time.perf_counter() - started
    started = time.perf_counter()
    swap_video(io.BytesIO(data), io.BytesIO(), LandmarkSwap(target))
    pipeline = time.perf_counter() - started
    result.update(
        transcode_fps=len(frames) / transcode,
        pipeline_fps=len(frames) / pipeline,
        pipeline_over_transcode=pipeline / transcode,
    )
    return result


def autoencoder(steps: int) -> dict:
    """Training speed at 64 px and inference speed at 640x480, on the default device."""
    import tempfile

    from swap.ae_backend import AutoencoderSwap
    from swap.autoencoder import ModelConfig
    from swap.devices import select_device
    from swap.training import extract_faces, train

    analyser = DlibAnalyser()
    actor_frames, target_frames = clip("again"), clip("book")
    started = time.perf_counter()
    facesets = {
        "actor": extract_faces(actor_frames, analyser, 64),
        "target": extract_faces(target_frames, analyser, 64),
    }
    extract_fps = (len(actor_frames) + len(target_frames)) / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "model.pt"
        train(facesets, ModelConfig(resolution=64), checkpoint, 2, batch_size=16)  # warm-up
        started = time.perf_counter()
        result = train(facesets, ModelConfig(resolution=64), checkpoint, steps + 2, batch_size=16)
        train_sps = steps / (time.perf_counter() - started)
        backend = AutoencoderSwap(checkpoint)
        backend(actor_frames[:4])
        backend.reset()
        started = time.perf_counter()
        backend(actor_frames)
        infer_fps = len(actor_frames) / (time.perf_counter() - started)
    return {
        "device": str(select_device("auto")),
        "extract_fps": extract_fps,
        "train_steps_per_second_64px_batch16": train_sps,
        "loss_first": result.losses[0],
        "loss_last": result.losses[-1],
        "inference_fps_640x480": infer_fps,
    }


def print_autoencoder(s: dict) -> None:
    print(f"\nAutoencoder on {s['device']} (64 px, default widths)")
    print(f"  face-set extraction (detection every frame)   {s['extract_fps']:6.1f} frames/s")
    print(
        f"  training, batch 16 per identity               "
        f"{s['train_steps_per_second_64px_batch16']:6.2f} steps/s "
        f"(loss {s['loss_first']:.3f} → {s['loss_last']:.3f})"
    )
    print(
        f"  inference with tracking, 640x480             {s['inference_fps_640x480']:6.1f} frames/s"
    )


def print_quality(rows: list[dict]) -> None:
    print(
        "\nLandmark swap quality. Identity on frontal frames (|yaw| ≤ 20°); pose: median per-frame"
    )
    print("difference of original and swapped (landmarks found afresh on each); jitter: landmark")
    print("acceleration, per cent of the face width: found afresh on the original and swapped")
    print("frames, and of the smoothed landmarks the swap was drawn on (placed).")
    print(
        f"{'strength':>8} {'clip':6} {'target':6} {'frames':>6} {'before':>6} {'after':>6} "
        f"{'fall':>5} {'outside':>7} {'yaw Δ':>6} {'pitch Δ':>7} {'roll Δ':>6} {'p95':>5} "
        f"{'jitter':>6} {'swapped':>7} {'placed':>6}"
    )
    for r in rows:
        print(
            f"{r['shape_strength']:8g} {r['clip']:6} {r['target']:6} {r['frontal_frames']:6d} "
            f"{r['distance_before']:6.3f} {r['distance_after']:6.3f} {r['identity_fall']:5.0%} "
            f"{r['changed_outside_mask']:7d} {r['yaw_difference']:5.1f}° "
            f"{r['pitch_difference']:6.1f}° {r['roll_difference']:5.1f}° "
            f"{r['pose_difference_p95']:4.1f}° {r['jitter_original']:5.2f}% "
            f"{r['jitter_swapped']:6.2f}% {r['jitter_placed']:5.2f}%"
        )
    print("before/after frames: " + ", ".join(r["image"] for r in rows))


def print_speed(s: dict) -> None:
    rows = [
        ("analysis + landmark swap, tracking (detect every 5th)", s["swap_fps_detect_every_5"]),
        ("analysis + landmark swap, detection on every frame", s["swap_fps_detect_every_1"]),
        ("decode + H.264 encode alone", s["transcode_fps"]),
        ("decode + swap + encode (the pipeline)", s["pipeline_fps"]),
    ]
    print(f"\nSpeed at 640x480 on this machine ({s['frames']} frames of again.mkv)")
    for label, fps in rows:
        print(f"  {label:55} {fps:6.1f} frames/s")
    print(f"  pipeline time / plain transcode time: {s['pipeline_over_transcode']:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="quality,speed,autoencoder")
    parser.add_argument(
        "--strengths", default="0.4,0", help="shape strengths to compare (0: no reshaping)"
    )
    parser.add_argument("--train-steps", type=int, default=30, help="steps timed in training")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    if not (DATA / "footage" / "again.mkv").exists():
        sys.exit("bench_swap: ../shared/data is absent; it holds the clips and portraits")
    report: dict[str, object] = {}
    if "quality" in sections:
        report["quality"] = quality([float(v) for v in args.strengths.split(",")])
        print_quality(report["quality"])
    if "speed" in sections:
        report["speed"] = speed()
        print_speed(report["speed"])
    if "autoencoder" in sections:
        report["autoencoder"] = autoencoder(args.train_steps)
        print_autoencoder(report["autoencoder"])
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

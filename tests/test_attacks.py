"""The watermark benchmark's attack suite (benchmarks/attacks.py) on tiny clips.

Every entry of ATTACKS is run once (cached for the session) on a 2 s 160x90 synthetic clip and
must return a real, changed clip with the geometry, rate and length it promises; the
transforms behind them are checked where an encode would blur the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from benchmarks.attacks import (
    ATTACKS,
    Clip,
    change_fps,
    collude_average,
    collude_interleave,
    crop,
    decode,
    drop_frames,
    encode,
    excerpt,
    interleave_schedule,
    load_footage,
    scale_to_height,
    synthetic_clip,
)

ROOT = Path(__file__).resolve().parents[1]
FOOTAGE = ROOT.parent / "shared" / "data" / "footage" / "again.mkv"
W, H, FPS, N = 160, 90, 24.0, 48  # the clip every attack runs on: 2 s at 24 fps
SEED = 7

# (frames, height, width, fps) each attack promises for that clip; the rest keep (N, H, W, FPS).
EXPECTED: dict[str, tuple[int, int, int, float]] = {
    "scale-720p": (N, 720, 1280, FPS),
    "scale-480p": (N, 480, 854, FPS),
    "scale-360p": (N, 360, 640, FPS),
    "crop-centre-10": (N, 80, 144, FPS),
    "crop-offcentre-10": (N, 80, 144, FPS),
    "crop-centre-25": (N, 68, 120, FPS),
    "crop-offcentre-25": (N, 68, 120, FPS),
    "fps-to-24": (50, H, W, 25.0),  # already 24: changed by 25/24 instead
    "fps-to-25": (50, H, W, 25.0),
    "fps-to-30": (60, H, W, 30.0),
    "drop-10pct": (N - 5, H, W, FPS),
    "camcorder": (N, 480, 854, FPS),
    "still-jpeg": (1, H, W, FPS),
    "chain": (N, 480, 864, FPS),  # 144x80 after the crop, then 480p
}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def labelled(n: int, fps: float = FPS) -> Clip:
    """A clip whose frame i is filled with the value i, so reordering is visible exactly."""
    values = np.arange(n, dtype=np.uint8)[:, None, None, None]
    return Clip(np.broadcast_to(values, (n, 4, 4, 3)), fps)


def labels(clip: Clip) -> list[int]:
    return clip.frames[:, 0, 0, 0].tolist()


@cache
def source() -> Clip:
    return synthetic_clip(N / FPS, FPS, W, H, seed=SEED)


@cache
def attacked(name: str) -> Clip:
    """Each attack runs once per session whatever the number of tests looking at it."""
    return ATTACKS[name](source(), np.random.default_rng(SEED))


# --------------------------------------------------------------------------- footage


def test_synthetic_clip_is_deterministic_and_looks_like_footage() -> None:
    a = synthetic_clip(1, 24, 96, 64, seed=3)
    assert a.frames.shape == (24, 64, 96, 3) and a.fps == 24
    assert np.array_equal(a.frames, synthetic_clip(1, 24, 96, 64, seed=3).frames)
    assert not np.array_equal(a.frames, synthetic_clip(1, 24, 96, 64, seed=4).frames)
    luma = a.frames[0].mean(axis=2)
    neighbours = np.corrcoef(luma[:, :-1].ravel(), luma[:, 1:].ravel())[0, 1]
    assert neighbours > 0.8  # spatially coherent, not noise
    assert np.abs(np.diff(a.frames.astype(np.int16), axis=0)).mean() > 1  # the camera moves


@pytest.mark.parametrize("fps", [24.0, 25.0, 30000 / 1001])
def test_encode_decode_round_trip(fps: float) -> None:
    clip = synthetic_clip(1, fps, 96, 64, seed=1)
    data = encode(clip)
    assert data[4:8] == b"ftyp"  # a real MP4
    back = decode(data)
    assert back.frames.shape == clip.frames.shape
    assert back.fps == pytest.approx(fps, rel=1e-4)
    assert psnr(back.frames, clip.frames) > 30


def test_encode_crops_odd_sizes_to_even() -> None:
    clip = Clip(synthetic_clip(0.5, 24, 96, 64, seed=1).frames[:, :63, :95], 24)
    assert decode(encode(clip)).frames.shape[1:3] == (62, 94)


def test_load_footage_range_and_ping_pong_loop() -> None:
    if not FOOTAGE.exists():
        pytest.skip(f"{FOOTAGE} is not present on this machine")
    full = load_footage(FOOTAGE)
    n = full.n_frames
    assert full.frames.shape[1:] == (480, 640, 3) and full.fps == pytest.approx(30)
    part = load_footage(FOOTAGE, start_s=1.0, seconds=1.0)
    assert np.array_equal(part.frames, full.frames[30:60])
    looped = load_footage(FOOTAGE, loop_to_s=10.0)
    assert looped.n_frames == 300 and looped.fps == full.fps
    forth_and_back = [*range(n), *range(n - 2, 0, -1)]  # no frame shown twice at a turn
    assert np.array_equal(looped.frames, full.frames[(forth_and_back * 3)[:300]])


# --------------------------------------------------------------------------- every attack


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_returns_a_changed_clip_with_the_promised_shape(name: str) -> None:
    out = attacked(name)
    assert isinstance(out, Clip) and out.frames.dtype == np.uint8 and out.frames.shape[3] == 3
    n, h, w, fps = EXPECTED.get(name, (N, H, W, FPS))
    assert out.frames.shape[:3] == (n, h, w)
    assert out.fps == pytest.approx(fps, rel=1e-4)
    if name != "still-jpeg":  # the one attack with no video encode
        assert h % 2 == 0 and w % 2 == 0
    if out.frames.shape == source().frames.shape:
        assert not np.array_equal(out.frames, source().frames)


def test_reencoding_attacks_lose_more_at_higher_crf() -> None:
    quality = [psnr(attacked(f"h264-crf{crf}").frames, source().frames) for crf in (23, 30, 35)]
    assert quality == sorted(quality, reverse=True) and quality[0] > 30
    assert psnr(attacked("h265-crf30").frames, source().frames) > 25


def test_hflip_is_a_mirror() -> None:
    out = attacked("hflip").frames
    assert psnr(out, np.flip(source().frames, axis=2)) > 30
    assert psnr(out, source().frames) < 25


def test_centre_crop_keeps_the_centre() -> None:
    out = attacked("crop-centre-10").frames
    assert psnr(out, source().frames[:, 5:85, 8:152]) > 30


@pytest.mark.parametrize("seed", range(6))
def test_offcentre_crop_sits_near_a_corner(seed: int) -> None:
    clip = synthetic_clip(0.1, 24, W, H, seed=seed)
    out = crop(clip, 0.25, np.random.default_rng(seed)).frames[0]
    slack_y, slack_x = H - out.shape[0], W - out.shape[1]
    y0, x0 = next(
        (y, x)
        for y in range(slack_y + 1)
        for x in range(slack_x + 1)
        if np.array_equal(clip.frames[0, y : y + out.shape[0], x : x + out.shape[1]], out)
    )
    assert min(y0, slack_y - y0) <= slack_y / 4 and min(x0, slack_x - x0) <= slack_x / 4
    assert (y0, x0) != (slack_y // 2, slack_x // 2)


@pytest.mark.parametrize(("name", "axis"), [("letterbox", 0), ("pillarbox", 1)])
def test_boxes_add_black_bars_on_one_axis(name: str, axis: int) -> None:
    frame = attacked(name).frames.mean(axis=(0, 3))  # (H, W) mean over time and colour
    profile = frame.mean(axis=1 - axis)  # per row for letterbox, per column for pillarbox
    other = frame.mean(axis=axis)
    assert profile[:3].max() < 8 and profile[-3:].max() < 8  # the bars
    assert profile[len(profile) // 2] > 40 and other.min() > 20  # picture, no bars across


@pytest.mark.parametrize(
    ("name", "statistic", "direction"),
    [
        ("brightness+10", np.mean, 1),
        ("brightness-10", np.mean, -1),
        ("contrast-1.2", np.std, 1),
        ("contrast-0.8", np.std, -1),
        ("gamma-1.25", np.mean, 1),
        ("gamma-0.8", np.mean, -1),
        ("saturation-1.5", lambda f: np.std(f, axis=3).mean(), 1),
        ("saturation-0.5", lambda f: np.std(f, axis=3).mean(), -1),
    ],
)
def test_photometric_attacks_move_the_statistic_they_target(
    name: str, statistic: Callable[[np.ndarray], float], direction: int
) -> None:
    before = statistic(attacked("h264-crf23").frames.astype(np.float64))  # same codec, no edit
    after = statistic(attacked(name).frames.astype(np.float64))
    assert direction * (after - before) > 0.03 * before


def test_still_jpeg_is_one_of_the_frames() -> None:
    still = attacked("still-jpeg").frames[0]
    assert max(psnr(still, frame) for frame in source().frames) > 30


def test_trim_takes_a_random_excerpt() -> None:
    clip = synthetic_clip(4, 24, 96, 64, seed=2)
    out = ATTACKS["trim-3s"](clip, np.random.default_rng(5))
    part, start = excerpt(clip, 3, np.random.default_rng(5))  # the same draw
    assert out.n_frames == part.n_frames == 72 and 0 <= start <= 24
    assert psnr(out.frames, clip.frames[start : start + 72]) > 30
    assert excerpt(clip, 10, np.random.default_rng(5)) == (clip, 0)


def test_randomised_attacks_are_reproducible_from_the_rng() -> None:
    again = ATTACKS["crop-offcentre-25"](source(), np.random.default_rng(SEED))
    assert np.array_equal(again.frames, attacked("crop-offcentre-25").frames)


# --------------------------------------------------------------------------- transforms


@pytest.mark.parametrize(
    ("fps", "new_fps", "expected"),
    [
        (24, 25, [*range(12), 12, 12, *range(13, 24)]),  # one frame shown twice
        (30, 24, [i for i in range(30) if i % 5 != 2]),  # one in five dropped, regularly
    ],
)
def test_change_fps_picks_the_nearest_source_frame(
    fps: float, new_fps: float, expected: list[int]
) -> None:
    out = change_fps(labelled(round(fps), fps), new_fps)  # one second

    assert out.fps == new_fps and labels(out) == expected


def test_drop_frames_keeps_order_and_rate() -> None:
    out = drop_frames(labelled(100), 0.10, np.random.default_rng(0))
    kept = labels(out)
    assert len(kept) == 90 and kept == sorted(set(kept)) and out.fps == FPS


def test_scale_up_when_source_is_smaller() -> None:
    assert scale_to_height(synthetic_clip(0.1, 24, 96, 64, seed=1), 360).frames.shape[1:3] == (
        360,
        540,
    )


# --------------------------------------------------------------------------- collusion


def copies(n: int) -> list[Clip]:
    return [synthetic_clip(N / FPS, FPS, W, H, seed=100 + i) for i in range(n)]


def test_collude_average_is_the_pixel_mean() -> None:
    clips = copies(3)
    mean = np.mean([c.frames for c in clips], axis=0)
    out = collude_average(clips)
    assert out.frames.shape == clips[0].frames.shape and out.fps == FPS
    assert psnr(out.frames, mean) > 33
    assert all(psnr(out.frames, c.frames) < 25 for c in clips)


def test_collude_interleave_splices_segments_from_every_copy() -> None:
    clips = copies(3)
    out = collude_interleave(clips, 0.25, np.random.default_rng(1))  # 6-frame segments
    schedule = interleave_schedule(N, 3, 6, np.random.default_rng(1))
    assert out.n_frames == N and set(schedule.tolist()) == {0, 1, 2}
    assert all(len(set(schedule[i : i + 6].tolist())) == 1 for i in range(0, N, 6))
    for t, copy in enumerate(schedule):
        assert psnr(out.frames[t], clips[copy].frames[t]) > 30


def test_collusion_needs_matching_copies() -> None:
    with pytest.raises(ValueError, match="frame size"):
        collude_average([source(), synthetic_clip(1, 24, 96, 64, seed=1)])

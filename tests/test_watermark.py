"""The forensic video watermark (watermark/): embed, register, extract, accuse.

Clips are small (320x180, a few seconds) and the code is sized for 50 copies so that each test
runs in seconds on two CPU cores; every attack goes through a real H.264 encode
(benchmarks/attacks.py). The full-size measurements are benchmarks/bench_watermark.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from benchmarks.attacks import ATTACKS, Clip, collude_average, load_footage, reencode
from benchmarks.attacks import synthetic_clip as make_clip
from watermark import (
    Reference,
    TardosCode,
    WatermarkError,
    accuse,
    code_length,
    embed,
    extract,
)
from watermark.schedule import FRAMES_PER_SYMBOL, Schedule

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

KEY = b"production key for the tests"
COPIES = 50
LEADER = 17


@cache
def code() -> TardosCode:
    return TardosCode.generate(KEY, code_length(COPIES, 2, 1e-3), colluders=2)


@cache
def master() -> Clip:
    return make_clip(seconds=4, fps=24, width=320, height=180, seed=3)


@cache
def reference() -> Reference:
    return Reference.from_frames(master().frames, fps=master().fps)


@cache
def delivered(copy: int = LEADER) -> Clip:
    """The recipient's file: the marked master after a delivery encode."""
    marked = embed(master().frames, code().codeword(copy), KEY)
    return reencode(Clip(marked, master().fps), crf=18)


def accused(suspect: Clip, informed: bool = True, key: bytes = KEY) -> list[int]:
    evidence = extract(
        suspect.frames,
        key,
        code().length,
        master=reference() if informed else None,
        fps=suspect.fps,
    )
    verdict = accuse(evidence, code(), range(COPIES))
    assert all(a.probability < 1e-6 for a in verdict.accused)
    return [a.copy for a in verdict.accused]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse)


# --- embedding ------------------------------------------------------------------------------


def test_marked_copy_is_close_to_the_master_on_every_frame() -> None:
    marked = embed(master().frames, code().codeword(LEADER), KEY)
    assert marked.shape == master().frames.shape and marked.dtype == np.uint8
    assert min(psnr(m, o) for m, o in zip(marked, master().frames, strict=True)) >= 42.0
    assert not np.array_equal(marked, master().frames)


def test_embedding_is_deterministic_given_the_key_and_differs_across_keys_and_copies() -> None:
    frames = master().frames[:12]
    first = embed(frames, code().codeword(LEADER), KEY)
    assert np.array_equal(first, embed(frames, code().codeword(LEADER), KEY))
    assert not np.array_equal(first, embed(frames, code().codeword(LEADER), b"other key"))
    assert not np.array_equal(first, embed(frames, code().codeword(LEADER + 1), KEY))


def test_rgb_mark_is_a_pure_luma_change() -> None:
    """The same delta on R, G and B: chroma (and so 4:2:0 subsampling) never carries it."""
    frames = np.full((2, 90, 160, 3), (90, 120, 150), dtype=np.uint8)
    frames += np.random.default_rng(0).integers(0, 40, frames.shape, dtype=np.uint8)
    delta = embed(frames, code().codeword(1), KEY).astype(np.int16) - frames
    assert np.abs(delta).max() > 0
    assert np.array_equal(delta[..., 0], delta[..., 1])
    assert np.array_equal(delta[..., 1], delta[..., 2])


def test_ten_bit_luma_is_marked_at_the_same_visual_strength() -> None:
    eight = master().frames[:6].mean(axis=3).astype(np.uint8)
    ten = eight.astype(np.uint16) * 4
    delta8 = embed(eight, code().codeword(2), KEY).astype(np.float64) - eight
    delta10 = (embed(ten, code().codeword(2), KEY).astype(np.float64) - ten) / 4
    assert np.abs(delta10).max() <= 8.0
    assert np.abs(delta10 - delta8).mean() < 0.3
    assert np.corrcoef(delta8.ravel(), delta10.ravel())[0, 1] > 0.95


@pytest.mark.parametrize("level", [0, 16, 128, 235, 255])
def test_flat_grey_and_black_frames_are_marked_without_error(level: int) -> None:
    frames = np.full((3, 72, 128, 3), level, dtype=np.uint8)
    marked = embed(frames, code().codeword(3), KEY)
    assert marked.shape == frames.shape
    assert psnr(marked, frames) >= 42.0 if not np.array_equal(marked, frames) else True


def test_odd_dimensions_and_a_single_picture_are_accepted() -> None:
    frame = master().frames[0][:91, :161]
    marked = embed(frame, code().codeword(4), KEY)
    assert marked.shape == (1, 91, 161, 3)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (np.zeros((0, 90, 160, 3), np.uint8), "no frames"),
        ([np.zeros((90, 160), np.uint8), np.zeros((92, 160), np.uint8)], "different sizes"),
        (np.zeros((2, 90, 160, 4), np.uint8), "channels"),
        (np.zeros((2, 90, 160), np.float32), "float32"),
        (np.zeros((2, 20, 20), np.uint8), "at least"),
        (np.full((2, 90, 160), 4000, np.uint16), "above 10-bit"),
        (np.array(3, dtype=np.uint8), "shape"),
        (7, "shape"),
    ],
)
def test_bad_frames_get_a_one_line_error(frames: object, message: str) -> None:
    with pytest.raises(WatermarkError, match=message) as caught:
        embed(frames, code().codeword(0), KEY)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    with pytest.raises(WatermarkError, match=message):
        extract(frames, KEY, code().length)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["a text key", b"", 12345])
def test_a_key_that_is_not_bytes_is_refused(key: object) -> None:
    with pytest.raises(WatermarkError, match="key must be non-empty bytes"):
        embed(master().frames[:2], code().codeword(0), key)  # type: ignore[arg-type]


def test_sixteen_bit_frames_work_when_their_depth_is_given() -> None:
    frames = master().frames[:4].mean(axis=3).astype(np.uint16) * 256
    marked = embed(frames, code().codeword(5), KEY, bit_depth=16)
    change = (marked.astype(np.float64) - frames) / 256
    assert marked.dtype == np.uint16 and 0 < np.abs(change).max() <= 8.0


def test_bad_codewords_are_refused() -> None:
    with pytest.raises(WatermarkError, match="0s and 1s"):
        embed(master().frames[:2], np.array([0, 2, 1]), KEY)
    with pytest.raises(WatermarkError, match="non-empty"):
        embed(master().frames[:2], np.array([], dtype=np.uint8), KEY)


# --- schedule -------------------------------------------------------------------------------


def test_schedule_cross_fades_with_constant_power_and_covers_every_position() -> None:
    schedule = Schedule.for_key(KEY, code().length)
    _, weights = schedule.symbol_weights(np.arange(3 * schedule.cycle_frames))
    assert np.allclose((weights**2).sum(axis=1), 1.0, atol=1e-6)
    assert set(schedule.symbol_positions.ravel()) == set(range(code().length))
    # Held for a symbol: only frames next to a boundary blend two symbols.
    assert (weights.min(axis=1) > 1e-3).mean() == pytest.approx(2 / FRAMES_PER_SYMBOL, abs=0.01)


# --- extraction and accusation ---------------------------------------------------------------


def test_informed_round_trip_names_the_recipient() -> None:
    assert accused(delivered()) == [LEADER]


@pytest.mark.skipif(not (SHARED_DATA / "footage").exists(), reason="../shared/data is absent")
def test_blind_round_trip_after_h264_crf30_names_the_recipient() -> None:
    """Blind reading works where the camera holds still; a panning shot needs the master."""
    clip = load_footage(SHARED_DATA / "footage" / "bottle-detection.mp4", start_s=3, seconds=4)
    marked = embed(clip.frames, code().codeword(LEADER), KEY)
    assert accused(reencode(Clip(marked, clip.fps), crf=30), informed=False) == [LEADER]


@pytest.mark.parametrize(
    "attack",
    [
        "h264-crf30",
        "scale-360p",
        "crop-offcentre-10",
        "letterbox",
        "brightness+10",
        "gamma-0.8",
        "hflip",
        "fps-to-25",
        "drop-10pct",
        "trim-3s",
        "camcorder",
        "chain",
    ],
)
def test_informed_extraction_survives_each_attack_class(attack: str) -> None:
    suspect = ATTACKS[attack](delivered(), np.random.default_rng(7))
    assert accused(suspect) == [LEADER]


def test_the_same_suspect_gives_the_same_evidence_every_time() -> None:
    # Feature matching and RANSAC draw at random; a forensic reading must not.
    suspect = ATTACKS["camcorder"](delivered(), np.random.default_rng(7))
    runs = [
        extract(suspect.frames, KEY, code().length, master=reference(), fps=suspect.fps)
        for _ in range(3)
    ]
    assert all(np.array_equal(runs[0].values, run.values) for run in runs[1:])


def test_a_single_still_frame_is_enough_informed() -> None:
    still = ATTACKS["still-jpeg"](delivered(), np.random.default_rng(1))
    assert len(still.frames) == 1
    assert accused(still) == [LEADER]


def test_unmarked_clip_reports_no_mark_with_its_probability() -> None:
    suspect = reencode(master(), crf=23)
    for informed in (True, False):
        evidence = extract(
            suspect.frames, KEY, code().length, master=reference() if informed else None
        )
        verdict = accuse(evidence, code(), range(COPIES))
        assert verdict.accused == []
        assert verdict.ranking[0].probability > 1e-3
        assert verdict.summary().startswith("no mark found")


def test_mark_made_with_another_key_accuses_no_one() -> None:
    marked = embed(master().frames, code().codeword(LEADER), b"a different production")
    suspect = reencode(Clip(marked, master().fps), crf=23)
    assert accused(suspect) == []
    assert accused(suspect, informed=False) == []


def test_two_colluders_averaging_are_caught_and_no_innocent() -> None:
    copies = [delivered(LEADER), delivered(LEADER + 1)]
    suspect = collude_average(copies)
    caught = accused(suspect)
    assert caught and set(caught) <= {LEADER, LEADER + 1}


def test_reference_streamed_in_batches_equals_reference_from_one_array() -> None:
    frames = master().frames[:40]
    whole = Reference.from_frames(frames)
    streamed = Reference.from_frames(frames[i : i + 16] for i in range(0, 40, 16))
    assert np.array_equal(whole.luma, streamed.luma) and np.array_equal(whole.mask, streamed.mask)
    assert whole.keyframes.keys() == streamed.keyframes.keys()


def test_suspect_that_is_not_this_master_falls_back_to_blind() -> None:
    other = make_clip(seconds=2, fps=24, width=320, height=180, seed=99)
    evidence = extract(other.frames, KEY, code().length, master=reference())
    assert evidence.mode == "blind" and "no match" in evidence.note


@pytest.mark.skipif(not (SHARED_DATA / "footage").exists(), reason="../shared/data is absent")
def test_real_footage_round_trip_after_h264_crf30() -> None:
    clip = load_footage(SHARED_DATA / "footage" / "book.mkv", seconds=3)
    marked = embed(clip.frames, code().codeword(LEADER), KEY)
    assert psnr(marked, clip.frames) >= 42.0
    suspect = reencode(Clip(marked, clip.fps), crf=30)
    evidence = extract(
        suspect.frames, KEY, code().length, master=Reference.from_frames(clip.frames)
    )
    assert [a.copy for a in accuse(evidence, code(), range(COPIES)).accused] == [LEADER]

"""Fingerprints and the render index (detect/): the right render and offset after real
attacks, nothing for a foreign clip, invariances of the signature itself."""

from __future__ import annotations

import zlib
from functools import cache

import numpy as np
import pytest

from benchmarks.attacks import ATTACKS, Clip, excerpt, synthetic_clip
from detect import FingerprintIndex, signatures
from detect.fingerprint import hashes, suspect_windows, window_signatures

MATCHED = 0.8  # a mean cosine this high is the same pictures; different shots stay far below


@cache
def masters() -> dict[str, Clip]:
    """Six generated 4 s masters, 320x180 at 25 fps (different scenes, pans and objects)."""
    return {f"render-{seed}": synthetic_clip(4, 25, 320, 180, seed) for seed in range(6)}


@cache
def index() -> FingerprintIndex:
    built = FingerprintIndex()
    for name, clip in masters().items():
        built.add(name, signatures(clip.frames), clip.fps)
    return built


def test_a_signature_is_a_unit_vector_that_ignores_flips_brightness_and_bars() -> None:
    frames = masters()["render-0"].frames[:5]
    reference = signatures(frames)
    assert np.allclose(np.linalg.norm(reference, axis=1), 1, atol=1e-5)
    flipped = signatures(np.ascontiguousarray(frames[:, :, ::-1]))
    brighter = signatures(np.clip(frames.astype(int) * 1.1 + 8, 0, 255).astype(np.uint8))
    barred = np.zeros((5, 260, 320, 3), np.uint8)
    barred[:, 40:220] = frames
    for variant in (flipped, brighter, signatures(barred)):
        assert (variant * reference).sum(axis=1).min() > 0.98
    other = signatures(masters()["render-1"].frames[:5])
    assert (other * reference).sum(axis=1).max() < 0.8


def test_hashes_are_the_signs_of_the_signature() -> None:
    rows = signatures(masters()["render-2"].frames[:3])
    for row, value in zip(rows, hashes(rows), strict=True):
        bits = [(int(value) >> i) & 1 for i in range(64)]
        assert bits == [int(v > 0) for v in row]


def test_suspect_windows_include_the_master_s_and_cover_both_crop_sizes() -> None:
    windows = suspect_windows()
    assert windows[0] == (0.5, 0.5, 0.6) and len(windows) == 19
    assert {round(side, 3) for _, _, side in windows} == {0.6, 0.667, 0.8}
    stacked = window_signatures(masters()["render-0"].frames[:2], windows[:2])
    assert stacked.shape == (2, 2, 64)


@pytest.mark.parametrize(
    "attack",
    [
        "h264-crf30",
        "scale-360p",
        "crop-offcentre-10",
        "crop-centre-25",
        "letterbox",
        "hflip",
        "brightness-10",
        "fps-to-30",
        "drop-10pct",
        "camcorder",
        "chain",
    ],
)
def test_an_attacked_excerpt_finds_its_render_and_where_it_starts(attack: str) -> None:
    rng = np.random.default_rng(zlib.crc32(attack.encode()))
    name = f"render-{rng.integers(6)}"
    piece, start = excerpt(masters()[name], 2.0, rng)
    suspect = ATTACKS[attack](piece, rng)
    matches = index().search(suspect.frames, suspect.fps)
    assert matches[0].master == name and matches[0].score > MATCHED
    assert len(matches) == 1 or matches[1].score < MATCHED
    if attack not in ("drop-10pct", "camcorder"):  # a dropped or warped start shifts it
        assert abs(matches[0].offset - start) <= 2


def test_a_clip_from_elsewhere_matches_nothing_well() -> None:
    foreign = synthetic_clip(2, 25, 320, 180, seed=99)
    matches = index().search(foreign.frames, foreign.fps)
    assert all(m.score < MATCHED for m in matches)
    assert FingerprintIndex().search(foreign.frames, foreign.fps) == []

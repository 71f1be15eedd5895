"""Where each codeword bit goes: key-derived spatial patterns and the frame schedule.

A codeword of m bits is carried B bits at a time. One *symbol* is B code positions, each
position with its own smooth pseudo-random pattern on a coarse grid over the whole frame, added
with the sign of its bit; a symbol is held for D frames, and consecutive symbols cross-fade over
the frame either side of their boundary with constant power, so the picture never jumps from
one mark to the next (no flicker). The symbols cycle through all m positions, then repeat, so
any excerpt longer than one cycle (m / B * D frames) sees every bit, and a longer one sees each
bit several times.

Patterns live on a fixed 36 x 64 grid stretched over the frame, so they scale with the
picture: a downscaled copy still holds the same pattern, cells a few pixels wide. Everything
here is a pure function of (key, code length): extraction recomputes what embedding used.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from watermark.errors import WatermarkError
from watermark.keyed import keyed_rng

GRID = (36, 64)
BITS_PER_SYMBOL = 96
FRAMES_PER_SYMBOL = 12
# Patterns never embedded: their correlation with a frame's residual measures that frame's
# noise, so each frame's evidence is a z-score whatever the codec or the picture did to it.
NULL_PATTERNS = 256
_DOMAIN = b"vault/watermark/video/v1"


def _rng(key: bytes, label: bytes, *numbers: int) -> np.random.Generator:
    return keyed_rng(_DOMAIN, label, key, *numbers)


def _patterns(rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` zero-mean, unit-RMS Gaussian patterns on the grid, as rows (count, cells).

    Zero mean: a global brightness change must not read as a bit.
    """
    p = rng.standard_normal((count, GRID[0] * GRID[1]), dtype=np.float32)
    p -= p.mean(axis=1, keepdims=True)
    p /= np.sqrt((p**2).mean(axis=1, keepdims=True))
    return p


@dataclass(frozen=True, eq=False)
class Schedule:
    """Patterns and timing for one key and code length (build with `Schedule.for_key`)."""

    code_length: int
    patterns: np.ndarray  # (m, cells): one per code position
    null_patterns: np.ndarray  # (NULL_PATTERNS, cells)
    symbol_positions: np.ndarray  # (symbols per cycle, B): code positions of each symbol

    @staticmethod
    @functools.lru_cache(maxsize=8)
    def for_key(key: bytes, code_length: int) -> Schedule:
        if code_length < 1:
            raise WatermarkError("code_length must be at least 1")
        order = _rng(key, b"order", code_length).permutation(code_length)
        symbols = math.ceil(code_length / BITS_PER_SYMBOL)
        # The last symbol wraps around to the start of the order to stay B bits wide.
        padded = np.resize(order, symbols * BITS_PER_SYMBOL)
        schedule = Schedule(
            code_length=code_length,
            patterns=_patterns(_rng(key, b"patterns", code_length), code_length),
            null_patterns=_patterns(_rng(key, b"null", code_length), NULL_PATTERNS),
            symbol_positions=padded.reshape(symbols, BITS_PER_SYMBOL),
        )
        for array in (schedule.patterns, schedule.null_patterns, schedule.symbol_positions):
            array.flags.writeable = False
        return schedule

    @property
    def symbols(self) -> int:
        return int(self.symbol_positions.shape[0])

    @property
    def cycle_frames(self) -> int:
        """Frames after which the mark repeats."""
        return self.symbols * FRAMES_PER_SYMBOL

    def symbol_weights(self, frame_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each frame index: the two symbols it may carry and their weights.

        Returns (symbols, weights), each (T, 2), weights with squares summing to 1. A frame
        in the middle of a symbol carries it alone (weights 1 and 0); a frame next to a
        boundary blends the two symbols with a quarter-sine cross-fade.
        """
        t = np.asarray(frame_indices, dtype=np.float64)
        x = (t + 0.5) / FRAMES_PER_SYMBOL
        boundary = np.round(x)
        half_width = 1.0 / FRAMES_PER_SYMBOL  # one frame either side of the boundary
        d = np.clip((x - boundary) / half_width, -1.0, 1.0)
        angle = np.pi / 4 * (1.0 + d)  # 0 well before the boundary, pi/2 well after
        later = boundary.astype(np.int64)
        symbols = np.stack([later - 1, later], axis=1) % self.symbols
        weights = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        # A one-symbol cycle cross-fades a symbol with itself: it is simply held.
        weights[symbols[:, 0] == symbols[:, 1]] = (0.0, 1.0)
        return symbols, weights.astype(np.float32)

    def symbol_patterns(self, signs: np.ndarray) -> np.ndarray:
        """Each symbol's summed pattern for a codeword: (symbols, cells), unit RMS per symbol.

        `signs` is the codeword as ±1. Dividing by sqrt(B) keeps the sum of B independent
        unit patterns at unit RMS, so strength does not depend on B.
        """
        positions = self.symbol_positions
        per_position = signs[positions][..., None] * self.patterns[positions]
        return per_position.sum(axis=1) / np.float32(math.sqrt(BITS_PER_SYMBOL))

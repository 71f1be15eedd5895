"""Extraction: read soft evidence for every code position out of a suspect clip.

Informed (the master is known, as it always is inside the vault): register the suspect to
the master in space and time, match its brightness curve, subtract the master, and correlate
what is left with each position's pattern through the master's own perceptual mask: the
matched filter for an additive mark. Blind (no master, or no match): suppress the picture
with a temporal and a spatial high-pass, find where in the mark's cycle the clip starts by
the energy the schedule explains, then correlate the same way.

Each frame's correlations are turned into z-scores by the spread of that frame's correlations
with patterns that were never embedded, so frames hurt by the codec, motion or a bad match
count for less on their own. Evidence accumulates over every frame before anything is
decided; the result holds one signed value per code position for the accusation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from watermark.errors import WatermarkError
from watermark.frames import Batch, as_batch, check_key
from watermark.reference import Reference, analysis_planes, detail_luma
from watermark.register import Registration, register, valid_area, warp
from watermark.schedule import FRAMES_PER_SYMBOL, GRID, Schedule

_LUT_BINS = 32
_MIN_BIN_PIXELS = 16


@dataclass(frozen=True, eq=False)
class Evidence:
    """Soft evidence per code position, and how it was obtained.

    `values` is in [-1, 1]: positive where the position read as a 1, magnitude the
    confidence, 0 where the clip never showed it. `z` is the accumulated z-score behind it.
    """

    values: np.ndarray
    z: np.ndarray
    observed: int
    frames: int
    mode: str  # "informed" or "blind"
    registration: Registration | None = None
    note: str = ""
    # Per frame: the z of every position (T, m) and the mark-schedule frame it was read as.
    frame_z: np.ndarray | None = None
    frame_indices: np.ndarray | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "frames": self.frames,
            "observed_positions": self.observed,
            "signal": round(_signal_strength(self.z[self.z != 0]), 3),
            "registration": self.registration.to_json() if self.registration else None,
            "note": self.note,
        }


def extract(
    frames: np.ndarray | Sequence[np.ndarray],
    key: bytes,
    code_length: int,
    *,
    master: Reference | np.ndarray | None = None,
    fps: float | None = None,
    bit_depth: int | None = None,
) -> Evidence:
    """Evidence for each of the `code_length` positions of the mark made with `key`.

    With `master` (a `Reference`, or the master's frames) extraction is informed and falls
    back to blind, saying so in `note`, when the suspect cannot be registered to it.
    """
    batch = as_batch(frames, bit_depth)
    schedule = Schedule.for_key(check_key(key), code_length)
    luma, mask = analysis_planes(batch)
    if master is None:
        return _blind(schedule, luma, mask, note="no master given")
    reference = (
        master
        if isinstance(master, Reference)
        else Reference.from_frames(master, fps=None, bit_depth=bit_depth)
    )
    registration = register(luma, reference, _Probes(batch), fps)
    if registration is None:
        return _blind(schedule, luma, mask, note="no match with the master; read blind")
    return _informed(schedule, luma, reference, registration)


class _Probes:
    """Detail-size suspect frames, made only for the few frames registration probes."""

    def __init__(self, batch: Batch) -> None:
        self._batch = batch

    def __len__(self) -> int:
        return len(self._batch.array)

    def __getitem__(self, index: int) -> np.ndarray:
        return detail_luma(self._batch, index)


# --- informed --------------------------------------------------------------------------------


def _informed(
    schedule: Schedule, luma: np.ndarray, reference: Reference, registration: Registration
) -> Evidence:
    size = reference.size
    homography = registration.homography
    valid = valid_area(luma.shape[1:], homography, size)
    grids = []
    for frame, index in zip(luma, registration.frame_map, strict=True):
        master = reference.luma[index].astype(np.float32)
        suspect = warp(frame, homography, size)
        residual = (suspect - _match_brightness(suspect, master, valid)) * valid
        grids.append(_to_grid(residual * reference.mask[index].astype(np.float32)))
    z_frames = _frame_z(schedule, _detrend(np.stack(grids)))
    frame_map = registration.frame_map + _best_shift(schedule, z_frames, registration)
    z, observed = _accumulate(schedule, z_frames, frame_map)
    return _evidence(z, observed, len(luma), "informed", registration, z_frames, frame_map)


def _best_shift(schedule: Schedule, z_frames: np.ndarray, registration: Registration) -> int:
    """Of the frame maps the picture cannot tell apart, the one the mark's timing explains.

    The residual does not change (the pictures are the same); only which symbols it is
    read against does. Choosing by energy, not sign, keeps the evidence independent of any
    recipient's codeword, so the accusation's false-accusation bound still holds.
    """
    if registration.shifts.size <= 1:
        return int(registration.shifts[0]) if registration.shifts.size else 0
    energies = [
        _schedule_energy(schedule, z_frames, registration.frame_map + d)
        for d in registration.shifts
    ]
    return int(registration.shifts[int(np.argmax(energies))])


def _match_brightness(suspect: np.ndarray, master: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The master passed through the suspect's tone curve (a per-frame lookup table).

    Absorbs brightness, contrast, gamma and the codec's level shifts, which are functions
    of the master's luma; the mark is not, so it stays in the residual.
    """
    bins = np.clip((master * (_LUT_BINS / 256.0)).astype(np.int64), 0, _LUT_BINS - 1)
    weight = valid.ravel()
    counts = np.bincount(bins.ravel(), weights=weight, minlength=_LUT_BINS)
    sums = np.bincount(bins.ravel(), weights=(suspect * valid).ravel(), minlength=_LUT_BINS)
    filled = counts >= _MIN_BIN_PIXELS
    if not filled.any():
        return master
    master_means = np.bincount(bins.ravel(), weights=(master * valid).ravel(), minlength=_LUT_BINS)
    x = master_means[filled] / counts[filled]
    y = sums[filled] / counts[filled]
    if x.size == 1:
        return master + (y[0] - x[0])
    return np.interp(master, x, y).astype(np.float32)


def _to_grid(plane: np.ndarray) -> np.ndarray:
    """Area-average onto the pattern grid: the adjoint of the embedder's smooth upscaling."""
    return cv2.resize(plane, (GRID[1], GRID[0]), interpolation=cv2.INTER_AREA).reshape(-1)


# --- blind -----------------------------------------------------------------------------------


def _blind(schedule: Schedule, luma: np.ndarray, mask: np.ndarray, note: str) -> Evidence:
    residual = _suppress_picture(luma) * mask
    z_frames = _frame_z(schedule, _detrend(np.stack([_to_grid(plane) for plane in residual])))
    start = _cycle_offset(schedule, z_frames)
    frame_indices = start + np.arange(len(luma))
    z, observed = _accumulate(schedule, z_frames, frame_indices)
    return _evidence(z, observed, len(luma), "blind", None, z_frames, frame_indices, note)


def _suppress_picture(luma: np.ndarray) -> np.ndarray:
    """Remove what is smooth in space: the picture's broad shapes, little of the mark."""
    sigma = 2.0 * luma.shape[2] / GRID[1]
    return np.stack([plane - cv2.GaussianBlur(plane, (0, 0), sigma) for plane in luma])


def _detrend(grids: np.ndarray) -> np.ndarray:
    """Subtract each frame's temporal neighbourhood: what stays put is not the mark.

    A codec that skips near-static blocks, or a master whose grain the copy lost, leaves
    the same error frame after frame; the mark changes every symbol, so a moving average
    over a few symbols holds the error and only a fraction of any one symbol's mark.
    """
    window = 4 * FRAMES_PER_SYMBOL + 1
    if len(grids) < window:
        return grids
    half = window // 2
    padded = np.pad(grids, ((half, half), (0, 0)), mode="reflect")
    sums = np.cumsum(np.pad(padded, ((1, 0), (0, 0))), axis=0, dtype=np.float64)
    return grids - ((sums[window:] - sums[:-window]) / window).astype(grids.dtype)


def _cycle_offset(schedule: Schedule, z_frames: np.ndarray) -> int:
    """Where in the cycle the clip starts: the offset whose schedule explains most energy."""
    frames = np.arange(len(z_frames))
    energies = [
        _schedule_energy(schedule, z_frames, start + frames)
        for start in range(schedule.cycle_frames)
    ]
    return int(np.argmax(energies))


# --- accumulation ----------------------------------------------------------------------------


def _frame_z(schedule: Schedule, grids: np.ndarray) -> np.ndarray:
    """Correlation of each frame with every position's pattern, in units of that frame's
    noise (the spread of its correlations with never-embedded patterns): (T, m)."""
    null = grids @ schedule.null_patterns.T
    noise = np.sqrt((null**2).mean(axis=1, keepdims=True))
    return (grids @ schedule.patterns.T) / np.maximum(noise, 1e-9)


def _carried(schedule: Schedule, frame_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frame, position) pairs the schedule puts in each frame, with their combined weight.

    A position in both cross-faded symbols (a short code, or the cycle's padded last symbol)
    was embedded once with the summed weight, so it is read once with that weight.
    """
    symbols, weights = schedule.symbol_weights(frame_indices)
    positions = schedule.symbol_positions[symbols]  # (T, 2, B)
    rows = np.repeat(np.arange(len(frame_indices)), positions[0].size)
    flat = rows * schedule.code_length + positions.reshape(-1)
    pairs, where = np.unique(flat, return_inverse=True)
    combined = np.zeros(pairs.size)
    np.add.at(combined, where, np.repeat(weights, positions.shape[2], axis=1).reshape(-1))
    return pairs, combined


def _schedule_energy(schedule: Schedule, z_frames: np.ndarray, frame_indices: np.ndarray) -> float:
    """Weighted squared z of what the schedule puts in each frame: large only when the
    frame indices are right, whatever the codeword."""
    pairs, weights = _carried(schedule, frame_indices)
    return float(((weights * z_frames.reshape(-1)[pairs]) ** 2).sum())


def _accumulate(
    schedule: Schedule, z_frames: np.ndarray, frame_indices: np.ndarray
) -> tuple[np.ndarray, int]:
    """Weighted sum of per-frame z-scores per position, normalised to unit variance."""
    pairs, weights = _carried(schedule, frame_indices)
    positions = pairs % schedule.code_length
    total = np.zeros(schedule.code_length)
    power = np.zeros(schedule.code_length)
    np.add.at(total, positions, weights * z_frames.reshape(-1)[pairs])
    np.add.at(power, positions, weights**2)
    seen = power > 1e-6
    z = np.zeros(schedule.code_length)
    z[seen] = total[seen] / np.sqrt(power[seen])
    return z, int(seen.sum())


def _signal_strength(z: np.ndarray) -> float:
    """Estimated mean |z| of a marked position: sqrt(E[z²] - 1), the noise's share removed."""
    if z.size == 0:
        return 0.0
    return float(np.sqrt(max(float(np.mean(z**2)) - 1.0, 0.0)))


def _evidence(
    z: np.ndarray,
    observed: int,
    frames: int,
    mode: str,
    registration: Registration | None,
    z_frames: np.ndarray,
    frame_indices: np.ndarray,
    note: str = "",
) -> Evidence:
    """Soft evidence tanh(s z): the posterior mean of a ±1 bit seen as s·bit + N(0, 1) noise."""
    if observed == 0:
        raise WatermarkError("the clip showed no part of the mark", "pass a longer clip")
    strength = max(_signal_strength(z[z != 0]), 0.1)
    return Evidence(
        np.tanh(strength * z),
        z,
        observed,
        frames,
        mode,
        registration,
        note,
        z_frames.astype(np.float32),
        np.asarray(frame_indices),
    )


def frame_scores(evidence: Evidence, codeword: np.ndarray, key: bytes) -> np.ndarray:
    """How strongly each suspect frame carries `codeword`, one value per frame.

    Each frame's z-scores of the positions it carries, signed by the codeword's bits and
    combined with the embedding weights: about N(0, 1) for a codeword the frame does not
    carry, positive and steady for the one it does. For plots (where in the clip the mark
    is strong); the accusation uses the pooled evidence, not these.
    """
    if evidence.frame_z is None or evidence.frame_indices is None:
        raise WatermarkError("this evidence kept no per-frame readings")
    bits = np.asarray(codeword)
    schedule = Schedule.for_key(check_key(key), evidence.frame_z.shape[1])
    if bits.shape != (schedule.code_length,):
        raise WatermarkError(f"the codeword must have {schedule.code_length} bits")
    pairs, weights = _carried(schedule, evidence.frame_indices)
    frames, positions = pairs // schedule.code_length, pairs % schedule.code_length
    signed = weights * evidence.frame_z.reshape(-1)[pairs] * (2.0 * bits[positions] - 1.0)
    total = np.bincount(frames, weights=signed, minlength=len(evidence.frame_z))
    power = np.bincount(frames, weights=weights**2, minlength=len(evidence.frame_z))
    return total / np.sqrt(np.maximum(power, 1e-12))

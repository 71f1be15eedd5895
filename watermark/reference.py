"""The master as extraction needs it: small, streamed in once, reused for every suspect.

Informed extraction compares a suspect with the unmarked master. Holding a shot's full frames
would take gigabytes, so the reference keeps, per master frame, only what extraction uses: the
analysis-size luma (the size marks are shaped at, half precision), the perceptual mask the
embedder computed there, and a thumbnail for matching frames in time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from watermark.errors import WatermarkError
from watermark.frames import Batch, as_batch
from watermark.masking import shaped

THUMB_WIDTH = 64
DETAIL_WIDTH = 640
_MAX_KEYFRAMES = 96


@dataclass(frozen=True, eq=False)
class Reference:
    """Per master frame: analysis luma and mask; a sample of keyframes; the frame rate."""

    luma: np.ndarray  # (T, h, w) float16, 8-bit scale
    mask: np.ndarray  # (T, h, w) float16
    keyframes: dict[int, np.ndarray]  # frame index -> detail-size uint8 luma, for features
    fps: float | None = None

    @classmethod
    def from_frames(
        cls,
        batches: np.ndarray | Iterable[np.ndarray],
        fps: float | None = None,
        bit_depth: int | None = None,
    ) -> Reference:
        """Build from the master's frames: one array, or an iterable of batches to stream."""
        if isinstance(batches, np.ndarray):
            batches = [batches]
        lumas, masks = [], []
        keyframes = _Keyframes()
        for frames in batches:
            batch = as_batch(frames, bit_depth)
            luma, mask = analysis_planes(batch)
            keyframes.offer(batch, sum(len(x) for x in lumas))
            lumas.append(luma.astype(np.float16))
            masks.append(mask.astype(np.float16))
        if not lumas:
            raise WatermarkError("the master has no frames", "pass the master's frames")
        shapes = {luma.shape[1:] for luma in lumas}
        if len(shapes) > 1:
            raise WatermarkError("the master's frames change size", "pass one shot at one size")
        return cls(np.concatenate(lumas), np.concatenate(masks), keyframes.frames, fps)

    def __len__(self) -> int:
        return int(self.luma.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.luma.shape[1]), int(self.luma.shape[2])


class _Keyframes:
    """Evenly spaced detail-size frames, at most _MAX_KEYFRAMES whatever the length.

    Feature matching needs more detail than analysis size keeps (a flat car park's grit, a
    wall's texture), but only on a sample of frames. Streaming, the spacing doubles (and
    every other kept frame goes) whenever the sample is full.
    """

    def __init__(self) -> None:
        self.frames: dict[int, np.ndarray] = {}
        self.step = 1

    def offer(self, batch: Batch, first_index: int) -> None:
        for offset in range(len(batch.array)):
            index = first_index + offset
            if index % self.step == 0:
                self.frames[index] = detail_luma(batch, offset)
            if len(self.frames) > _MAX_KEYFRAMES:
                self.step *= 2
                self.frames = {i: f for i, f in self.frames.items() if i % self.step == 0}


def detail_luma(batch: Batch, index: int) -> np.ndarray:
    """Frame `index` as uint8 luma at most DETAIL_WIDTH px wide, for feature matching."""
    luma = batch.luma(index)
    height, width = luma.shape
    if width > DETAIL_WIDTH:
        size = (DETAIL_WIDTH, max(1, round(height * DETAIL_WIDTH / width)))
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    return np.clip(luma, 0, 255).round().astype(np.uint8)


def analysis_planes(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Analysis-size luma and perceptual mask, float32, exactly as the embedder shapes them."""
    lumas, masks = [], []
    for start in range(0, len(batch.array), 64):  # bounded memory for long clips
        luma, mask = shaped(batch, torch.device("cpu"), start, start + 64)
        lumas.append(luma[:, 0].numpy())
        masks.append(mask[:, 0].numpy())
    return np.concatenate(lumas), np.concatenate(masks)


def thumbnails(luma: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Zero-mean, unit-norm thumbnails as rows, over the valid pixels only (T, pixels).

    Normalised cross-correlation of two frames is then a dot product, robust to the
    brightness, contrast and gamma changes a leak goes through.
    """
    height, width = luma.shape[1:]
    size = (THUMB_WIDTH, max(1, round(height * THUMB_WIDTH / width)))
    small = np.stack(
        [cv2.resize(np.float32(frame), size, interpolation=cv2.INTER_AREA) for frame in luma]
    )
    rows = small.reshape(len(small), -1)
    if valid is not None:
        keep = cv2.resize(np.float32(valid), size, interpolation=cv2.INTER_AREA).reshape(-1) > 0.99
        rows = rows[:, keep]
    return unit_rows(rows)


def unit_rows(rows: np.ndarray) -> np.ndarray:
    """Each row minus its mean, scaled to unit norm: dot products are then NCCs."""
    rows = rows - rows.mean(axis=1, keepdims=True)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-6)

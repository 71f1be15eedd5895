"""Embedding: add one recipient's codeword to a batch of frames.

The mark is a luma change only: for RGB input the same delta goes to R, G and B, which is a
pure luma change, so 4:2:0 chroma subsampling cannot touch it; for luma or YUV planes it is
added to Y directly, whatever the range (limited or full) the values are in. Computation is
batched in torch on any device (the render farm's GPU, a laptop's CPU); the delta is built at
analysis size and scaled up once, so a 1080p frame costs little more than a 480p one. On a
CPU the full-size steps (the first downscale, the last upscale and the add) are OpenCV's,
which is several times faster there than torch on uint8 pictures.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from watermark.errors import WatermarkError
from watermark.frames import Batch, as_batch, check_key
from watermark.masking import shaped
from watermark.schedule import GRID, Schedule

# Mark strength in 8-bit luma levels (RMS where the perceptual gain is 1), and the cap on a
# frame's RMS change: 1.9 levels is a PSNR of 42.5 dB against the master at worst.
STRENGTH = 3.5
MAX_RMS = 1.9
# Cap on any one pixel's change: the pattern's Gaussian tails in strong texture would
# otherwise reach 15 levels, which a trained eye could find on a still.
MAX_PEAK = 8.0


def embed(
    frames: np.ndarray | Sequence[np.ndarray],
    codeword: np.ndarray,
    key: bytes,
    *,
    first_frame: int = 0,
    bit_depth: int | None = None,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Return a marked copy of `frames` carrying `codeword` under `key`.

    `first_frame` is the index of frames[0] in the shot, so a long shot can be marked batch
    by batch and every batch gets the part of the mark its frames carry. Output has the
    input's shape and dtype.
    """
    batch = as_batch(frames, bit_depth)
    bits = _codeword_signs(codeword)
    schedule = Schedule.for_key(check_key(key), bits.size)
    dev = torch.device(device) if device is not None else _default_device()
    delta = mark_delta(batch, schedule, bits, first_frame, dev)
    if dev.type == "cpu" and batch.array.dtype == np.uint8:
        return _apply_uint8(batch, delta)
    return _apply(batch, delta, dev)


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _codeword_signs(codeword: np.ndarray) -> np.ndarray:
    bits = np.asarray(codeword)
    if bits.ndim != 1 or bits.size == 0:
        raise WatermarkError("the codeword must be a non-empty 1-D array of bits")
    if not np.isin(bits, (0, 1)).all():
        raise WatermarkError("the codeword must hold only 0s and 1s")
    return bits.astype(np.float32) * 2.0 - 1.0


def mark_delta(
    batch: Batch,
    schedule: Schedule,
    signs: np.ndarray,
    first_frame: int,
    device: torch.device,
) -> torch.Tensor:
    """The luma change for each frame at analysis size, (T, 1, h, w), on the 8-bit scale."""
    count = batch.array.shape[0]
    luma, gain = shaped(batch, device)
    size = tuple(luma.shape[2:])
    grid = coarse_marks(schedule, signs, np.arange(first_frame, first_frame + count), device)
    delta = STRENGTH * gain * F.interpolate(grid, size=size, mode="bilinear", align_corners=False)
    rms = delta.square().mean(dim=(1, 2, 3), keepdim=True).sqrt()
    return (delta * (MAX_RMS / rms.clamp_min(MAX_RMS))).clamp_(-MAX_PEAK, MAX_PEAK)


def coarse_marks(
    schedule: Schedule, signs: np.ndarray, frame_indices: np.ndarray, device: torch.device
) -> torch.Tensor:
    """Each frame's mark on the pattern grid, (T, 1, 36, 64): its symbols, cross-faded."""
    per_symbol = torch.from_numpy(_symbol_patterns(schedule, signs.tobytes())).to(device)
    symbols, weights = schedule.symbol_weights(frame_indices)
    picked = per_symbol[torch.from_numpy(symbols).to(device)]  # (T, 2, cells)
    mixed = (torch.from_numpy(weights).to(device)[..., None] * picked).sum(dim=1)
    return mixed.reshape(-1, 1, *GRID)


@functools.lru_cache(maxsize=4)
def _symbol_patterns(schedule: Schedule, signs: bytes) -> np.ndarray:
    """Per-symbol patterns of one codeword, kept while a long shot is marked batch by batch."""
    return schedule.symbol_patterns(np.frombuffer(signs, dtype=np.float32))


def _apply(batch: Batch, delta: torch.Tensor, device: torch.device) -> np.ndarray:
    """Scale the change up to the frame and add it, on the device (any bit depth)."""
    height, width = batch.array.shape[1:3]
    if tuple(delta.shape[2:]) != (height, width):
        delta = F.interpolate(delta, size=(height, width), mode="bilinear", align_corners=False)
    pixels = torch.from_numpy(batch.array).to(device).float()
    change = delta * batch.scale
    change = change.permute(0, 2, 3, 1) if batch.rgb else change[:, 0]
    # floor(x + 0.5), not round-half-to-even: with integer pixels the rounded change is then
    # the same on R, G and B, so the mark stays a pure luma change.
    marked = (pixels + change + 0.5).floor_().clamp_(0, batch.peak)
    dtype = torch.uint8 if batch.array.dtype == np.uint8 else torch.int32
    out = marked.to(dtype).cpu().numpy()
    return out.astype(batch.array.dtype, copy=False)


def _apply_uint8(batch: Batch, delta: torch.Tensor) -> np.ndarray:
    """The same as `_apply` for 8-bit frames on a CPU, with OpenCV's saturating uint8 adds.

    The full-size work is most of embedding's cost at 1080p; done as one resize and two
    saturating uint8 operations per frame it never leaves 8 bits. The change is rounded
    once per pixel and added to R, G and B alike, so the mark stays a pure luma change.
    """
    height, width = batch.array.shape[1:3]
    out = np.empty_like(batch.array)
    for i, small in enumerate(delta[:, 0].numpy()):
        change = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        up = cv2.convertScaleAbs(np.maximum(change, 0.0))
        down = cv2.convertScaleAbs(np.minimum(change, 0.0))
        if batch.rgb:
            up, down = cv2.merge([up, up, up]), cv2.merge([down, down, down])
        out[i] = cv2.subtract(cv2.add(batch.array[i], up), down)
    return out

"""Frames as the library accepts them: a batch of luma or RGB pictures, 8 to 16 bits.

Everything else in the package works on float32 luma on the 8-bit scale (0-255), whatever
the input's bit depth, so strengths and thresholds mean the same for 8- and 10-bit video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from watermark.errors import WatermarkError

# Below this the 64 x 36 pattern grid has less than one pixel per cell.
MIN_SIDE = 32
# BT.709 luma weights. Adding the same delta to R, G and B changes Y by exactly that delta
# (the weights sum to 1) and leaves both colour-difference channels untouched.
LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


@dataclass(frozen=True)
class Batch:
    """Validated frames: the array, whether it is RGB, and its bit depth."""

    array: np.ndarray
    rgb: bool
    bit_depth: int

    @property
    def scale(self) -> float:
        """Multiplier from the 8-bit scale to this batch's code values."""
        return float(2 ** (self.bit_depth - 8))

    @property
    def peak(self) -> int:
        return 2**self.bit_depth - 1

    def luma(self, index: int) -> np.ndarray:
        """Frame `index` as float32 luma on the 8-bit scale."""
        frame = self.array[index].astype(np.float32)
        if self.rgb:
            frame = frame @ LUMA_WEIGHTS
        return frame / self.scale


def as_batch(frames: np.ndarray | Sequence[np.ndarray], bit_depth: int | None = None) -> Batch:
    """Check frames and say what is wrong in one line if they cannot be used.

    Accepts (T, H, W) luma or (T, H, W, 3) RGB, uint8 (8-bit) or uint16 (10-bit unless told
    otherwise), as one array or a sequence of same-sized frames.
    """
    array = _stack(frames)
    if array.ndim == 4 and array.shape[-1] != 3:
        raise WatermarkError(
            f"frames have {array.shape[-1]} channels", "pass luma (T, H, W) or RGB (T, H, W, 3)"
        )
    if array.ndim not in (3, 4):
        raise WatermarkError(
            f"frames have shape {array.shape}", "pass luma (T, H, W) or RGB (T, H, W, 3)"
        )
    if array.dtype not in (np.uint8, np.uint16):
        raise WatermarkError(
            f"frames are {array.dtype}", "pass uint8 (8-bit) or uint16 (10- to 16-bit) pictures"
        )
    height, width = array.shape[1:3]
    if min(height, width) < MIN_SIDE:
        raise WatermarkError(
            f"frames are {width}x{height}", f"a marked picture needs at least {MIN_SIDE} px a side"
        )
    eight_bit = array.dtype == np.uint8
    depth = bit_depth or (8 if eight_bit else 10)
    lowest, highest = (8, 8) if eight_bit else (9, 16)
    if not lowest <= depth <= highest:
        raise WatermarkError(f"bit depth {depth} does not fit {array.dtype} frames")
    batch = Batch(array=array, rgb=array.ndim == 4, bit_depth=depth)
    if not eight_bit and int(array.max()) > batch.peak:
        raise WatermarkError(
            f"frames hold values up to {int(array.max())}, above {depth}-bit",
            "pass the frames' real bit depth (bit_depth=12, 16, ...)",
        )
    return batch


def check_key(key: bytes) -> bytes:
    """The production key as bytes; anything else is a caller's mistake, said in one line."""
    if not isinstance(key, bytes | bytearray) or not key:
        raise WatermarkError("the watermark key must be non-empty bytes", "pass the key as bytes")
    return bytes(key)


def _stack(frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    if isinstance(frames, np.ndarray):
        if frames.ndim < 2:
            raise WatermarkError(
                f"frames have shape {frames.shape}", "pass luma (T, H, W) or RGB (T, H, W, 3)"
            )
        # One picture on its own is a one-frame clip. A (H, W, 3) array is read as one RGB
        # picture, never as three-pixel-wide luma frames, which no clip could have.
        if frames.ndim == 2 or (frames.ndim == 3 and frames.shape[-1] == 3):
            frames = frames[None]
        if frames.shape[0] == 0:
            raise WatermarkError("the clip has no frames", "pass at least one frame")
        return frames
    try:
        frames = list(frames)
    except TypeError:
        raise WatermarkError(
            f"frames of type {type(frames).__name__} have shape ()",
            "pass luma (T, H, W) or RGB (T, H, W, 3) arrays",
        ) from None
    if not frames:
        raise WatermarkError("the clip has no frames", "pass at least one frame")
    shapes = {np.asarray(frame).shape for frame in frames}
    if len(shapes) > 1:
        raise WatermarkError(
            f"frames have different sizes {sorted(shapes)}",
            "scale every frame of a clip to one size first",
        )
    return np.stack([np.asarray(frame) for frame in frames])

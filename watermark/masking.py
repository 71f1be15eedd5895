"""Perceptual shaping: how much mark each part of a picture can hide.

Texture masks a small luminance change, flat areas and gentle gradients (sky, skin) show it,
and near-black or near-white areas would clip it. The mask is computed on an analysis-size
copy of the picture (at most 320 px wide, five pixels to a pattern cell: the mark is smooth at
that scale, and texture there is what hides it; the gain itself at half that size, as it is
smoother still), and the same function serves embedding and informed extraction, where it
weights the matched filter with the master's own mask.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from watermark.frames import LUMA_WEIGHTS, Batch

ANALYSIS_WIDTH = 320
_WINDOW = 3  # at half analysis size: 6 px of the analysis picture
# Local standard deviation (8-bit levels) at which the mark has full strength; flatter areas
# get less, busier ones up to _MAX_GAIN times more.
_TEXTURE_REFERENCE = 8.0
_MIN_GAIN, _MAX_GAIN = 0.3, 1.8
_SKIN_GAIN = 0.5
_RGB_TO_CBCR = [[-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]  # JPEG's, less 128


def analysis_size(height: int, width: int) -> tuple[int, int]:
    """The (height, width) marks are shaped at: the frame itself, or at most 320 px wide."""
    if width <= ANALYSIS_WIDTH:
        return height, width
    return max(1, round(height * ANALYSIS_WIDTH / width)), ANALYSIS_WIDTH


def _box(x: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a size x size window, edges replicated."""
    if x.device.type == "cpu":  # OpenCV's box filter is an order of magnitude faster here
        planes = x.contiguous().numpy().reshape(-1, *x.shape[2:])
        out = [cv2.blur(p, (size, size), borderType=cv2.BORDER_REPLICATE) for p in planes]
        return torch.from_numpy(np.stack(out).reshape(x.shape))
    half = size // 2
    x = F.pad(x, (half, half, half, half), mode="replicate")
    return F.avg_pool2d(x, size, stride=1)


def _resize(x: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """(T, C, h, w) to `size` with area averaging ("area") or bilinear ("bilinear")."""
    if x.device.type == "cpu":
        flag = cv2.INTER_AREA if mode == "area" else cv2.INTER_LINEAR
        planes = x.contiguous().numpy().reshape(-1, *x.shape[2:])
        out = np.stack([cv2.resize(p, size[::-1], interpolation=flag) for p in planes])
        return torch.from_numpy(out.reshape(*x.shape[:2], *size))
    if mode == "area":
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def perceptual_mask(luma: torch.Tensor, rgb: torch.Tensor | None = None) -> torch.Tensor:
    """Gain per pixel for (T, 1, h, w) luma on the 8-bit scale; RGB (T, 3, h, w) adds skin.

    Gain = texture gain x luminance gain x skin gain, smoothed so the mark has no edges of
    its own.
    """
    mean = _box(luma, _WINDOW)
    spread = (_box(luma * luma, _WINDOW) - mean * mean).clamp_min(0.0).sqrt()
    gain = ((spread + 1.0) / _TEXTURE_REFERENCE).clamp(_MIN_GAIN, _MAX_GAIN)
    # Room to move before the legal range clips the mark away.
    headroom = torch.minimum(mean - 16.0, 240.0 - mean)
    gain = gain * (headroom / 24.0).clamp(0.25, 1.0)
    if rgb is not None:
        gain = gain * (1.0 - (1.0 - _SKIN_GAIN) * _skin(rgb))
    return _box(gain, _WINDOW)


def _skin(rgb: torch.Tensor) -> torch.Tensor:
    """Soft skin-tone likelihood from the classic YCbCr box (Chai and Ngan 1999), 0 to 1.

    Crude but cheap and independent of any face detector; it only lowers the mark's strength.
    """
    to_chroma = rgb.new_tensor(_RGB_TO_CBCR)
    chroma = torch.einsum("kc,tchw->tkhw", to_chroma, rgb) + 128.0
    cb, cr = chroma[:, 0:1], chroma[:, 1:2]
    inside = (cr > 133) & (cr < 173) & (cb > 77) & (cb < 127)
    return _box(inside.float(), _WINDOW)


def shaped(
    batch: Batch, device: torch.device, start: int = 0, stop: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Analysis-size luma and perceptual gain of frames [start, stop), each (T, 1, h, w).

    The one place frames become what the mark is shaped on: embedding and the master's
    reference must agree exactly.
    """
    height, width = batch.array.shape[1:3]
    size = analysis_size(height, width)
    frames = batch.array[start:stop]
    if device.type == "cpu" and size != (height, width):
        # OpenCV's area resize reads uint8/uint16 directly: on a CPU it is several times
        # faster than converting a full-size frame to float for torch first.
        frames = np.stack([cv2.resize(f, size[::-1], interpolation=cv2.INTER_AREA) for f in frames])
    pixels = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    pixels = (pixels.permute(0, 3, 1, 2) if batch.rgb else pixels[:, None]).float()
    if pixels.shape[2:] != size:
        pixels = F.interpolate(pixels, size=size, mode="area")
    pixels = pixels / batch.scale
    if batch.rgb:
        weights = torch.from_numpy(LUMA_WEIGHTS).to(device)[None]
        luma = torch.einsum("kc,tchw->tkhw", weights, pixels)
    else:
        luma = pixels
    # The gain is smooth, so it is worked out at half the analysis size (a quarter of the
    # cost) and scaled back up.
    half = (max(1, size[0] // 2), max(1, size[1] // 2))
    gain = perceptual_mask(
        _resize(luma, half, "area"), _resize(pixels, half, "area") if batch.rgb else None
    )
    return luma, _resize(gain, size, "bilinear")

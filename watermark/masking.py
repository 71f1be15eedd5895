"""Perceptual shaping: how much mark each part of a picture can hide.

Texture masks a small luminance change, flat areas and gentle gradients (sky, skin) show it,
and near-black or near-white areas would clip it. The mask is computed on an analysis-size
copy of the picture (at most 320 px wide, five pixels to a pattern cell: the mark is smooth at
that scale, and texture there is what hides it), and the same function serves embedding and
informed extraction, where it weights the matched filter with the master's own mask.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from watermark.frames import LUMA_WEIGHTS, Batch

ANALYSIS_WIDTH = 320
_WINDOW = 5
# Local standard deviation (8-bit levels) at which the mark has full strength; flatter areas
# get less, busier ones up to _MAX_GAIN times more.
_TEXTURE_REFERENCE = 8.0
_MIN_GAIN, _MAX_GAIN = 0.3, 1.8
_SKIN_GAIN = 0.5


def analysis_size(height: int, width: int) -> tuple[int, int]:
    """The (height, width) marks are shaped at: the frame itself, or at most 320 px wide."""
    if width <= ANALYSIS_WIDTH:
        return height, width
    return max(1, round(height * ANALYSIS_WIDTH / width)), ANALYSIS_WIDTH


def _box(x: torch.Tensor, size: int) -> torch.Tensor:
    """Mean over a size x size window, edges mirrored, as two 1-D passes (much faster on CPU)."""
    half = size // 2
    x = F.pad(x, (half, half, half, half), mode="replicate")
    x = F.avg_pool2d(x, (1, size), stride=1)
    return F.avg_pool2d(x, (size, 1), stride=1)


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
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
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
    pixels = torch.from_numpy(batch.array[start:stop]).to(device)
    pixels = (pixels.permute(0, 3, 1, 2) if batch.rgb else pixels[:, None]).float()
    if size != (height, width):
        pixels = F.interpolate(pixels, size=size, mode="area")
    pixels = pixels / batch.scale
    if not batch.rgb:
        return pixels, perceptual_mask(pixels)
    weights = torch.from_numpy(LUMA_WEIGHTS).to(device).view(1, 3, 1, 1)
    luma = (pixels * weights).sum(dim=1, keepdim=True)
    return luma, perceptual_mask(luma, pixels)

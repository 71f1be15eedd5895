"""Perceptual fingerprints: a few bytes per frame that survive what a leak goes through.

Per frame: luma; black bars (letterbox, pillarbox) stripped; the central 60% kept (a suspect
is read through windows that undo crops of 10% and 25% anywhere, `suspect_windows`); shrunk
to 32x32 by area averaging;
mirrored onto itself (so a flipped copy has the same fingerprint); the low-frequency DCT
coefficients that a mirror-symmetric picture has (even horizontal frequencies), without the
mean, scaled to unit length. Brightness offsets vanish with the mean, contrast with the
scaling, re-encoding and downscaling with the area averaging; what is left is the layout of
light and dark, which is what a viewer sees. 64 coefficients per frame: their signs are the
frame's 64-bit hash, used to look it up; the values are used to confirm a match.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 32  # side of the working picture
CENTRE = 0.6  # share of width and height kept around the centre, for masters
_BAR_LEVEL, _BAR_SPREAD, _MAX_BAR = 24.0, 8.0, 0.3
_WORKING = 256  # px: pictures are shrunk to this width before windowing
# Low frequencies with even horizontal index (the mirror-symmetric ones), DC left out.
_ROWS, _COLS = np.meshgrid(np.arange(9), np.arange(0, 16, 2), indexing="ij")
_ORDER = np.argsort((_ROWS + _COLS // 2).ravel(), kind="stable")
_PICK = (_ROWS.ravel()[_ORDER][1:65], _COLS.ravel()[_ORDER][1:65])
BITS = 64


Window = tuple[float, float, float]  # centre x, centre y (fractions of the picture), side share
MASTER_WINDOW: Window = (0.5, 0.5, CENTRE)
CROPS = (0.1, 0.25)  # crops (share of width and height removed) a suspect is searched for


def signatures(frames: np.ndarray, window: Window = MASTER_WINDOW) -> np.ndarray:
    """(N, 64) float32 unit vectors for RGB uint8 frames (N, H, W, 3) or grey (N, H, W),
    from `window` of each picture (the central 60% for a master)."""
    return window_signatures(frames, [window])[0]


def window_signatures(frames: np.ndarray, windows: list[Window]) -> np.ndarray:
    """(len(windows), N, 64): the signatures of every frame through every window, each
    frame's picture prepared once."""
    out = np.zeros((len(windows), len(frames), BITS), np.float32)
    for index, frame in enumerate(frames):
        picture = _prepared(frame)
        for w, window in enumerate(windows):
            out[w, index] = _signature(_window(picture, window))
    return out


def suspect_windows() -> list[Window]:
    """Where a master's window may lie in a suspect cropped by up to CROPS, anywhere: for a
    crop keeping (1 - f) of each side, the window is CENTRE / (1 - f) of the suspect, its
    centre anywhere from (0.5 - f) / (1 - f) to 0.5 / (1 - f)."""
    windows = [MASTER_WINDOW]
    for f in CROPS:
        reach = f / 2 / (1 - f)
        for dx in (-reach, 0.0, reach):
            for dy in (-reach, 0.0, reach):
                windows.append((0.5 + dx, 0.5 + dy, min(1.0, CENTRE / (1 - f))))
    return windows


def hashes(signature_rows: np.ndarray) -> np.ndarray:
    """The 64-bit hash of each signature: bit i set where coefficient i is positive."""
    bits = (signature_rows > 0).astype(np.uint64)
    return (bits << np.arange(BITS, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)


def _prepared(frame: np.ndarray) -> np.ndarray:
    """Luma without black bars, shrunk to at most _WORKING px wide (area averaging)."""
    if frame.ndim == 3:
        frame = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    picture = _without_bars(frame.astype(np.float32))
    scale = _WORKING / max(picture.shape[1], 1)
    if scale < 1:
        picture = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return picture


def _signature(picture: np.ndarray) -> np.ndarray:
    small = cv2.resize(picture, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    symmetric = (small + small[:, ::-1]) / 2
    coefficients = cv2.dct(symmetric)[_PICK]
    norm = float(np.linalg.norm(coefficients))
    return coefficients / norm if norm > 1e-6 else np.zeros(BITS, np.float32)


def _without_bars(luma: np.ndarray) -> np.ndarray:
    """The picture inside black bars: edge rows and columns that are dark and flat."""
    height, width = luma.shape
    dark_rows = (luma.mean(axis=1) < _BAR_LEVEL) & (luma.std(axis=1) < _BAR_SPREAD)
    dark_cols = (luma.mean(axis=0) < _BAR_LEVEL) & (luma.std(axis=0) < _BAR_SPREAD)
    top, bottom = _bar(dark_rows), _bar(dark_rows[::-1])
    left, right = _bar(dark_cols), _bar(dark_cols[::-1])
    if top + bottom > _MAX_BAR * 2 * height or left + right > _MAX_BAR * 2 * width:
        return luma  # a dark scene, not bars
    return luma[top : height - bottom, left : width - right]


def _bar(dark: np.ndarray) -> int:
    """How many leading entries are dark."""
    light = np.flatnonzero(~dark)
    return int(light[0]) if light.size else 0


def _window(luma: np.ndarray, window: Window) -> np.ndarray:
    """The part of the picture `window` covers, clipped to the picture."""
    cx, cy, side = window
    height, width = luma.shape
    half_w, half_h = width * side / 2, height * side / 2
    x0, x1 = max(0, round(cx * width - half_w)), min(width, round(cx * width + half_w))
    y0, y1 = max(0, round(cy * height - half_h)), min(height, round(cy * height + half_h))
    return luma[y0:y1, x0:x1]

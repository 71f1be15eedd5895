"""Where an edited leak (a trailer, a reel) cuts from one shot to another.

A cut is a frame whose picture jumps away from the frame before: its perceptual signature
(the layout of light and dark, detect/fingerprint.py) changes far more than between the
frames around it, and its luma histogram changes too. Judged against the neighbours, not an
absolute level, so a cut between two takes of the same set (same people, same light) is
found, while a shaky camcorder copy, whose every frame differs from the last, is not cut up.
Each stretch between cuts is then traced on its own: the marks of different copies, or of
different renders, must not be pooled into one test.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from detect.fingerprint import signatures

_LAYOUT_JUMP = 0.15  # least 1 - cosine of consecutive signatures at a cut
_HISTOGRAM_JUMP = 0.05  # least Hellinger distance of consecutive luma histograms at a cut
_OUTLIER = 6.0  # times the typical change around it that a cut's change must exceed
_AROUND = 6  # frame changes either side that say what is typical there
_BINS = 32


def cuts(frames: np.ndarray) -> list[int]:
    """Indices of the frames that start a new shot (never 0), for RGB or grey frames."""
    if len(frames) < 2:
        return []
    layout = signatures(frames, (0.5, 0.5, 1.0))
    layout_change = 1.0 - (layout[1:] * layout[:-1]).sum(axis=1)
    histograms = np.stack([_histogram(frame) for frame in frames])
    histogram_change = np.array(
        [
            cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA)
            for a, b in itertools.pairwise(histograms)
        ]
    )
    jumps = _jumps(layout_change, _LAYOUT_JUMP) & _jumps(histogram_change, _HISTOGRAM_JUMP)
    return [int(i) + 1 for i in np.flatnonzero(jumps)]


def segments(frames: np.ndarray, shortest: int = 1) -> list[tuple[int, int]]:
    """The shots of a clip as [start, end) frame ranges. A stretch shorter than `shortest`
    frames joins the one before it (a flash frame or two is not a shot of its own)."""
    bounds = [0]
    for cut in cuts(frames):
        if cut - bounds[-1] >= shortest:
            bounds.append(cut)
    if len(bounds) > 1 and len(frames) - bounds[-1] < shortest:
        bounds.pop()
    return list(zip(bounds, [*bounds[1:], len(frames)], strict=True))


def _jumps(change: np.ndarray, least: float) -> np.ndarray:
    """Where a change is at least `least` and an outlier against the changes around it."""
    typical = np.empty_like(change)
    for i in range(len(change)):
        around = np.r_[change[max(0, i - _AROUND) : i], change[i + 1 : i + 1 + _AROUND]]
        typical[i] = np.median(around) if around.size else 0.0
    return (change >= least) & (change > _OUTLIER * typical)


def _histogram(frame: np.ndarray) -> np.ndarray:
    luma = (
        cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    )
    histogram = cv2.calcHist([luma], [0], None, [_BINS], [0, 256])
    return cv2.normalize(histogram, histogram, norm_type=cv2.NORM_L1)

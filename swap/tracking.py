"""Faces followed through a shot, so a swap sits still on a face that sits still.

Detection (dlib's HOG, about 0.1 s a 640x480 frame) runs every `detect_every` frames. In
between, each face is followed: pyramidal Lucas-Kanade flow moves its landmarks to the new
frame, the box moves with their median and scales with their spread, and the shape predictor
(about 2 ms) fits fresh landmarks in that box. Raw landmarks shake by a pixel or two from
frame to frame even on a still face; a one-euro filter (Casiez et al., CHI 2012) smooths them
strongly when the face is still and hardly at all when it moves, so there is neither jitter
nor lag. A face the detector misses at one detection frame is followed on; missed twice in a
row, it is dropped (it has left the shot or turned away).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from swap.errors import SwapError
from swap.faces import Face, FaceAnalyser, check_image

_MATCH_IOU = 0.3  # a detection continues a track when their boxes overlap this much
_MAX_MISSES = 1  # detection rounds a track may go unconfirmed before it is dropped
_LK = {
    "winSize": (21, 21),
    "maxLevel": 3,
    "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01),
}


class OneEuroFilter:
    """One-euro smoothing of a point set, speeds measured in face sizes per frame.

    `min_cutoff` (cycles per frame) sets the smoothing of a still face; `beta` how quickly
    the cutoff opens as the face moves. One speed for the whole face keeps its shape rigid.
    """

    def __init__(self, min_cutoff: float = 0.02, beta: float = 8.0, d_cutoff: float = 0.1):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._value: np.ndarray | None = None
        self._speed = 0.0

    def __call__(self, points: np.ndarray, scale: float) -> np.ndarray:
        points = points.astype(np.float64)
        if self._value is None:
            self._value = points
            return points.astype(np.float32)
        step = float(np.mean(np.linalg.norm(points - self._value, axis=1))) / max(scale, 1.0)
        self._speed += _alpha(self.d_cutoff) * (step - self._speed)
        cutoff = self.min_cutoff + self.beta * self._speed
        self._value = self._value + _alpha(cutoff) * (points - self._value)
        return self._value.astype(np.float32)


def _alpha(cutoff: float) -> float:
    """The exponential smoothing factor of a first-order low-pass at `cutoff` (one frame apart)."""
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau)


@dataclass
class _Track:
    box: np.ndarray  # left, top, right, bottom as floats
    score: float
    raw: np.ndarray  # the latest unsmoothed landmarks, which flow follows
    smoother: OneEuroFilter = field(default_factory=OneEuroFilter)
    misses: int = 0
    smoothed: np.ndarray | None = None

    def update(self, box: np.ndarray, landmarks: np.ndarray) -> None:
        self.box, self.raw = box, landmarks
        self.smoothed = self.smoother(landmarks, scale=_size(box))

    def face(self) -> Face:
        box = tuple(round(v) for v in self.box)
        return Face(box, self.score, self.smoothed)  # type: ignore[arg-type]


class FaceTracker:
    """Call `track` once per frame, in order; `reset` before another shot."""

    def __init__(self, analyser: FaceAnalyser, detect_every: int = 5) -> None:
        if detect_every < 1:
            raise SwapError(f"detect_every must be 1 or more, got {detect_every}")
        self.analyser, self.detect_every = analyser, detect_every
        self.reset()

    def reset(self) -> None:
        self._tracks: list[_Track] = []
        self._previous: np.ndarray | None = None
        self._index = 0

    def track(self, frame: np.ndarray) -> list[Face]:
        """The faces in this frame, largest first, landmarks smoothed over the shot so far."""
        frame = check_image(frame)
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if self._previous is not None and self._previous.shape != grey.shape:
            raise SwapError("frame size changed mid-shot", "reset the tracker between shots")
        followed = [t for t in self._tracks if self._follow(t, frame, grey)]
        if self._index % self.detect_every == 0 or len(followed) < len(self._tracks):
            followed = self._confirm(followed, frame)
        self._tracks, self._previous = followed, grey
        self._index += 1
        return sorted((t.face() for t in followed), key=lambda f: -f.size)

    def _follow(self, track: _Track, frame: np.ndarray, grey: np.ndarray) -> bool:
        """Move a track to this frame by optical flow; False when the flow is lost."""
        if self._previous is None:
            return False
        start = track.raw.reshape(-1, 1, 2).astype(np.float32)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(self._previous, grey, start, None, **_LK)
        good = status.ravel() == 1
        if good.sum() < len(good) // 2:
            return False
        before, after = start[good, 0], moved[good, 0]
        shift = np.median(after - before, axis=0)
        zoom = _spread(after) / max(_spread(before), 1e-6)
        box = _moved_box(track.box, shift, zoom)
        track.update(box, self.analyser.landmarks(frame, tuple(np.round(box).astype(int))))
        return True

    def _confirm(self, tracks: list[_Track], frame: np.ndarray) -> list[_Track]:
        """Detect afresh: detections continue the tracks they overlap or start new ones;
        tracks no detection confirms count a miss and are dropped after too many."""
        kept: list[_Track] = []
        unmatched = list(tracks)
        for face in self.analyser.detect(frame):
            box = np.asarray(face.box, dtype=np.float64)
            match = max(unmatched, key=lambda t: _iou(t.box, box), default=None)
            if match is not None and _iou(match.box, box) >= _MATCH_IOU:
                unmatched.remove(match)
                match.misses, match.score = 0, face.score
                match.update(box, face.landmarks)
                kept.append(match)
            else:
                fresh = _Track(box, face.score, face.landmarks)
                fresh.update(box, face.landmarks)
                kept.append(fresh)
        for track in unmatched:
            track.misses += 1
            if track.misses <= _MAX_MISSES:
                kept.append(track)
        return kept


def landmark_jitter(landmarks: list[np.ndarray]) -> float:
    """Shake of a face's landmarks through a shot: their mean acceleration from frame to
    frame (motion at a steady speed costs nothing), in per cent of the face's width."""
    points = np.stack(landmarks).astype(np.float64)
    acceleration = points[2:] - 2 * points[1:-1] + points[:-2]
    return float(np.linalg.norm(acceleration, axis=2).mean() / np.ptp(points[0][:, 0]) * 100)


def _size(box: np.ndarray) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def _spread(points: np.ndarray) -> float:
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def _moved_box(box: np.ndarray, shift: np.ndarray, zoom: float) -> np.ndarray:
    centre = (box[:2] + box[2:]) / 2 + shift
    half = (box[2:] - box[:2]) / 2 * zoom
    return np.concatenate([centre - half, centre + half])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    overlap = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    union = (a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - overlap
    return float(overlap / union) if union > 0 else 0.0

"""The training-free backend: one reference portrait, warped onto the actor face by face.

Per face: the actor's landmarks, with a forehead added and the inner features moved part way
to the reference's proportions (swap/warp.py), are the goal; Delaunay triangles (computed once
on the reference) warp the reference piecewise-affinely onto it; Reinhard colour transfer in
Lab matches the actor's skin and light; the actor's own eyes and inner mouth, warped to the
goal, are kept so the expression stays; Poisson blending (seamless clone) inside the feathered
hull hides the seam. Pixels outside the hull are returned unchanged, exactly.
Needs 68-point landmarks (see swap/models.py for that model's licence).
"""

from __future__ import annotations

import cv2
import numpy as np

from swap.colour import transfer_colour
from swap.errors import SwapError
from swap.faces import MIN_FACE, DlibAnalyser, Face, FaceAnalyser, check_image, reference_face
from swap.tracking import FaceTracker
from swap.warp import (
    INNER_MOUTH,
    LEFT_EYE,
    RIGHT_EYE,
    delaunay,
    reshaped,
    warp_triangles,
    with_forehead,
)

_REFERENCE_FACE = 320  # px: the reference face is kept at most this large
# How far the actor's features move toward the reference's proportions. More gives a stronger
# likeness and a larger change in the measured head pose (benchmarks/bench_swap.py).
SHAPE_STRENGTH = 0.4


class LandmarkSwap:
    """Frames in, frames out: every tracked face large enough gets the reference's face.

    Call it on a clip's batches in order (faces are tracked across them) and `reset` it
    between clips; `swap_frame` does one picture on its own."""

    def __init__(
        self,
        reference: np.ndarray,
        analyser: FaceAnalyser | None = None,
        detect_every: int = 5,
        shape_strength: float = SHAPE_STRENGTH,
    ) -> None:
        self.analyser = analyser or DlibAnalyser(points=68)
        face = reference_face(self.analyser, check_image(reference))
        if face.landmarks.shape[0] != 68:
            raise SwapError("the landmark swap needs 68-point landmarks", "use points=68")
        if not 0 <= shape_strength <= 1:
            raise SwapError(f"shape strength must be between 0 and 1, got {shape_strength}")
        self.shape_strength = shape_strength
        self.reference, self._source = _scaled_reference(reference, face)
        self._outline = with_forehead(self._source)
        self._triangles = delaunay(self._outline, self.reference.shape)
        self.tracker = FaceTracker(self.analyser, detect_every)

    def reset(self) -> None:
        self.tracker.reset()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return np.stack([self.swap_frame(frame, self.tracker.track(frame)) for frame in frames])

    def swap_frame(self, frame: np.ndarray, faces: list[Face] | None = None) -> np.ndarray:
        """One RGB frame with each face replaced (detected here unless given); a frame with
        none is returned as is."""
        frame = check_image(frame)
        out = frame
        for face in self.analyser.detect(frame) if faces is None else faces:
            if face.size >= MIN_FACE:
                out = self._swap_one(out, face.landmarks)
        return out

    def _swap_one(self, frame: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Swap one face, working only in a box around it (the rest of the frame is copied)."""
        x0, y0, x1, y1 = _region(target, frame.shape)
        roi = frame[y0:y1, x0:x1]
        swapped = self._swap_region(roi, target - np.float32([x0, y0]))
        if swapped is roi:
            return frame
        out = frame.copy()
        out[y0:y1, x0:x1] = swapped
        return out

    def _swap_region(self, roi: np.ndarray, actor: np.ndarray) -> np.ndarray:
        goal = reshaped(actor, self._source, self.shape_strength)
        outline = with_forehead(goal)
        warped, covered = warp_triangles(
            self.reference, self._outline, outline, self._triangles, roi.shape
        )
        mask = _hull_mask(outline, roi.shape) & covered
        if mask.sum() < 100:
            return roi
        keep = _feature_weight(goal, roi.shape)
        warped = transfer_colour(warped, roi, mask & (keep == 0))
        # The actor's own eyes and inner mouth, moved with the reshaped features.
        own, _ = warp_triangles(roi, with_forehead(actor), outline, self._triangles, roi.shape)
        canvas = warped * (1 - keep[..., None]) + own * keep[..., None]
        canvas = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
        return _blend(canvas, roi, mask)


def _blend(canvas: np.ndarray, roi: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Poisson-blend `canvas` into `roi` inside `mask`, feathered; outside it `roi` as is."""
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    try:
        blended = cv2.seamlessClone(
            canvas, roi, mask.astype(np.uint8) * 255, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE
        )
    except cv2.error:  # a face at the frame's edge: blend by the feathered mask alone
        blended = canvas
    alpha = (cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0) * mask)[..., None]
    out = roi.astype(np.float32) * (1 - alpha) + blended * alpha
    return np.where(mask[..., None], np.clip(out + 0.5, 0, 255).astype(np.uint8), roi)


def _region(points: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The landmarks' bounding box with a margin for blending, clipped to the frame."""
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    margin = 0.15 * max(right - left, bottom - top) + 8
    height, width = shape[:2]
    return (
        int(np.clip(left - margin, 0, width)),
        int(np.clip(top - margin, 0, height)),
        int(np.clip(right + margin + 1, 0, width)),
        int(np.clip(bottom + margin + 1, 0, height)),
    )


def _scaled_reference(image: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray]:
    """The reference shrunk (area-averaged) so its face is at most _REFERENCE_FACE px: a
    large portrait warped straight down to a small face would alias."""
    scale = min(1.0, _REFERENCE_FACE / max(face.size, 1))
    if scale == 1.0:
        return image, face.landmarks
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return small, face.landmarks * np.float32(scale)


def _hull_mask(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The outline's convex hull, shrunk a little so the seam falls inside the face."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.int32(np.round(points))), 1)
    size = max(3, int(0.03 * np.ptp(points[:, 0])) | 1)
    return cv2.erode(mask, np.ones((size, size), np.uint8)).astype(bool)


def _feature_weight(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """1 over the actor's eyes and inner mouth (grown a little), fading to 0 around them."""
    mask = np.zeros(shape[:2], np.float32)
    for part in (RIGHT_EYE, LEFT_EYE, INNER_MOUTH):
        cv2.fillPoly(mask, [np.int32(np.round(points[list(part)]))], 1.0)
    sigma = max(1.0, 0.015 * float(np.ptp(points[:, 0])))
    return np.clip(cv2.GaussianBlur(mask, (0, 0), sigma) * 2, 0, 1)

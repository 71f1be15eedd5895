"""The training-free backend: one reference portrait, warped onto the actor face by face.

Per face: Delaunay triangles over the 68 landmarks (computed once on the reference) warp the
reference piecewise-affinely onto the actor's landmarks; Reinhard colour transfer in Lab
matches the actor's skin and light; the mask is the landmarks' hull, feathered, with the
actor's own eyes and inner mouth cut out so their expression stays; Poisson blending
(seamless clone) hides the seam. Pixels outside the mask are returned unchanged, exactly.
Needs 68-point landmarks (see swap/models.py for that model's licence).
"""

from __future__ import annotations

import cv2
import numpy as np

from swap.errors import SwapError
from swap.faces import DlibAnalyser, Face, FaceAnalyser, check_image, reference_face

# 68-point indices (iBUG 300-W layout).
_RIGHT_EYE, _LEFT_EYE, _INNER_MOUTH = range(36, 42), range(42, 48), range(60, 68)
_MIN_FACE = 40  # px: smaller faces pass through (nothing to warp convincingly)


class LandmarkSwap:
    """Frames in, frames out: every face large enough gets the reference's face."""

    def __init__(self, reference: np.ndarray, analyser: FaceAnalyser | None = None) -> None:
        self.analyser = analyser or DlibAnalyser(points=68)
        self.reference = check_image(reference)
        face = reference_face(self.analyser, self.reference)
        if face.landmarks.shape[0] != 68:
            raise SwapError("the landmark swap needs 68-point landmarks", "use points=68")
        self._source = face.landmarks
        self._triangles = _delaunay(face.landmarks, self.reference.shape)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return np.stack([self.swap_frame(frame) for frame in frames])

    def swap_frame(self, frame: np.ndarray, faces: list[Face] | None = None) -> np.ndarray:
        """One RGB frame with each detected face replaced; a frame with none is returned as is."""
        frame = check_image(frame)
        out = frame
        for face in self.analyser.detect(frame) if faces is None else faces:
            if face.size >= _MIN_FACE:
                out = self._swap_one(out, face.landmarks)
        return out

    def _swap_one(self, frame: np.ndarray, target: np.ndarray) -> np.ndarray:
        warped, covered = _warp_triangles(
            self.reference, self._source, target, self._triangles, frame.shape
        )
        mask = _face_mask(target, frame.shape) & covered
        if mask.sum() < 100:
            return frame
        warped = _transfer_colour(warped, frame, mask)
        x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
        centre = (x + w // 2, y + h // 2)
        try:
            blended = cv2.seamlessClone(
                warped, frame, mask.astype(np.uint8) * 255, centre, cv2.NORMAL_CLONE
            )
        except cv2.error:  # a face at the frame's edge: blend by the feathered mask alone
            blended = warped
        alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0) * mask
        out = frame.astype(np.float32) * (1 - alpha[..., None]) + blended * alpha[..., None]
        return np.where(mask[..., None], np.clip(out + 0.5, 0, 255).astype(np.uint8), frame)


def _delaunay(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Triangles (as landmark index triples) of the Delaunay triangulation of `points`."""
    height, width = shape[:2]
    subdiv = cv2.Subdiv2D((0, 0, width, height))
    for x, y in points:
        subdiv.insert((float(np.clip(x, 0, width - 1)), float(np.clip(y, 0, height - 1))))
    triangles = []
    for t in subdiv.getTriangleList().reshape(-1, 3, 2):
        idx = [int(np.argmin(np.linalg.norm(points - v, axis=1))) for v in t]
        if len(set(idx)) == 3:
            triangles.append(idx)
    return np.array(triangles, dtype=np.int64)


def _warp_triangles(
    source: np.ndarray,
    src_pts: np.ndarray,
    dst_pts: np.ndarray,
    triangles: np.ndarray,
    shape: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """The source warped triangle by triangle onto the target's landmarks, and where it lands."""
    out = np.zeros(shape, dtype=np.float32)
    covered = np.zeros(shape[:2], dtype=bool)
    for tri in triangles:
        s, d = np.float32(src_pts[tri]), np.float32(dst_pts[tri])
        x, y, w, h = cv2.boundingRect(d)
        if w <= 0 or h <= 0:
            continue
        affine = cv2.getAffineTransform(s, d - np.float32([x, y]))
        patch = cv2.warpAffine(
            source, affine, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        tri_mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(tri_mask, np.int32(np.round(d - [x, y])), 1)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, shape[1]), min(y + h, shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        inside = tri_mask[y0 - y : y1 - y, x0 - x : x1 - x].astype(bool)
        region = out[y0:y1, x0:x1]
        region[inside] = patch[y0 - y : y1 - y, x0 - x : x1 - x][inside]
        covered[y0:y1, x0:x1] |= inside
    return np.clip(out, 0, 255).astype(np.uint8), covered


def _face_mask(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The landmarks' hull, shrunk a little, without the eyes and the inner mouth."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.int32(np.round(points))), 1)
    for part in (_RIGHT_EYE, _LEFT_EYE, _INNER_MOUTH):
        cv2.fillPoly(mask, [np.int32(np.round(points[list(part)]))], 0)
    size = max(3, int(0.03 * np.ptp(points[:, 0])) | 1)
    return cv2.erode(mask, np.ones((size, size), np.uint8)).astype(bool)


def _transfer_colour(warped: np.ndarray, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reinhard et al. 2001: match the warped face's Lab mean and spread to the actor's."""
    src = cv2.cvtColor(warped, cv2.COLOR_RGB2LAB).astype(np.float32)
    dst = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = src[mask].mean(axis=0), src[mask].std(axis=0) + 1e-6
    d_mean, d_std = dst[mask].mean(axis=0), dst[mask].std(axis=0)
    matched = (src - s_mean) * (d_std / s_std) + d_mean
    return cv2.cvtColor(np.clip(matched, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)

"""Face analysis behind one small interface: find faces, their landmarks, their identity.

The built-in analyser is dlib's: the HOG frontal-face detector (with its score, so weak
detections can be dropped), the 68- or 5-point shape predictors, and the ResNet identity
model whose 128-d embeddings are 0.6 apart or more for different people. Another analyser
(a GPU detector, say) plugs in by implementing `FaceAnalyser`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import dlib
import numpy as np

from swap.errors import SwapError
from swap.models import IDENTITY, SHAPE_5, SHAPE_68, model_path

# dlib's own rule of thumb: embeddings of one person are closer than this.
SAME_PERSON_DISTANCE = 0.6
# px: smaller faces pass through every backend (too few pixels to redraw convincingly).
MIN_FACE = 40


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face: box (left, top, right, bottom), detector score, landmarks (N, 2)."""

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray

    @property
    def size(self) -> int:
        left, top, right, bottom = self.box
        return max(right - left, bottom - top)


class FaceAnalyser(Protocol):
    def detect(self, image: np.ndarray) -> list[Face]: ...

    def landmarks(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray: ...

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray: ...


class DlibAnalyser:
    """dlib's detector, shape predictor (68 points, or 5 for the unrestricted model) and
    identity network. Images are RGB uint8 (H, W, 3)."""

    def __init__(self, points: int = 68, min_score: float = 0.0, upsample: int = 1) -> None:
        if points not in (5, 68):
            raise SwapError(f"{points}-point landmarks are not available", "use 68 or 5")
        self.points, self.min_score, self.upsample = points, min_score, upsample
        self._detector = dlib.get_frontal_face_detector()
        self._shape = _shape_predictor(SHAPE_68 if points == 68 else SHAPE_5)

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces above `min_score`, largest first."""
        image = check_image(image)
        rects, scores, _ = self._detector.run(image, self.upsample, self.min_score)
        faces = [
            Face(
                (r.left(), r.top(), r.right(), r.bottom()),
                float(score),
                _points(self._shape(image, r)),
            )
            for r, score in zip(rects, scores, strict=True)
        ]
        return sorted(faces, key=lambda f: -f.size)

    def landmarks(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The landmarks (N, 2) of the face in `box`: cheap next to detection, so a tracker
        calls this between detections."""
        return _points(self._shape(check_image(image), dlib.rectangle(*map(int, box))))

    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The 128-d identity embedding of `face` (computed from its 5- or 68-point shape)."""
        image = check_image(image)
        left, top, right, bottom = face.box
        shape = self._shape(image, dlib.rectangle(left, top, right, bottom))
        return np.asarray(_identity().compute_face_descriptor(image, shape), dtype=np.float64)


def reference_face(analyser: FaceAnalyser, image: np.ndarray) -> Face:
    """The one face of a reference image, or a SwapError if it has none or several."""
    faces = analyser.detect(image)
    if not faces:
        raise SwapError("no face found in the reference image", "use a clear frontal portrait")
    if len(faces) > 1:
        raise SwapError(
            f"the reference image shows {len(faces)} faces", "crop it to the one face wanted"
        )
    return faces[0]


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance of two embeddings: below SAME_PERSON_DISTANCE, likely one person."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def check_image(image: np.ndarray) -> np.ndarray:
    """An RGB uint8 picture, contiguous (dlib needs it), or a one-line SwapError."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise SwapError(f"an image must be RGB (H, W, 3), got {shape}")
    if image.dtype != np.uint8:
        raise SwapError(f"an image must be uint8, got {image.dtype}")
    return np.ascontiguousarray(image)


def _points(shape: dlib.full_object_detection) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


@functools.cache
def _shape_predictor(name: str) -> dlib.shape_predictor:
    return dlib.shape_predictor(str(model_path(name)))


@functools.cache
def _identity() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(str(model_path(IDENTITY)))

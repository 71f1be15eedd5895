"""Face analysis (swap/faces.py) on the real portraits in ../shared/data/faces."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from swap import (
    SAME_PERSON_DISTANCE,
    DlibAnalyser,
    SwapError,
    identity_distance,
    reference_face,
)
from swap.models import SHAPE_5, model_path

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
needs_faces = pytest.mark.skipif(not FACES.exists(), reason="../shared/data/faces is absent")


@cache
def analyser(points: int = 68) -> DlibAnalyser:
    return DlibAnalyser(points=points)


@cache
def portrait(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(FACES / name)), cv2.COLOR_BGR2RGB)


def test_models_are_found_without_importing_their_package() -> None:
    assert model_path(SHAPE_5).stat().st_size > 1000


@needs_faces
@pytest.mark.parametrize("points", [68, 5])
def test_one_face_with_landmarks_inside_its_box(points: int) -> None:
    faces = analyser(points).detect(portrait("obama.jpg"))
    assert len(faces) == 1
    face = faces[0]
    left, top, right, bottom = face.box
    assert face.landmarks.shape == (points, 2)
    margin = 0.25 * face.size
    assert (face.landmarks[:, 0] > left - margin).all() and (
        face.landmarks[:, 0] < right + margin
    ).all()
    assert (face.landmarks[:, 1] > top - margin).all() and (
        face.landmarks[:, 1] < bottom + margin
    ).all()


@needs_faces
def test_two_people_are_two_faces_largest_first() -> None:
    faces = analyser().detect(portrait("two_people.jpg"))
    assert len(faces) == 2
    assert faces[0].size >= faces[1].size


@needs_faces
def test_identity_embedding_tells_people_apart() -> None:
    def embedding(name: str) -> np.ndarray:
        image = portrait(name)
        return analyser().embed(image, reference_face(analyser(), image))

    obama, obama2, biden = embedding("obama.jpg"), embedding("obama2.jpg"), embedding("biden.jpg")
    assert obama.shape == (128,)
    assert identity_distance(obama, obama2) < SAME_PERSON_DISTANCE
    assert identity_distance(obama, biden) > SAME_PERSON_DISTANCE


def test_no_face_is_an_empty_list_and_not_a_reference() -> None:
    texture = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert analyser().detect(texture) == []
    with pytest.raises(SwapError, match="no face found"):
        reference_face(analyser(), texture)


@needs_faces
def test_a_reference_with_several_faces_is_refused() -> None:
    with pytest.raises(SwapError, match="shows 2 faces"):
        reference_face(analyser(), portrait("two_people.jpg"))


def test_a_high_score_threshold_drops_weak_detections() -> None:
    if not FACES.exists():
        pytest.skip("../shared/data/faces is absent")
    strict = DlibAnalyser(min_score=5.0)
    assert strict.detect(portrait("obama.jpg")) == []


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((10, 10), np.uint8), "RGB"),
        (np.zeros((10, 10, 3), np.float32), "uint8"),
        (b"not an image", "RGB"),
    ],
)
def test_bad_images_get_a_one_line_error(image: object, message: str) -> None:
    with pytest.raises(SwapError, match=message):
        analyser().detect(image)  # type: ignore[arg-type]


def test_unknown_landmark_count_is_refused() -> None:
    with pytest.raises(SwapError, match="use 68 or 5"):
        DlibAnalyser(points=17)

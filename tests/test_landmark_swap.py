"""The training-free landmark swap (swap/landmark.py) on the real portraits."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from swap import DlibAnalyser, SwapError, identity_distance
from swap.landmark import SHAPE_STRENGTH, LandmarkSwap
from swap.warp import reshaped, with_forehead

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"
pytestmark = pytest.mark.skipif(not FACES.exists(), reason="../shared/data/faces is absent")


@cache
def portrait(name: str) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(FACES / name)), cv2.COLOR_BGR2RGB)
    return cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


@cache
def obama_swap() -> LandmarkSwap:
    return LandmarkSwap(portrait("obama.jpg"))


@cache
def swapped_biden() -> np.ndarray:
    return obama_swap().swap_frame(portrait("biden.jpg"))


def embedding(image: np.ndarray) -> np.ndarray:
    analyser = obama_swap().analyser
    return analyser.embed(image, analyser.detect(image)[0])


def test_identity_moves_towards_the_reference() -> None:
    target = embedding(portrait("obama.jpg"))
    before = identity_distance(embedding(portrait("biden.jpg")), target)
    after = identity_distance(embedding(swapped_biden()), target)
    assert after < 0.7 * before


def test_only_pixels_inside_the_actors_face_change() -> None:
    actor = portrait("biden.jpg")
    face = DlibAnalyser().detect(actor)[0]
    hull = np.zeros(actor.shape[:2], np.uint8)
    outline = with_forehead(reshaped(face.landmarks, obama_swap()._source, SHAPE_STRENGTH))
    cv2.fillConvexPoly(hull, cv2.convexHull(np.int32(np.round(outline))), 1)
    changed = (swapped_biden() != actor).any(axis=2)
    assert changed.sum() > 1000
    assert not (changed & ~hull.astype(bool)).any()


def test_frames_without_faces_pass_through_unchanged() -> None:
    empty = np.full((120, 160, 3), 90, np.uint8)
    frames = np.stack([empty, empty])
    assert np.array_equal(obama_swap()(frames), frames)


def test_a_reference_without_exactly_one_face_is_refused() -> None:
    with pytest.raises(SwapError, match="no face found"):
        LandmarkSwap(np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(SwapError, match="shows 2 faces"):
        LandmarkSwap(portrait("two_people.jpg"))


def test_five_point_landmarks_are_refused_for_this_backend() -> None:
    with pytest.raises(SwapError, match="68-point"):
        LandmarkSwap(portrait("obama.jpg"), analyser=DlibAnalyser(points=5))

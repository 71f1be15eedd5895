"""Head pose from 68 landmarks: yaw, pitch and roll in degrees, for checking that a swap
keeps the actor's pose and for picking frontal frames.

A six-point generic head (nose tip, chin, outer eye corners, mouth corners; millimetres, the
usual anthropometric averages) is fitted to the landmarks with solvePnP under a pinhole camera
whose focal length is the image width. The absolute angles are rough (no calibration, one
average head); differences between two fits of the same face are what they are good for.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

_MODEL = np.array(
    [
        (0.0, 0.0, 0.0),  # nose tip (30)
        (0.0, -63.6, -12.5),  # chin (8)
        (-43.3, 32.7, -26.0),  # right eye, outer corner (36)
        (43.3, 32.7, -26.0),  # left eye, outer corner (45)
        (-28.9, -28.9, -24.1),  # right mouth corner (48)
        (28.9, -28.9, -24.1),  # left mouth corner (54)
    ]
)
_POINTS = [30, 8, 36, 45, 48, 54]


def head_pose(landmarks: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of the face whose 68 landmarks are given, in an image of
    `image_size` (height, width). Yaw is 0 for a face looking into the camera."""
    height, width = image_size
    camera = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1]], np.float64)
    image_points = landmarks[_POINTS].astype(np.float64)
    _, rotation, _ = cv2.solvePnP(_MODEL, image_points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    matrix, _ = cv2.Rodrigues(rotation)
    return _euler(matrix)


def _euler(matrix: np.ndarray) -> tuple[float, float, float]:
    """Yaw (about y), pitch (about x) and roll (about z) of a rotation matrix, in degrees."""
    yaw = math.degrees(math.asin(-float(np.clip(matrix[2, 0], -1, 1))))
    pitch = math.degrees(math.atan2(matrix[2, 1], matrix[2, 2]))
    roll = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    return yaw, _wrapped(pitch), roll


def _wrapped(angle: float) -> float:
    """Pitch near ±180° is the same head seen with the axis flipped: bring it near 0."""
    return angle - 180.0 if angle > 90 else angle + 180.0 if angle < -90 else angle

"""Aligned face crops: every face rotated, scaled and centred onto one canonical layout.

The autoencoder only ever sees faces in this canonical frame, so extraction (for training)
and inference must crop identically: both go through `alignment` and `crop`. A crop goes
back into its frame with `paste_back`, which leaves every pixel its weights do not reach
exactly as it was.
"""

from __future__ import annotations

import cv2
import numpy as np

from swap.errors import SwapError

PADDING = 0.15  # share of the crop's side left around the template's landmarks, each side

# Mean 68-point face (iBUG 300-W layout) in the unit square: the Procrustes mean of dlib's
# landmarks on the portraits and footage in shared/data, each face also mirrored, so the
# template is left-right symmetric. Alignment only needs one consistent reference shape.
_TEMPLATE_68 = np.array(
    [
        [0.000, 0.306], [0.006, 0.423], [0.020, 0.542], [0.039, 0.660], [0.074, 0.771],
        [0.143, 0.861], [0.244, 0.921], [0.364, 0.959], [0.499, 0.971], [0.635, 0.960],
        [0.755, 0.921], [0.856, 0.862], [0.925, 0.772], [0.960, 0.661], [0.979, 0.543],
        [0.993, 0.424], [1.000, 0.307], [0.095, 0.137], [0.152, 0.066], [0.238, 0.029],
        [0.332, 0.029], [0.417, 0.058], [0.583, 0.059], [0.669, 0.029], [0.762, 0.030],
        [0.849, 0.067], [0.905, 0.138], [0.500, 0.169], [0.500, 0.232], [0.500, 0.291],
        [0.500, 0.357], [0.405, 0.469], [0.453, 0.478], [0.500, 0.486], [0.547, 0.478],
        [0.595, 0.469], [0.191, 0.227], [0.243, 0.191], [0.304, 0.188], [0.364, 0.221],
        [0.306, 0.235], [0.243, 0.239], [0.636, 0.221], [0.696, 0.189], [0.757, 0.191],
        [0.809, 0.227], [0.757, 0.239], [0.695, 0.235], [0.320, 0.660], [0.388, 0.602],
        [0.453, 0.573], [0.500, 0.582], [0.547, 0.573], [0.612, 0.603], [0.680, 0.660],
        [0.613, 0.687], [0.548, 0.695], [0.500, 0.697], [0.451, 0.695], [0.386, 0.686],
        [0.349, 0.655], [0.453, 0.627], [0.500, 0.629], [0.547, 0.627], [0.650, 0.655],
        [0.547, 0.636], [0.500, 0.641], [0.453, 0.636],
    ]
)  # fmt: skip

# dlib's 5-point layout (two corners of each eye, the base of the nose) placed where the same
# faces' 5-point landmarks land once aligned by their 68 points: crops agree between layouts.
_TEMPLATE_5 = np.array(
    [[0.808, 0.221], [0.633, 0.212], [0.192, 0.220], [0.368, 0.212], [0.5, 0.476]]
)

# The jawline slides along the cheek as the head turns, so the 68-point fit uses the inner
# face only (brows, nose, eyes, mouth), as DeepFaceLab does.
_FIT_68 = slice(17, 68)

# Crop pixels between a mask's border and the first non-zero blend weight: more than the
# reach of bilinear interpolation plus the polygon fill's rounding.
_MARGIN = 3

# Sub-pixel polygon filling: OpenCV's fixed-point vertices with this many fractional bits.
_SHIFT = 4


def template(points: int, size: int) -> np.ndarray:
    """Where a face's `points` (68 or 5) landmarks sit in a `size`-pixel aligned crop."""
    if points == 68:
        unit = _TEMPLATE_68
    elif points == 5:
        unit = _TEMPLATE_5
    else:
        raise SwapError(f"{points}-point landmarks cannot be aligned", "use 68 or 5 points")
    return (unit * (1 - 2 * PADDING) + PADDING) * size


def alignment(landmarks: np.ndarray, size: int) -> np.ndarray:
    """The 2x3 similarity taking frame coordinates to a `size`-pixel aligned crop: the least-
    squares fit (Umeyama 1991) of the landmarks onto the template."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise SwapError(f"landmarks must be (N, 2), got {points.shape}")
    target = template(len(points), size)
    fit = _FIT_68 if len(points) == 68 else slice(None)
    return similarity(points[fit], target[fit])


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Closed-form least-squares similarity (rotation, uniform scale, shift) from src to dst."""
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    src_var = (src_c**2).sum() / len(src)
    if src_var < 1e-6:
        raise SwapError("the landmarks are all at one point", "check the face analyser")
    u, s, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    # A reflection would fit a mirrored face better but is not a similarity: flip it away.
    d = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / src_var
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Points (N, 2) mapped by a 2x3 affine matrix."""
    return np.asarray(points, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]


def crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The `size`-pixel aligned crop of `image` under `matrix` (from `alignment`)."""
    # Shrinking a face by warping alone samples it sparsely and aliases: warp at a whole
    # multiple of the size instead, then average the pixels down.
    scale = np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    factor = max(1, int(np.ceil(1 / scale - 1e-6)))
    if factor == 1:
        return _warp(image, matrix, size)
    big = matrix * factor
    big[:, 2] += (factor - 1) / 2  # pixel centres of the small crop inside the big one
    return cv2.resize(_warp(image, big, size * factor), (size, size), interpolation=cv2.INTER_AREA)


def _warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
    )


def hull_mask(landmarks: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The face's landmark hull in its aligned crop, as float32 0/1 (size, size).

    Five points span only eyes and nose, so for them the template face's outline stands in.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    outline = transform(points, matrix) if len(points) == 68 else template(68, size)
    mask = np.zeros((size, size), np.float32)
    hull = cv2.convexHull(np.int32(np.round(outline * (1 << _SHIFT))))
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Blend weights from a [0, 1] mask: 1 deep inside, fading over about `radius` pixels to
    exactly 0 a few pixels inside the border, so warping the weights back to the frame
    (bilinear: 1.4 crop pixels of reach) cannot carry them outside the mask."""
    hard = (np.asarray(mask) >= 0.5).astype(np.uint8)
    inner = cv2.erode(hard, _disc(_MARGIN))
    core = cv2.erode(hard, _disc(max(1, round(2 * radius))))
    soft = cv2.GaussianBlur(core.astype(np.float32), (0, 0), max(radius, 0.5))
    return soft * inner


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def paste_back(
    frame: np.ndarray, face: np.ndarray, weights: np.ndarray, matrix: np.ndarray
) -> np.ndarray:
    """`frame` with an aligned crop `face` (uint8) blended back in by `weights` ([0, 1], crop-
    sized), undoing `matrix`. Pixels the weights do not reach are the frame's, exactly."""
    height, width = frame.shape[:2]
    size = face.shape[0]
    inverse = cv2.invertAffineTransform(matrix)
    corners = transform(np.array([[0, 0], [size, 0], [0, size], [size, size]]), inverse)
    # Only the crop's footprint is warped: the rest of a large frame is not touched at all.
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 1, 0, [width, height])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 1, 0, [width, height])
    if x1 <= x0 or y1 <= y0:
        return frame
    inverse[:, 2] -= (x0, y0)
    box = (int(x1 - x0), int(y1 - y0))
    flags = {"flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_CONSTANT, "borderValue": 0}
    face_back = cv2.warpAffine(face, inverse, box, **flags).astype(np.float32)
    alpha = cv2.warpAffine(weights.astype(np.float32), inverse, box, **flags)[..., None]
    region = frame[y0:y1, x0:x1]
    blended = region * (1 - alpha) + face_back * alpha
    out = frame.copy()
    out[y0:y1, x0:x1] = np.where(alpha > 0, np.clip(blended + 0.5, 0, 255), region)
    return out

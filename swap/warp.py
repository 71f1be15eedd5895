"""Landmark geometry for the landmark swap: a forehead, a reshaped face, a piecewise warp.

The 68 landmarks stop at the eyebrows, yet the forehead and brow ridge carry much of a face's
identity; `with_forehead` adds ten points above the brows, a fixed fraction of the
brow-to-nose-tip height, so the warp covers it. `reshaped` moves the actor's features part of
the way to where the reference has them (the reference's proportions carry its identity too)
without touching expression: brows and nose move point by point, while each eye and the
mouth move as rigid groups, keeping the actor's blink and speech. The jawline stays the actor's,
so the face still fits the head.
"""

from __future__ import annotations

import cv2
import numpy as np

from swap.align import similarity, transform

# 68-point indices (iBUG 300-W layout).
JAW, BROWS, NOSE = range(0, 17), range(17, 27), range(27, 36)
RIGHT_EYE, LEFT_EYE, MOUTH, INNER_MOUTH = range(36, 42), range(42, 48), range(48, 68), range(60, 68)
_NOSE_TIP = 30
_FOREHEAD_HEIGHT = 0.3  # of the brow-to-nose-tip height
# Points a similarity fit between two faces rests on: eye corners and the nose, which an
# expression barely moves.
_STABLE = [36, 39, 42, 45, 27, 28, 29, 30, 31, 33, 35]
# Each group's width, measured corner to corner, sets its scale (a blink changes its height).
_GROUP_CORNERS = {RIGHT_EYE: (36, 39), LEFT_EYE: (42, 45), MOUTH: (48, 54)}


def with_forehead(points: np.ndarray) -> np.ndarray:
    """The 68 landmarks and ten forehead points above the brows (78 in all)."""
    up = points[list(BROWS)].mean(axis=0) - points[_NOSE_TIP]
    forehead = points[list(BROWS)] + _FOREHEAD_HEIGHT * up
    return np.concatenate([points, forehead]).astype(np.float32)


def reshaped(actor: np.ndarray, reference: np.ndarray, strength: float) -> np.ndarray:
    """The actor's 68 landmarks with the inner features moved `strength` (0..1) of the way to
    the reference's proportions, set on the actor's face by a similarity fit."""
    if strength <= 0:
        return actor
    # Least squares, not RANSAC: a random inlier set would make the face shake frame to frame.
    placed = transform(reference, similarity(reference[_STABLE], actor[_STABLE]))
    goal = actor.astype(np.float64).copy()
    for group in (BROWS, NOSE):
        goal[list(group)] = placed[list(group)]
    for group, (a, b) in _GROUP_CORNERS.items():
        goal[list(group)] = _moved_rigidly(actor, placed, list(group), a, b)
    return (actor + strength * (goal - actor)).astype(np.float32)


def _moved_rigidly(
    actor: np.ndarray, placed: np.ndarray, group: list[int], a: int, b: int
) -> np.ndarray:
    """The actor's group, its shape kept, moved and scaled to the reference's position and width."""
    scale = np.linalg.norm(placed[b] - placed[a]) / max(np.linalg.norm(actor[b] - actor[a]), 1e-6)
    centre, goal_centre = actor[group].mean(axis=0), placed[group].mean(axis=0)
    return goal_centre + (actor[group] - centre) * scale


def delaunay(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
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


def warp_triangles(
    source: np.ndarray,
    src_pts: np.ndarray,
    dst_pts: np.ndarray,
    triangles: np.ndarray,
    shape: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """The source warped triangle by triangle onto `dst_pts`, and the pixels it covers."""
    out = np.zeros(shape, dtype=np.uint8)
    covered = np.zeros(shape[:2], dtype=bool)
    for tri in triangles:
        s, d = np.float32(src_pts[tri]), np.float32(dst_pts[tri])
        x, y, w, h = cv2.boundingRect(d)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, shape[1]), min(y + h, shape[0])
        if x1 <= x0 or y1 <= y0:
            continue
        # Warping only the source triangle's own box is what keeps this fast.
        sx, sy, sw, sh = _clipped_rect(s, source.shape)
        affine = cv2.getAffineTransform(s - np.float32([sx, sy]), d - np.float32([x, y]))
        patch = cv2.warpAffine(
            source[sy : sy + sh, sx : sx + sw],
            affine,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,  # REFLECT loops for long on far points
        )
        tri_mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(tri_mask, np.int32(np.round(d - [x, y])), 1)
        inside = tri_mask[y0 - y : y1 - y, x0 - x : x1 - x].astype(bool)
        out[y0:y1, x0:x1][inside] = patch[y0 - y : y1 - y, x0 - x : x1 - x][inside]
        covered[y0:y1, x0:x1] |= inside
    return out, covered


def _clipped_rect(points: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The points' bounding rect with a pixel to spare for interpolation, inside the image."""
    x, y, w, h = cv2.boundingRect(points)
    x0, y0 = max(x - 1, 0), max(y - 1, 0)
    x1, y1 = min(x + w + 1, shape[1]), min(y + h + 1, shape[0])
    return x0, y0, max(x1 - x0, 1), max(y1 - y0, 1)

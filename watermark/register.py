"""Registration: put each suspect frame back where it came from in the master.

Space: SIFT features of a few suspect frames (and of their mirror images, for a flipped copy)
are matched against keyframes of the master; each probe's best pair gives an affine candidate
by RANSAC. The candidates and the unchanged geometry compete on how well the whole clip then
matches the master, and ECC refines the winner to a homography (scale, crop, letterbox, small
rotation and perspective: a camcorder's view of a screen is a homography). Time: every suspect
frame, warped into the master's geometry, is compared with every master frame (thumbnails,
then full pictures between neighbours), and a dynamic programme finds the best non-decreasing
frame map: it absorbs a trimmed start, dropped frames and frame-rate changes. Geometry and
time are in analysis-size pixels, where the mark is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from watermark.reference import Reference, thumbnails, unit_rows

_SAMPLES = 24  # master keyframes searched for the first spatial match
# Approximate nearest neighbours (randomised k-d trees): brute force over thousands of SIFT
# descriptors per pair was most of extraction's time.
_MATCHER = cv2.FlannBasedMatcher({"algorithm": 1, "trees": 4}, {"checks": 48})
_PROBES = 3  # suspect frames used to estimate geometry
_RATIO = 0.85  # Lowe's ratio test, loose: RANSAC removes what it lets through
_MIN_INLIERS = 12
_MIN_SIMILARITY = 0.5  # median NCC below which the suspect is not this master
_MAX_STEP = 3  # master frames one suspect frame may advance: speed-ups up to 3x
_DRIFT_COST = 0.0005  # NCC units per frame away from the expected frame-rate line
_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 50.0, 60.0)
_SAME_PICTURE = 0.002  # thumbnail NCC within which two matches are the same picture
_REFINE = 4  # master frames either side of the coarse match compared in full


@dataclass(frozen=True)
class Registration:
    """How a suspect maps onto the master (all coordinates at analysis size)."""

    homography: np.ndarray  # 3x3, suspect pixel -> master pixel
    flipped: bool
    frame_map: np.ndarray  # master frame index of each suspect frame
    inliers: int
    similarity: np.ndarray  # NCC of each suspect frame with its matched master frame
    # Shifts of the whole frame map that match the picture as well (a static shot, a repeat):
    # the picture cannot choose between them, the mark's timing can.
    shifts: np.ndarray
    suspect_size: tuple[int, int]  # (height, width) of the suspect at analysis size
    master_size: tuple[int, int]  # the same for the master

    def to_json(self) -> dict[str, object]:
        return {
            "flipped": self.flipped,
            "inliers": self.inliers,
            "homography": np.round(self.homography, 5).tolist(),
            "first_master_frame": int(self.frame_map[0]),
            "last_master_frame": int(self.frame_map[-1]),
            "median_similarity": round(float(np.median(self.similarity)), 4),
            "equivalent_shifts": int(self.shifts.size),
        }


def register(
    suspect: np.ndarray,
    reference: Reference,
    probes: Sequence[np.ndarray],
    suspect_fps: float | None = None,
) -> Registration | None:
    """Register suspect analysis luma (T, h, w) to the reference; None when nothing matches.

    `probes[i]` is suspect frame i at detail size (made on demand: only a few are used).

    Two hypotheses compete, judged by how well the whole clip then matches in time: the
    geometry is unchanged (re-encodes, grading, rescaling, which analysis size undoes), or
    it is what the features say. Feature matches on a busy or repetitive picture can be
    confidently wrong; the picture-wide match cannot.
    """
    candidates = []
    if _same_aspect(suspect.shape[1:], reference.size):
        candidates.append((_scaling(suspect.shape[1:], reference.size), False, 0))
    candidates.extend(_feature_geometry(suspect, probes, reference))
    best: Registration | None = None
    for homography, flipped, inliers in candidates:
        attempt = _fit(suspect, reference, homography, suspect_fps, flipped, inliers)
        if best is None or _match(attempt) > _match(best):
            best = attempt
    if best is None or _match(best) < _MIN_SIMILARITY:
        return None
    return best


def _match(registration: Registration) -> float:
    """Median similarity of the clip under a registration. A geometry that leaves the master
    uncovered has no similarity (NaN): taken first, no comparison with it could replace it."""
    median = float(np.median(registration.similarity)) if registration.similarity.size else -1.0
    return median if np.isfinite(median) else -1.0


def _fit(
    suspect: np.ndarray,
    reference: Reference,
    homography: np.ndarray,
    suspect_fps: float | None,
    flipped: bool,
    inliers: int,
) -> Registration:
    """Align in time under a geometry, refine the geometry on a matched pair, align again."""
    frame_map, similarity, shifts = _align_in_time(suspect, reference, homography, suspect_fps)
    middle = len(suspect) // 2
    refined = _refine(suspect[middle], reference.luma[frame_map[middle]], homography)
    # A sub-pixel change cannot move the match in time; a larger one can.
    if _corner_shift(refined, homography, suspect.shape[1:]) > 0.5:
        frame_map, similarity, shifts = _align_in_time(suspect, reference, refined, suspect_fps)
    return Registration(
        refined, flipped, frame_map, inliers, similarity, shifts, suspect.shape[1:], reference.size
    )


def _corner_shift(a: np.ndarray, b: np.ndarray, shape: tuple[int, int]) -> float:
    """Largest distance (pixels) between where two homographies put the frame's corners."""
    height, width = shape
    corners = np.float32([[0, 0], [width, 0], [0, height], [width, height]]).reshape(-1, 1, 2)
    return float(
        np.abs(cv2.perspectiveTransform(corners, a) - cv2.perspectiveTransform(corners, b)).max()
    )


def _same_aspect(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs(a[1] / a[0] - b[1] / b[0]) < 0.01 * (b[1] / b[0])


def _scaling(source: tuple[int, int], target: tuple[int, int]) -> np.ndarray:
    """Pixel-centre map between two sizes of one picture: x' = (x + 0.5) s - 0.5."""
    sx, sy = target[1] / source[1], target[0] / source[0]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def _feature_geometry(
    suspect: np.ndarray, probes: Sequence[np.ndarray], reference: Reference
) -> list[tuple[np.ndarray, bool, int]]:
    """Candidate geometries (analysis coordinates) from SIFT, the suspect as is or mirrored.

    Features come from detail-size pictures: the suspect's probe frames and the master's
    keyframes. Each probe's best keyframe by RANSAC inliers gives one candidate: on a flat
    or repetitive picture (parking lines, a brick wall) a wrong pair can still agree on a
    wrong geometry, so the caller judges candidates on the whole clip.
    """
    cv2.setRNGSeed(0)  # FLANN's trees and RANSAC draw at random: one suspect, one report
    sift = cv2.SIFT_create(nfeatures=1500, contrastThreshold=0.01)
    keys = sorted(reference.keyframes)
    keys = [keys[k] for k in np.unique(np.linspace(0, len(keys) - 1, _SAMPLES).astype(int))]
    master_features = [(j, _features(sift, reference.keyframes[j])) for j in keys]
    candidates = []
    for probe in _probe_indices(len(probes)):
        image = probes[probe]
        best: tuple[np.ndarray, bool, int, int] | None = None
        for flipped in (False, True):
            features = _features(sift, image[:, ::-1] if flipped else image)
            for j, master in master_features:
                found = _affine(features, master, image.shape[1], flipped)
                if found and (best is None or found[1] > best[2]):
                    best = (found[0], flipped, found[1], j)
        if best is not None:
            affine, flipped, inliers, j = best
            to_analysis = _scaling(image.shape, suspect.shape[1:])
            from_analysis = _scaling(reference.keyframes[j].shape, reference.size)
            homography = from_analysis @ affine @ np.linalg.inv(to_analysis)
            candidates.append((homography / homography[2, 2], flipped, inliers))
    return _distinct(candidates, reference.size)


def _distinct(
    candidates: list[tuple[np.ndarray, bool, int]], size: tuple[int, int]
) -> list[tuple[np.ndarray, bool, int]]:
    """Drop candidates within a pixel of a better one."""
    kept: list[tuple[np.ndarray, bool, int]] = []
    for candidate in sorted(candidates, key=lambda c: -c[2]):
        if all(_corner_shift(candidate[0], other[0], size) > 1.0 for other in kept):
            kept.append(candidate)
    return kept


def warp(frame: np.ndarray, homography: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A suspect frame resampled into master coordinates (size = (height, width))."""
    return cv2.warpPerspective(
        np.float32(frame), homography, (size[1], size[0]), flags=cv2.INTER_LINEAR
    )


def valid_area(shape: tuple[int, int], homography: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """1 where master pixels are covered by the suspect, with a margin off the edges."""
    ones = np.ones(shape, dtype=np.float32)
    covered = cv2.warpPerspective(ones, homography, (size[1], size[0]), flags=cv2.INTER_NEAREST)
    return cv2.erode(covered, np.ones((5, 5), np.uint8))


def _probe_indices(count: int) -> list[int]:
    return sorted({round(float(f) * (count - 1)) for f in np.linspace(0.2, 0.8, _PROBES)})


def _features(sift: cv2.SIFT, image: np.ndarray) -> tuple[list, np.ndarray | None]:
    return sift.detectAndCompute(np.ascontiguousarray(image), None)


def _good_matches(a: np.ndarray | None, b: np.ndarray | None) -> list[cv2.DMatch]:
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return []
    pairs = _MATCHER.knnMatch(a, b, k=2)
    return [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]


def _affine(
    suspect: tuple, master: tuple, width: int, flipped: bool
) -> tuple[np.ndarray, int] | None:
    """RANSAC affine map, suspect detail pixel -> master detail pixel, and its inliers.

    Affine, not a full homography: few matches on a flat picture make 8 parameters wander;
    ECC adds the perspective afterwards, from the whole picture. Mirrored features are
    mapped back, so the result applies to the suspect as it is.
    """
    (kp_s, des_s), (kp_m, des_m) = suspect, master
    matches = _good_matches(des_s, des_m)
    if len(matches) < _MIN_INLIERS:
        return None
    source = np.float32([kp_s[m.queryIdx].pt for m in matches])
    if flipped:
        source[:, 0] = width - 1 - source[:, 0]
    target = np.float32([kp_m[m.trainIdx].pt for m in matches])
    affine, inlier_mask = cv2.estimateAffine2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=3.0, maxIters=2000
    )
    if affine is None or int(inlier_mask.sum()) < _MIN_INLIERS:
        return None
    return np.vstack([affine, [0.0, 0.0, 1.0]]), int(inlier_mask.sum())


def _refine(suspect: np.ndarray, master: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """Sub-pixel homography by maximising the correlation coefficient (Evangelidis, ECC).

    At five pixels to a pattern cell, a pixel of misregistration leaks picture into the
    residual; ECC is invariant to brightness and contrast, so it converges on re-graded
    copies too. Keeps the estimate it was given when ECC does not converge.
    """
    warp_matrix = np.linalg.inv(homography).astype(np.float32)  # ECC warps master -> suspect
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 60, 1e-5)
    try:
        _, warp_matrix = cv2.findTransformECC(
            np.float32(master),
            np.float32(suspect),
            warp_matrix,
            cv2.MOTION_HOMOGRAPHY,
            criteria,
            None,
            5,
        )
    except cv2.error:
        return homography
    refined = np.linalg.inv(warp_matrix.astype(np.float64))
    return refined / refined[2, 2]


def _align_in_time(
    suspect: np.ndarray,
    reference: Reference,
    homography: np.ndarray,
    suspect_fps: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Master frame for each suspect frame, the NCC of each match, and equally good shifts.

    Coarse to fine: thumbnails against every master frame find the neighbourhood; full
    analysis-size pictures then decide between neighbours, which a re-encoded thumbnail
    cannot tell apart in slow motion.
    """
    size = reference.size
    valid = valid_area(suspect.shape[1:], homography, size)
    warped = np.stack([warp(frame, homography, size) for frame in suspect])
    rate = reference.fps / suspect_fps if reference.fps and suspect_fps else None
    coarse = thumbnails(warped, valid) @ thumbnails(reference.luma, valid).T  # (S, M)
    rough, _ = _monotone_path(coarse, rate)
    keep = valid > 0
    windows = [np.arange(max(0, j - _REFINE), min(len(reference), j + _REFINE + 1)) for j in rough]
    needed = np.unique(np.concatenate(windows))
    masters = unit_rows(reference.luma[needed][:, keep].astype(np.float32))
    suspects = unit_rows(warped[:, keep])
    # One matrix product for every pair is far cheaper than gathering each frame's window.
    product = suspects @ masters.T
    fine = np.full_like(coarse, -1.0)
    for i, window in enumerate(windows):
        fine[i, window] = product[i, np.searchsorted(needed, window)]
    frame_map, similarity = _monotone_path(fine, rate)
    return frame_map, similarity, _equivalent_shifts(coarse, frame_map)


def _equivalent_shifts(coarse: np.ndarray, frame_map: np.ndarray) -> np.ndarray:
    """Shifts d for which frame_map + d matches the thumbnails about as well as frame_map."""
    count, masters = coarse.shape
    shifts = np.arange(-int(frame_map.min()), masters - int(frame_map.max()))
    rows = np.arange(count)
    means = np.array([coarse[rows, frame_map + d].mean() for d in shifts])
    return shifts[means >= means[shifts == 0][0] - _SAME_PICTURE]


def _monotone_path(similarity: np.ndarray, rate: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Best non-decreasing map with steps of 0 to _MAX_STEP master frames per suspect frame.

    A weak pull towards the line the frame rates predict keeps a near-static shot, where
    every frame looks alike, from drifting; real motion outweighs it.
    """
    count, masters = similarity.shape
    cost = 1.0 - similarity
    if count > 1:
        offset, rate = _best_line(similarity, rate)
        line = offset + rate * np.arange(count)[:, None]
        cost = cost + _DRIFT_COST * np.abs(np.arange(masters)[None, :] - line)
    total = cost[0].copy()
    back = np.zeros((count, masters), dtype=np.int16)
    for i in range(1, count):
        options = np.full((_MAX_STEP + 1, masters), np.inf)
        for step in range(_MAX_STEP + 1):
            options[step, step:] = total[: masters - step]
        back[i] = options.argmin(axis=0)
        total = options.min(axis=0) + cost[i]
    path = np.zeros(count, dtype=np.int64)
    path[-1] = int(total.argmin())
    for i in range(count - 1, 0, -1):
        path[i - 1] = path[i] - back[i, path[i]]
    return path, similarity[np.arange(count), path]


def _best_line(similarity: np.ndarray, rate: float | None) -> tuple[float, float]:
    """The straight frame map (offset, rate) along which the suspect matches best.

    Summing similarity along whole lines, rather than trusting each frame's best match,
    is what keeps a shot that repeats itself (a loop, a reverse, a static stretch) from
    being matched to the wrong repeat. The rate is the one the frame rates give, or else the
    best of the common conversions between 23.976, 24, 25, 29.97, 30, 50 and 60 fps.
    """
    count, masters = similarity.shape
    rates = (
        [rate] if rate else sorted({a / b for a in _RATES for b in _RATES if a / b <= _MAX_STEP})
    )
    i = np.arange(count)
    best = (-np.inf, 0.0, 1.0)
    for r in rates:
        offsets = np.arange(-int(r * count), masters)
        j = np.rint(offsets[:, None] + r * i[None, :]).astype(np.int64)
        inside = (j >= 0) & (j < masters)
        values = np.where(inside, similarity[i[None, :], np.clip(j, 0, masters - 1)], 0.0)
        covered = inside.sum(axis=1)
        # Only lines covering most of the clip (or, for a clip longer than the master, as
        # much of it as any line can).
        enough = min(0.8 * count, covered.max())
        score = np.where(covered >= enough, values.sum(axis=1) / np.maximum(covered, 1), -1)
        k = int(score.argmax())
        if score[k] > best[0]:
            best = (float(score[k]), float(offsets[k]), float(r))
    return best[1], best[2]

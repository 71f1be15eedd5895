"""What a leak went through on its way out, read off its registration to the master.

The watermark's registration maps the suspect onto the master in space (a homography) and in
time (a master frame for every suspect frame). A security officer wants that in words: it was
cropped to 70% of the picture, scaled down to 400x300, mirrored, filmed off a screen, its frame
rate changed, frames dropped, the picture darkened. Each finding is derived from the
registration and the pictures, never assumed; a small tolerance keeps codec noise from
reading as an edit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from watermark import Registration

_AREA = 0.97  # share of the picture below which something was cut away or added
_SCALE = 0.03  # relative size change below which the picture was not scaled
_ROTATION = 1.0  # degrees
_PERSPECTIVE = 0.02  # corner displacement (share of the width) from projective terms
_RATE = 0.01  # relative frame-rate change
_BRIGHTNESS = 8.0  # levels of mean luma
_CONTRAST = 0.15  # relative change of the luma spread


@dataclass(frozen=True)
class Change:
    kind: str  # crop | letterbox | scale | mirror | rotation | perspective | excerpt | ...
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail}


@dataclass(frozen=True)
class Clip:
    """What registration needs to know of a clip besides its frames."""

    height: int
    width: int
    fps: float
    frames: int


def changes(
    registration: Registration,
    suspect: Clip,
    master: Clip,
    suspect_frame: np.ndarray,
    master_luma: np.ndarray,
) -> list[Change]:
    """Everything the suspect shows of having been edited, against the master.

    `suspect_frame` is the suspect's middle frame (RGB or grey, native size) and
    `master_luma` the master's analysis-size luma at the frame it was matched to.
    """
    found = _geometry(registration, suspect, master)
    found += _timing(registration, suspect, master)
    found += _tone(registration, suspect_frame, master_luma)
    return found


def _geometry(registration: Registration, suspect: Clip, master: Clip) -> list[Change]:
    homography = registration.homography / registration.homography[2, 2]
    s_h, s_w = registration.suspect_size
    m_h, m_w = registration.master_size
    shown = _overlap(_corners(s_w, s_h), homography, m_w, m_h)
    filled = _overlap(_corners(m_w, m_h), np.linalg.inv(homography), s_w, s_h)
    found = []
    if shown < _AREA:
        found.append(Change("crop", f"shows {shown:.0%} of the master's picture"))
    if filled < _AREA:
        found.append(Change("letterbox", f"the picture fills {filled:.0%} of the frame (bars)"))
    linear = (
        homography[:2, :2] @ np.diag([-1.0, 1.0]) if registration.flipped else homography[:2, :2]
    )
    # Master pixels per suspect pixel at native sizes: the analysis sizes cancel out.
    master_per_suspect = (
        np.sqrt(abs(np.linalg.det(linear))) * (master.width / m_w) / (suspect.width / s_w)
    )
    scale = 1.0 / master_per_suspect
    if abs(scale - 1.0) > _SCALE:
        found.append(
            Change(
                "scale",
                f"{scale:.0%} of the master's size ({suspect.width}x{suspect.height} from "
                f"{master.width}x{master.height})",
            )
        )
    if registration.flipped:
        found.append(Change("mirror", "flipped left to right"))
    angle = float(np.degrees(np.arctan2(linear[1, 0], linear[0, 0])))
    if abs(angle) > _ROTATION:
        found.append(Change("rotation", f"turned {angle:+.1f}°"))
    projective = abs(homography[2, 0]) * s_w**2 + abs(homography[2, 1]) * s_h * s_w
    if projective / s_w > _PERSPECTIVE:
        found.append(
            Change("perspective", "seen at an angle: filmed off a screen, or re-projected")
        )
    return found


def _timing(registration: Registration, suspect: Clip, master: Clip) -> list[Change]:
    first, last = int(registration.frame_map[0]), int(registration.frame_map[-1])
    found = []
    if first > 0 or last < master.frames - 1:
        found.append(
            Change(
                "excerpt",
                f"master frames {first}-{last} of {master.frames} "
                f"({(last - first + 1) / master.fps:.1f} s of {master.frames / master.fps:.1f} s)",
            )
        )
    if abs(suspect.fps / master.fps - 1.0) > _RATE:
        found.append(Change("frame rate", f"{master.fps:.3g} → {suspect.fps:.3g} frames/s"))
    steps = np.diff(registration.frame_map)
    expected = master.fps / suspect.fps
    missing = int(np.clip(steps - max(1, round(expected)), 0, None)[steps > 1.5 * expected].sum())
    if missing:
        found.append(Change("dropped frames", f"about {missing} master frames missing within it"))
    return found


def _tone(
    registration: Registration, suspect_frame: np.ndarray, master_luma: np.ndarray
) -> list[Change]:
    grey = suspect_frame
    if grey.ndim == 3:
        grey = cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_RGB2GRAY)
    s_h, s_w = registration.suspect_size
    m_h, m_w = registration.master_size
    small = cv2.resize(np.float32(grey), (s_w, s_h), interpolation=cv2.INTER_AREA)
    warped = cv2.warpPerspective(small, registration.homography, (m_w, m_h))
    covered = cv2.warpPerspective(np.ones_like(small), registration.homography, (m_w, m_h)) > 0.99
    if covered.sum() < 64:
        return []
    ours, theirs = np.float32(master_luma)[covered], warped[covered]
    found = []
    shift = float(theirs.mean() - ours.mean())
    if abs(shift) > _BRIGHTNESS:
        found.append(
            Change(
                "brightness", f"{'brighter' if shift > 0 else 'darker'} by {abs(shift):.0f} levels"
            )
        )
    spread = float(theirs.std() / max(ours.std(), 1e-6))
    if abs(spread - 1.0) > _CONTRAST:
        found.append(
            Change("contrast", f"{'more' if spread > 1 else 'less'} contrast ({spread:.2f}x)")
        )
    return found


def _corners(width: int, height: int) -> np.ndarray:
    return np.float32([[0, 0], [width, 0], [width, height], [0, height]]).reshape(-1, 1, 2)


def _overlap(corners: np.ndarray, homography: np.ndarray, width: int, height: int) -> float:
    """Share of a width x height rectangle covered by `corners` mapped through `homography`."""
    mapped = cv2.perspectiveTransform(corners, homography).astype(np.float32)
    # Hulls give both polygons the same winding, whatever a mirror did to it.
    area, _ = cv2.intersectConvexConvex(
        cv2.convexHull(mapped), cv2.convexHull(_corners(width, height))
    )
    return float(area) / (width * height)

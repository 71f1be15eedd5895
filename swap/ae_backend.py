"""The autoencoder backend: frames in, frames out, each tracked face redrawn as the target.

Per face: align a crop of the model's resolution, encode it and decode it with the target's
decoder (all a chunk's faces in batches, without gradients, in float16 on CUDA), match the
result's colour to the actor's crop (Reinhard in Lab), and blend it back through the
predicted mask intersected with the landmark hull, feathered inward. Pixels outside that
mask, and frames without a usable face, come back unchanged, exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
import torch

from swap.align import alignment, crop, feather, hull_mask, paste_back
from swap.autoencoder import FaceAutoencoder, load_checkpoint, mixed_precision, to_images, to_tensor
from swap.colour import transfer_colour
from swap.devices import select_device
from swap.errors import SwapError
from swap.faces import MIN_FACE, DlibAnalyser, Face, FaceAnalyser
from swap.tracking import FaceTracker

_MIN_MASK = 0.05  # share of the crop the blend mask must cover, or the face is left alone


class Tracker(Protocol):
    def track(self, frame: np.ndarray) -> list[Face]: ...

    def reset(self) -> None: ...


class _Job(NamedTuple):
    frame: int  # index in the chunk
    matrix: np.ndarray  # frame -> crop
    actor: np.ndarray  # the actor's aligned face
    hull: np.ndarray  # landmark hull in the crop


class AutoencoderSwap:
    """Frames in, frames out. Faces are encoded as they are (the `source` identity, the
    actor) and decoded as `target`. Call it on a clip's chunks in order; `reset` between
    clips. `model` is a checkpoint (path, or its bytes) or a loaded model; without a
    `tracker`, faces are followed by a FaceTracker over `analyser` (dlib, 68 points, by
    default) that detects every `detect_every` frames."""

    def __init__(
        self,
        model: FaceAutoencoder | str | Path | bytes,
        *,
        source: str = "actor",
        target: str = "target",
        analyser: FaceAnalyser | None = None,
        tracker: Tracker | None = None,
        detect_every: int = 5,
        device: str | torch.device = "auto",
        batch_size: int = 16,
        min_face: int = MIN_FACE,
    ) -> None:
        self.device = select_device(device)
        if isinstance(model, FaceAutoencoder):
            model = model.to(self.device)
        else:
            model = load_checkpoint(
                model if isinstance(model, bytes) else Path(model), self.device
            )[0]
        names = model.config.identities
        for name in (source, target):
            if name not in names:
                raise SwapError(f"the model has no {name!r} identity", f"use one of {names}")
        if source == target:
            raise SwapError(f"source and target are both {source!r}", "pick two identities")
        if batch_size < 1:
            raise SwapError(f"batch_size must be 1 or more, got {batch_size}")
        self.model = model.eval()
        self.source, self.target = source, target
        self.tracker = tracker or FaceTracker(analyser or DlibAnalyser(points=68), detect_every)
        self.batch_size, self.min_face = batch_size, min_face

    @property
    def resolution(self) -> int:
        return self.model.config.resolution

    def reset(self) -> None:
        """Forget the faces followed so far: call before a new clip or shot."""
        self.tracker.reset()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 frames of one clip, in order, with every face swapped."""
        frames = _check_frames(frames)
        return self.render(frames, [self.tracker.track(frame) for frame in frames])

    def render(self, frames: np.ndarray, faces: list[list[Face]]) -> np.ndarray:
        """`frames` with the given faces (a list per frame) swapped; no tracking."""
        frames = _check_frames(frames)
        if len(faces) != len(frames):
            raise SwapError(f"{len(frames)} frames but face lists for {len(faces)}")
        jobs = [
            self._job(index, frame, face)
            for index, (frame, found) in enumerate(zip(frames, faces, strict=True))
            for face in found
            if face.size >= self.min_face
        ]
        out = frames.copy()
        if not jobs:
            return out
        drawn, masks = self._draw(np.stack([job.actor for job in jobs]))
        for job, face, mask in zip(jobs, drawn, masks, strict=True):
            out[job.frame] = self._blend(out[job.frame], job, face, mask)
        return out

    def _job(self, index: int, frame: np.ndarray, face: Face) -> _Job:
        matrix = alignment(face.landmarks, self.resolution)
        hull = hull_mask(face.landmarks, matrix, self.resolution)
        return _Job(index, matrix, crop(frame, matrix, self.resolution), hull)

    def _draw(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The target's faces (K, R, R, 3) uint8 and masks (K, R, R) float for actor crops."""
        faces, masks = [], []
        with torch.inference_mode(), mixed_precision(self.device):
            for start in range(0, len(crops), self.batch_size):
                batch = to_tensor(crops[start : start + self.batch_size], self.device)
                rgb, mask = self.model(batch, self.target)
                faces.append(to_images(rgb))
                masks.append(mask[:, 0].float().cpu().numpy())
        return np.concatenate(faces), np.concatenate(masks)

    def _blend(
        self, frame: np.ndarray, job: _Job, face: np.ndarray, mask: np.ndarray
    ) -> np.ndarray:
        region = mask * job.hull
        inside = region >= 0.5
        if inside.mean() < _MIN_MASK:
            return frame
        face = transfer_colour(face, job.actor, inside)
        weights = feather(region, radius=self.resolution / 32)
        return paste_back(frame, face, weights, job.matrix)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[3] != 3:
        shape = getattr(frames, "shape", type(frames).__name__)
        raise SwapError(f"frames must be (N, H, W, 3), got {shape}")
    if frames.dtype != np.uint8:
        raise SwapError(f"frames must be uint8, got {frames.dtype}")
    return frames

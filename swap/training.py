"""Training the autoencoder: face sets from footage, augmentation, loss, the resumable loop.

Each identity's decoder learns to rebuild that person's aligned faces from a randomly
warped copy (DeepFaceLab's recipe): the warp keeps the shared encoder from memorising
pixels, so it has to learn the face. The colour loss (structural dissimilarity plus L1)
counts only the face (the landmark hull); the predicted mask is trained against that hull.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from swap.align import alignment, crop, hull_mask
from swap.autoencoder import (
    FaceAutoencoder,
    ModelConfig,
    load_checkpoint,
    mixed_precision,
    save_checkpoint,
    to_images,
    to_tensor,
)
from swap.devices import select_device
from swap.errors import SwapError
from swap.faces import FaceAnalyser, check_image
from swap.files import write_atomically

_PREVIEW_FACES = 4
_ROTATION, _ZOOM, _SHIFT = 10.0, 0.05, 0.05  # degrees, share of scale, share of size
_GRID_CELLS, _GRID_JITTER = 5, 0.03  # warp-grid knots a side; their spread, share of size


@dataclass(frozen=True, eq=False)
class FaceSet:
    """Aligned crops of one person, (K, S, S, 3) uint8, and their landmark hulls, (K, S, S)
    uint8 0 or 255."""

    faces: np.ndarray
    masks: np.ndarray

    def __post_init__(self) -> None:
        faces, masks = self.faces, self.masks
        if faces.dtype != np.uint8 or faces.ndim != 4 or faces.shape[3] != 3:
            raise SwapError(f"faces must be (K, S, S, 3) uint8, got {faces.shape} {faces.dtype}")
        if faces.shape[1] != faces.shape[2] or masks.shape != faces.shape[:3]:
            raise SwapError(f"faces {faces.shape} and masks {masks.shape} do not match")
        if masks.dtype != np.uint8:
            raise SwapError(f"masks must be uint8, got {masks.dtype}")

    def __len__(self) -> int:
        return len(self.faces)

    @property
    def size(self) -> int:
        return self.faces.shape[1]


@dataclass(frozen=True)
class TrainResult:
    step: int  # the checkpoint's step count now
    losses: list[float] = field(default_factory=list)  # one per step run by this call


def extract_faces(
    frames: Iterable[np.ndarray], analyser: FaceAnalyser, size: int, every: int = 1
) -> FaceSet:
    """The largest face of every `every`-th frame, aligned to `size` pixels, with its hull.
    Frames without a face are skipped; the set may be empty."""
    if every < 1 or size < 16:
        raise SwapError(f"every must be 1 or more and size 16 or more, got {every} and {size}")
    faces, masks = [], []
    for index, frame in enumerate(frames):
        if index % every:
            continue
        frame = check_image(frame)
        found = analyser.detect(frame)
        if found:
            matrix = alignment(found[0].landmarks, size)
            faces.append(crop(frame, matrix, size))
            masks.append(hull_mask(found[0].landmarks, matrix, size).astype(np.uint8) * 255)
    if not faces:
        return FaceSet(np.zeros((0, size, size, 3), np.uint8), np.zeros((0, size, size), np.uint8))
    return FaceSet(np.stack(faces), np.stack(masks))


def save_faceset(path: Path, faceset: FaceSet) -> None:
    """A face set as a compressed .npz, written atomically."""
    write_atomically(
        Path(path), lambda f: np.savez_compressed(f, faces=faceset.faces, masks=faceset.masks)
    )


def load_faceset(path: Path) -> FaceSet:
    """A face set written by `save_faceset`, or a one-line SwapError."""
    path = Path(path)
    if not path.is_file():
        raise SwapError(f"face set {path} does not exist", "extract one first or fix the path")
    try:
        with np.load(path, allow_pickle=False) as data:
            return FaceSet(data["faces"], data["masks"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise SwapError(f"{path} is not a readable face set", "extract it again") from exc


def random_warp(batch: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) for (B, S, S, C) uint8 images: each target is its image under a
    random similarity (rotation, zoom, shift); its input is that target further bent by a
    smooth random grid warp. Extra channels (a mask) move with the colour."""
    inputs, targets = np.empty_like(batch), np.empty_like(batch)
    size = batch.shape[1]
    for index, image in enumerate(batch):
        target = cv2.warpAffine(
            image, _random_similarity(size, rng), (size, size), borderMode=cv2.BORDER_REFLECT101
        )
        map_x, map_y = _random_grid(size, rng)
        bent = cv2.remap(target, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        targets[index], inputs[index] = target.reshape(image.shape), bent.reshape(image.shape)
    return inputs, targets


def _random_similarity(size: int, rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(-_ROTATION, _ROTATION)
    scale = 1 + rng.uniform(-_ZOOM, _ZOOM)
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-_SHIFT, _SHIFT, 2) * size
    return matrix


def _random_grid(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """remap() coordinates: the identity plus a displacement field interpolated (bicubic)
    from random offsets on a coarse grid whose outer knots stay put."""
    offsets = rng.normal(0, _GRID_JITTER * size, (2, _GRID_CELLS, _GRID_CELLS))
    offsets[:, [0, -1], :] = 0
    offsets[:, :, [0, -1]] = 0
    field_x, field_y = (
        cv2.resize(o.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
        for o in offsets
    )
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return x + field_x, y + field_y


def dssim_loss(
    a: torch.Tensor, b: torch.Tensor, kernel_size: int = 11, sigma: float = 1.5
) -> torch.Tensor:
    """Structural dissimilarity (1 - SSIM) / 2 of two (B, C, H, W) batches in [0, 1], with
    SSIM's Gaussian window (Wang et al. 2004) and its constants for a range of 1."""
    channels = a.shape[1]
    kernel_size = min(kernel_size, a.shape[-1], a.shape[-2])
    kernel_size -= 1 - kernel_size % 2  # an odd window fits a small image
    taps = torch.arange(kernel_size, device=a.device, dtype=a.dtype) - (kernel_size - 1) / 2
    line = torch.exp(-(taps**2) / (2 * sigma**2))
    window = torch.outer(line, line) / line.sum() ** 2
    window = window.expand(channels, 1, kernel_size, kernel_size)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=channels)

    mean_a, mean_b = blur(a), blur(b)
    var_a = blur(a * a) - mean_a**2
    var_b = blur(b * b) - mean_b**2
    covariance = blur(a * b) - mean_a * mean_b
    c1, c2 = 0.01**2, 0.03**2
    ssim = ((2 * mean_a * mean_b + c1) * (2 * covariance + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    return (1 - ssim.mean()) / 2


def face_loss(
    rgb: torch.Tensor, mask: torch.Tensor, target: torch.Tensor, hull: torch.Tensor
) -> torch.Tensor:
    """DSSIM + L1 on the face inside its hull, plus the mask's squared error to the hull."""
    rgb, target = rgb * hull, target * hull
    return dssim_loss(rgb, target) + F.l1_loss(rgb, target) + F.mse_loss(mask, hull)


def train(
    facesets: Mapping[str, FaceSet],
    config: ModelConfig,
    checkpoint: Path,
    steps: int,
    batch_size: int = 16,
    device: str | torch.device = "auto",
    *,
    resume: bool = True,
    save_every: int = 500,
    preview_every: int | None = None,
    preview_dir: Path | None = None,
    progress: Callable[[int, float], None] | None = None,
    seed: int = 0,
    learning_rate: float = 2e-4,
    compile_model: bool = False,
) -> TrainResult:
    """Train until the checkpoint's step count reaches `steps` (resuming from `checkpoint`
    when it exists and `resume` is set), saving every `save_every` steps and at the end."""
    device = select_device(device)
    data = _training_data(facesets, config)
    if batch_size < 1 or save_every < 1:
        raise SwapError(f"batch_size and save_every must be 1 or more: {batch_size}, {save_every}")
    if preview_every and preview_dir is None:
        raise SwapError("previews need a folder", "pass preview_dir")
    checkpoint = Path(checkpoint)
    model, optimizer_state, start = _starting_point(config, checkpoint, resume, device, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, betas=(0.5, 0.999))
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    # A resumed run draws other batches than the first run did, not the same ones again.
    rng = np.random.default_rng([seed, start])
    previews = _preview_faces(data, config, rng)
    forward = torch.compile(model) if compile_model else model
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")
    losses: list[float] = []
    for step in range(start + 1, steps + 1):
        loss = _step(forward, optimizer, scaler, data, batch_size, rng, device)
        losses.append(loss)
        if progress is not None:
            progress(step, loss)
        if step % save_every == 0 or step == steps:
            save_checkpoint(checkpoint, model, optimizer, step)
        if preview_every and step % preview_every == 0:
            _write_preview(model, previews, config, preview_dir / f"preview_{step:07d}.png")
    return TrainResult(max(start, steps), losses)


def _training_data(facesets: Mapping[str, FaceSet], config: ModelConfig) -> dict[str, np.ndarray]:
    """Per identity, its faces and hull as one (K, R, R, 4) uint8 array at the model's size."""
    if not facesets:
        raise SwapError("no face sets to train on", "give one per identity")
    data = {}
    for name, faceset in facesets.items():
        if name not in config.identities:
            raise SwapError(f"no decoder for {name!r}", f"name face sets {config.identities}")
        if not len(faceset):
            raise SwapError(f"the face set for {name!r} is empty", "extract faces from footage")
        stacked = np.concatenate([faceset.faces, faceset.masks[..., None]], axis=3)
        data[name] = np.stack([_resized(image, config.resolution) for image in stacked])
    return data


def _resized(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size:
        return image
    shrink = image.shape[0] > size
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


def _starting_point(
    config: ModelConfig, checkpoint: Path, resume: bool, device: torch.device, seed: int
) -> tuple[FaceAutoencoder, dict | None, int]:
    if resume and checkpoint.exists():
        model, optimizer_state, step, saved = load_checkpoint(
            checkpoint, device, resolution=config.resolution
        )
        if saved != config:
            raise SwapError(
                f"{checkpoint} was trained with other model settings ({saved})",
                "train with the same settings, or start a new checkpoint",
            )
        return model, optimizer_state, step
    torch.manual_seed(seed)
    return FaceAutoencoder(config).to(device), None, 0


def _step(
    model: Callable,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    data: dict[str, np.ndarray],
    batch_size: int,
    rng: np.random.Generator,
    device: torch.device,
) -> float:
    """One optimiser step over a batch of every identity; the summed loss."""
    optimizer.zero_grad(set_to_none=True)
    total = torch.zeros((), device=device)
    for name, faces in data.items():
        inputs, targets = random_warp(faces[rng.integers(0, len(faces), batch_size)], rng)
        inputs, targets = to_tensor(inputs[..., :3], device), to_tensor(targets, device)
        with mixed_precision(device):
            rgb, mask = model(inputs, name)
        total = total + face_loss(rgb.float(), mask.float(), targets[:, :3], targets[:, 3:])
    scaler.scale(total).backward()
    scaler.step(optimizer)
    scaler.update()
    return float(total.item())


def _preview_faces(
    data: dict[str, np.ndarray], config: ModelConfig, rng: np.random.Generator
) -> np.ndarray:
    """A fixed few of the first identity's faces, so successive previews compare."""
    faces = data.get(config.identities[0], next(iter(data.values())))
    chosen = rng.choice(len(faces), min(_PREVIEW_FACES, len(faces)), replace=False)
    return faces[np.sort(chosen), ..., :3]


def _write_preview(
    model: FaceAutoencoder, faces: np.ndarray, config: ModelConfig, path: Path
) -> None:
    """A PNG grid, a row per face: input | its reconstruction | it swapped to the second
    identity."""
    source, target = config.identities[:2]
    device = next(model.parameters()).device
    with torch.no_grad(), mixed_precision(device):
        batch = to_tensor(faces, device)
        columns = [faces, to_images(model(batch, source)[0]), to_images(model(batch, target)[0])]
    grid = np.concatenate([np.concatenate(row, axis=1) for row in zip(*columns, strict=True)])
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise SwapError(f"could not write the preview {path}", "check the folder is writable")

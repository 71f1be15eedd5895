"""The trainable autoencoder backend: alignment, face sets, training, checkpoints, swapping.

Real footage and portraits from ../shared/data; a tiny model (32 px) trains in seconds.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from swap.ae_backend import AutoencoderSwap
from swap.align import alignment, crop, feather, hull_mask, paste_back, template, transform
from swap.autoencoder import FaceAutoencoder, ModelConfig, load_checkpoint, save_checkpoint
from swap.errors import SwapError
from swap.faces import DlibAnalyser
from swap.tracking import FaceTracker
from swap.training import (
    FaceSet,
    TrainResult,
    dssim_loss,
    extract_faces,
    load_faceset,
    random_warp,
    save_faceset,
    train,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not (DATA / "footage" / "again.mkv").exists(), reason="../shared/data is absent"
)
TINY = ModelConfig(
    resolution=32, encoder_dims=(16, 32, 64, 128), bottleneck=64, decoder_dims=(64, 32, 16)
)
STEPS = 60


@cache
def clip(name: str, count: int) -> np.ndarray:
    with av.open(str(DATA / "footage" / f"{name}.mkv")) as container:
        decoded = itertools.islice(container.decode(video=0), count)
        frames = [frame.to_ndarray(format="rgb24") for frame in decoded]
    return np.stack(frames)


@cache
def portrait(name: str) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(DATA / "faces" / name)), cv2.COLOR_BGR2RGB)
    return cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


@cache
def analyser(points: int = 68) -> DlibAnalyser:
    return DlibAnalyser(points=points)


@cache
def facesets() -> dict[str, FaceSet]:
    return {
        "actor": extract_faces(clip("again", 24), analyser(), 64, every=3),
        "target": extract_faces(clip("book", 24), analyser(), 64, every=3),
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainResult]:
    folder = tmp_path_factory.mktemp("trained")
    result = train(
        facesets(),
        TINY,
        folder / "model.pt",
        STEPS,
        batch_size=8,
        device="cpu",
        preview_every=STEPS,
        preview_dir=folder / "previews",
    )
    return folder / "model.pt", result


def test_alignment_maps_landmarks_onto_the_template() -> None:
    for points in (68, 5):
        landmarks = analyser(points).detect(portrait("obama.jpg"))[0].landmarks
        matrix = alignment(landmarks, 64)
        inner = slice(17, 68) if points == 68 else slice(None)
        error = np.linalg.norm(transform(landmarks, matrix) - template(points, 64), axis=1)
        assert error[inner].mean() < 2.0  # px of a 64 px crop
        # The fit undoes a rotation, zoom and shift of the face, and never mirrors it.
        moved = cv2.getRotationMatrix2D((100, 50), 25, 1.7)
        undone = alignment(transform(landmarks, moved), 64)
        assert np.allclose(undone @ np.vstack([moved, [0, 0, 1]]), matrix, atol=1e-6)
        assert np.linalg.det(matrix[:, :2]) > 0
    # Five points span only eyes and nose; their stand-in outline matches the 68-point hull.
    hulls = [
        hull_mask(landmarks, alignment(landmarks, 64), 64).astype(bool)
        for landmarks in (analyser(p).detect(portrait("obama.jpg"))[0].landmarks for p in (68, 5))
    ]
    assert (hulls[0] & hulls[1]).sum() > 0.85 * (hulls[0] | hulls[1]).sum()
    with pytest.raises(SwapError, match="17-point"):
        alignment(np.zeros((17, 2)), 64)


def test_a_crop_pasted_back_restores_the_face_and_nothing_else() -> None:
    image = portrait("biden.jpg")
    landmarks = analyser().detect(image)[0].landmarks
    matrix = alignment(landmarks, 128)
    face = crop(image, matrix, 128)
    weights = feather(hull_mask(landmarks, matrix, 128), radius=4)
    inverted = paste_back(image, 255 - face, weights, matrix)
    changed = (inverted != image).any(axis=2)
    hull = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.int32(np.round(landmarks))), 1)
    assert changed.sum() > 0.5 * hull.sum()
    assert not (changed & ~hull.astype(bool)).any()
    restored = paste_back(image, face, weights, matrix)
    assert np.abs(restored.astype(int) - image).mean() < 0.5


def test_faces_are_extracted_from_footage_and_saved(tmp_path: Path) -> None:
    actor = facesets()["actor"]
    assert actor.faces.shape == (8, 64, 64, 3) and actor.faces.dtype == np.uint8
    covered = actor.masks.mean(axis=(1, 2)) / 255
    assert ((covered > 0.3) & (covered < 0.8)).all()  # the hull fills the middle of the crop
    save_faceset(tmp_path / "actor.npz", actor)
    loaded = load_faceset(tmp_path / "actor.npz")
    assert np.array_equal(loaded.faces, actor.faces) and np.array_equal(loaded.masks, actor.masks)
    (tmp_path / "junk.npz").write_bytes(b"not a face set")
    with pytest.raises(SwapError, match="not a readable face set"):
        load_faceset(tmp_path / "junk.npz")
    empty = extract_faces([np.full((120, 160, 3), 90, np.uint8)], analyser(), 64)
    assert len(empty) == 0


def test_random_warp_moves_every_channel_together() -> None:
    faces = facesets()["actor"]
    batch = np.concatenate([faces.faces, faces.faces[..., :1]], axis=3)
    inputs, targets = random_warp(batch, np.random.default_rng(1))
    assert np.array_equal(inputs[..., 3], inputs[..., 0])
    assert np.array_equal(targets[..., 3], targets[..., 0])
    assert (targets != batch).any(axis=(1, 2, 3)).all()
    assert (inputs != targets).any(axis=(1, 2, 3)).all()


def test_dssim_is_zero_for_equal_images_and_grows_with_difference() -> None:
    faces = torch.from_numpy(facesets()["actor"].faces).permute(0, 3, 1, 2).float() / 255
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(faces.shape, generator=generator)
    losses = [float(dssim_loss(faces, (faces + s * noise).clamp(0, 1))) for s in (0, 0.05, 0.2)]
    assert losses[0] == pytest.approx(0, abs=1e-6)
    assert 0 < losses[1] < losses[2] < 1
    # Flat images: only the luminance term is left, (2ab + c1) / (a^2 + b^2 + c1).
    flat = float(dssim_loss(torch.full((1, 3, 32, 32), 0.2), torch.full((1, 3, 32, 32), 0.6)))
    assert flat == pytest.approx((1 - (2 * 0.12 + 1e-4) / (0.4 + 1e-4)) / 2, rel=1e-4)


def test_training_loss_falls_and_previews_are_written(trained: tuple[Path, TrainResult]) -> None:
    checkpoint, result = trained
    assert result.step == STEPS and len(result.losses) == STEPS
    first, last = np.mean(result.losses[:10]), np.mean(result.losses[-10:])
    print(f"loss {first:.3f} -> {last:.3f} over {STEPS} steps")
    assert last < 0.6 * first
    preview = cv2.imread(str(checkpoint.parent / "previews" / f"preview_{STEPS:07d}.png"))
    assert preview.shape == (4 * 32, 3 * 32, 3)


def test_a_checkpoint_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = FaceAutoencoder(TINY)
    optimizer = torch.optim.Adam(model.parameters())
    save_checkpoint(tmp_path / "m.pt", model, optimizer, 7)
    loaded, optimizer_state, step, config = load_checkpoint(tmp_path / "m.pt", "cpu")
    faces = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        for name in TINY.identities:
            for a, b in zip(model(faces, name), loaded(faces, name), strict=True):
                assert torch.equal(a, b)
    assert (step, config) == (7, TINY)
    assert optimizer_state["param_groups"][0]["lr"] == optimizer.param_groups[0]["lr"]


def test_training_resumes_where_it_stopped(
    trained: tuple[Path, TrainResult], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "model.pt"
    shutil.copy(trained[0], checkpoint)
    result = train(facesets(), TINY, checkpoint, STEPS + 5, batch_size=8, device="cpu")
    assert result.step == STEPS + 5 and len(result.losses) == 5
    _, optimizer_state, step, _ = load_checkpoint(checkpoint)
    assert step == STEPS + 5
    assert all(int(s["step"]) == STEPS + 5 for s in optimizer_state["state"].values())
    assert train(facesets(), TINY, checkpoint, STEPS, device="cpu").losses == []
    wider = dataclasses.replace(TINY, bottleneck=128)
    with pytest.raises(SwapError, match="other model settings"):
        train(facesets(), wider, checkpoint, STEPS + 10, device="cpu")


def test_bad_checkpoints_are_refused_in_one_line(
    trained: tuple[Path, TrainResult], tmp_path: Path
) -> None:
    good = trained[0].read_bytes()
    truncated, noise, foreign = tmp_path / "cut.pt", tmp_path / "noise.pt", tmp_path / "f.pt"
    truncated.write_bytes(good[: len(good) // 2])
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    torch.save({"weights": torch.zeros(3)}, foreign)
    cases = [
        (trained[0], 64, "trained at 32 px, not 64 px"),
        (truncated, None, "not a readable checkpoint"),
        (noise, None, "not a readable checkpoint"),
        (foreign, None, "not a face-swap autoencoder checkpoint"),
        (tmp_path / "missing.pt", None, "does not exist"),
    ]
    for path, resolution, message in cases:
        with pytest.raises(SwapError, match=message) as caught:
            load_checkpoint(path, "cpu", resolution=resolution)
        assert "\n" not in str(caught.value)
    with pytest.raises(SwapError, match="trained at 32 px"):
        train(facesets(), ModelConfig(resolution=64), trained[0], STEPS + 1, device="cpu")


def test_the_swap_changes_only_pixels_inside_the_face(trained: tuple[Path, TrainResult]) -> None:
    frames = np.concatenate([clip("again", 4), np.full((1, 480, 640, 3), 90, np.uint8)])
    swapped = AutoencoderSwap(trained[0], tracker=FaceTracker(analyser()), device="cpu")(frames)
    assert swapped.shape == frames.shape and swapped.dtype == np.uint8
    replay = FaceTracker(analyser())  # the same faces the swap was given
    for frame, out in zip(frames[:4], swapped[:4], strict=True):
        (face,) = replay.track(frame)
        hull = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillConvexPoly(hull, cv2.convexHull(np.int32(np.round(face.landmarks))), 1)
        hull = cv2.dilate(hull, np.ones((3, 3), np.uint8)).astype(bool)  # rounding above
        changed = (out != frame).any(axis=2)
        assert changed.sum() > 0.3 * hull.sum()
        assert not (changed & ~hull).any()
    assert np.array_equal(swapped[4], frames[4])


def test_small_faces_pass_through_and_a_new_clip_starts_afresh(
    trained: tuple[Path, TrainResult],
) -> None:
    frames = clip("book", 3)
    assert np.array_equal(AutoencoderSwap(trained[0], min_face=1000, device="cpu")(frames), frames)
    used = AutoencoderSwap(trained[0], device="cpu")
    used(clip("again", 3))
    used.reset()
    assert np.array_equal(used(frames), AutoencoderSwap(trained[0], device="cpu")(frames))


def test_the_swap_refuses_bad_identities_and_frames(trained: tuple[Path, TrainResult]) -> None:
    with pytest.raises(SwapError, match="no 'nobody' identity"):
        AutoencoderSwap(trained[0], target="nobody", device="cpu")
    swap = AutoencoderSwap(trained[0], device="cpu")
    with pytest.raises(SwapError, match="uint8"):
        swap(clip("again", 1).astype(np.float32))
    with pytest.raises(SwapError, match=r"\(N, H, W, 3\)"):
        swap(clip("again", 1)[0])


def test_without_cuda_the_model_runs_on_the_cpu(
    trained: tuple[Path, TrainResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    swap = AutoencoderSwap(trained[0], device="auto")
    assert swap.device.type == "cpu"
    assert next(swap.model.parameters()).device.type == "cpu"

"""The trainable face model, after DeepFaceLab's DF architecture, and its checkpoints.

One encoder is shared by every identity and one decoder is trained per identity, each to
rebuild its own person's aligned faces. Because the encoder is shared, it learns a code of
pose, expression and light common to both people; decoding an actor's code with the
target's decoder draws the target's face in the actor's pose. Each decoder also predicts a
mask (where the face is) for blending.

Encoder: 5x5 stride-2 convolutions down to 1/16 of the resolution, a dense bottleneck, a
dense layer back out, one pixel-shuffle upscale. Decoder: pixel-shuffle upscales, each
followed by a residual block, to RGB and mask through sigmoids.
"""

from __future__ import annotations

import contextlib
import io
import itertools
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from swap.errors import SwapError
from swap.files import write_atomically

_FORMAT = "swap.autoencoder"
_VERSION = 1


@dataclass(frozen=True)
class ModelConfig:
    """Model shape. `encoder_dims` are the channels of the downsampling convolutions (one
    halving each), `decoder_dims` those of the decoder's upscales (one fewer: the encoder
    ends with the first upscale); `resolution` must divide by 2 ** len(encoder_dims)."""

    resolution: int = 64
    encoder_dims: tuple[int, ...] = (32, 64, 128, 256)
    bottleneck: int = 256
    decoder_dims: tuple[int, ...] = (128, 64, 32)
    identities: tuple[str, ...] = ("actor", "target")

    def __post_init__(self) -> None:
        if not all(isinstance(v, tuple) for v in (self.encoder_dims, self.decoder_dims)):
            raise SwapError("encoder_dims and decoder_dims must be tuples of channel counts")
        if not isinstance(self.identities, tuple):
            raise SwapError(f"identities must be a tuple of names, got {self.identities!r}")
        dims = (self.resolution, self.bottleneck, *self.encoder_dims, *self.decoder_dims)
        if not all(isinstance(d, int) and d > 0 for d in dims):
            raise SwapError(f"model sizes must be positive integers, got {self}")
        steps = 2 ** len(self.encoder_dims)
        if len(self.encoder_dims) < 2 or self.resolution % steps:
            raise SwapError(
                f"resolution {self.resolution} does not divide by {steps}",
                "use a multiple of 16 with four encoder levels",
            )
        if len(self.decoder_dims) != len(self.encoder_dims) - 1:
            raise SwapError(
                f"{len(self.encoder_dims)} encoder levels need "
                f"{len(self.encoder_dims) - 1} decoder levels, got {len(self.decoder_dims)}"
            )
        names = self.identities
        if len(names) < 2 or len(set(names)) != len(names):
            raise SwapError(f"a swap model needs two or more distinct identities, got {names}")
        if not all(isinstance(n, str) and n and "." not in n for n in names):
            raise SwapError(f"identity names must be non-empty and without dots, got {names}")

    def to_dict(self) -> dict[str, Any]:
        """Plain ints, lists and strings: what torch.load(weights_only=True) reads back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) != names:
            raise SwapError("the checkpoint's model settings are unreadable", "retrain it")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _conv(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2), nn.LeakyReLU(0.1))


def _upscale(c_in: int, c_out: int) -> nn.Sequential:
    """Doubles the resolution by pixel shuffle (DF's depth-to-space): no checkerboard."""
    return nn.Sequential(_conv(c_in, 4 * c_out), nn.PixelShuffle(2))


class _Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels), nn.Conv2d(channels, channels, 3, 1, 1))
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class _Encoder(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        channels = (3, *config.encoder_dims)
        self.down = nn.Sequential(
            *(_conv(a, b, kernel=5, stride=2) for a, b in itertools.pairwise(channels))
        )
        low = config.resolution // 2 ** len(config.encoder_dims)
        self.dense = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels[-1] * low * low, config.bottleneck),
            nn.Linear(config.bottleneck, config.bottleneck * low * low),
            nn.Unflatten(1, (config.bottleneck, low, low)),
        )
        self.up = _upscale(config.bottleneck, config.bottleneck)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.dense(self.down(x)))


class _Decoder(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        channels = (config.bottleneck, *config.decoder_dims)
        self.body = nn.Sequential(
            *(
                layer
                for a, b in itertools.pairwise(channels)
                for layer in (_upscale(a, b), _Residual(b))
            )
        )
        # One trunk for colour and mask: the mask is an easy target, a trunk of its own
        # (as DF has) would nearly double the decoder's cost for little.
        self.head = nn.Conv2d(channels[-1], 4, 3, 1, 1)

    def forward(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = torch.sigmoid(self.head(self.body(code)))
        return out[:, :3], out[:, 3:]


class FaceAutoencoder(nn.Module):
    """Shared encoder, one decoder per identity. Faces in and out are (B, 3, R, R) in [0, 1];
    the mask out is (B, 1, R, R) in [0, 1]."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = _Encoder(config)
        self.decoders = nn.ModuleDict({name: _Decoder(config) for name in config.identities})

    def forward(self, faces: torch.Tensor, identity: str) -> tuple[torch.Tensor, torch.Tensor]:
        """`faces` drawn as `identity`: (rgb, mask)."""
        return self.decoders[identity](self.encoder(faces))


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """(B, H, W, C) uint8 images as a (B, C, H, W) float tensor in [0, 1] on `device`."""
    tensor = torch.from_numpy(np.ascontiguousarray(images)).to(device)
    return tensor.permute(0, 3, 1, 2).float().div_(255)


def to_images(tensor: torch.Tensor) -> np.ndarray:
    """A (B, C, H, W) tensor in [0, 1] as (B, H, W, C) uint8 images."""
    scaled = tensor.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).cpu().numpy()


def mixed_precision(device: torch.device) -> contextlib.AbstractContextManager:
    """float16 autocast on CUDA (tensor cores, half the memory); full precision elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def save_checkpoint(
    path: Path, model: FaceAutoencoder, optimizer: torch.optim.Optimizer | None, step: int
) -> None:
    """Model weights, its config, the optimizer's state (None for inference only) and the
    training step, written atomically."""
    state = {
        "format": _FORMAT,
        "version": _VERSION,
        "config": model.config.to_dict(),
        "step": int(step),
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
    }
    write_atomically(Path(path), lambda file: torch.save(state, file))


def load_checkpoint(
    source: Path | str | bytes, device: torch.device | str = "cpu", resolution: int | None = None
) -> tuple[FaceAutoencoder, dict[str, Any] | None, int, ModelConfig]:
    """(model on `device`, optimizer state or None, step, config) from a checkpoint; one-line
    SwapErrors for a missing, damaged or foreign file, or one trained at another resolution."""
    # In the vault a checkpoint arrives decrypted in memory, never as a file.
    path = "the checkpoint" if isinstance(source, bytes) else Path(source)
    state = _read(source if isinstance(source, bytes) else path, path, torch.device(device))
    config = ModelConfig.from_dict(state["config"])
    if resolution is not None and config.resolution != resolution:
        raise SwapError(
            f"{path} was trained at {config.resolution} px, not {resolution} px",
            f"ask for {config.resolution} px or use a checkpoint trained at {resolution} px",
        )
    model = FaceAutoencoder(config).to(device)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise SwapError(
            f"{path}: the weights do not fit their model settings",
            "the file is damaged; restore it from a backup or retrain",
        ) from exc
    return model, state["optimizer"], state["step"], config


def _read(source: Path | bytes, path: Path | str, device: torch.device) -> dict[str, Any]:
    if isinstance(source, Path) and not source.is_file():
        raise SwapError(f"checkpoint {path} does not exist", "train one first or fix the path")
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else source
        state = torch.load(stream, map_location=device, weights_only=True)
    # Damaged files fail in torch.load in many ways (zip, pickle, EOF, key errors): all of
    # them mean the same thing to the caller.
    except Exception as exc:
        raise SwapError(
            f"{path} is not a readable checkpoint ({type(exc).__name__}: truncated or corrupt)",
            "restore it from a backup or retrain",
        ) from exc
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise SwapError(
            f"{path} is not a face-swap autoencoder checkpoint",
            "pass a checkpoint written by swap's training",
        )
    if state.get("version") != _VERSION:
        raise SwapError(
            f"{path} is checkpoint format version {state.get('version')}, "
            f"this code reads version {_VERSION}",
            "use the matching version of this software",
        )
    if not isinstance(state.get("step"), int) or not isinstance(state.get("model"), dict):
        raise SwapError(f"{path} is an incomplete checkpoint", "restore it or retrain")
    return state

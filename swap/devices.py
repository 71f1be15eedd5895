"""Which torch device a stage runs on: `auto` takes CUDA when this machine has it."""

from __future__ import annotations

import torch

from swap.errors import SwapError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def select_device(name: str | torch.device = "auto") -> torch.device:
    """`auto` → CUDA if available, else CPU; `cuda` without a GPU is a SwapError, not a crash.
    A torch.device is taken as it is."""
    if isinstance(name, torch.device):
        return name
    name = name.lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SwapError(
                "CUDA was asked for but this machine has no usable GPU", "use --device cpu"
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise SwapError(f"unknown device {name!r}", "use auto, cpu or cuda")

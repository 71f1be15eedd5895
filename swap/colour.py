"""Colour transfer: a generated face takes the light and skin tone of the face it replaces."""

from __future__ import annotations

import cv2
import numpy as np


def transfer_colour(image: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`image` with its Lab mean and spread inside `mask` matched to `reference`'s there
    (Reinhard et al., 2001). Both are RGB uint8 of one size; `mask` is boolean."""
    src = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    dst = cv2.cvtColor(reference, cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = src[mask].mean(axis=0), src[mask].std(axis=0) + 1e-6
    d_mean, d_std = dst[mask].mean(axis=0), dst[mask].std(axis=0)
    matched = (src - s_mean) * (d_std / s_std) + d_mean
    return cv2.cvtColor(np.clip(matched, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)

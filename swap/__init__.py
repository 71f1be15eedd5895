"""Face-swap pipeline (frames in, frames out). Knows nothing of the vault.

Built so far: face analysis (`DlibAnalyser`: detection with scores, 68- or 5-point
landmarks, 128-d identity embeddings) behind the `FaceAnalyser` interface, and the
training-free `LandmarkSwap` backend (frames in, frames out). The autoencoder backend, face
tracking, the video pipeline and the plug-in registry come next (see the face-swap issue).
"""

from swap.errors import SwapError
from swap.faces import (
    SAME_PERSON_DISTANCE,
    DlibAnalyser,
    Face,
    FaceAnalyser,
    identity_distance,
    reference_face,
)
from swap.landmark import LandmarkSwap

__all__ = [
    "SAME_PERSON_DISTANCE",
    "DlibAnalyser",
    "Face",
    "FaceAnalyser",
    "LandmarkSwap",
    "SwapError",
    "identity_distance",
    "reference_face",
]

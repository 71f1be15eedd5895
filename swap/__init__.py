"""Face-swap pipeline (frames in, frames out). Knows nothing of the vault.

Built so far: face analysis (`DlibAnalyser`: detection with scores, 68- or 5-point
landmarks, 128-d identity embeddings) behind the `FaceAnalyser` interface. The swap backends,
the video pipeline and the plug-in registry come next (see the face-swap issue).
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

__all__ = [
    "SAME_PERSON_DISTANCE",
    "DlibAnalyser",
    "Face",
    "FaceAnalyser",
    "SwapError",
    "identity_distance",
    "reference_face",
]

"""Face-swap pipeline: frames in, frames out. Knows nothing of the vault.

- Face analysis (`DlibAnalyser` behind `FaceAnalyser`): detection with scores, 68- or 5-point
  landmarks, 128-d identity embeddings; `FaceTracker` follows faces through a shot.
- Backends (anything callable on a (N, H, W, 3) uint8 batch): the training-free
  `LandmarkSwap` (one reference portrait) and the trainable `AutoencoderSwap` (shared encoder,
  a decoder per identity; `extract_faces` and `train` build it). Others plug in by entry
  point; `load_backend` finds any of them by name.
- `swap_video` runs a backend over a clip from a stream or a file (PyAV decode, batches,
  H.264 encode, audio kept); `read_batches` reads a clip's frames.

`python -m swap` is the command line for the swap stage alone.
"""

from swap.ae_backend import AutoencoderSwap
from swap.autoencoder import FaceAutoencoder, ModelConfig, load_checkpoint, save_checkpoint
from swap.backends import ENTRY_POINT_GROUP, available, load_backend
from swap.devices import select_device
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
from swap.pipeline import Backend, Encoding, SwapResult, read_batches, swap_video
from swap.pose import head_pose
from swap.tracking import FaceTracker
from swap.training import FaceSet, extract_faces, load_faceset, save_faceset, train

__all__ = [
    "ENTRY_POINT_GROUP",
    "SAME_PERSON_DISTANCE",
    "AutoencoderSwap",
    "Backend",
    "DlibAnalyser",
    "Encoding",
    "Face",
    "FaceAnalyser",
    "FaceAutoencoder",
    "FaceSet",
    "FaceTracker",
    "LandmarkSwap",
    "ModelConfig",
    "SwapError",
    "SwapResult",
    "available",
    "extract_faces",
    "head_pose",
    "identity_distance",
    "load_backend",
    "load_checkpoint",
    "load_faceset",
    "read_batches",
    "reference_face",
    "save_checkpoint",
    "save_faceset",
    "select_device",
    "swap_video",
    "train",
]

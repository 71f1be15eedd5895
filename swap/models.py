"""Where the shipped face models are, without importing the package that ships them.

`face_recognition_models` locates its files with `pkg_resources`, which recent setuptools no
longer provides, so importing it fails. Its files are plain data beside its `__init__`;
`importlib.util.find_spec` finds that directory without running the package.

Licence note: the 68-point landmark model was trained on iBUG 300-W, whose images are for
non-commercial research only. The 5-point model, the detector and the identity model are not
so restricted; every path here works with 5 points.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from swap.errors import SwapError

SHAPE_68 = "shape_predictor_68_face_landmarks.dat"
SHAPE_5 = "shape_predictor_5_face_landmarks.dat"
IDENTITY = "dlib_face_recognition_resnet_model_v1.dat"


@functools.cache
def model_path(name: str) -> Path:
    """Path of one of face_recognition_models' files, or a SwapError saying how to get it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise SwapError("the face models are not installed", "pip install face_recognition_models")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise SwapError(f"face model {name} is missing from {path.parent}", "reinstall it")
    return path

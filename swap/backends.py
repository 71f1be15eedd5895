"""Swap backends by name: the built-in ones and any a studio installs as a plug-in.

A backend factory takes the shot's face asset as bytes (a reference portrait for the landmark
swap, a checkpoint for the autoencoder, whatever a plug-in's engine needs), the device name
and the shot's settings as strings, and returns a `Backend` (swap/pipeline.py: frames in,
frames out). A plug-in registers its factory under the entry-point group below, e.g. in its
pyproject.toml:

    [project.entry-points."vault.swap_backends"]
    studio-engine = "studio_swap:make_backend"

and `vault shot add --backend studio-engine` or `python -m swap run --backend studio-engine`
then use it, with no change to this package or the vault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points

import cv2
import numpy as np

from swap.errors import SwapError
from swap.faces import DlibAnalyser, FaceAnalyser
from swap.pipeline import Backend

ENTRY_POINT_GROUP = "vault.swap_backends"

Factory = Callable[..., Backend]  # (face: bytes, *, device: str, **settings: str) -> Backend


def available() -> dict[str, str]:
    """Every backend name and where it comes from ("built-in" or the plug-in's object path)."""
    names = {name: "built-in" for name in _BUILT_IN}
    for entry in _plugins().values():
        names.setdefault(entry.name, entry.value)
    return names


def load_backend(
    name: str, face: bytes, *, device: str = "auto", settings: Mapping[str, str] | None = None
) -> Backend:
    """The backend `name` made for one face asset, or a SwapError naming what went wrong."""
    factory = _factory(name)
    try:
        backend = factory(face, device=device, **dict(settings or {}))
    except SwapError:
        raise
    except TypeError as error:  # an unknown setting reaches the factory as a keyword
        raise SwapError(f"backend {name!r} refused its settings ({error})") from None
    except Exception as error:  # a plug-in's engine failing must not surface as a traceback
        raise SwapError(f"backend {name!r} failed to start: {_one_line(error)}") from None
    if not callable(backend):
        raise SwapError(f"backend {name!r} returned {type(backend).__name__}, not a callable")
    return backend


def parse_settings(pairs: Iterable[str]) -> dict[str, str]:
    """`key=value` strings (as typed after --set) as a dict; dashes in keys become underscores."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SwapError(f"setting {pair!r} is not key=value", "write e.g. --set detect_every=3")
        settings[key.replace("-", "_")] = value
    return settings


def decode_image(data: bytes) -> np.ndarray:
    """An RGB uint8 picture from encoded bytes (JPEG, PNG, ...), or a SwapError."""
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if picture is None:
        raise SwapError("the face reference is not an image", "give a JPEG or PNG portrait")
    return cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)


def _landmark(
    face: bytes,
    *,
    device: str = "auto",
    detect_every: str = "5",
    shape_strength: str = "",
    min_score: str = "0",
) -> Backend:
    from swap.landmark import SHAPE_STRENGTH, LandmarkSwap

    del device  # OpenCV on the CPU: the warp is far cheaper than moving frames to a GPU
    return LandmarkSwap(
        decode_image(face),
        analyser=_analyser(min_score),
        detect_every=_number(int, "detect_every", detect_every),
        shape_strength=_number(float, "shape_strength", shape_strength or str(SHAPE_STRENGTH)),
    )


def _autoencoder(
    face: bytes,
    *,
    device: str = "auto",
    detect_every: str = "5",
    batch_size: str = "16",
    source: str = "actor",
    target: str = "target",
    min_score: str = "0",
) -> Backend:
    from swap.ae_backend import AutoencoderSwap

    return AutoencoderSwap(
        face,
        analyser=_analyser(min_score),
        source=source,
        target=target,
        device=device,
        detect_every=_number(int, "detect_every", detect_every),
        batch_size=_number(int, "batch_size", batch_size),
    )


def _analyser(min_score: str) -> FaceAnalyser:
    """dlib's analyser keeping detections scoring at least `min_score` (HOG margins: 0 keeps
    what dlib keeps by default; 0.5 or more drops doubtful faces in busy backgrounds)."""
    return DlibAnalyser(points=68, min_score=_number(float, "min_score", min_score))


_BUILT_IN: dict[str, Factory] = {"landmark": _landmark, "autoencoder": _autoencoder}


def _factory(name: str) -> Factory:
    if name in _BUILT_IN:
        return _BUILT_IN[name]
    entry = _plugins().get(name)
    if entry is None:
        known = ", ".join(sorted(available()))
        raise SwapError(f"no swap backend named {name!r}", f"choose one of: {known}")
    try:
        return entry.load()
    except Exception as error:  # a broken plug-in must not take the tool down with it
        raise SwapError(
            f"the plug-in backend {name!r} failed to load: {_one_line(error)}"
        ) from None


def _plugins() -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def _one_line(error: Exception) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())


def _number(kind: type, name: str, text: str) -> int | float:
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise SwapError(f"setting {name}={text!r} is not a number") from None

"""Attack suite for the forensic video watermark benchmark: what a leaked copy goes through.

A watermark is only as good as the worst copy it must still be traced from, so every attack
here ends the way a real leak does: the processed frames are encoded to an actual H.264 MP4
in memory with PyAV (libx264, CRF 23, preset veryfast unless the attack names its own
codec or CRF) and decoded back. Spatial and photometric steps run on RGB with OpenCV and
numpy before that encode. The only exception is "still-jpeg", a single frame grabbed and
shared as a JPEG, which is what such a leak is.

`ATTACKS` maps row labels (in table order) to `Attack` callables `(clip, rng) -> clip`;
randomness (crop offsets, dropped frames, camcorder geometry) comes only from `rng`, so a
benchmark run is reproducible from its seed. Collusion needs several copies, so it lives
in `collude_average` and `collude_interleave` rather than in `ATTACKS`.

Footage: `load_footage` decodes real files (and ping-pongs short ones into long masters);
`synthetic_clip` makes deterministic film-like footage (textured scene, sky, camera pan and
zoom, moving objects, grain) when no real footage is at hand.

Timing the suite on this machine:

    python benchmarks/attacks.py [--seconds 10] [--seed 0]
"""

from __future__ import annotations

import argparse
import io
import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

LEAK_CODEC = "libx264"
LEAK_CRF = 23
LEAK_PRESET = "veryfast"
BROADCAST_ASPECT = 16 / 9
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # BT.601, as x264 sees RGB


@dataclass
class Clip:
    """Decoded footage: frames (T, H, W, 3) uint8 RGB at a constant frame rate."""

    frames: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        f = self.frames
        if f.dtype != np.uint8 or f.ndim != 4 or f.shape[3] != 3 or f.shape[0] < 1:
            raise ValueError(f"frames must be (T>=1, H, W, 3) uint8, got {f.dtype} {f.shape}")
        if not self.fps > 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def n_frames(self) -> int:
        return self.frames.shape[0]

    @property
    def height(self) -> int:
        return self.frames.shape[1]

    @property
    def width(self) -> int:
        return self.frames.shape[2]

    @property
    def seconds(self) -> float:
        return self.n_frames / self.fps


Attack = Callable[[Clip, np.random.Generator], Clip]


# --------------------------------------------------------------------------- small helpers


def _even(x: float) -> int:
    """Nearest even size (as ffmpeg's `scale=-2:h`): 4:2:0 chroma needs even sizes."""
    return max(2, 2 * round(x / 2))


def _frames_for(seconds: float, fps: float) -> int:
    return max(1, round(seconds * fps))


def map_frames(clip: Clip, fn: Callable[[np.ndarray], np.ndarray]) -> Clip:
    """Apply `fn` frame by frame into one preallocated array (a whole-clip float copy of a
    60 s master would not fit in memory; per-frame work also keeps OpenCV's fast paths)."""
    first = fn(clip.frames[0])
    out = np.empty((clip.n_frames, *first.shape), dtype=np.uint8)
    out[0] = first
    for i in range(1, clip.n_frames):
        out[i] = fn(clip.frames[i])
    return Clip(out, clip.fps)


def _take(frames: list[np.ndarray], indices: np.ndarray | None = None) -> np.ndarray:
    """Stack `frames[indices]` (all by default) with one allocation, not stack-then-index."""
    indices = np.arange(len(frames)) if indices is None else indices
    out = np.empty((len(indices), *frames[0].shape), dtype=np.uint8)
    for i, j in enumerate(indices):
        out[i] = frames[j]
    return out


class _NoiseBank:
    """Gaussian noise added to uint8 frames with saturating OpenCV adds.

    Drawing fresh normals for every pixel of every frame dominates the cost of a 60 s clip,
    so a few noise fields are drawn once and each frame takes a random window of a random
    field; the noise is stored as separate positive and negative uint8 parts so applying
    it is two SIMD saturating ops instead of an int16 round trip.
    """

    def __init__(self, rng: np.random.Generator, height: int, width: int, sigma: float):
        self._pad = 16
        shape = (4, height + self._pad, width + self._pad, 3)
        noise = np.rint(rng.standard_normal(shape, dtype=np.float32) * sigma)
        self._pos = np.clip(noise, 0, 255).astype(np.uint8)
        self._neg = np.clip(-noise, 0, 255).astype(np.uint8)
        self._h, self._w = height, width

    def apply(self, frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        k = int(rng.integers(len(self._pos)))
        dy, dx = (int(v) for v in rng.integers(0, self._pad + 1, size=2))
        window = np.s_[k, dy : dy + self._h, dx : dx + self._w]
        cv2.add(frame, self._pos[window], dst=frame)
        cv2.subtract(frame, self._neg[window], dst=frame)
        return frame


# --------------------------------------------------------------------------- decode / encode


def _decode_container(
    container: av.container.InputContainer, skip: int = 0, limit: int | None = None
) -> tuple[list[np.ndarray], float]:
    """Decode frames `skip .. skip+limit` as RGB; fps from the stream's average rate.

    `to_ndarray(format="rgb24")` lets swscale honour the frame's range, so full-range
    (yuvj420p, phone and webcam) sources are not crushed as limited-range ones would be.
    Frame positions are indices at the stream's constant rate, the model `Clip` uses.
    """
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    frames: list[np.ndarray] = []
    for i, frame in enumerate(container.decode(stream)):
        if limit is not None and i >= skip + limit:
            break
        if i >= skip:
            frames.append(frame.to_ndarray(format="rgb24"))
    if not frames:
        raise ValueError("no video frames decoded in the requested range")
    return frames, _stream_fps(stream)


def _stream_fps(stream: av.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise ValueError("video stream has no frame rate")
    return float(rate)


def pingpong(n: int, length: int) -> np.ndarray:
    """Indices 0..n-1, n-2..1, 0..n-1, ... of `length`: loops with no jump cut."""
    cycle = np.concatenate([np.arange(n), np.arange(n - 2, 0, -1)])
    return np.resize(cycle, length)


def load_footage(
    path: str | Path,
    start_s: float = 0.0,
    seconds: float | None = None,
    loop_to_s: float | None = None,
) -> Clip:
    """Decode `seconds` of a video file from `start_s` (to the end when None) as RGB.

    `loop_to_s` makes the result exactly that long: the decoded part is played forward,
    then backward, and so on (ping-pong), so a 3 s real clip can stand in for a 60 s master
    without a jump cut an attack or detector could key on; a longer part is cut to length.
    Decoding starts at the first frame (no seek), fine for the short clips this is for.
    """
    with av.open(str(path)) as container:
        fps = _stream_fps(container.streams.video[0])
        skip = round(start_s * fps)
        limit = None if seconds is None else _frames_for(seconds, fps)
        frames, fps = _decode_container(container, skip, limit)
    if loop_to_s is None:
        return Clip(_take(frames), fps)
    return Clip(_take(frames, pingpong(len(frames), _frames_for(loop_to_s, fps))), fps)


def _codec_options(codec: str, crf: int, preset: str) -> dict[str, str]:
    options = {"crf": str(crf), "preset": preset}
    if codec == "libx265":
        options["x265-params"] = "log-level=none"  # x265 otherwise prints a banner per encode
    return options


def encode(
    clip: Clip,
    codec: str = LEAK_CODEC,
    crf: int = 18,
    preset: str = LEAK_PRESET,
    pix_fmt: str = "yuv420p",
) -> bytes:
    """Encode to a real MP4 in memory with PyAV (constant-quality CRF, like a leaker would).

    Odd widths or heights lose their last column or row: 4:2:0 cannot hold them, and
    cropping one pixel is what a tool's even-size scaler would do anyway.
    """
    h, w = clip.height // 2 * 2, clip.width // 2 * 2
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=Fraction(clip.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.options = _codec_options(codec, crf, preset)
        for rgb in clip.frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buf.getvalue()


def decode(data: bytes) -> Clip:
    """Decode an in-memory video file to RGB frames; fps is the stream's."""
    with av.open(io.BytesIO(data)) as container:
        frames, fps = _decode_container(container)
    return Clip(_take(frames), fps)


def reencode(
    clip: Clip, codec: str = LEAK_CODEC, crf: int = LEAK_CRF, preset: str = LEAK_PRESET
) -> Clip:
    """One real lossy generation: what comes back after an encode to `codec` at `crf`."""
    return decode(encode(clip, codec=codec, crf=crf, preset=preset))


def excerpt(clip: Clip, seconds: float, rng: np.random.Generator) -> tuple[Clip, int]:
    """A random `seconds`-long excerpt (the whole clip if shorter) and its first frame index,
    so a benchmark knows where in the master the leaked excerpt came from."""
    n = _frames_for(seconds, clip.fps)
    if n >= clip.n_frames:
        return clip, 0
    start = int(rng.integers(0, clip.n_frames - n + 1))
    return Clip(clip.frames[start : start + n], clip.fps), start


# --------------------------------------------------------------------------- synthetic footage


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Zero-mean unit-variance noise smooth over `cell` pixels: a coarse grid upsampled."""
    gh, gw = max(2, math.ceil(h / cell) + 1), max(2, math.ceil(w / cell) + 1)
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return (field - field.mean()) / (field.std() + 1e-6)


def _fractal(
    rng: np.random.Generator, h: int, w: int, cells: tuple[float, float], persistence: float
) -> np.ndarray:
    """Octaves of smooth noise from cell size cells[0] down to cells[1] (1/f-like texture)."""
    total = np.zeros((h, w), np.float32)
    cell, amp = cells[0], 1.0
    while cell >= cells[1]:
        total += amp * _smooth_noise(rng, h, w, cell)
        cell, amp = cell / 2, amp * persistence
    return (total - total.mean()) / (total.std() + 1e-6)


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0, 1)
    return t * t * (3 - 2 * t)


def _scene(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A landscape-like canvas: sky with gentle gradients over ground with texture that
    ranges from smooth (flat fields) to strong (foliage-like), so a watermark meets both
    the flat areas where it shows and the busy ones where it hides."""
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    horizon = 0.35 + 0.06 * _smooth_noise(rng, 1, w, w / 3)[0] / 2
    sky_mask = _smoothstep(horizon[None, :] - y, -0.01, 0.01)[..., None]
    sky_top = rng.uniform([40, 80, 150], [80, 120, 200]).astype(np.float32)
    sky_low = rng.uniform([170, 190, 210], [210, 220, 240]).astype(np.float32)
    clouds = 10 * _fractal(rng, h, w, (w / 3, w / 40), 0.5)[..., None]
    sky = sky_top + (sky_low - sky_top) * np.clip(y / 0.4, 0, 1)[..., None] + clouds

    palette = rng.uniform([60, 60, 30], [170, 150, 110], size=(2, 3)).astype(np.float32)
    mix = _smoothstep(_fractal(rng, h, w, (w / 4, w / 32), 0.5), -1, 1)[..., None]
    base = palette[0] + (palette[1] - palette[0]) * mix
    gentle = 18 * _fractal(rng, h, w, (w / 6, w / 64), 0.5)
    busy = _smoothstep(_fractal(rng, h, w, (w / 5, w / 20), 0.5), 0.0, 0.8)
    detail = 45 * busy * _fractal(rng, h, w, (24, 2), 0.8)
    ground = base + (gentle + detail)[..., None]
    canvas = sky * sky_mask + ground * (1 - sky_mask)
    return np.clip(canvas, 0, 255).astype(np.uint8)


@dataclass
class _Sprite:
    """A soft-edged textured ellipse, premultiplied so blending is one multiply-add."""

    premultiplied: np.ndarray  # (h, w, 3) float32 colour * alpha
    transparency: np.ndarray  # (h, w, 1) float32 1 - alpha
    path: np.ndarray  # (T, 2) top-left corner per frame, x and y


def _sprite(rng: np.random.Generator, size: tuple[int, int], times: np.ndarray) -> _Sprite:
    """An object with shading and texture moving on a smooth Lissajous path across the frame."""
    fw, fh = size
    a = int(rng.uniform(0.08, 0.16) * fh) + 4
    b = int(a * rng.uniform(0.6, 1.4)) + 2
    yy, xx = np.mgrid[-b : b + 1, -a : a + 1].astype(np.float32)
    r = np.sqrt((xx / a) ** 2 + (yy / b) ** 2)
    alpha = _smoothstep(1 - r, 0.0, 0.15)[..., None]
    shade = 1.0 - 0.35 * np.clip((xx / a + yy / b) / 2 + 0.3, 0, 1)
    texture = 1.0 + 0.15 * _fractal(rng, 2 * b + 1, 2 * a + 1, (a / 2, 2), 0.7)
    colour = rng.uniform(40, 230, 3).astype(np.float32)
    rgb = np.clip(colour * (shade * texture)[..., None], 0, 255)
    periods = rng.uniform(6, 20, 2)
    phases = rng.uniform(0, 2 * np.pi, 2)
    centre = np.array([fw, fh]) * (
        0.5 + 0.35 * np.sin(2 * np.pi * times[:, None] / periods + phases)
    )
    path = np.rint(centre - [a, b]).astype(np.int64)
    return _Sprite(rgb * alpha, 1 - alpha, path)


def _blend(frame: np.ndarray, sprite: _Sprite, t: int) -> None:
    """Composite the sprite at its frame-t position, clipped to the frame edges."""
    x, y = sprite.path[t]
    sh, sw = sprite.transparency.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + sw, frame.shape[1]), min(y + sh, frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    sy, sx = np.s_[y0 - y : y1 - y], np.s_[x0 - x : x1 - x]
    roi = frame[y0:y1, x0:x1]
    roi[:] = roi * sprite.transparency[sy, sx] + sprite.premultiplied[sy, sx]


def _camera(times: np.ndarray, size: tuple[int, int], canvas_centre: np.ndarray) -> np.ndarray:
    """Per-frame 2x3 affine maps canvas -> frame: slow pan, slow zoom in/out, tiny roll."""
    fw, fh = size
    pan = canvas_centre + np.stack(
        [0.2 * fw * np.sin(2 * np.pi * times / 37), 0.12 * fh * np.sin(2 * np.pi * times / 23 + 1)],
        axis=1,
    )
    zoom = 1.0 + 0.08 * (1 - np.cos(2 * np.pi * times / 29))
    roll_degrees = 0.4 * np.sin(2 * np.pi * times / 17)
    maps = np.empty((len(times), 2, 3), np.float64)
    for i in range(len(times)):
        m = cv2.getRotationMatrix2D((float(pan[i, 0]), float(pan[i, 1])), roll_degrees[i], zoom[i])
        m[:, 2] += np.array([fw / 2, fh / 2]) - pan[i]
        maps[i] = m
    return maps


def synthetic_clip(seconds: float, fps: float, width: int, height: int, seed: int) -> Clip:
    """Deterministic film-like footage for when real footage is missing or too short.

    Noise would be the wrong test: it hides a watermark far better than real pictures and
    compresses nothing like them. So: a scene canvas 1.5x the frame (sky, flat and busy
    ground) is made once, then each frame is a camera view of it (one warpAffine: pan,
    zoom, roll) with 2-3 textured soft-edged objects moving over it and light grain.
    """
    rng = np.random.default_rng(seed)
    n = _frames_for(seconds, fps)
    times = np.arange(n) / fps
    canvas = _scene(rng, round(height * 1.5), round(width * 1.5))
    centre = np.array([canvas.shape[1] / 2, canvas.shape[0] / 2])
    maps = _camera(times, (width, height), centre)
    sprites = [_sprite(rng, (width, height), times) for _ in range(int(rng.integers(2, 4)))]
    grain = _NoiseBank(rng, height, width, sigma=2.0)
    out = np.empty((n, height, width, 3), np.uint8)
    for t in range(n):
        view = {"flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_REFLECT}
        cv2.warpAffine(canvas, maps[t], (width, height), dst=out[t], **view)
        for sprite in sprites:
            _blend(out[t], sprite, t)
        grain.apply(out[t], rng)
    return Clip(out, float(fps))


# --------------------------------------------------------------------------- transforms


def scale_to_height(clip: Clip, height: int) -> Clip:
    """Resample to `height`, keeping the aspect (even width). INTER_AREA when shrinking, as
    ffmpeg's area-averaging scalers do; INTER_LINEAR when enlarging, where INTER_AREA would
    degrade to nearest-neighbour. At equal height this is the identity (only a codec acts)."""
    width = _even(clip.width * height / clip.height)
    interp = cv2.INTER_AREA if height < clip.height else cv2.INTER_LINEAR
    return map_frames(clip, lambda f: cv2.resize(f, (width, height), interpolation=interp))


def crop(clip: Clip, fraction: float, rng: np.random.Generator | None = None) -> Clip:
    """Keep (1 - fraction) of the width and the height (even sizes), without resizing back.

    Centred when `rng` is None; otherwise near a random corner (offset within the first
    quarter of the slack from it), as when someone crops out a corner logo or a burn-in.
    """
    cw = min(_even(clip.width * (1 - fraction)), clip.width // 2 * 2)
    ch = min(_even(clip.height * (1 - fraction)), clip.height // 2 * 2)
    slack_x, slack_y = clip.width - cw, clip.height - ch
    if rng is None:
        x0, y0 = slack_x // 2, slack_y // 2
    else:
        corner = rng.integers(0, 2, size=2)
        u = rng.uniform(0, 0.25, size=2)
        x0, y0 = (
            round(slack * (1 - v if c else v))
            for slack, c, v in zip((slack_x, slack_y), corner, u, strict=True)
        )
    return Clip(clip.frames[:, y0 : y0 + ch, x0 : x0 + cw], clip.fps)


def box(clip: Clip, content_aspect: float, keep_aspect: bool = False) -> Clip:
    """Put the picture in a 16:9 frame (the input's height) inside a `content_aspect` area
    with black bars around it: 2.39 letterboxes (bars above and below), 4/3 pillarboxes.

    With keep_aspect=False the picture is resized to fill the area exactly, so the bars
    are only top/bottom or only left/right whatever the source aspect (a 16:9 source is
    squeezed along one axis; a 4:3 source pillarboxed is the broadcaster case exactly).
    With keep_aspect=True it is fitted inside the area instead (windowboxed if needed).
    """
    frame_h, frame_w = _even(clip.height), _even(clip.height * BROADCAST_ASPECT)
    if content_aspect >= BROADCAST_ASPECT:
        area_w, area_h = frame_w, _even(frame_w / content_aspect)
    else:
        area_w, area_h = _even(frame_h * content_aspect), frame_h
    if keep_aspect:
        s = min(area_w / clip.width, area_h / clip.height)
        area_w, area_h = _even(clip.width * s), _even(clip.height * s)
    y0, x0 = (frame_h - area_h) // 2, (frame_w - area_w) // 2
    interp = cv2.INTER_AREA if area_h * area_w < clip.height * clip.width else cv2.INTER_LINEAR

    def place(f: np.ndarray) -> np.ndarray:
        out = np.zeros((frame_h, frame_w, 3), np.uint8)
        out[y0 : y0 + area_h, x0 : x0 + area_w] = cv2.resize(
            f, (area_w, area_h), interpolation=interp
        )
        return out

    return map_frames(clip, place)


def _lut(fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    levels = np.arange(256, dtype=np.float64)
    return np.clip(np.rint(fn(levels)), 0, 255).astype(np.uint8)


def brightness_lut(factor: float) -> np.ndarray:
    """Multiply every level by `factor` (1.1 = "+10%"), clipped."""
    return _lut(lambda v: v * factor)


def contrast_lut(factor: float) -> np.ndarray:
    """Stretch (>1) or flatten (<1) levels about mid-grey 128."""
    return _lut(lambda v: 128 + (v - 128) * factor)


def _gamma(levels: np.ndarray, gamma: float) -> np.ndarray:
    return 255 * (levels / 255) ** (1 / gamma)


def gamma_lut(gamma: float) -> np.ndarray:
    """ffmpeg `eq` convention: out = in^(1/gamma) on [0, 1], so gamma > 1 lifts mid-tones."""
    return _lut(lambda v: _gamma(v, gamma))


def apply_lut(clip: Clip, lut: np.ndarray) -> Clip:
    """A per-level curve on all three channels (cv2.LUT: the cheapest photometric path)."""
    return map_frames(clip, lambda f: cv2.LUT(f, lut))


def saturate(clip: Clip, factor: float) -> Clip:
    """Scale colourfulness by mixing each pixel with its luma: 0 = grey, 1 = unchanged."""

    def one(f: np.ndarray) -> np.ndarray:
        rgb = f.astype(np.float32)
        luma = rgb @ LUMA_WEIGHTS
        return np.clip(luma[..., None] + factor * (rgb - luma[..., None]), 0, 255).astype(np.uint8)

    return map_frames(clip, one)


def hflip(clip: Clip) -> Clip:
    """Mirror left-right (a cheap, common trick against content matching)."""
    return map_frames(clip, lambda f: cv2.flip(f, 1))


def change_fps(clip: Clip, new_fps: float) -> Clip:
    """Resample the time axis to `new_fps` by nearest source frame, dropping or duplicating
    frames as ffmpeg's fps filter does (halves round up, not to even, so the pattern is
    regular); the duration is kept."""
    n = max(1, round(clip.n_frames * new_fps / clip.fps))
    src = np.floor(np.arange(n) * clip.fps / new_fps + 0.5).astype(np.int64)
    return Clip(clip.frames[np.minimum(src, clip.n_frames - 1)], float(new_fps))


def _retime_target(fps: float, target: float) -> float:
    """`target`, or fps x 25/24 when already there, so a rate conversion never is a no-op."""
    return fps * 25 / 24 if math.isclose(fps, target, rel_tol=1e-3) else target


def drop_frames(clip: Clip, fraction: float, rng: np.random.Generator) -> Clip:
    """Remove a random `fraction` of the frames (at least one), keeping the frame rate."""
    n_drop = min(clip.n_frames - 1, max(1, round(clip.n_frames * fraction)))
    drop = rng.choice(clip.n_frames, size=n_drop, replace=False)
    return Clip(np.delete(clip.frames, drop, axis=0), clip.fps)


def _screen_homography(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Where a camcorder pointed at a screen sees its corners: a slight roll (<= 2 degrees)
    and each corner off by 3-5% of the size in a random direction."""
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    theta = np.deg2rad(rng.uniform(-2, 2))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    centre = np.array([w / 2, h / 2])
    moved = (corners - centre) @ rot.T + centre
    angles = rng.uniform(0, 2 * np.pi, 4)
    reach = rng.uniform(0.03, 0.05, 4)[:, None] * np.array([w, h])
    moved += reach * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return cv2.getPerspectiveTransform(corners.astype(np.float32), moved.astype(np.float32))


def camcorder_transform(clip: Clip, rng: np.random.Generator) -> Clip:
    """Filming a screen, before the camera's own encoder: 480p, perspective + roll (black
    where the screen does not cover the sensor, cropped where it overflows), lens blur
    (sigma 1.25 px), gamma 1.1 with a mild per-frame exposure flicker (screen refresh
    beating against the shutter), then sensor noise (sigma 3 levels)."""
    small = scale_to_height(clip, 480)
    w, h = small.width, small.height
    homography = _screen_homography(rng, w, h)
    t = np.arange(small.n_frames) / small.fps
    flicker = 1 + 0.02 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 2 * np.pi))
    flicker += rng.normal(0, 0.01, small.n_frames)
    noise = _NoiseBank(rng, h, w, sigma=3.0)
    out = np.empty_like(small.frames)
    for i, frame in enumerate(small.frames):
        view = cv2.warpPerspective(frame, homography, (w, h), flags=cv2.INTER_LINEAR)
        view = cv2.GaussianBlur(view, (0, 0), 1.25)
        cv2.LUT(view, _lut(lambda v, gain=flicker[i]: _gamma(v, 1.1) * gain), dst=out[i])
        noise.apply(out[i], rng)
    return Clip(out, small.fps)


def jpeg_still(clip: Clip, rng: np.random.Generator, quality: int = 75) -> Clip:
    """One random frame shared as a JPEG (a screenshot leak), as a 1-frame clip."""
    frame = clip.frames[int(rng.integers(clip.n_frames))]
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise RuntimeError("JPEG encode failed")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return Clip(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[None], clip.fps)


def chain_transform(clip: Clip) -> Clip:
    """10% centre crop, then 480p, then brightness +10%: the edits of the "chain" attack.

    The chain then encodes once at CRF 30 (`ATTACKS["chain"]`) rather than once per step:
    a single generation, whose CRF 30 acts on the already cropped and reduced picture."""
    return apply_lut(scale_to_height(crop(clip, 0.10), 480), brightness_lut(1.1))


# --------------------------------------------------------------------------- the attack table


Transform = Attack  # the same signature, minus the final encode


def _leaked(
    transform: Transform, crf: int = LEAK_CRF, codec: str = LEAK_CODEC, preset: str = LEAK_PRESET
) -> Attack:
    """The attack: `transform`, then the real encode + decode every leak ends with."""

    def attack(clip: Clip, rng: np.random.Generator) -> Clip:
        return reencode(transform(clip, rng), codec=codec, crf=crf, preset=preset)

    return attack


def _identity(clip: Clip, rng: np.random.Generator) -> Clip:
    return clip


def _scale(height: int) -> Attack:
    return _leaked(lambda clip, rng: scale_to_height(clip, height))


def _crop(fraction: float, centred: bool) -> Attack:
    return _leaked(lambda clip, rng: crop(clip, fraction, None if centred else rng))


def _curve(lut: np.ndarray) -> Attack:
    return _leaked(lambda clip, rng: apply_lut(clip, lut))


def _to_fps(target: float) -> Attack:
    return _leaked(lambda clip, rng: change_fps(clip, _retime_target(clip.fps, target)))


def _trim(seconds: float) -> Attack:
    return _leaked(lambda clip, rng: excerpt(clip, seconds, rng)[0])


def _generations(clip: Clip, rng: np.random.Generator) -> Clip:
    """Three lossy generations at falling quality; the middle one at x264's default preset
    (medium) so the encoder's decisions differ between generations, as across tools."""
    for crf, preset in ((23, "veryfast"), (26, "medium"), (28, "veryfast")):
        clip = reencode(clip, crf=crf, preset=preset)
    return clip


def _build_attacks() -> dict[str, Attack]:
    attacks: dict[str, Attack] = {f"h264-crf{crf}": _leaked(_identity, crf) for crf in (23, 30, 35)}
    attacks["h265-crf30"] = _leaked(_identity, 30, codec="libx265")
    attacks |= {f"scale-{h}p": _scale(h) for h in (720, 480, 360)}
    for where, centred in (("centre", True), ("offcentre", False)):
        attacks |= {f"crop-{where}-{pct}": _crop(pct / 100, centred) for pct in (10, 25)}
    attacks["letterbox"] = _leaked(lambda clip, rng: box(clip, 2.39))
    attacks["pillarbox"] = _leaked(lambda clip, rng: box(clip, 4 / 3))
    curves = {
        "brightness+10": brightness_lut(1.1),
        "brightness-10": brightness_lut(0.9),
        "contrast-0.8": contrast_lut(0.8),
        "contrast-1.2": contrast_lut(1.2),
        "gamma-0.8": gamma_lut(0.8),
        "gamma-1.25": gamma_lut(1.25),
    }
    attacks |= {name: _curve(lut) for name, lut in curves.items()}
    attacks["saturation-0.5"] = _leaked(lambda clip, rng: saturate(clip, 0.5))
    attacks["saturation-1.5"] = _leaked(lambda clip, rng: saturate(clip, 1.5))
    attacks["hflip"] = _leaked(lambda clip, rng: hflip(clip))
    attacks |= {f"fps-to-{r}": _to_fps(r) for r in (24, 25, 30)}
    attacks["drop-10pct"] = _leaked(lambda clip, rng: drop_frames(clip, 0.10, rng))
    attacks |= {f"trim-{s}s": _trim(s) for s in (10, 3)}
    attacks["reencode-3gen"] = _generations
    attacks["camcorder"] = _leaked(camcorder_transform, crf=32)
    attacks["still-jpeg"] = jpeg_still
    attacks["chain"] = _leaked(lambda clip, rng: chain_transform(clip), crf=30)
    return attacks


ATTACKS: dict[str, Attack] = _build_attacks()


# --------------------------------------------------------------------------- collusion


def _aligned(clips: list[Clip]) -> list[Clip]:
    """Copies of one master cut to a common length; sizes and rates must agree."""
    if not clips:
        raise ValueError("collusion needs at least one copy")
    first = clips[0]
    for c in clips[1:]:
        if c.frames.shape[1:] != first.frames.shape[1:] or not math.isclose(c.fps, first.fps):
            raise ValueError("colluding copies must share frame size and rate")
    n = min(c.n_frames for c in clips)
    return [Clip(c.frames[:n], c.fps) for c in clips]


def collude_average(clips: list[Clip]) -> Clip:
    """Pixel mean of aligned copies (the classic averaging attack), then H.264 CRF 23."""
    clips = _aligned(clips)
    out = np.empty_like(clips[0].frames)
    for t in range(clips[0].n_frames):  # per frame: a float stack of a whole film won't fit
        out[t] = np.rint(np.mean([c.frames[t] for c in clips], axis=0, dtype=np.float32))
    return reencode(Clip(out, clips[0].fps))


def interleave_schedule(
    n_frames: int, n_copies: int, segment_frames: int, rng: np.random.Generator
) -> np.ndarray:
    """Which copy each frame comes from: segments of `segment_frames`, copies taken in turn
    in a fresh random order each round, so every copy contributes about equally."""
    n_segments = math.ceil(n_frames / segment_frames)
    rounds = math.ceil(n_segments / n_copies)
    order = np.concatenate([rng.permutation(n_copies) for _ in range(rounds)])[:n_segments]
    return np.repeat(order, segment_frames)[:n_frames]


def _segments(schedule: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(start, stop, copy) runs of a per-frame schedule."""
    cuts = np.flatnonzero(np.diff(schedule)) + 1
    bounds = [0, *cuts.tolist(), len(schedule)]
    for start, stop in itertools.pairwise(bounds):
        yield start, stop, int(schedule[start])


def collude_interleave(clips: list[Clip], segment_s: float, rng: np.random.Generator) -> Clip:
    """Consecutive `segment_s` segments cut from the copies in turn (random order each
    round, see `interleave_schedule`), then H.264 CRF 23: the splice attack."""
    clips = _aligned(clips)
    n = clips[0].n_frames
    seg = _frames_for(segment_s, clips[0].fps)
    out = np.empty_like(clips[0].frames)
    for start, stop, copy in _segments(interleave_schedule(n, len(clips), seg, rng)):
        out[start:stop] = clips[copy].frames[start:stop]
    return reencode(Clip(out, clips[0].fps))


# --------------------------------------------------------------------------- timing


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    """Print encode speed and the cost of one pass of every attack on synthetic footage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for w, h in ((640, 480), (1920, 1080)):
        clip = synthetic_clip(300 / 24, 24, w, h, args.seed)
        print(f"encode 300 frames {w}x{h} veryfast: {_timed(lambda c=clip: encode(c)):.2f} s")
    gen = time.perf_counter()
    clip = synthetic_clip(args.seconds, 24, 640, 360, args.seed)
    print(f"synthetic {args.seconds:g} s 640x360: {time.perf_counter() - gen:.2f} s")
    rng = np.random.default_rng(args.seed)
    total = 0.0
    for name, attack in ATTACKS.items():
        took = _timed(lambda a=attack: a(clip, rng))
        total += took
        print(f"  {name:<18} {took:6.2f} s")
    print(f"all {len(ATTACKS)} attacks: {total:.1f} s")


if __name__ == "__main__":
    main()

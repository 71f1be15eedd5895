"""A shot through a backend: decode with PyAV, swap in batches, encode H.264, keep the audio.

Works from streams both ways (the vault hands over decrypted bytes, never a plaintext file),
so the output must be seekable (MP4 writes its index last): a BytesIO, or a path, which is
written beside itself and renamed into place only when the whole clip is done. Memory holds
one batch of frames, whatever the clip's length. Frame timestamps are kept, so variable frame
rates survive. Audio packets are copied untouched when MP4 can carry them, else re-encoded
to AAC. A packet the decoder cannot read is skipped and counted, as ffmpeg does; a clip with
no readable frame at all is an error.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Protocol

import av
import numpy as np

from swap.errors import SwapError
from swap.files import atomic_path

Source = str | os.PathLike | IO[bytes]
Progress = Callable[[int, int | None], None]  # frames done, frames expected (None: unknown)

# Audio codecs MP4 carries as they are; anything else is re-encoded to AAC.
_MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}


class Backend(Protocol):
    """The swap contract: a batch of RGB uint8 frames (N, H, W, 3) in, the same shape out.

    Frames arrive in order, batch after batch, so a backend may track faces across them;
    `reset` (optional) is called before each new clip."""

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Encoding:
    """How the swapped picture is encoded: libx264 at a constant quality."""

    crf: int = 18
    preset: str = "medium"
    codec: str = "libx264"


@dataclass(frozen=True)
class SwapResult:
    frames: int
    width: int
    height: int
    fps: float
    audio: str | None  # "copied", "re-encoded to AAC" or None when the clip has none
    skipped_packets: int
    sample: tuple[np.ndarray, np.ndarray] | None = None  # one frame before and after the swap


def swap_video(
    source: Source,
    destination: str | os.PathLike | IO[bytes],
    backend: Backend,
    *,
    batch_size: int = 16,
    encoding: Encoding = Encoding(),
    progress: Progress | None = None,
    sample_at: float | None = None,
) -> SwapResult:
    """Swap every frame of `source` through `backend` into an H.264 MP4 at `destination`.

    `sample_at` (0..1, a fraction of the clip) keeps that frame before and after the swap in
    the result, for a person to look at."""
    if batch_size < 1:
        raise SwapError(f"batch size must be 1 or more, got {batch_size}")
    if hasattr(backend, "reset"):
        backend.reset()
    if isinstance(destination, str | os.PathLike):
        with atomic_path(destination) as partial:
            return _swap(source, partial, backend, batch_size, encoding, progress, sample_at)
    return _swap(source, destination, backend, batch_size, encoding, progress, sample_at)


def read_batches(source: Source, batch_size: int = 16) -> Iterator[np.ndarray]:
    """The clip's frames as RGB uint8 batches (N, H, W, 3), for analysis or face extraction."""
    with _open_input(source) as container:
        video = _video_stream(container, source)
        batch: list[np.ndarray] = []
        for frame in _decoded(container, video, _Counter()):
            batch.append(frame.to_ndarray(format="rgb24"))
            if len(batch) == batch_size:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)


def _swap(
    source: Source,
    destination: str | os.PathLike | IO[bytes],
    backend: Backend,
    batch_size: int,
    encoding: Encoding,
    progress: Progress | None,
    sample_at: float | None,
) -> SwapResult:
    with _open_input(source) as container:
        video = _video_stream(container, source)
        audio = container.streams.audio[0] if container.streams.audio else None
        width, height = video.codec_context.width // 2 * 2, video.codec_context.height // 2 * 2
        expected = _expected_frames(container, video)
        skipped = _Counter()
        wanted = None if sample_at is None else round(sample_at * max((expected or 1) - 1, 0))
        sample: tuple[np.ndarray, np.ndarray] | None = None
        with av.open(destination, "w", format="mp4") as output:
            encoder = _video_encoder(output, video, width, height, encoding)
            audio_out, audio_mode = _audio_output(output, audio)
            done = 0
            pending: list[av.VideoFrame] = []

            def flush() -> None:
                nonlocal done, sample
                before, after = _encode_batch(pending, backend, encoder, output, width, height)
                if wanted is not None and done <= wanted < done + len(pending):
                    sample = before[wanted - done], after[wanted - done]
                done += len(pending)
                pending.clear()
                if progress:
                    progress(done, expected)

            streams = [video] + ([audio] if audio is not None else [])
            for item in _demuxed(container, streams, video, skipped):
                if isinstance(item, av.VideoFrame):
                    pending.append(item)
                    if len(pending) == batch_size:
                        flush()
                else:
                    _write_audio(item, audio_out, audio_mode, output)
            if pending:
                flush()
            if done == 0:
                raise SwapError("the clip has no readable video frame", "check the source file")
            output.mux(encoder.encode(None))
            if audio_mode == "re-encoded to AAC":
                output.mux(audio_out.encode(None))
        fps = float(video.average_rate or 0)
        return SwapResult(done, width, height, fps, audio_mode, skipped.n, sample)


def _encode_batch(
    frames: list[av.VideoFrame],
    backend: Backend,
    encoder: av.VideoStream,
    output: av.container.OutputContainer,
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Swap one batch and encode it; returns the batch before and after."""
    pixels = np.stack([f.to_ndarray(format="rgb24")[:height, :width] for f in frames])
    swapped = backend(pixels)
    if swapped.shape != pixels.shape or swapped.dtype != np.uint8:
        raise SwapError(
            f"the swap backend returned {swapped.shape} {swapped.dtype} for {pixels.shape} uint8",
            "a backend must return frames of the shape and type it was given",
        )
    for original, picture in zip(frames, swapped, strict=True):
        out = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
        out.pts, out.time_base = original.pts, original.time_base
        output.mux(encoder.encode(out))
    return pixels, swapped


def _video_encoder(
    output: av.container.OutputContainer,
    video: av.VideoStream,
    width: int,
    height: int,
    encoding: Encoding,
) -> av.VideoStream:
    rate = video.average_rate or Fraction(25)
    stream = output.add_stream(encoding.codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = video.time_base
    stream.options = {"crf": str(encoding.crf), "preset": encoding.preset}
    return stream


def _audio_output(
    output: av.container.OutputContainer, audio: av.AudioStream | None
) -> tuple[av.AudioStream | None, str | None]:
    if audio is None:
        return None, None
    if audio.codec_context.name in _MP4_AUDIO:
        return output.add_stream_from_template(audio), "copied"
    stream = output.add_stream("aac", rate=audio.codec_context.sample_rate or 48000)
    return stream, "re-encoded to AAC"


def _write_audio(
    item: av.Packet | av.AudioFrame,
    stream: av.AudioStream | None,
    mode: str | None,
    output: av.container.OutputContainer,
) -> None:
    if stream is None:
        return
    if mode == "copied":
        item.stream = stream
        output.mux(item)
    else:
        item.pts = None
        output.mux(stream.encode(item))


def _demuxed(
    container: av.container.InputContainer,
    streams: list[av.stream.Stream],
    video: av.VideoStream,
    skipped: _Counter,
) -> Iterator[av.VideoFrame | av.Packet | av.AudioFrame]:
    """Video frames decoded, audio packets as they are (or decoded when they must be
    re-encoded), in file order."""
    copy_audio = len(streams) > 1 and streams[1].codec_context.name in _MP4_AUDIO
    for packet in container.demux(streams):
        if packet.stream is video:
            yield from _decode_packet(packet, skipped)
        elif copy_audio:
            if packet.dts is not None:
                yield packet
        else:
            yield from _decode_packet(packet, skipped)


def _decoded(
    container: av.container.InputContainer, video: av.VideoStream, skipped: _Counter
) -> Iterator[av.VideoFrame]:
    for packet in container.demux(video):
        yield from _decode_packet(packet, skipped)


def _decode_packet(packet: av.Packet, skipped: _Counter) -> Iterator:
    try:
        yield from packet.decode()
    except av.error.InvalidDataError:
        skipped.n += 1


class _Counter:
    n = 0


@contextlib.contextmanager
def _open_input(source: Source) -> Iterator[av.container.InputContainer]:
    name = source if isinstance(source, str | os.PathLike) else "the input stream"
    try:
        container = av.open(source, "r")
    except (av.error.FFmpegError, OSError) as error:
        raise SwapError(f"{name} is not a readable video ({error})", "check the file") from None
    try:
        yield container
    finally:
        container.close()


def _video_stream(container: av.container.InputContainer, source: Source) -> av.VideoStream:
    if not container.streams.video:
        name = source if isinstance(source, str | os.PathLike) else "the input stream"
        raise SwapError(f"{name} has no video stream", "give it a video clip")
    video = container.streams.video[0]
    video.thread_type = "AUTO"
    if (video.codec_context.width or 0) < 2 or (video.codec_context.height or 0) < 2:
        raise SwapError("the video stream has no picture size", "check the source file")
    return video


def _expected_frames(container: av.container.InputContainer, video: av.VideoStream) -> int | None:
    """The frame count the header promises, else duration × rate (Matroska has no count)."""
    if video.frames:
        return int(video.frames)
    if not video.average_rate:
        return None
    if video.duration and video.time_base:
        seconds = float(video.duration * video.time_base)
    elif container.duration:
        seconds = container.duration / av.time_base
    else:
        return None
    return round(seconds * float(video.average_rate))

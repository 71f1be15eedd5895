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
    if not isinstance(destination, str | os.PathLike) and not _seekable(destination):
        raise SwapError(
            "the output stream cannot seek, and MP4 writes its index last",
            "write to a file or an in-memory buffer",
        )
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
        expected = _expected_frames(container, video)
        wanted = None if sample_at is None else round(sample_at * max((expected or 1) - 1, 0))
        skipped = _Counter()
        with av.open(destination, "w", format="mp4") as output:
            writer = _Writer(output, video, audio, backend, encoding, wanted)
            pending: list[av.VideoFrame] = []
            streams = [video] + ([audio] if audio is not None else [])
            for item in _demuxed(container, streams, video, skipped):
                if not isinstance(item, av.VideoFrame):
                    writer.audio(item)
                    continue
                pending.append(item)
                if len(pending) == batch_size:
                    writer.video(pending)
                    pending = []
                    if progress:
                        progress(writer.done, expected)
            if pending:
                writer.video(pending)
            if progress:
                progress(writer.done, writer.done)
            if writer.done == 0:
                raise SwapError("the clip has no readable video frame", "check the source file")
            writer.close()
        return SwapResult(
            writer.done,
            writer.width,
            writer.height,
            float(video.average_rate or 0),
            writer.audio_mode,
            skipped.n,
            writer.sample,
        )


class _Writer:
    """The output of one run: frames swapped and encoded with their timestamps, the audio,
    and the sample frame kept for a person to look at."""

    def __init__(
        self,
        output: av.container.OutputContainer,
        video: av.VideoStream,
        audio: av.AudioStream | None,
        backend: Backend,
        encoding: Encoding,
        wanted: int | None,
    ) -> None:
        self.output, self.backend, self.wanted = output, backend, wanted
        self.width = video.codec_context.width // 2 * 2  # 4:2:0 needs even sizes
        self.height = video.codec_context.height // 2 * 2
        self.encoder, self._tick = _video_encoder(output, video, self.width, self.height, encoding)
        self.audio_out, self.audio_mode = _audio_output(output, audio)
        self.done = 0
        self.sample: tuple[np.ndarray, np.ndarray] | None = None
        self._last_pts: int | None = None

    def video(self, frames: list[av.VideoFrame]) -> None:
        pixels = np.stack(
            [f.to_ndarray(format="rgb24")[: self.height, : self.width] for f in frames]
        )
        swapped = _checked(self.backend(pixels), pixels)
        for original, picture in zip(frames, swapped, strict=True):
            out = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            out.pts = self._pts(original.pts)
            self.output.mux(self.encoder.encode(out))
        self._keep_sample(pixels, swapped)
        self.done += len(frames)

    def _pts(self, pts: int | None) -> int:
        """The frame's own timestamp, or one frame after the last when it has none or goes
        backwards (raw streams, broken muxes), so the encoder always sees time move on."""
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            pts = 0 if self._last_pts is None else self._last_pts + self._tick
        self._last_pts = pts
        return pts

    def _keep_sample(self, before: np.ndarray, after: np.ndarray) -> None:
        if self.wanted is None:
            return
        index = self.wanted - self.done
        if index < len(before):
            self.sample, self.wanted = (before[index], after[index]), None
        else:  # the frame count was an estimate: hold the latest until the wanted one comes
            self.sample = before[-1], after[-1]

    def audio(self, item: av.Packet | av.AudioFrame) -> None:
        if self.audio_out is None:
            return
        if self.audio_mode == "copied":
            item.stream = self.audio_out
            self.output.mux(item)
            return
        if item.pts is not None and item.time_base is not None:
            # Keep the track where it starts (and its gaps): rebase into the encoder's clock.
            item.pts = round(item.pts * item.time_base * self.audio_out.codec_context.sample_rate)
        item.time_base = Fraction(1, self.audio_out.codec_context.sample_rate)
        self.output.mux(self.audio_out.encode(item))

    def close(self) -> None:
        self.output.mux(self.encoder.encode(None))
        if self.audio_mode == "re-encoded to AAC":
            self.output.mux(self.audio_out.encode(None))


def _checked(swapped: object, pixels: np.ndarray) -> np.ndarray:
    ok = isinstance(swapped, np.ndarray) and swapped.shape == pixels.shape
    if ok and swapped.dtype == np.uint8:
        return swapped
    got = f"{getattr(swapped, 'shape', type(swapped).__name__)} {getattr(swapped, 'dtype', '')}"
    raise SwapError(
        f"the swap backend returned {got.strip()} for {pixels.shape} uint8",
        "a backend must return frames of the shape and type it was given",
    )


def _video_encoder(
    output: av.container.OutputContainer,
    video: av.VideoStream,
    width: int,
    height: int,
    encoding: Encoding,
) -> tuple[av.VideoStream, int]:
    """The H.264 stream, on the source's clock so variable frame rates keep their timing,
    and one frame's duration in that clock's ticks."""
    rate = video.average_rate or video.guessed_rate or Fraction(25)
    time_base = video.time_base or 1 / Fraction(rate)
    stream = output.add_stream(encoding.codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = stream.codec_context.time_base = time_base
    stream.options = {"crf": str(encoding.crf), "preset": encoding.preset}
    return stream, max(1, round(1 / (Fraction(rate) * time_base)))


def _audio_output(
    output: av.container.OutputContainer, audio: av.AudioStream | None
) -> tuple[av.AudioStream | None, str | None]:
    if audio is None:
        return None, None
    if audio.codec_context.name in _MP4_AUDIO:
        return output.add_stream_from_template(audio), "copied"
    stream = output.add_stream("aac", rate=audio.codec_context.sample_rate or 48000)
    stream.time_base = Fraction(1, stream.codec_context.sample_rate)
    return stream, "re-encoded to AAC"


def _demuxed(
    container: av.container.InputContainer,
    streams: list[av.stream.Stream],
    video: av.VideoStream,
    skipped: _Counter,
) -> Iterator[av.VideoFrame | av.Packet | av.AudioFrame]:
    """Video frames decoded, audio packets as they are (or decoded when they must be
    re-encoded), in file order."""
    copy_audio = len(streams) > 1 and streams[1].codec_context.name in _MP4_AUDIO
    for packet in _packets(container, streams, skipped):
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
    for packet in _packets(container, [video], skipped):
        yield from _decode_packet(packet, skipped)


def _packets(
    container: av.container.InputContainer, streams: list[av.stream.Stream], skipped: _Counter
) -> Iterator[av.Packet]:
    """The streams' packets; where the container is too damaged to read on, the clip ends
    (what came before is kept, as with a truncated file)."""
    try:
        yield from container.demux(streams)
    except av.error.InvalidDataError:
        skipped.n += 1


def _decode_packet(packet: av.Packet, skipped: _Counter) -> Iterator:
    try:
        yield from packet.decode()
    except av.error.InvalidDataError:
        skipped.n += 1


class _Counter:
    n = 0


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _describe(source: Source) -> str:
    return str(source) if isinstance(source, str | os.PathLike) else "the input stream"


@contextlib.contextmanager
def _open_input(source: Source) -> Iterator[av.container.InputContainer]:
    name = _describe(source)
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
        raise SwapError(f"{_describe(source)} has no video stream", "give it a video clip")
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

"""Face tracking, the PyAV pipeline, backend plug-ins and `python -m swap`, on real clips."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import install_plugin

from swap import SwapError
from swap.backends import available, decode_image, load_backend
from swap.cli import main as swap_cli
from swap.devices import select_device
from swap.faces import DlibAnalyser
from swap.landmark import LandmarkSwap
from swap.pipeline import Encoding, read_batches, swap_video
from swap.tracking import FaceTracker, OneEuroFilter, landmark_jitter

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.exists(), reason="../shared/data is absent")


@cache
def actor_frames() -> np.ndarray:
    """The first 30 frames of a real 640x480 shot of one person facing the camera."""
    return next(read_batches(DATA / "footage" / "again.mkv", batch_size=30))


@cache
def portrait() -> bytes:
    return (DATA / "faces" / "obama.jpg").read_bytes()


def clip_bytes(frames: np.ndarray, fps: int = 30, audio: bool = False) -> bytes:
    """A real H.264 MP4 (with an AAC tone when asked) of `frames`, in memory."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        sound = container.add_stream("aac", rate=48000, layout="mono") if audio else None
        for picture in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            seconds = len(frames) / fps
            t = np.arange(int(48000 * seconds)) / 48000
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            for start in range(0, tone.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(tone[:, start : start + 1024]),
                    format="fltp",
                    layout="mono",
                )
                chunk.sample_rate = 48000
                container.mux(sound.encode(chunk))
            container.mux(sound.encode(None))
    return buffer.getvalue()


def decoded(data: bytes) -> tuple[np.ndarray, dict[str, float]]:
    """Frames and per-stream durations (seconds) of an encoded clip."""
    with av.open(io.BytesIO(data)) as container:
        durations = {
            s.type: float(s.duration * s.time_base) for s in container.streams if s.duration
        }
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    return frames, durations


def gradient_frames(n: int = 24, height: int = 96, width: int = 128) -> np.ndarray:
    """Face-less synthetic frames with a moving ramp, so every frame differs."""
    x = np.arange(width)[None, :, None]
    return np.stack(
        [np.broadcast_to((x * 2 + i * 5) % 256, (height, width, 3)) for i in range(n)]
    ).astype(np.uint8)


class Recorder:
    """A backend that inverts the picture and records the batch sizes it was given."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        self.batches.append(len(frames))
        return 255 - frames


# ------------------------------------------------------------------------------- tracking


@needs_data
def test_the_tracker_follows_the_face_with_less_shake_than_detection_alone() -> None:
    analyser = DlibAnalyser()
    frames = actor_frames()
    detected = [analyser.detect(f)[0].landmarks for f in frames]
    tracker = FaceTracker(analyser, detect_every=5)
    tracked = [tracker.track(f) for f in frames]
    assert all(len(faces) == 1 for faces in tracked)
    landmarks = [faces[0].landmarks for faces in tracked]
    offsets = [
        np.linalg.norm(a - b, axis=1).mean() for a, b in zip(landmarks, detected, strict=True)
    ]
    assert max(offsets) < 3.0  # pixels, on a face about 70 px wide
    assert landmark_jitter(landmarks) < 0.8 * landmark_jitter(detected)


@needs_data
def test_the_tracker_starts_afresh_after_reset_and_refuses_a_new_size_mid_shot() -> None:
    tracker = FaceTracker(DlibAnalyser(), detect_every=5)
    first = tracker.track(actor_frames()[0])
    with pytest.raises(SwapError, match="frame size changed"):
        tracker.track(actor_frames()[0][:240])
    tracker.reset()
    assert len(tracker.track(actor_frames()[0][:400])) == 1
    assert first[0].size > 40


def test_the_tracker_reports_no_face_in_a_face_less_shot() -> None:
    tracker = FaceTracker(DlibAnalyser(), detect_every=3)
    assert all(tracker.track(frame) == [] for frame in gradient_frames(6))
    with pytest.raises(SwapError, match="detect_every"):
        FaceTracker(DlibAnalyser(), detect_every=0)


def test_one_euro_smooths_a_still_face_and_follows_a_moving_one() -> None:
    rng = np.random.default_rng(7)
    face = rng.uniform(0, 100, (68, 2))
    still = OneEuroFilter()
    out = [still(face + rng.normal(0, 1.0, face.shape), scale=100) for _ in range(60)]
    assert np.std(np.stack(out[30:]) - face) < 0.6  # the input shakes by 1 px
    moving = OneEuroFilter()
    for step in range(40):
        last = moving(face + np.array([step * 4.0, 0]), scale=100)
    assert abs(float(np.mean(last[:, 0] - face[:, 0])) - 39 * 4.0) < 8  # lag under 2 frames


# ------------------------------------------------------------------------------- pipeline


def test_every_frame_goes_through_the_backend_in_bounded_batches_and_audio_is_kept() -> None:
    frames = gradient_frames(40)
    source = io.BytesIO(clip_bytes(frames, audio=True))
    output, backend = io.BytesIO(), Recorder()
    result = swap_video(source, output, backend, batch_size=16, encoding=Encoding(crf=10))
    assert backend.batches == [16, 16, 8] and backend.resets == 1
    assert (result.frames, result.width, result.height, result.audio) == (40, 128, 96, "copied")
    swapped, durations = decoded(output.getvalue())
    assert swapped.shape == frames.shape
    assert np.abs(swapped.astype(int) - (255 - frames.astype(int))).mean() < 3
    assert durations["audio"] == pytest.approx(durations["video"], abs=0.1)


def test_the_middle_frame_is_kept_before_and_after() -> None:
    frames = gradient_frames(21)
    result = swap_video(
        io.BytesIO(clip_bytes(frames)), io.BytesIO(), Recorder(), batch_size=8, sample_at=0.5
    )
    before, after = result.sample
    assert np.array_equal(after, 255 - before)
    errors = [np.abs(before.astype(int) - f.astype(int)).mean() for f in frames]
    assert int(np.argmin(errors)) == 10


def test_timestamps_survive_variable_rate_and_are_made_up_where_missing() -> None:
    variable = io.BytesIO()
    with av.open(variable, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        stamps = [0, 10, 20, 30, 430, 830, 1230, 1630]  # ms: 100 fps, then 2.5 fps
        for picture, pts in zip(gradient_frames(8), stamps, strict=True):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    output = io.BytesIO()
    swap_video(io.BytesIO(variable.getvalue()), output, Recorder())
    assert seconds_of(output.getvalue()) == pytest.approx([t / 1000 for t in stamps], abs=1e-3)
    raw = io.BytesIO()  # a bare H.264 stream: frames without timestamps
    with av.open(raw, "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for picture in gradient_frames(6):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    output = io.BytesIO()
    assert swap_video(io.BytesIO(raw.getvalue()), output, Recorder()).frames == 6
    assert seconds_of(output.getvalue()) == pytest.approx(
        [0, 0.04, 0.08, 0.12, 0.16, 0.2], abs=1e-3
    )


def seconds_of(data: bytes) -> list[float]:
    with av.open(io.BytesIO(data)) as container:
        return [float(f.pts * f.time_base) for f in container.decode(video=0)]


def test_audio_that_mp4_cannot_carry_is_re_encoded_where_it_starts() -> None:
    source = io.BytesIO()
    with av.open(source, "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 128, 96, "yuv420p"
        sound = container.add_stream("pcm_s16le", rate=48000, layout="mono")
        for picture in gradient_frames(25):
            container.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(video.encode(None))
        for index in range(20):  # the track starts half a second in
            chunk = av.AudioFrame.from_ndarray(
                np.zeros((1, 1200), np.int16), format="s16", layout="mono"
            )
            chunk.sample_rate, chunk.time_base = 48000, Fraction(1, 48000)
            chunk.pts = 24000 + index * 1200
            container.mux(sound.encode(chunk))
        container.mux(sound.encode(None))
    output = io.BytesIO()
    result = swap_video(io.BytesIO(source.getvalue()), output, Recorder())
    assert result.audio == "re-encoded to AAC"
    with av.open(io.BytesIO(output.getvalue())) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert float(audio.start_time * audio.time_base) == pytest.approx(0.5, abs=0.03)


def test_an_output_stream_that_cannot_seek_is_refused() -> None:
    class Pipe(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:
            return len(data)

    with pytest.raises(SwapError, match="cannot seek"):
        swap_video(io.BytesIO(clip_bytes(gradient_frames(4))), Pipe(), Recorder())


def test_a_failing_backend_leaves_no_output_file(tmp_path: Path) -> None:
    def broken(frames: np.ndarray) -> np.ndarray:
        raise SwapError("the engine ran out of memory")

    target = tmp_path / "out.mp4"
    with pytest.raises(SwapError, match="out of memory"):
        swap_video(io.BytesIO(clip_bytes(gradient_frames(8))), target, broken)
    assert list(tmp_path.iterdir()) == []


def test_a_backend_returning_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SwapError, match="must return frames of the shape"):
        swap_video(
            io.BytesIO(clip_bytes(gradient_frames(4))), tmp_path / "o.mp4", lambda f: f[:, :10]
        )
    assert list(tmp_path.iterdir()) == []


def test_bad_sources_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SwapError, match="not a readable video"):
        swap_video(io.BytesIO(b"this is not a video at all" * 50), tmp_path / "o.mp4", Recorder())
    audio_only = io.BytesIO()
    with av.open(audio_only, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000, layout="mono")
        silence = np.zeros((1, 1024), np.float32)
        frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
        frame.sample_rate = 48000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    audio_only.seek(0)
    with pytest.raises(SwapError, match="no video stream"):
        swap_video(audio_only, tmp_path / "o.mp4", Recorder())
    with pytest.raises(SwapError, match="batch size"):
        swap_video(
            io.BytesIO(clip_bytes(gradient_frames(4))), io.BytesIO(), Recorder(), batch_size=0
        )
    assert list(tmp_path.iterdir()) == []


def test_a_clip_damaged_in_the_middle_is_swapped_whole_as_far_as_it_can_be_read() -> None:
    noise = np.random.default_rng(3).integers(0, 256, (60, 96, 128, 3), dtype=np.uint8)
    stream = io.BytesIO()
    with av.open(stream, "w", format="mpegts") as container:  # no index: damage stays local
        video = container.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 128, 96, "yuv420p"
        for picture in noise:
            container.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(video.encode(None))
    data = bytearray(stream.getvalue())
    start = len(data) // 4
    data[start : start + 3000] = np.random.default_rng(4).integers(0, 256, 3000, np.uint8).tobytes()
    output = io.BytesIO()
    result = swap_video(io.BytesIO(bytes(data)), output, Recorder())
    assert 50 <= result.frames < 60  # the damaged frame is lost, the rest come through
    assert decoded(output.getvalue())[0].shape[0] == result.frames


# ------------------------------------------------------------------------- landmark backend


@needs_data
def test_the_landmark_backend_swaps_a_tracked_shot_and_leaves_the_background(
    tmp_path: Path,
) -> None:
    frames = actor_frames()[:12]
    backend = load_backend("landmark", portrait())
    swapped = backend(frames)
    assert swapped.shape == frames.shape
    changed = (swapped != frames).any(axis=3)
    assert changed.any(axis=(1, 2)).all()  # a face in every frame, swapped in every frame
    assert changed.mean() < 0.05  # only the face: a few per cent of the picture
    assert not changed[:, :, :200].any() and not changed[:, :, 450:].any()


@needs_data
def test_faces_at_the_edge_or_too_small_do_not_break_the_swap() -> None:
    frame = actor_frames()[0]
    face = DlibAnalyser().detect(frame)[0]
    left, _, right, _ = face.box
    cut = np.ascontiguousarray(frame[:, left + (right - left) // 5 :])  # a fifth of the face off
    backend = LandmarkSwap(
        cv2.cvtColor(cv2.imread(str(DATA / "faces" / "obama.jpg")), cv2.COLOR_BGR2RGB)
    )
    assert backend.analyser.detect(cut)  # still found, though its landmarks leave the picture
    swapped = backend.swap_frame(cut)
    assert swapped.shape == cut.shape
    assert (swapped != cut).any(axis=2)[:, :20].any()  # changed right up to the edge
    tiny = cv2.resize(frame, (160, 120), interpolation=cv2.INTER_AREA)  # a face about 18 px
    assert np.array_equal(backend.swap_frame(tiny), tiny)


def test_a_reference_that_is_not_an_image_is_refused() -> None:
    with pytest.raises(SwapError, match="not an image"):
        decode_image(b"%PDF-1.7 not a portrait")
    with pytest.raises(SwapError, match="not an image"):
        load_backend("landmark", b"")


def test_backend_settings_are_checked() -> None:
    with pytest.raises(SwapError, match="not a number"):
        load_backend(
            "landmark", portrait() if DATA.exists() else b"", settings={"detect_every": "x"}
        )
    with pytest.raises(SwapError, match="refused its settings"):
        load_backend("landmark", b"", settings={"colour": "blue"})
    with pytest.raises(SwapError, match="no swap backend named 'nope'"):
        load_backend("nope", b"")


def test_auto_device_falls_back_to_the_cpu_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto").type == "cpu"
    assert select_device("cpu").type == "cpu"
    with pytest.raises(SwapError, match="no usable GPU"):
        select_device("cuda")
    with pytest.raises(SwapError, match="unknown device"):
        select_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto").type == "cuda"


# ------------------------------------------------------------------------------- plug-ins


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A studio's engine, installed as a package with entry points would be."""
    install_plugin(
        tmp_path,
        monkeypatch,
        "studio_engine",
        "import numpy as np\n"
        "class Negative:\n"
        "    def __init__(self, face, device, strength='1'):\n"
        "        self.face, self.device, self.strength = face, device, int(strength)\n"
        "    def __call__(self, frames):\n"
        "        return (255 - frames).astype(np.uint8)\n"
        "def make_backend(face, *, device='auto', **settings):\n"
        "    return Negative(face, device, **settings)\n"
        "def broken(face, **settings):\n"
        "    raise RuntimeError('licence server unreachable')\n",
        {
            "studio-negative": "studio_engine:make_backend",
            "studio-missing": "studio_engine_not_installed:make",
            "studio-broken": "studio_engine:broken",
        },
    )
    return "studio-negative"


def test_a_registered_plugin_is_found_and_used(plugin: str) -> None:
    assert available()[plugin] == "studio_engine:make_backend"
    backend = load_backend(plugin, b"model bytes", device="cpu", settings={"strength": "3"})
    assert (backend.face, backend.device, backend.strength) == (b"model bytes", "cpu", 3)
    frames = gradient_frames(10)
    output = io.BytesIO()
    swap_video(io.BytesIO(clip_bytes(frames)), output, backend, encoding=Encoding(crf=10))
    swapped, _ = decoded(output.getvalue())
    assert np.abs(swapped.astype(int) - (255 - frames.astype(int))).mean() < 3


def test_a_plugin_that_cannot_load_or_start_is_a_one_line_error(plugin: str) -> None:
    with pytest.raises(SwapError, match="studio-missing' failed to load"):
        load_backend("studio-missing", b"")
    with pytest.raises(SwapError, match=r"studio-broken' failed to start: .*licence server"):
        load_backend("studio-broken", b"")


# ------------------------------------------------------------------------------------ CLI


@needs_data
def test_swap_run_writes_the_clip_a_preview_and_a_json_summary(tmp_path: Path) -> None:
    plate = tmp_path / "plate.mp4"
    plate.write_bytes(clip_bytes(actor_frames()[:10]))
    out, preview = tmp_path / "out.mp4", tmp_path / "before_after.png"
    result = CliRunner().invoke(
        swap_cli,
        [
            "run",
            str(plate),
            "--face",
            str(DATA / "faces" / "obama.jpg"),
            "-o",
            str(out),
            "--preview",
            str(preview),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["frames"], summary["size"], summary["backend"]) == (10, [640, 480], "landmark")
    assert decoded(out.read_bytes())[0].shape == (10, 480, 640, 3)
    assert cv2.imread(str(preview)).shape == (480, 1280, 3)


def test_swap_run_errors_are_one_line(tmp_path: Path) -> None:
    plate = tmp_path / "plate.mp4"
    plate.write_bytes(clip_bytes(gradient_frames(4)))
    not_a_face = tmp_path / "face.txt"
    not_a_face.write_text("hello")
    result = CliRunner().invoke(
        swap_cli, ["run", str(plate), "--face", str(not_a_face), "-o", str(tmp_path / "o.mp4")]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "swap: the face reference is not an image; give a JPEG or PNG portrait"
    ]
    assert not (tmp_path / "o.mp4").exists()


def test_swap_backends_lists_the_built_ins() -> None:
    result = CliRunner().invoke(swap_cli, ["backends", "--json"])
    assert result.exit_code == 0
    assert {"landmark", "autoencoder"} <= set(json.loads(result.output))


@needs_data
def test_extract_train_and_run_the_autoencoder_from_the_command_line(tmp_path: Path) -> None:
    plate = tmp_path / "plate.mp4"
    plate.write_bytes(clip_bytes(actor_frames()[:12]))
    runner = CliRunner()
    for name, clip in (("actor", plate), ("target", DATA / "footage" / "book.mkv")):
        args = ["extract", str(clip), "-o", str(tmp_path / f"{name}.npz"), "--size", "32"]
        assert runner.invoke(swap_cli, [*args, "--every", "4"]).exit_code == 0
    checkpoint = tmp_path / "model.pt"
    train = [
        "train",
        "--actor",
        str(tmp_path / "actor.npz"),
        "--target",
        str(tmp_path / "target.npz"),
        "--checkpoint",
        str(checkpoint),
        "--resolution",
        "32",
        "--batch-size",
        "4",
        "--json",
    ]
    first = runner.invoke(swap_cli, [*train, "--steps", "3"])
    assert first.exit_code == 0, first.output
    resumed = json.loads(runner.invoke(swap_cli, [*train, "--steps", "5"]).output)
    assert (resumed["step"], resumed["steps_run"]) == (5, 2)
    out = tmp_path / "out.mp4"
    ran = runner.invoke(
        swap_cli,
        ["run", str(plate), "--face", str(checkpoint), "--backend", "autoencoder", "-o", str(out)],
    )
    assert ran.exit_code == 0, ran.output
    assert decoded(out.read_bytes())[0].shape == (12, 480, 640, 3)
    checkpoint.write_bytes(checkpoint.read_bytes()[:5000])  # truncated, as by a full disk
    broken = runner.invoke(
        swap_cli,
        ["run", str(plate), "--face", str(checkpoint), "--backend", "autoencoder", "-o", str(out)],
    )
    assert broken.exit_code == 2
    assert len(broken.output.strip().splitlines()) == 1
    assert "not a readable checkpoint" in broken.output

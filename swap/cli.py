"""`python -m swap`: the swap stage alone, for the VFX team to iterate on a shot.

    python -m swap run plate.mp4 --face portrait.jpg -o out.mp4 --preview before_after.png
    python -m swap extract plate.mp4 -o actor.npz
    python -m swap train --actor actor.npz --target target.npz --checkpoint model.pt
    python -m swap backends

These work on plain files; inside the vault the same library runs on decrypted streams.
Errors print as one line, `swap: <problem>; <what to do>`, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import cv2
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from swap.backends import available, load_backend, parse_settings
from swap.devices import DEVICE_CHOICES
from swap.errors import SwapError
from swap.files import write_atomically
from swap.pipeline import Encoding, read_batches, swap_video

_stderr = Console(stderr=True, highlight=False)


class _SwapGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SwapError as error:
            click.echo(f"swap: {error}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("swap: interrupted; files are written whole or not at all", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as error:  # a bug: one line, the traceback only on request
            if os.environ.get("VAULT_DEBUG"):
                traceback.print_exc()
            click.echo(f"swap: internal error ({type(error).__name__}: {error})", err=True)
            ctx.exit(70)


@contextmanager
def frame_progress(description: str, unit: str) -> Iterator[Callable[[int, int | None], None]]:
    """A progress bar on a terminal (silent when piped); yields a done/total callback."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    columns = (
        f"[progress.description]{description}",
        BarColumn(),
        MofNCompleteColumn(),
        f"{unit}",
        "[progress.percentage]{task.fields[rate]}",
        TimeRemainingColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=_stderr, transient=True) as bar:
        task = bar.add_task(description, total=None, rate="")

        def update(done: int, total: int | None) -> None:
            rate = done / max(time.monotonic() - started, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:.1f}/s")

        yield update


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.group(cls=_SwapGroup)
def main() -> None:
    """The face-swap stage on its own: swap a shot, build face sets, train a model."""


@main.command()
@click.argument("plate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--face",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The target face: a portrait (landmark) or a checkpoint (autoencoder).",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--backend", default="landmark", show_default=True)
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE", help="A backend setting.")
@click.option("--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True)
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the middle frame before and after, side by side (PNG/JPEG).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def run(
    plate: Path,
    face: Path,
    output: Path,
    backend: str,
    pairs: tuple[str, ...],
    device: str,
    batch_size: int,
    crf: int,
    preview: Path | None,
    as_json: bool,
) -> None:
    """Swap every face in PLATE for the target face and write an H.264 MP4."""
    if preview:
        _check_image_path(preview)
    swapper = load_backend(
        backend, face.read_bytes(), device=device, settings=parse_settings(pairs)
    )
    started = time.monotonic()
    with frame_progress("swapping", "frames") as progress:
        result = swap_video(
            plate,
            output,
            swapper,
            batch_size=batch_size,
            encoding=Encoding(crf=crf),
            progress=progress,
            sample_at=0.5 if preview else None,
        )
    seconds = time.monotonic() - started
    if preview:
        _write_image(preview, np.hstack(result.sample))
    summary = {
        "output": str(output),
        "backend": backend,
        "frames": result.frames,
        "size": [result.width, result.height],
        "fps": result.fps,
        "audio": result.audio,
        "skipped_packets": result.skipped_packets,
        "seconds": round(seconds, 2),
        "frames_per_second": round(result.frames / max(seconds, 1e-9), 2),
        "preview": str(preview) if preview else None,
    }
    if as_json:
        _echo_json(summary)
        return
    click.echo(
        f"wrote {output}: {result.frames} frames {result.width}x{result.height}, "
        f"{summary['frames_per_second']} frames/s, audio {result.audio or 'none'}"
        + (
            f", {result.skipped_packets} unreadable packets skipped"
            if result.skipped_packets
            else ""
        )
    )
    if preview:
        click.echo(f"before/after: {preview}")


@main.command()
@click.argument(
    "clips", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The face set to write (.npz).",
)
@click.option(
    "--size",
    type=click.IntRange(16),
    default=128,
    show_default=True,
    help="Crop size in pixels; training resizes to the model's resolution.",
)
@click.option(
    "--every", type=click.IntRange(1), default=1, show_default=True, help="Take every Nth frame."
)
@click.option("--json", "as_json", is_flag=True)
def extract(clips: tuple[Path, ...], output: Path, size: int, every: int, as_json: bool) -> None:
    """Build an aligned face set from CLIPS (the largest face of each frame), for `train`."""
    from swap.faces import DlibAnalyser
    from swap.training import FaceSet, extract_faces, save_faceset

    analyser, seen = DlibAnalyser(points=68), 0
    with frame_progress("extracting", "frames") as progress:

        def frames(clip: Path) -> Iterator[np.ndarray]:
            nonlocal seen
            for batch in read_batches(clip):
                yield from batch
                seen += len(batch)
                progress(seen, None)

        sets = [extract_faces(frames(clip), analyser, size, every) for clip in clips]
    faces = FaceSet(
        np.concatenate([s.faces for s in sets]), np.concatenate([s.masks for s in sets])
    )
    if not len(faces):
        raise SwapError("no face was found in the clips", "give footage showing the face")
    save_faceset(output, faces)
    if as_json:
        _echo_json({"output": str(output), "faces": len(faces), "frames": seen, "size": size})
    else:
        click.echo(f"wrote {output}: {len(faces)} faces from {seen} frames at {size} px")


@main.command()
@click.option(
    "--actor",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Face set of the actor on set (from `extract`).",
)
@click.option(
    "--target",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Face set of the face to put on the actor.",
)
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Written as training goes; an existing one is resumed.",
)
@click.option(
    "--steps",
    type=click.IntRange(1),
    default=10_000,
    show_default=True,
    help="The step count to reach (a resumed run continues towards it).",
)
@click.option("--resolution", type=click.IntRange(16), default=128, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option("--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True)
@click.option("--save-every", type=click.IntRange(1), default=500, show_default=True)
@click.option(
    "--preview-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a preview grid here every --save-every steps.",
)
@click.option("--fresh", is_flag=True, help="Start over instead of resuming the checkpoint.")
@click.option("--compile", "compile_model", is_flag=True, help="torch.compile (CUDA).")
@click.option("--json", "as_json", is_flag=True)
def train(
    actor: Path,
    target: Path,
    checkpoint: Path,
    steps: int,
    resolution: int,
    batch_size: int,
    device: str,
    save_every: int,
    preview_dir: Path | None,
    fresh: bool,
    compile_model: bool,
    as_json: bool,
) -> None:
    """Train the autoencoder (shared encoder, a decoder per identity) on two face sets."""
    from swap.autoencoder import ModelConfig
    from swap.training import load_faceset
    from swap.training import train as run_training

    facesets = {"actor": load_faceset(actor), "target": load_faceset(target)}
    started, losses = time.monotonic(), []
    with frame_progress("training", "steps") as progress:
        result = run_training(
            facesets,
            ModelConfig(resolution=resolution),
            checkpoint,
            steps,
            batch_size,
            device,
            resume=not fresh,
            save_every=save_every,
            preview_every=save_every if preview_dir else None,
            preview_dir=preview_dir,
            progress=lambda step, loss: (losses.append(loss), progress(step, steps)),
            compile_model=compile_model,
        )
    seconds = time.monotonic() - started
    summary = {
        "checkpoint": str(checkpoint),
        "step": result.step,
        "steps_run": len(result.losses),
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None,
        "steps_per_second": round(len(result.losses) / max(seconds, 1e-9), 3),
    }
    if as_json:
        _echo_json(summary)
    elif not result.losses:
        click.echo(f"{checkpoint} is already at step {result.step}; nothing to do")
    else:
        click.echo(
            f"{checkpoint}: step {result.step}, loss {summary['first_loss']:.4f} → "
            f"{summary['last_loss']:.4f}, {summary['steps_per_second']} steps/s"
        )


@main.command()
@click.option("--json", "as_json", is_flag=True)
def backends(as_json: bool) -> None:
    """List the swap backends: the built-in ones and installed plug-ins."""
    names = available()
    if as_json:
        _echo_json(names)
        return
    for name, origin in sorted(names.items()):
        click.echo(f"{name:16} {origin}")


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _check_image_path(path: Path) -> None:
    """Refused before any work is done, not after the clip is swapped."""
    if path.suffix.lower() not in _IMAGE_SUFFIXES:
        raise SwapError(
            f"cannot write a preview as {path.suffix or 'no suffix'!r}", "use .png or .jpg"
        )
    if not path.parent.is_dir():
        raise SwapError(f"the folder {path.parent} does not exist", "create it first")


def _write_image(path: Path, rgb: np.ndarray) -> None:
    _, data = cv2.imencode(path.suffix.lower(), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    write_atomically(path, lambda file: file.write(data.tobytes()))

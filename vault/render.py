"""`vault render`: a shot's swap run inside the vault, signed, stored as its next master render.

Fail closed and leave nothing behind. The plate and the face are decrypted into memory,
never onto a disk; the swap pipeline reads and writes in-memory streams; the C2PA manifest
is signed in memory; the result is encrypted into a pending object and becomes render N
only in the transaction that records it in the audit log. An error or Ctrl-C at any point
before that commit leaves the vault as it was (the pending object is removed, or recovery
removes it after a crash). Every refusal is logged.
"""

from __future__ import annotations

import io
import json
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyrage
from sqlalchemy import func, select

from vault import access, provenance
from vault.errors import AccessDenied, IntegrityError, NotFound, UsageError, VaultError
from vault.models import Asset, Fingerprint, Render, Shot
from vault.objects import StoredObject

if TYPE_CHECKING:
    from vault.core import UnsealedKeys
    from vault.session import MemberSession

FrameProgress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class _Inputs:
    shot: Shot
    plate: Asset
    face: Asset


def render_shot(
    session: MemberSession,
    keys: UnsealedKeys,
    number: int,
    *,
    device: str = "auto",
    signed: bool = True,
    progress: FrameProgress | None = None,
) -> dict[str, Any]:
    """Render shot `number`; returns the new render's record."""
    arguments = {"shot": number, "device": device, "signed": signed}
    session._require(access.RENDER, "render", arguments)
    inputs = _inputs(session, number, arguments)
    credentials = signing_credentials(session, keys, "render", arguments) if signed else None
    plate = decrypted(session, keys, inputs.plate, "render", arguments)
    face = decrypted(session, keys, inputs.face, "render", arguments)
    started = time.monotonic()
    video, frames, sample, fps = _swapped(session, inputs, plate, face, device, progress, arguments)
    fingerprint = fingerprint_of(video, fps)
    render_number = _next_number(session, number)
    label = None
    if credentials is not None:
        video, label = _signed(
            session, credentials, inputs, plate, face, (video, sample), render_number, arguments
        )
    seconds = time.monotonic() - started

    def add_rows(db, pending, now):
        if db.scalar(select(Render).where(Render.shot == number, Render.number == render_number)):
            raise UsageError(
                f"another render of shot {number} finished first as render {render_number}",
                "run the render again",
            )
        name = f"shot{number}-render{render_number}.mp4"
        asset, detail = session.new_asset(db, pending, "render", name, number, now)
        render = Render(
            id=f"r{number}.{render_number}",
            shot=number,
            number=render_number,
            asset=asset.id,
            backend=inputs.shot.backend,
            settings=inputs.shot.settings,
            plate_sha256=inputs.plate.sha256,
            face_sha256=inputs.face.sha256,
            frames=frames,
            signed=signed,
            manifest=label,
            rendered_by=session.name,
            rendered_at=now,
        )
        db.add(render)
        db.add(Fingerprint(asset=asset.id, **fingerprint))
        return asset, detail | {"render": render_view(render)}

    asset = session.store_new(io.BytesIO(video), "render", arguments, add_rows)
    with session.vault.session() as db:
        render = db.scalar(select(Render).where(Render.asset == asset.id))
        return render_view(render) | {"seconds": round(seconds, 2), "size": asset.size}


def _signed(
    session: MemberSession,
    credentials: provenance.SigningCredentials,
    inputs: _Inputs,
    plate: bytes,
    face: bytes,
    swapped: tuple[bytes, np.ndarray | None],
    render_number: int,
    arguments: dict,
) -> tuple[bytes, str | None]:
    """The swapped video with the render's manifest signed in, and the manifest's label."""
    video, sample = swapped
    facts = provenance.RenderFacts(
        production=credentials.organisation,
        vault_id=session.vault.config.vault_id,
        shot=inputs.shot.number,
        render=render_number,
        rendered_by=session.name,
        backend=inputs.shot.backend,
        settings=_settings(inputs.shot),
        plate=provenance.Ingredient(
            inputs.plate.name, media_type(inputs.plate.name), plate, "parentOf"
        ),
        face=provenance.Ingredient(
            inputs.face.name, media_type(inputs.face.name), face, "componentOf"
        ),
    )
    try:
        signed = provenance.sign_video(
            provenance.render_manifest(facts),
            video,
            credentials,
            [facts.plate, facts.face],
            provenance.thumbnail_jpeg(sample) if sample is not None else None,
        )
    except VaultError as error:
        session._refuse("render", arguments, error)
    return signed, provenance.read_provenance(signed, None).label


def fingerprint_of(video: bytes, fps: float | None = None) -> dict[str, Any]:
    """The fingerprint row's fields for a video (the pictures are the master's, signed or
    not); the frame rate is read from the file unless given."""
    import av

    from detect import signatures
    from swap import read_batches

    if fps is None:
        with av.open(io.BytesIO(video)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 25)

    rows = np.concatenate([signatures(batch) for batch in read_batches(io.BytesIO(video))])
    return {"fps": fps, "frames": len(rows), "signatures": rows.astype(np.float16).tobytes()}


def render_view(render: Render) -> dict[str, Any]:
    return {
        "render_id": render.id,
        "shot": render.shot,
        "render": render.number,
        "asset": render.asset,
        "backend": render.backend,
        "frames": render.frames,
        "signed": render.signed,
        "manifest": render.manifest,
        "rendered_by": render.rendered_by,
        "rendered_at": render.rendered_at,
    }


def _inputs(session: MemberSession, number: int, arguments: dict) -> _Inputs:
    """The shot, its plate and face, each readable by this member, or a logged refusal."""
    with session.vault.transaction() as db:
        shot = db.get(Shot, number)
        if shot is None:
            error: VaultError | None = NotFound(f"no shot {number}", "`vault shot list` lists them")
        else:
            error = None
            assets = [db.get(Asset, shot.plate), db.get(Asset, shot.face)]
            for asset in assets:
                decision = session._decide(db, asset)
                if not decision.allowed:
                    error = AccessDenied(
                        f"{session.name} may not read {asset.kind} {asset.id} of shot {number} "
                        f"({decision.because})",
                        "ask the security officer for a grant",
                    )
                    break
    if error is not None:
        session._refuse("render", arguments, error)
    return _Inputs(shot, *assets)


def signing_credentials(
    session: MemberSession, keys: UnsealedKeys, action: str, arguments: dict
) -> provenance.SigningCredentials:
    """The studio's C2PA signing certificate and key, current, or a logged refusal."""
    layout = session.vault.layout
    try:
        credentials = provenance.SigningCredentials(
            layout.signer_chain.read_bytes(),
            pyrage.decrypt(layout.signer_key.read_bytes(), [keys.identity]),
        )
        credentials.check_current()
    except OSError as exc:
        session._refuse(
            action,
            arguments,
            IntegrityError(f"the studio signing key is missing ({exc.strerror})", "restore keys/"),
        )
    except pyrage.DecryptError:
        session._refuse(
            action, arguments, IntegrityError("the studio signing key is damaged", "restore keys/")
        )
    except VaultError as error:
        session._refuse(action, arguments, error)
    return credentials


def decrypted(
    session: MemberSession, keys: UnsealedKeys, asset: Asset, action: str, arguments: dict
) -> bytes:
    """An asset's plaintext, in memory only, or a logged refusal."""
    sink = io.BytesIO()
    expected = StoredObject(asset.object_id, asset.size, asset.sha256)
    try:
        session.vault.objects.decrypt_to(asset.object_id, keys.identity, sink, expected)
    except VaultError as error:
        session._refuse(action, arguments, error, asset_id=asset.id)
    return sink.getvalue()


def _swapped(
    session: MemberSession,
    inputs: _Inputs,
    plate: bytes,
    face: bytes,
    device: str,
    progress: FrameProgress | None,
    arguments: dict,
):
    """(video bytes, frames, middle frame after the swap, frame rate) or a logged refusal."""
    from swap import SwapError, load_backend, swap_video

    output = io.BytesIO()
    try:
        backend = load_backend(
            inputs.shot.backend, face, device=device, settings=_settings(inputs.shot)
        )
        result = swap_video(io.BytesIO(plate), output, backend, progress=progress, sample_at=0.5)
    except SwapError as error:
        session._refuse(
            "render",
            arguments,
            UsageError(f"shot {inputs.shot.number}: {error.problem}", error.fix),
        )
    sample = result.sample[1] if result.sample else None
    return output.getvalue(), result.frames, sample, result.fps or 25.0


def _next_number(session: MemberSession, shot: int) -> int:
    with session.vault.session() as db:
        return (db.scalar(select(func.max(Render.number)).where(Render.shot == shot)) or 0) + 1


def _settings(shot: Shot) -> dict[str, str]:
    return json.loads(shot.settings)


def media_type(name: str) -> str:
    """The media type C2PA records for an ingredient; a model checkpoint is plain bytes."""
    if name.lower().endswith(".mkv"):
        return "video/x-matroska"  # missing from some systems' mime tables
    return mimetypes.guess_type(name)[0] or "application/octet-stream"

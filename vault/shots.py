"""Shots: a plate bound to the face put on it and the swap settings, ready to render."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from vault import access
from vault.audit import utc_now
from vault.errors import AccessDenied, UsageError, VaultExists
from vault.models import Asset, Render, Shot

if TYPE_CHECKING:
    from vault.session import MemberSession

PLATE_KINDS = ("footage",)
FACE_KINDS = ("face", "model")


def add_shot(
    session: MemberSession,
    number: int,
    plate: str,
    face: str,
    backend: str = "landmark",
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Bind shot `number` to a plate asset, a face asset and the backend's settings."""
    settings = dict(settings or {})
    arguments = {
        "shot": number,
        "plate": plate,
        "face": face,
        "backend": backend,
        "settings": settings,
    }
    session._require(access.RENDER, "shot.add", arguments)
    if number < 0:
        session._refuse("shot.add", arguments, UsageError("a shot number cannot be negative"))
    from swap import available  # torch and dlib load only for the commands that swap

    if backend not in available():
        known = ", ".join(sorted(available()))
        session._refuse(
            "shot.add", arguments, UsageError(f"no swap backend {backend!r}", f"use one of {known}")
        )
    plate_asset = _bound_asset(session, plate, PLATE_KINDS, "plate", arguments)
    face_asset = _bound_asset(session, face, FACE_KINDS, "face", arguments)
    with session.vault.transaction() as db:
        if db.get(Shot, number) is not None:
            error = VaultExists(f"shot {number} already exists", "`vault shot list` shows it")
        else:
            error = None
            shot = Shot(
                number=number,
                plate=plate_asset.id,
                face=face_asset.id,
                backend=backend,
                settings=json.dumps(settings, sort_keys=True),
                created_by=session.name,
                created_at=utc_now(),
            )
            db.add(shot)
            session._record(db, "shot.add", "ok", arguments, detail={"shot": shot_view(shot, 0)})
    if error is not None:
        session._refuse("shot.add", arguments, error)
    return shot_view(shot, 0)


def list_shots(session: MemberSession) -> list[dict[str, Any]]:
    """Every shot with its number of renders."""
    with session.vault.session() as db:
        counts = dict(db.execute(select(Render.shot, func.count()).group_by(Render.shot)).all())
        return [
            shot_view(s, counts.get(s.number, 0))
            for s in db.scalars(select(Shot).order_by(Shot.number))
        ]


def shot_view(shot: Shot, renders: int) -> dict[str, Any]:
    return {
        "shot": shot.number,
        "plate": shot.plate,
        "face": shot.face,
        "backend": shot.backend,
        "settings": json.loads(shot.settings),
        "renders": renders,
        "created_by": shot.created_by,
        "created_at": shot.created_at,
    }


def _bound_asset(
    session: MemberSession, asset_id: str, kinds: tuple[str, ...], role: str, arguments: dict
) -> Asset:
    """The asset a shot will use, which must be of the right kind and readable by the member."""
    asset = session._asset(asset_id, "shot.add", arguments)
    if asset.kind not in kinds:
        session._refuse(
            "shot.add",
            arguments,
            UsageError(
                f"asset {asset_id} is {asset.kind}, not a {role}",
                f"a {role} is an asset of kind {' or '.join(kinds)}",
            ),
            asset_id=asset_id,
        )
    with session.vault.session() as db:
        decision = session._decide(db, asset)
    if not decision.allowed:
        session._refuse(
            "shot.add",
            arguments,
            AccessDenied(
                f"{session.name} may not read the {role} {asset_id} ({decision.because})",
                "ask the security officer for a grant",
            ),
            asset_id=asset_id,
        )
    return asset

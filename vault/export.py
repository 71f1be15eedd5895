"""`vault export`: one recipient's own copy of a master render, marked, signed and recorded.

The master is decrypted into memory and run through the swap pipeline with a marking
backend (decode → embed the copy's codeword → H.264, audio copied), then signed with a new
manifest: the master as parentOf ingredient, `c2pa.watermarked`, and a soft binding naming
the watermark and the copy id. The copy and its audit entry (with its mark) are committed
before the file is written, so no marked file exists that the vault does not know about.

Who may export to whom: the requester needs the export capability and read access to the
render; the recipient must be an active member who may read it too (their role or a grant).
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from vault import access, marking, provenance
from vault.audit import utc_now
from vault.errors import AccessDenied, IntegrityError, NotFound, UsageError, VaultError
from vault.layout import fsync_directory
from vault.models import Asset, Copy, Fingerprint, Member, Render
from vault.render import (
    FrameProgress,
    decrypted,
    fingerprint_of,
    media_type,
    signing_credentials,
)

if TYPE_CHECKING:
    from vault.core import UnsealedKeys
    from vault.session import MemberSession


def export_copy(
    session: MemberSession,
    keys: UnsealedKeys,
    shot: int,
    recipient: str,
    out: Path,
    render_number: int | None = None,
    progress: FrameProgress | None = None,
) -> dict[str, Any]:
    """Write `recipient`'s marked copy of shot `shot` (its latest render unless given) to
    `out`; returns the copy's record."""
    out = Path(out)
    arguments = {"shot": shot, "to": recipient, "out": str(out), "render": render_number}
    session._require(access.EXPORT, "export", arguments)
    check_destination(session, out, "export", arguments)
    render, master = _render_and_master(session, shot, render_number, recipient, arguments)
    request = CopyRequest("export", arguments, recipient, out, render)
    return issue_copy(session, keys, master, request, progress=progress)


@dataclass(frozen=True)
class CopyRequest:
    """Who a marked copy is for, where it goes, and the command that asked for it."""

    action: str  # export | get
    arguments: dict[str, Any]
    recipient: str
    out: Path
    render: Render | None = None  # None: the master is footage


def issue_copy(
    session: MemberSession,
    keys: UnsealedKeys,
    master: Asset,
    request: CopyRequest,
    data: bytes | None = None,
    progress: FrameProgress | None = None,
) -> dict[str, Any]:
    """Mark, re-encode, sign, record and write one recipient's copy of a video master.
    `data` is the master's plaintext when the caller already holds it."""
    action, arguments, render = request.action, request.arguments, request.render
    credentials = signing_credentials(session, keys, action, arguments)  # before any work
    mark = _mark_of(session, request.recipient, action, arguments)
    if data is None:
        data = decrypted(session, keys, master, action, arguments)
    key = marking.watermark_key(keys.identity, session.vault.config.vault_id)
    copy_id = f"c{secrets.token_hex(5)}"
    codeword = marking.copy_code(key).codeword(mark)
    marked = _marked(session, data, codeword, key, progress, action, arguments)
    facts = provenance.CopyFacts(
        production=credentials.organisation,
        vault_id=session.vault.config.vault_id,
        copy_id=copy_id,
        recipient=request.recipient,
        requested_by=session.name,
        shot=render.shot if render else master.shot,
        render=render.number if render else None,
        algorithm=marking.ALGORITHM,
        master=provenance.Ingredient(
            master.name,
            provenance.MP4 if render else media_type(master.name),
            data,
            "parentOf",
            instance_id=f"vault:{render.id if render else master.id}",
        ),
    )
    try:
        signed = provenance.sign_video(
            provenance.copy_manifest(facts), marked, credentials, [facts.master]
        )
    except VaultError as error:
        session._refuse(action, arguments, error, asset_id=master.id)
    copy = Copy(
        id=copy_id,
        mark=mark,
        master=master.id,
        render=render.id if render else None,
        recipient=request.recipient,
        requested_by=session.name,
        created_at=utc_now(),
        sha256=hashlib.sha256(signed).hexdigest(),
        manifest=provenance.read_provenance(signed, None).label,
    )
    fingerprint = None if render else _fingerprint_once(session, master, data)
    _deliver(session, copy, signed, request, master, fingerprint)
    number = render.number if render else None
    return copy_view(copy) | {"shot": facts.shot, "render_number": number, "file": str(request.out)}


def copy_view(copy: Copy) -> dict[str, Any]:
    return {
        "copy_id": copy.id,
        "mark": copy.mark,
        "master": copy.master,
        "render": copy.render,
        "recipient": copy.recipient,
        "requested_by": copy.requested_by,
        "created_at": copy.created_at,
        "sha256": copy.sha256,
        "manifest": copy.manifest,
    }


def check_destination(session: MemberSession, out: Path, action: str, arguments: dict) -> None:
    """A logged refusal unless `out` can be a new file."""
    if out.is_dir():
        session._refuse(action, arguments, UsageError(f"{out} is a directory", "give a file name"))
    if not out.parent.is_dir():
        session._refuse(
            action,
            arguments,
            UsageError(f"the directory {out.parent} does not exist", "create it first"),
        )


def _render_and_master(
    session: MemberSession, shot: int, number: int | None, recipient: str, arguments: dict
) -> tuple[Render, Asset]:
    """The render to copy and its asset, checked against both members' rights; refusals logged."""
    with session.vault.session() as db:
        query = select(Render).where(Render.shot == shot)
        if number is not None:
            query = query.where(Render.number == number)
        render = db.scalars(query.order_by(Render.number.desc())).first()
        master = db.get(Asset, render.asset) if render is not None else None
        if render is None:
            which = f"render {number} of shot {shot}" if number else f"render of shot {shot}"
            error = NotFound(f"there is no {which}", "`vault render --shot N` makes one")
        else:
            error = _copy_refusal(session, db, master, recipient, f"render {render.id}")
    if error is not None:
        session._refuse("export", arguments, error, asset_id=master.id if master else None)
    return render, master


def _mark_of(session: MemberSession, recipient: str, action: str, arguments: dict) -> int:
    """The recipient's row in the code: the one their earlier copies carry, or the next free
    one. The code is sized for MAX_COPIES recipients, however many copies each receives."""
    with session.vault.session() as db:
        theirs = db.scalar(select(Copy.mark).where(Copy.recipient == recipient).limit(1))
        last = db.scalar(select(func.max(Copy.mark)))
    if theirs is not None:
        return theirs
    mark = 0 if last is None else last + 1
    if mark >= marking.MAX_COPIES:
        session._refuse(
            action,
            arguments,
            UsageError(
                f"this vault's code has a row for each of {marking.MAX_COPIES} recipients, "
                "all taken",
                "ask for a vault with a larger code",
            ),
        )
    return mark


def _marked(
    session, data: bytes, codeword, key: bytes, progress, action: str, arguments: dict
) -> bytes:
    from swap import SwapError, swap_video

    output = io.BytesIO()
    try:
        swap_video(
            io.BytesIO(data), output, marking.MarkingBackend(codeword, key), progress=progress
        )
    except SwapError as error:
        session._refuse(action, arguments, UsageError(error.problem, error.fix))
    return output.getvalue()


def _fingerprint_once(session: MemberSession, master: Asset, data: bytes) -> dict | None:
    """Footage is fingerprinted when its first copy leaves, so `vault trace` can find it."""
    with session.vault.session() as db:
        if db.get(Fingerprint, master.id) is not None:
            return None
    return fingerprint_of(data)


def _deliver(
    session: MemberSession,
    copy: Copy,
    data: bytes,
    request: CopyRequest,
    master: Asset,
    fingerprint: dict | None,
) -> None:
    """Commit the copy and its audit entry first (its mark is then taken for good), then
    write beside `out` and rename into place: a crash can leave a recorded copy that was never
    delivered, never a marked file the vault does not know about. Read access is decided
    again in the committing transaction."""
    action, arguments, out = request.action, request.arguments, request.out
    what = f"render {request.render.id}" if request.render else f"footage {master.id}"
    with session.vault.transaction() as db:
        error = _copy_refusal(session, db, master, request.recipient, what)
        holder = select(Copy).where(Copy.mark == copy.mark, Copy.recipient != copy.recipient)
        if error is None and db.scalar(holder) is not None:
            error = IntegrityError(f"another {action} took this mark", f"{action} again")
        if error is None:
            db.add(copy)
            if fingerprint is not None and db.get(Fingerprint, master.id) is None:
                db.add(Fingerprint(asset=master.id, **fingerprint))  # another get may have won
            session._record(
                db, action, "ok", arguments, asset_id=master.id, detail={"copy": copy_view(copy)}
            )
    if error is not None:
        session._refuse(action, arguments, error, asset_id=master.id)
    temporary = out.with_name(f".{out.name}.vault-partial-{secrets.token_hex(4)}")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as sink:
            sink.write(data)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, out)
        fsync_directory(out.parent)
    except OSError as exc:
        failure = UsageError(
            f"copy {copy.id} is recorded but {out} could not be written: {exc.strerror}",
            f"{action} again",
        )
        session._refuse(action, arguments, failure, asset_id=master.id)
    finally:
        temporary.unlink(missing_ok=True)


def _copy_refusal(
    session: MemberSession, db, master: Asset, recipient: str, what: str
) -> VaultError | None:
    """Why this member may not give `recipient` a copy of `master` (`what` names it), if so.
    Asked before any work and again in the transaction that records the copy, so a revoke
    that lands meanwhile wins."""
    member = db.scalar(select(Member).where(Member.name == recipient))
    if member is None:
        return NotFound(f"no crew member {recipient!r}", "`vault crew list` lists them")
    if not member.active:
        return AccessDenied(f"{recipient} was revoked and may receive nothing")
    mine = session._decide(db, master)
    if not mine.allowed:
        return AccessDenied(
            f"{session.name} may not read {what} ({mine.because})",
            "ask the security officer for a grant",
        )
    rules = session._rules(db, recipient)
    theirs = access.can_read(member.role, rules, master.kind, master.id, master.shot)
    if not theirs.allowed:
        scope = f"shot {master.shot}" if master.shot is not None else f"asset {master.id}"
        return AccessDenied(
            f"{recipient} may not receive {what} ({theirs.because})",
            f"grant {recipient} read access to {scope} first",
        )
    return None

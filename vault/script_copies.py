"""Screenplay copies: every script that leaves the vault is its recipient's own.

`vault get SCRIPT -o OUT` never hands out the stored file. It makes the member's copy: at
every canary site (watermark.script) the spelling their codeword picks, and for a PDF also
their name across every page, the copy id in every footer, and the studio's signature. The
copy is recorded (recipient, mark, rule set, hash) and logged before the file is written,
as a video export is. Tracing a leaked page back to its copy is vault/script_trace.py.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from vault import marking
from vault.audit import utc_now
from vault.errors import AccessDenied, IntegrityError, UsageError, VaultError
from vault.layout import write_file_atomically
from vault.models import Asset, ScriptCopy
from vault.render import decrypted, signing_credentials

if TYPE_CHECKING:
    from vault.core import UnsealedKeys
    from vault.session import MemberSession

MAX_SCRIPT_BYTES = 50_000_000
PDF_MAGIC = b"%PDF-"


# -- what a stored script may be --------------------------------------------------------------


def check_script(data: bytes, name: str) -> None:
    """A UsageError unless `data` is a script the vault can mark: UTF-8 text (Fountain) or
    a PDF with a text layer."""
    script_text(data, name)


def script_text(data: bytes, name: str) -> str:
    """The Fountain text of a stored script (a PDF's text layer for a PDF)."""
    if data.lstrip()[:5] == PDF_MAGIC:
        return _pdf_script_text(data, name)
    head = data.lstrip()[:200].lower()
    if head.startswith(b"<?xml") and b"finaldraft" in data[:2000].lower():
        raise UsageError(
            f"{name} is a Final Draft file, which is not read here",
            "export it from Final Draft as Fountain or PDF and put that",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{name} is not UTF-8 text (a bad byte at offset {exc.start})",
            "save it as UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8`",
        ) from exc
    if not text.strip():
        raise UsageError(f"{name} is empty", "put the script itself: Fountain text or a PDF")
    return text


def _pdf_script_text(data: bytes, name: str) -> str:
    """A screenplay PDF's text layer, as Fountain (element kinds read from the layout)."""
    from watermark import WatermarkError
    from watermark.script import fountain_from_pdf

    try:
        text = fountain_from_pdf(data)
    except WatermarkError as error:
        raise UsageError(f"{name} is {error.problem}", error.fix) from error
    if len(text.split()) < 3:
        raise UsageError(
            f"{name} has no text layer (a scan?): its words cannot be marked",
            "export the script from the screenwriting software as PDF or Fountain",
        )
    return text


# -- copies -----------------------------------------------------------------------------------


def copy_script(
    session: MemberSession, keys: UnsealedKeys, asset: Asset, out: Path, arguments: dict
) -> dict[str, Any]:
    """Write the member's own copy of `asset` to `out` (a PDF when it ends in .pdf, else
    Fountain text); the copy is recorded and logged first. Access was checked by the caller
    and is checked again when the copy is recorded."""
    from watermark.script import RULES_VERSION, mark_script, render_pdf, site_count

    as_pdf = out.suffix.lower() == ".pdf"
    credentials = signing_credentials(session, keys, "get", arguments) if as_pdf else None
    try:
        master = script_text(decrypted(session, keys, asset, "get", arguments), asset.name)
    except UsageError as error:
        session._refuse("get", arguments, error, asset_id=asset.id)
    rules = RULES_VERSION  # recorded with the copy: a trace reads it with these rules
    sites = site_count(master, rules)
    key = marking.script_key(keys.identity, session.vault.config.vault_id, asset.id)
    mark = _next_mark(session, asset)
    codeword = marking.script_code(key, sites).codeword(mark)
    text = mark_script(master, codeword, key, rules=rules) if sites else master
    copy_id = f"s{secrets.token_hex(5)}"
    if credentials is None:
        data = text.encode()
    else:
        from vault.pdf_signing import sign_pdf

        pdf = render_pdf(text, recipient=session.name, copy_id=copy_id, title=asset.name)
        data = sign_pdf(pdf, credentials, f"copy {copy_id} of {asset.name} for {session.name}")
    copy = ScriptCopy(
        id=copy_id,
        script=asset.id,
        mark=mark,
        recipient=session.name,
        requested_by=session.name,
        created_at=utc_now(),
        format="pdf" if as_pdf else "fountain",
        rules=rules,
        sites=sites,
        sha256=hashlib.sha256(data).hexdigest(),
        master_sha256=master_hash(master),
    )
    _record_copy(session, keys, asset, copy, arguments)
    try:
        write_file_atomically(out, data)
    except OSError as exc:
        error = UsageError(
            f"copy {copy.id} is recorded but {out} could not be written: {exc.strerror}",
            "get it again",
        )
        session._refuse("get", arguments, error, asset_id=asset.id)
    return script_copy_view(copy) | {"file": str(out), "confidence": _confidence(master)}


def script_copy_view(copy: ScriptCopy) -> dict[str, Any]:
    return {
        "copy_id": copy.id,
        "script": copy.script,
        "mark": copy.mark,
        "recipient": copy.recipient,
        "requested_by": copy.requested_by,
        "created_at": copy.created_at,
        "format": copy.format,
        "rules": copy.rules,
        "sites": copy.sites,
        "sha256": copy.sha256,
        "master_sha256": copy.master_sha256,
    }


def master_hash(master: str) -> str:
    """SHA-256 of the master text a copy is marked from."""
    return hashlib.sha256(master.encode()).hexdigest()


def _next_mark(session: MemberSession, asset: Asset) -> int:
    with session.vault.session() as db:
        last = db.scalar(select(func.max(ScriptCopy.mark)).where(ScriptCopy.script == asset.id))
    return 0 if last is None else last + 1


def _record_copy(
    session: MemberSession, keys: UnsealedKeys, asset: Asset, copy: ScriptCopy, arguments: dict
) -> None:
    """Commit the copy with its audit entry, access decided again in the same transaction
    (a revoke that landed while the copy was being made wins)."""
    error: VaultError | None = None
    with session.vault.transaction() as db:
        decision = session._decide(db, asset)
        taken = db.scalar(
            select(ScriptCopy).where(ScriptCopy.script == asset.id, ScriptCopy.mark == copy.mark)
        )
        if not decision.allowed:
            error = AccessDenied(
                f"{session.name} may not read asset {asset.id} ({decision.because})",
                "ask the security officer for a grant",
            )
        elif taken is not None:
            error = IntegrityError("another copy of this script took the same mark", "get again")
        else:
            db.add(copy)
            detail = {"script_copy": script_copy_view(copy), "because": decision.because}
            session._record(db, "get", "ok", arguments, asset_id=asset.id, detail=detail)
            session.vault.log.sign_checkpoint(db, keys.audit_seed)
    if error is not None:
        session._refuse("get", arguments, error, asset_id=asset.id)


def _confidence(master: str) -> str:
    """What a leak of this script can prove, from its sites."""
    from watermark.script import find_sites, find_wraps

    words, breaks = len(find_sites(master)), find_wraps(master).bits
    needed = math.ceil(math.log2(200 / 1e-6))  # agreeing bits to name 1 of 200 at 1e-6
    if words + breaks == 0:
        return (
            "no canary sites: copies differ only in the PDF's visible name and footer, "
            "which a leaker can remove; a leak of it cannot be traced"
        )
    if words + breaks < needed:
        return (
            f"only {words + breaks} canary bits: even the whole script cannot name one of 200 "
            f"recipients at p < 1e-6 (about {needed} are needed)"
        )
    return (
        f"{words} word sites and {breaks} line-break bits; about {needed} read correctly name "
        "one of 200 recipients (a retyped leak keeps only the words)"
    )

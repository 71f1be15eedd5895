"""`vault verify FILE`: is this file what the studio signed, and what does its manifest say?

The C2PA state is checked against the studio root made at `vault init`: Trusted (signed by
this studio and intact), Valid (intact, but signed by someone else), Invalid (altered after
signing, or a broken manifest: the failing checks are listed) or No manifest. A trusted
manifest's label is looked up among this vault's renders, so the report can say which render
of which shot the file is, or which recipient's copy.

When the manifest is gone (stripped, or the file re-encoded) or broken, the forensic mark
still says whose copy it is: `find_copy_by_mark` reads it against the masters of exported
renders and looks the copy up ("durable content credentials").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vault import access
from vault.errors import UsageError
from vault.export import copy_view
from vault.models import Asset, Copy, Render, ScriptCopy
from vault.pdf_signing import PDF, read_pdf_signature
from vault.provenance import Provenance, read_provenance
from vault.render import render_view
from vault.script_copies import script_copy_view

if TYPE_CHECKING:
    from vault.core import UnsealedKeys, Vault
    from vault.session import MemberSession

# Leading bytes of the formats C2PA reads here, and their media types.
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG", "image/png"), (b"%PDF-", PDF))


@dataclass
class VerifyReport:
    path: str
    provenance: Provenance
    vault_render: dict[str, Any] | None = None
    vault_copy: dict[str, Any] | None = None
    found_by: str | None = None  # "manifest", "watermark" or "signature"
    notes: list[str] = field(default_factory=list)
    credentials: str = "C2PA"  # or "PDF signature"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "c2pa": self.provenance.to_json(),
            "vault_render": self.vault_render,
            "vault_copy": self.vault_copy,
            "found_by": self.found_by,
            "credentials": self.credentials,
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        p = self.provenance
        out = [f"{self.path}: {self.credentials} {p.state}"]
        if p.state == "No manifest":
            out.append("  no content credentials in the file")
            return out + self._copy_lines() + [f"  note: {note}" for note in self.notes]
        out += [f"  failed: {failure}" for failure in p.failures]
        if p.signer:
            issuer = f" (issuer {p.issuer})" if p.issuer else ""
            tool = f" with {p.claim_generator}" if p.claim_generator else ""
            out.append(f"  signed by {p.signer}{issuer}{tool}")
        if p.title:
            out.append(f"  title: {p.title}")
        if p.actions:
            kind = "AI-generated composite (deepfake)" if p.ai_generated else "not declared AI"
            out.append(f"  actions: {', '.join(p.actions)}; {kind}")
        if p.render:
            r = p.render
            out.append(
                f"  shot {r.get('shot')}, render {r.get('render')}, rendered by "
                f"{r.get('rendered_by')} with {r.get('backend')} (vault {r.get('vault_id')})"
            )
        for ingredient in p.ingredients:
            out.append(
                f"  ingredient ({ingredient['relationship']}): {ingredient['title']} "
                f"{ingredient['hash']}"
            )
        if p.disclosure:
            out.append(f"  disclosure: {p.disclosure}")
        if p.copy:
            c = p.copy
            out.append(
                f"  copy {c.get('copy_id')} for {c.get('recipient')}, "
                f"requested by {c.get('requested_by')}"
            )
        if self.vault_render:
            v = self.vault_render
            out.append(f"  this vault's render {v['render_id']} (asset {v['asset']})")
        out += self._copy_lines()
        out += [f"  note: {note}" for note in self.notes]
        return out

    def _copy_lines(self) -> list[str]:
        if not self.vault_copy:
            return []
        c = self.vault_copy
        if "script" in c:
            return [
                f"  a copy of script {c['script']} made for {c['recipient']} on "
                f"{c['created_at'][:10]}: copy {c['copy_id']}, exactly as issued"
            ]
        of = f"render {c['render']}" if c["render"] else f"footage {c['master']}"
        lines = [
            f"  a vault copy, found by its {self.found_by}: copy {c['copy_id']} of {of} "
            f"for {c['recipient']}, requested by {c['requested_by']} on {c['created_at'][:10]}"
        ]
        if self.found_by == "watermark":
            lines.append(
                f"  the vault signed it with manifest {c['manifest']}; the file's manifest was "
                f"removed (false-accusation probability {c['false_accusation_probability']:.1e})"
            )
        return lines


def verify_file(vault: Vault, path: Path) -> VerifyReport:
    """The C2PA state of `path` against this vault's studio root, and the render it is."""
    mime = _media_type(path)
    try:
        data = path.read_bytes()
        root = vault.layout.root_ca_cert.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}", "check the path") from exc
    if mime == PDF:
        return _verify_pdf(vault, path, data, root)
    provenance = read_provenance(data, root, mime)
    report = VerifyReport(str(path), provenance)
    if provenance.state == "Valid":
        report.notes.append(
            "the manifest is intact but not signed by this studio: treat the file as not ours"
        )
    if provenance.state == "Trusted" and provenance.label:
        with vault.session() as db:
            render = db.scalar(select(Render).where(Render.manifest == provenance.label))
            copy = db.scalar(select(Copy).where(Copy.manifest == provenance.label))
            if render is not None:
                report.vault_render = render_view(render)
            if copy is not None:
                report.vault_copy, report.found_by = copy_view(copy), "manifest"
    return report


def find_copy_by_mark(session: MemberSession, keys: UnsealedKeys, report: VerifyReport) -> None:
    """Durable content credentials: with the manifest gone, read the forensic mark and look
    the copy up among every copy the vault issued; the result goes into `report`. Masters are
    tried newest first; the reading is logged (it decrypts them)."""
    from swap import SwapError
    from vault.trace import accuse_copies, read_suspect
    from watermark import DEFAULT_THRESHOLD

    arguments = {"file": report.path}
    session._require(access.TRACE, "verify.mark", arguments)
    try:
        suspect, fps = read_suspect(Path(report.path))
    except SwapError as error:  # the manifest check stands; only the mark cannot be read
        report.notes.append(f"no watermark lookup: {error.problem}")
        return
    with session.vault.session() as db:
        copies = list(db.scalars(select(Copy)))
        assets = db.scalars(
            select(Asset)
            .where(Asset.id.in_({c.master for c in copies}))
            .order_by(Asset.added_at.desc())
        ).all()
        renders = {r.asset: r for r in db.scalars(select(Render))}
        masters = [(renders.get(a.id), a) for a in assets]
    reading = accuse_copies(
        session, keys, suspect, fps, masters, copies, DEFAULT_THRESHOLD, "verify.mark"
    )
    found = reading.accused[0] if reading.accused else None
    with session.vault.transaction() as db:
        detail = {"copy": found[0].id if found else None}
        session._record(db, "verify.mark", "ok", arguments, detail=detail)
    if found is None:
        report.notes.append("no mark of any copy this vault issued was found in it")
        return
    report.vault_copy = copy_view(found[0]) | {"false_accusation_probability": found[1]}
    report.found_by = "watermark"


def _verify_pdf(vault: Vault, path: Path, data: bytes, root: bytes) -> VerifyReport:
    """A script copy's PDF signature, and which copy the file is when it is one as issued."""
    signature = read_pdf_signature(data, root)
    state = "No manifest" if signature.state == "No signature" else signature.state
    report = VerifyReport(
        str(path), Provenance(state, signer=signature.signer, title=signature.reason)
    )
    report.credentials = "PDF signature"
    if state == "Valid":
        report.notes.append("signed, but not by this studio: treat the file as not ours")
    digest = hashlib.sha256(data).hexdigest()
    with vault.session() as db:
        copy = db.scalar(select(ScriptCopy).where(ScriptCopy.sha256 == digest))
    if copy is not None and state == "Trusted":
        report.vault_copy, report.found_by = script_copy_view(copy), "signature"
    elif state != "Trusted":
        report.notes.append("`vault trace` reads its canary marks to find whose copy it was")
    return report


def _media_type(path: Path) -> str:
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}", "check the path") from exc
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return "video/mp4"
    for signature, mime in _SIGNATURES:
        if head.startswith(signature):
            return mime
    raise UsageError(
        f"{path} is not an MP4, JPEG, PNG or PDF file, the formats checked here",
        "give the file as it was delivered (vault renders and copies are MP4, scripts PDF)",
    )

"""`vault verify FILE`: is this file what the studio signed, and what does its manifest say?

The C2PA state is checked against the studio root made at `vault init`: Trusted (signed by
this studio and intact), Valid (intact, but signed by someone else), Invalid (altered after
signing, or a broken manifest: the failing checks are listed) or No manifest. A trusted
manifest's label is looked up among this vault's renders, so the report can say which render
of which shot the file is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vault.errors import UsageError
from vault.models import Render
from vault.provenance import Provenance, read_provenance

if TYPE_CHECKING:
    from vault.core import Vault

# Leading bytes of the formats C2PA reads here, and their media types.
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG", "image/png"))


@dataclass
class VerifyReport:
    path: str
    provenance: Provenance
    vault_render: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "c2pa": self.provenance.to_json(),
            "vault_render": self.vault_render,
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        p = self.provenance
        out = [f"{self.path}: C2PA {p.state}"]
        if p.state == "No manifest":
            return [*out, "  no content credentials: nothing says where this file came from"]
        out += [f"  failed: {failure}" for failure in p.failures]
        if p.signer:
            out.append(f"  signed by {p.signer} (issuer {p.issuer}) with {p.claim_generator}")
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
        if self.vault_render:
            v = self.vault_render
            out.append(f"  this vault's render {v['render_id']} (asset {v['asset']})")
        out += [f"  note: {note}" for note in self.notes]
        return out


def verify_file(vault: Vault, path: Path) -> VerifyReport:
    """The C2PA state of `path` against this vault's studio root, and the render it is."""
    mime = _media_type(path)
    try:
        data = path.read_bytes()
        root = vault.layout.root_ca_cert.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}", "check the path") from exc
    provenance = read_provenance(data, root, mime)
    report = VerifyReport(str(path), provenance)
    if provenance.state == "Valid":
        report.notes.append(
            "the manifest is intact but not signed by this studio: treat the file as not ours"
        )
    if provenance.state == "Trusted" and provenance.label:
        with vault.session() as db:
            render = db.scalar(select(Render).where(Render.manifest == provenance.label))
            if render is not None:
                from vault.render import render_view

                report.vault_render = render_view(render)
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
        f"{path} is not an MP4, JPEG or PNG file, the formats checked here",
        "give the file as it was delivered (vault renders and copies are MP4)",
    )

"""C2PA provenance: the manifest the vault signs onto every render, and reading one back.

A render's manifest says, in assertions any C2PA reader understands: this tool made it
(claim generator), it was *created* as a composite with trained algorithmic media (the IPTC
digital source type every platform's "AI-generated" label keys on), by which swap backend;
its ingredients are the plate (parentOf) and the face reference or model (componentOf),
each with its SHA-256; and, in the vault's own assertions, which shot and render of which
vault, who rendered it, and a plain-language AI disclosure meant to meet the transparency duty
for deepfakes in Article 50(4) of the EU AI Act. It carries a thumbnail.

Signing uses the studio's es256 certificate made at `vault init`; reading checks the
signature and, given the studio root, whether it chains to it ("Trusted").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

import c2pa
import cv2
import numpy as np
from cryptography import x509

from vault.errors import UsageError
from vault.version import __version__

GENERATOR = "vault"
COMPOSITE_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
CAPTURED = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
RENDER_ASSERTION = "org.vault.render"
COPY_ASSERTION = "org.vault.copy"
DISCLOSURE_ASSERTION = "org.vault.ai-disclosure"
AI_DISCLOSURE = (
    "This video was generated with artificial intelligence: a real person's face was put on "
    "an actor's by a face-swap model (a deepfake). It is part of a dramatised production and "
    "does not show real events. Disclosed under Article 50(4) of the EU AI Act."
)
MP4 = "video/mp4"


@dataclass(frozen=True)
class Ingredient:
    """A file a render was made from, named and hashed."""

    title: str
    mime: str
    data: bytes
    relationship: str  # parentOf | componentOf
    instance_id: str | None = None  # for actions that name their ingredient

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class RenderFacts:
    production: str
    vault_id: str
    shot: int
    render: int
    rendered_by: str
    backend: str
    settings: dict[str, str]
    plate: Ingredient
    face: Ingredient


@dataclass(frozen=True)
class SigningCredentials:
    chain_pem: bytes  # end entity first, then the studio root
    key_pem: bytes

    @property
    def organisation(self) -> str:
        """The production named in the signing certificate (set at `vault init`)."""
        leaf = x509.load_pem_x509_certificates(self.chain_pem)[0]
        names = leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        return str(names[0].value) if names else "Production"

    def check_current(self, now: dt.datetime | None = None) -> None:
        """A UsageError when the signing certificate is expired or not yet valid."""
        leaf = x509.load_pem_x509_certificates(self.chain_pem)[0]
        now = now or dt.datetime.now(dt.UTC)
        if now > leaf.not_valid_after_utc:
            raise UsageError(
                f"the studio signing certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}",
                "renew it before rendering; nothing was written",
            )
        if now < leaf.not_valid_before_utc:
            raise UsageError(
                "the studio signing certificate is not valid yet",
                "check this machine's clock; nothing was written",
            )


def render_manifest(facts: RenderFacts) -> dict[str, Any]:
    """The manifest definition for a master render (ingredients are added when signing)."""
    return {
        "claim_generator_info": [{"name": GENERATOR, "version": __version__}],
        "title": f"{facts.production}: shot {facts.shot}, render {facts.render}",
        "format": MP4,
        "thumbnail": {"format": "image/jpeg", "identifier": "thumbnail.jpg"},
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": COMPOSITE_AI,
                            "softwareAgent": {
                                "name": f"swap/{facts.backend}",
                                "version": __version__,
                            },
                            "description": f"face swap of shot {facts.shot} by the "
                            f"{facts.backend} backend with the model or reference "
                            f"{facts.face.title} (sha256:{facts.face.sha256})",
                        }
                    ]
                },
            },
            {
                "label": RENDER_ASSERTION,
                "data": {
                    "production": facts.production,
                    "vault_id": facts.vault_id,
                    "shot": facts.shot,
                    "render": facts.render,
                    "rendered_by": facts.rendered_by,
                    "backend": facts.backend,
                    "model": facts.face.title,
                    "settings": facts.settings,
                    "plate_sha256": facts.plate.sha256,
                    "face_sha256": facts.face.sha256,
                },
            },
            {
                "label": DISCLOSURE_ASSERTION,
                "data": {"ai_generated": True, "statement": AI_DISCLOSURE},
            },
        ],
    }


@dataclass(frozen=True)
class CopyFacts:
    production: str
    vault_id: str
    copy_id: str
    recipient: str
    requested_by: str
    shot: int | None
    render: int | None  # None for a copy of footage (a camera original, not AI-made)
    algorithm: str  # the forensic watermark, named in the soft binding
    master: Ingredient


def copy_manifest(facts: CopyFacts) -> dict[str, Any]:
    """The manifest of one recipient's marked copy: opened from the master (its parentOf
    ingredient, whose own manifest travels inside), watermarked, soft-bound to the mark.
    A render's copy keeps the AI disclosure; a copy of footage declares a camera original."""
    agent = {"name": "vault export", "version": __version__}
    rendered = facts.render is not None
    what = f"render {facts.render}" if rendered else f"footage {facts.master.title}"
    disclosure = [
        {"label": DISCLOSURE_ASSERTION, "data": {"ai_generated": True, "statement": AI_DISCLOSURE}}
    ]
    return {
        "claim_generator_info": [{"name": GENERATOR, "version": __version__}],
        "title": f"{facts.production}: shot {facts.shot}, {what}, copy for {facts.recipient}",
        "format": MP4,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.opened",
                            "digitalSourceType": COMPOSITE_AI if rendered else CAPTURED,
                            "parameters": {"ingredientIds": [facts.master.instance_id]},
                        },
                        {
                            "action": "c2pa.watermarked",
                            "softwareAgent": agent,
                            "description": "individual forensic watermark for one recipient",
                        },
                    ]
                },
            },
            {
                "label": "c2pa.soft-binding",
                "data": {"alg": facts.algorithm, "blocks": [{"scope": {}, "value": facts.copy_id}]},
            },
            {
                "label": COPY_ASSERTION,
                "data": {
                    "production": facts.production,
                    "vault_id": facts.vault_id,
                    "copy_id": facts.copy_id,
                    "recipient": facts.recipient,
                    "requested_by": facts.requested_by,
                    "shot": facts.shot,
                    "render": facts.render,
                },
            },
            *(disclosure if rendered else []),
        ],
    }


def sign_video(
    manifest: dict[str, Any],
    video: bytes,
    credentials: SigningCredentials,
    ingredients: list[Ingredient],
    thumbnail: bytes | None = None,
) -> bytes:
    """`video` (an MP4) with `manifest` embedded and signed; all in memory."""
    credentials.check_current()
    info = c2pa.C2paSignerInfo(
        alg=b"es256", sign_cert=credentials.chain_pem, private_key=credentials.key_pem, ta_url=None
    )
    if thumbnail is None:  # nothing to point the manifest's thumbnail at
        manifest = {k: v for k, v in manifest.items() if k != "thumbnail"}
    try:
        builder = c2pa.Builder(json.dumps(manifest))
        if thumbnail is not None:
            builder.add_resource("thumbnail.jpg", io.BytesIO(thumbnail))
        for item in ingredients:
            builder.add_ingredient(
                {
                    "title": item.title,
                    "format": item.mime,
                    "relationship": item.relationship,
                    "description": f"sha256:{item.sha256}",
                }
                | ({"instance_id": item.instance_id} if item.instance_id else {}),
                item.mime,
                io.BytesIO(item.data),
            )
        signed = io.BytesIO()
        builder.sign(c2pa.Signer.from_info(info), MP4, io.BytesIO(video), signed)
    except c2pa.C2paError as error:
        raise UsageError(f"C2PA signing failed: {_one_line(error)}", "report it") from None
    return signed.getvalue()


def thumbnail_jpeg(frame: np.ndarray, width: int = 320) -> bytes:
    """A small JPEG of an RGB frame, for the manifest."""
    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    _, data = cv2.imencode(
        ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]
    )
    return data.tobytes()


# -- reading ----------------------------------------------------------------------------------


@dataclass
class Provenance:
    """What a file's C2PA manifest says and whether it holds."""

    state: str  # Trusted | Valid | Invalid | No manifest
    failures: list[str] = field(default_factory=list)
    signer: str | None = None
    issuer: str | None = None
    claim_generator: str | None = None
    title: str | None = None
    ai_generated: bool = False
    actions: list[str] = field(default_factory=list)
    ingredients: list[dict[str, str]] = field(default_factory=list)
    render: dict[str, Any] | None = None
    copy: dict[str, Any] | None = None
    soft_binding: dict[str, Any] | None = None
    disclosure: str | None = None
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_provenance(data: bytes, trust_anchor_pem: bytes | None, mime: str = MP4) -> Provenance:
    """The C2PA state of a file: Trusted (signed by a certificate under `trust_anchor_pem`),
    Valid (intact, signer not trusted here), Invalid (with the failing codes) or No manifest."""
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), context=_context(trust_anchor_pem))
    except c2pa.C2paError as error:
        if "ManifestNotFound" in type(error).__name__ or "not found" in str(error).lower():
            return Provenance("No manifest")
        return Provenance("Invalid", failures=[_one_line(error)])
    with reader:
        report = json.loads(reader.json())
        state = reader.get_validation_state() or "Invalid"
    label = report.get("active_manifest")
    manifest = report.get("manifests", {}).get(label, {})
    return _summarise(state, report, manifest, label)


def _summarise(state: str, report: dict, manifest: dict, label: str | None) -> Provenance:
    failures = [
        f"{item.get('code')}: {item.get('explanation', '')}".strip()
        for item in report.get("validation_results", {})
        .get("activeManifest", {})
        .get("failure", [])
    ]
    assertions = {a.get("label"): a.get("data", {}) for a in manifest.get("assertions", [])}
    actions = assertions.get("c2pa.actions.v2", {}).get("actions", [])
    signature = manifest.get("signature_info", {})
    generator = (manifest.get("claim_generator_info") or [{}])[0]
    return Provenance(
        state=state,
        failures=failures,
        signer=signature.get("common_name"),
        issuer=signature.get("issuer"),
        claim_generator=" ".join(filter(None, [generator.get("name"), generator.get("version")])),
        title=manifest.get("title"),
        ai_generated=any(a.get("digitalSourceType") == COMPOSITE_AI for a in actions),
        actions=[a.get("action", "") for a in actions],
        ingredients=[
            {
                "title": i.get("title", ""),
                "relationship": i.get("relationship", ""),
                "hash": i.get("description", ""),
            }
            for i in manifest.get("ingredients", [])
        ],
        render=assertions.get(RENDER_ASSERTION),
        copy=assertions.get(COPY_ASSERTION),
        soft_binding=assertions.get("c2pa.soft-binding"),
        disclosure=assertions.get(DISCLOSURE_ASSERTION, {}).get("statement"),
        label=label,
    )


def _context(trust_anchor_pem: bytes | None) -> c2pa.Context | None:
    if trust_anchor_pem is None:
        return None
    settings = c2pa.Settings.from_dict(
        {"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust_anchor_pem.decode()}}
    )
    return c2pa.Context(settings=settings)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__

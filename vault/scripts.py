"""Screenplays in the vault: every copy that leaves is its recipient's own.

`vault get SCRIPT -o OUT` never hands out the stored file. It makes the member's copy: at
every canary site (watermark.script) the spelling their codeword picks, and for a PDF also
their name across every page, the copy id in every footer, and the studio's signature. The
copy is recorded (recipient, mark, rule set, hash) and logged before the file is written,
as a video export is.

`vault trace` hands leaked text, PDFs and page photos to `trace_script`: the excerpt is
aligned to each stored script, the spelling at each site it covers is read, and the evidence
is tested against every copy issued of the script it comes from. A visible name or copy id
on the page is reported, never trusted: it is the first thing a forger would type.
"""

from __future__ import annotations

import hashlib
import io
import math
import secrets
from dataclasses import dataclass, field
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
_PDF = b"%PDF-"


# -- what a stored script may be --------------------------------------------------------------


def check_script(data: bytes, name: str) -> None:
    """A UsageError unless `data` is a script the vault can mark: UTF-8 text (Fountain) or
    a PDF with a text layer."""
    script_text(data, name)


def script_text(data: bytes, name: str) -> str:
    """The Fountain text of a stored script (a PDF's text layer for a PDF)."""
    from detect import DetectError, read_text

    if data.lstrip()[:5] == _PDF:
        try:
            return read_text(data, name).text
        except DetectError as error:
            raise UsageError(error.problem, error.fix) from error
    head = data.lstrip()[:200].lower()
    if head.startswith(b"<?xml") and b"finaldraft" in data[:2000].lower():
        raise UsageError(
            f"{name} is a Final Draft file, which is not read here",
            "export it from Final Draft as Fountain or PDF and put that",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{name} is not UTF-8 text (a bad byte at offset {exc.start})",
            "save it as UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8`",
        ) from exc


# -- copies -----------------------------------------------------------------------------------


def copy_script(
    session: MemberSession, keys: UnsealedKeys, asset: Asset, out: Path, arguments: dict
) -> dict[str, Any]:
    """Write the member's own copy of `asset` to `out` (a PDF when it ends in .pdf, else
    Fountain text); the copy is recorded and logged first. Access was checked by the caller
    and is checked again when the copy is recorded."""
    from watermark.script import RULES_VERSION, find_sites, mark_script, render_pdf

    as_pdf = out.suffix.lower() == ".pdf"
    credentials = signing_credentials(session, keys, "get", arguments) if as_pdf else None
    try:
        master = script_text(decrypted(session, keys, asset, "get", arguments), asset.name)
    except UsageError as error:
        session._refuse("get", arguments, error, asset_id=asset.id)
    sites = find_sites(master)
    key = marking.script_key(keys.identity, session.vault.config.vault_id, asset.id)
    mark = _next_mark(session, asset)
    codeword = marking.script_code(key, len(sites)).codeword(mark)
    text = mark_script(master, codeword, key, sites=sites) if sites else master
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
        rules=RULES_VERSION,
        sites=len(sites),
        sha256=hashlib.sha256(data).hexdigest(),
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
    return script_copy_view(copy) | {"file": str(out), "confidence": _confidence(len(sites))}


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
    }


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


def _confidence(sites: int) -> str:
    """What a leak of this script can prove, from its number of sites."""
    needed = math.ceil(math.log2(200 / 1e-6))  # agreeing sites to name 1 of 200 at 1e-6
    if sites == 0:
        return (
            "no canary sites: copies differ only in the PDF's visible name and footer, "
            "which a leaker can remove; a leak of it cannot be traced"
        )
    if sites < needed:
        return (
            f"only {sites} canary sites: even the whole script cannot name one of 200 "
            f"recipients at p < 1e-6 (about {needed} are needed)"
        )
    return f"{sites} canary sites; about {needed} read correctly name one of 200 recipients"


# -- tracing ----------------------------------------------------------------------------------


@dataclass
class ScriptTraceReport:
    file: str
    how_read: str  # text | pdf-text | pdf-ocr | image-ocr
    verdict: str = "not from this vault"
    source: dict[str, Any] | None = None
    accused: list[dict[str, Any]] = field(default_factory=list)
    best_probability: float | None = None
    evidence: dict[str, Any] | None = None
    claims: dict[str, str | None] = field(default_factory=dict)
    signature: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        segment = {"source": self.source, "accused": self.accused, "verdict": self.verdict}
        return {
            "file": self.file,
            "kind": "script",
            "verdict": self.verdict,
            "source": self.source,
            "accused": self.accused,
            "best_probability": self.best_probability,
            "read_as": self.how_read,
            "evidence": self.evidence,
            "claims": self.claims,
            "signature": self.signature,
            "segments": [segment] if self.source else [],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        out = [f"{self.file}: {self.verdict} (read as {self.how_read})"]
        if self.source:
            s = self.source
            where = f"pages {s['pages'][0]}-{s['pages'][1]}" if s["pages"] else "somewhere"
            out.append(
                f"  source: script {s['name']!r} ({s['script']}), {where}; "
                f"{s['aligned']:.0%} of the excerpt follows it"
            )
        if self.evidence:
            e = self.evidence
            out.append(f"  canary sites: {e['sites_read']} read of {e['sites']['covered']} covered")
        for a in self.accused:
            out.append(
                f"  ACCUSED {a['recipient']}: copy {a['copy_id']} ({a['format']}) made "
                f"{a['created_at'][:19]}; false-accusation probability "
                f"{a['false_accusation_probability']:.1e}"
            )
            out += [
                f"    audit #{h['seq']} {h['time'][:19]} {h['actor']} {h['action']}"
                for h in a["history"]
            ]
        if any(self.claims.values()):
            out.append(
                f"  visible marks (not proof): name {self.claims.get('recipient')!r}, "
                f"copy {self.claims.get('copy_id')!r}"
            )
        if self.signature.get("state"):
            out.append(f"  PDF signature: {self.signature['state']}")
        out += [f"  note: {note}" for note in self.notes]
        return out


def is_script_file(data: bytes) -> bool:
    """Whether a suspect is a page rather than a video: a PDF, an image or text."""
    from PIL import Image, UnidentifiedImageError

    if data.lstrip()[:5] == _PDF:
        return True
    try:
        with Image.open(io.BytesIO(data)):
            return True
    except Image.DecompressionBombError:
        return True  # an image, and read_text says why it will not read it
    except (UnidentifiedImageError, OSError, ValueError):
        pass
    sample = data[:4096]
    return bool(sample) and b"\x00" not in sample and _mostly_text(sample)


def _mostly_text(sample: bytes) -> bool:
    text = sample.decode("utf-8", errors="replace")
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    return printable / len(text) > 0.95


def trace_script(
    session: MemberSession,
    keys: UnsealedKeys,
    path: Path,
    data: bytes,
    threshold: float,
    arguments: dict,
) -> ScriptTraceReport:
    """Trace leaked script pages to the copy they were made from."""
    from detect import DetectError, read_text, script_evidence
    from watermark.script import find_sites

    try:
        suspect = read_text(data, path.name)
    except DetectError as error:
        session._refuse("trace", arguments, UsageError(error.problem, error.fix))
    report = ScriptTraceReport(str(path), suspect.source, claims=suspect.claims.to_json())
    if suspect.note:
        report.notes.append(suspect.note)
    if data.lstrip()[:5] == _PDF:
        report.signature = _signature(session, data, claims_a_copy=bool(suspect.claims.copy_id))
    matched = []
    with session.vault.session() as db:
        scripts = db.scalars(select(Asset).where(Asset.kind == "script")).all()
    best_fraction = 0.0
    for asset in scripts:
        try:
            master = script_text(decrypted(session, keys, asset, "trace", arguments), asset.name)
        except UsageError:
            continue  # stored before scripts were checked, and not readable as one
        sites = find_sites(master)
        key = marking.script_key(keys.identity, session.vault.config.vault_id, asset.id)
        evidence = script_evidence(master, suspect, key, max(len(sites), 1))
        best_fraction = max(best_fraction, evidence.aligned)
        if evidence.from_this_script:
            matched.append((asset, key, sites, evidence))
    if not matched:
        report.notes.append(
            f"at best {best_fraction:.0%} of its words follow any of the {len(scripts)} "
            "scripts in the vault"
        )
        return report
    # Drafts of one screenplay share most of their words: every matching script is tried
    # (best aligned first), each a test of its own, the threshold shared among them.
    matched.sort(key=lambda m: -m[3].aligned)
    tried = len(matched)
    reading = None
    for candidate in matched:
        attempt = _read_copies(session, candidate, threshold / tried, arguments)
        if reading is None or attempt.accused:
            reading = attempt
        if attempt.accused:
            break
    _fill(session, report, reading, tried, threshold)
    return report


@dataclass
class _ScriptReading:
    asset: Asset
    evidence: Any  # detect.ScriptEvidence
    copies: dict[int, ScriptCopy]  # the readable copies issued, by mark
    accused: list[Any] = field(default_factory=list)  # watermark.Accusation
    best: float | None = None
    notes: list[str] = field(default_factory=list)


def _read_copies(
    session: MemberSession, candidate: tuple, threshold: float, arguments: dict
) -> _ScriptReading:
    """Test the evidence read against one script against every copy issued of it."""
    from watermark import WatermarkError, accuse
    from watermark.script import RULES_VERSION

    asset, key, sites, evidence = candidate
    with session.vault.session() as db:
        issued = db.scalars(select(ScriptCopy).where(ScriptCopy.script == asset.id)).all()
    reading = _ScriptReading(
        asset, evidence, {c.mark: c for c in issued if c.rules == RULES_VERSION}
    )
    if len(reading.copies) < len(issued):
        reading.notes.append(
            f"{len(issued) - len(reading.copies)} copies of {asset.name!r} were made with other "
            "canary rules and were not tested"
        )
    if not reading.copies or not sites:
        return reading
    try:
        code = marking.script_code(key, len(sites))
        verdict = accuse(evidence, code, list(reading.copies), threshold=threshold)
    except WatermarkError as error:
        session._refuse("trace", arguments, UsageError(error.problem, error.fix))
    reading.accused = verdict.accused
    reading.best = verdict.ranking[0].probability if verdict.ranking else None
    return reading


def _fill(
    session: MemberSession,
    report: ScriptTraceReport,
    reading: _ScriptReading,
    tried: int,
    threshold: float,
) -> None:
    evidence, asset = reading.evidence, reading.asset
    report.source = {
        "script": asset.id,
        "name": asset.name,
        "pages": list(evidence.pages) if evidence.pages else None,
        "lines": list(evidence.lines) if evidence.lines else None,
        "aligned": round(evidence.aligned, 3),
    }
    report.evidence = evidence.to_json()
    report.notes += reading.notes
    if not reading.copies:
        report.verdict = "never exported"
        report.notes.append(f"no copy of {asset.name!r} was ever issued")
        return
    if evidence.sites_total == 0:
        report.verdict = "insufficient evidence"
        report.notes.append("this script has no canary sites: its copies cannot be told apart")
        return
    report.accused = [
        _accused(session, reading.copies[a.copy], min(1.0, a.probability * tried))
        for a in reading.accused
    ]
    report.best_probability = None if reading.best is None else min(1.0, reading.best * tried)
    if report.accused:
        report.verdict = "accused"
        _compare_claims(report)
        return
    # Could even a perfect reading of this many sites have named anyone?
    corrected = threshold / tried
    too_few = len(reading.copies) * 2.0**-evidence.sites_read > corrected
    report.verdict = "insufficient evidence" if too_few else "no mark found"
    report.notes.append(_more_pages(evidence, reading.best or 1.0, corrected))


def _accused(session: MemberSession, copy: ScriptCopy, probability: float) -> dict[str, Any]:
    from vault.trace import copy_history

    return script_copy_view(copy) | {
        "false_accusation_probability": probability,
        "history": copy_history(session, copy.id),
    }


def _compare_claims(report: ScriptTraceReport) -> None:
    """The visible marks are a claim; where they disagree with the canaries, say so."""
    accused = report.accused[0]
    claimed = {
        "name": (report.claims.get("recipient"), accused["recipient"]),
        "copy id": (report.claims.get("copy_id"), accused["copy_id"]),
    }
    for what, (shown, marked) in claimed.items():
        if shown and shown.strip().lower() != marked.lower():
            report.notes.append(
                f"the page's visible {what} says {shown!r} but the canary marks say "
                f"{marked!r}: the visible mark was forged or swapped"
            )


def _more_pages(evidence, best: float, threshold: float) -> str:
    pages = evidence.pages[1] - evidence.pages[0] + 1 if evidence.pages else 1
    if best >= 0.5:
        return (
            f"{evidence.sites_read} canary sites read, none pointing at an issued copy: "
            "nobody is accused"
        )
    needed = math.ceil(pages * math.log(threshold) / math.log(best))
    return (
        f"{evidence.sites_read} canary sites read; the best copy scores p = {best:.1e}, above "
        f"the {threshold:.0e} needed: nobody is accused; about {needed} pages would be needed"
    )


def _signature(session: MemberSession, data: bytes, claims_a_copy: bool) -> dict[str, Any]:
    """The PDF's signature, and a forgery warning when it fails, or when a page that shows a
    vault copy id is signed by someone other than the studio."""
    from vault.pdf_signing import read_pdf_signature

    try:
        state = read_pdf_signature(data, session.vault.layout.root_ca_cert.read_bytes())
    except UsageError:
        return {"state": None, "signer": None, "forgery": None}
    forgery = None
    if state.state == "Invalid":
        forgery = "FORGERY: the PDF's signature fails: it was altered after it was signed"
    elif state.state == "Valid" and claims_a_copy:
        forgery = (
            f"FORGERY: it shows a vault copy id but is signed by {state.signer}, not by this studio"
        )
    return {"state": state.state, "signer": state.signer, "forgery": forgery}

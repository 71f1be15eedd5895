"""`vault trace` of leaked script pages: text, a PDF, or a photo of a page.

The excerpt is aligned to each stored script (detect/), the spelling at each canary site it
covers is read, and the evidence is tested against every copy issued of the script it comes
from, as for video. A visible name or copy id on the page is reported, never trusted: it is
the first thing a forger would type. It only keeps half the threshold for testing the copy
it names alone (`watermark.accuse`), which a forgery cannot turn against an innocent.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from vault import marking
from vault.errors import UsageError
from vault.models import Asset, ScriptCopy
from vault.render import decrypted
from vault.script_copies import PDF_MAGIC, master_hash, script_copy_view, script_text

if TYPE_CHECKING:
    from vault.core import UnsealedKeys
    from vault.session import MemberSession


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
            lines = (
                f"{e['line_breaks_read']} of them line breaks: the printed lines were kept"
                if e.get("lines_kept")
                else "words only: the lines were reflowed"
            )
            out.append(
                f"  canary sites: {e['sites_read']} read of {e['sites']['covered']} covered "
                f"({lines})"
            )
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

    if data.lstrip()[:5] == PDF_MAGIC:
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
    from watermark.script import site_count

    try:
        suspect = read_text(data, path.name)
    except DetectError as error:
        session._refuse("trace", arguments, UsageError(error.problem, error.fix))
    report = ScriptTraceReport(str(path), suspect.source, claims=suspect.claims.to_json())
    if suspect.note:
        report.notes.append(suspect.note)
    if data.lstrip()[:5] == PDF_MAGIC:
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
        key = marking.script_key(keys.identity, session.vault.config.vault_id, asset.id)
        evidence = script_evidence(master, suspect, key, max(site_count(master), 1))
        best_fraction = max(best_fraction, evidence.aligned)
        if evidence.from_this_script:
            matched.append(_Candidate(asset, key, master, evidence))
    if not matched:
        report.notes.append(
            f"at best {best_fraction:.0%} of its words follow any of the {len(scripts)} "
            "scripts in the vault"
        )
        return report
    # Drafts of one screenplay share most of their words: every matching script is tried
    # (best aligned first), each a test of its own, the threshold shared among them.
    matched.sort(key=lambda m: -m.evidence.aligned)
    tried = len(matched)
    reading = None
    for candidate in matched:
        attempt = _read_copies(session, candidate, suspect, threshold / tried, arguments)
        if reading is None or attempt.accused:
            reading = attempt
        if attempt.accused:
            break
    _fill(session, report, reading, tried, threshold)
    return report


@dataclass(frozen=True)
class _Candidate:
    """A stored script the excerpt follows, and the excerpt read under the current rules."""

    asset: Asset
    key: bytes
    master: str
    evidence: Any  # detect.ScriptEvidence


@dataclass
class _ScriptReading:
    asset: Asset
    evidence: Any  # detect.ScriptEvidence
    copies: dict[int, ScriptCopy]  # the readable copies issued, by mark
    accused: list[Any] = field(default_factory=list)  # watermark.Accusation
    best: float | None = None
    notes: list[str] = field(default_factory=list)


def _read_copies(
    session: MemberSession,
    candidate: _Candidate,
    suspect: Any,  # detect.SuspectText
    threshold: float,
    arguments: dict,
) -> _ScriptReading:
    """Test the excerpt against every copy issued of one script, each copy read with the
    canary rules it was made with."""
    from watermark.script import RULE_SETS

    asset, text_hash = candidate.asset, master_hash(candidate.master)
    with session.vault.session() as db:
        issued = db.scalars(select(ScriptCopy).where(ScriptCopy.script == asset.id)).all()
    # A copy marked on another text of this script (a PDF whose text layer now reads
    # differently) has other sites: reading it with these would only add noise.
    other_text = [c for c in issued if c.master_sha256 not in (None, text_hash)]
    unknown = [c for c in issued if c.rules not in RULE_SETS and c not in other_text]
    by_rules: dict[str, list[ScriptCopy]] = {}
    for c in issued:
        if c not in other_text and c not in unknown:
            by_rules.setdefault(c.rules, []).append(c)
    readable = {c.mark: c for group in by_rules.values() for c in group}
    reading = _ScriptReading(asset, candidate.evidence, readable)
    if unknown:
        reading.notes.append(
            f"{len(unknown)} copies of {asset.name!r} were made with canary rules this "
            f"release does not know ({', '.join(sorted({c.rules for c in unknown}))}) and were "
            "not tested: trace with the release that issued them"
        )
    if other_text:
        reading.notes.append(
            f"{len(other_text)} copies of {asset.name!r} were marked on another reading of its "
            "text (its PDF text layer now extracts differently) and were not tested"
        )
    # Each rules version is a test of its own: the threshold is shared among them, and the
    # probabilities multiplied back so that they cover all of them.
    versions = len(by_rules)
    claimed = _claimed(readable.values(), suspect.claims)
    if claimed:
        reading.notes.append(_claim_note(claimed, suspect.claims))
    for rules, copies in sorted(by_rules.items()):
        share = threshold / versions
        group = _read_group(session, candidate, suspect, rules, copies, claimed, share, arguments)
        if group is None:
            continue
        evidence, accused, best = group
        corrected = [replace(a, probability=min(1.0, a.probability * versions)) for a in accused]
        if corrected and not reading.accused:
            reading.evidence = evidence
        reading.accused = sorted(reading.accused + corrected, key=lambda a: a.probability)
        if best is not None:
            best = min(1.0, best * versions)
            reading.best = best if reading.best is None else min(reading.best, best)
    return reading


def _read_group(
    session: MemberSession,
    candidate: _Candidate,
    suspect: Any,
    rules: str,
    copies: list[ScriptCopy],
    claimed: list[ScriptCopy],
    threshold: float,
    arguments: dict,
) -> tuple[Any, list[Any], float | None] | None:
    """(evidence, accused, best probability) for the copies made under one rules version,
    at that version's share of the threshold; None when the script has no sites under it."""
    from detect import script_evidence
    from watermark import WatermarkError, accuse
    from watermark.script import RULES_VERSION, site_count

    sites = site_count(candidate.master, rules)
    if not sites:
        return None
    evidence = candidate.evidence
    if rules != RULES_VERSION:
        evidence = script_evidence(candidate.master, suspect, candidate.key, sites, rules=rules)
    try:
        code = marking.script_code(candidate.key, sites)
        marks = [c.mark for c in copies]
        named = [c.mark for c in claimed if c in copies]
        verdict = accuse(evidence, code, marks, threshold=threshold, claimed=named)
    except WatermarkError as error:
        session._refuse("trace", arguments, UsageError(error.problem, error.fix))
    best = verdict.ranking[0].probability if verdict.ranking else None
    return evidence, verdict.accused, best


def _claimed(copies: Iterable[ScriptCopy], claims: Any) -> list[ScriptCopy]:
    """The issued copies the page's visible marks point at: its footer's copy id, else every
    copy issued to the name it shows. Only a hint for sharing the threshold (`accuse`)."""
    if claims.copy_id:
        by_id = [c for c in copies if c.id.lower() == claims.copy_id.lower()]
        if by_id:
            return by_id
    name = (claims.recipient or "").strip().lower()
    return [c for c in copies if name and c.recipient.lower() == name]


def _claim_note(claimed: list[ScriptCopy], claims: Any) -> str:
    shown = f"copy id {claims.copy_id!r}" if claims.copy_id else f"name {claims.recipient!r}"
    whose = ", ".join(sorted({c.recipient for c in claimed}))
    return (
        f"the page's visible {shown} points at {len(claimed)} copy(ies) issued to {whose}: "
        "half the threshold was kept for testing them alone; only the canary marks can "
        "accuse"
    )


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
    too_few = len(reading.copies) * 2.0**-evidence.observed > corrected  # a bit per position
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

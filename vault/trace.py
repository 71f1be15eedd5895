"""`vault trace FILE`: which render a leaked clip comes from, and whose copy it was.

The suspect's frames are looked up in the fingerprint index of every render (detect/), so
only the matching renders are decrypted. Each is read against the suspect by informed
extraction (the watermark library registers the suspect to the master in space and time),
and the evidence is tested against every copy the vault ever issued, of any render. A copy
is accused only when the probability that an innocent copy scores as high is below the
threshold (Bonferroni-corrected over the renders tried); otherwise the report says the
evidence is too weak and roughly how much more footage would be needed. Tracing is logged.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from vault import access, marking
from vault.errors import UsageError
from vault.export import copy_view
from vault.models import Asset, AuditEntry, Copy, Fingerprint, Render
from vault.render import decrypted

if TYPE_CHECKING:
    from vault.core import UnsealedKeys
    from vault.session import MemberSession

MATCH_SCORE = 0.8  # mean fingerprint cosine from which a render is the suspect's source
MAX_SECONDS = 30.0  # of the suspect read: evidence grows with length, and so does memory
MAX_BYTES = 600_000_000  # of decoded suspect frames held at once


@dataclass
class TraceReport:
    file: str
    verdict: str  # accused | no mark found | not from this vault | never exported
    c2pa: str | None = None
    source: dict[str, Any] | None = None
    accused: list[dict[str, Any]] = field(default_factory=list)
    best_probability: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "verdict": self.verdict,
            "c2pa": self.c2pa,
            "source": self.source,
            "accused": self.accused,
            "best_probability": self.best_probability,
            "segments": [{"source": self.source, "accused": self.accused}] if self.source else [],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        out = [f"{self.file}: {self.verdict}"]
        if self.source:
            s = self.source
            out.append(
                f"  source: shot {s['shot']}, render {s['render']} ({s['render_id']}), "
                f"master frames {s['frames'][0]}-{s['frames'][1]}, match {s['score']:.2f}"
            )
        for a in self.accused:
            out.append(
                f"  ACCUSED {a['recipient']}: copy {a['copy_id']} exported {a['created_at'][:19]} "
                f"by {a['requested_by']}; false-accusation probability "
                f"{a['false_accusation_probability']:.1e}"
            )
            out += [
                f"    audit #{h['seq']} {h['time'][:19]} {h['actor']} {h['action']}"
                for h in a["history"]
            ]
        if self.c2pa:
            out.append(f"  C2PA: {self.c2pa}")
        out += [f"  note: {note}" for note in self.notes]
        return out


def trace_file(
    session: MemberSession, keys: UnsealedKeys, path: Path, threshold: float = 1e-6
) -> TraceReport:
    """Trace `path` to a render and an issued copy; the report says why when it cannot."""
    from swap import SwapError

    arguments = {"file": str(path), "threshold": threshold}
    session._require(access.TRACE, "trace", arguments)
    if not 0 < threshold < 1:
        session._refuse("trace", arguments, UsageError("the threshold must be between 0 and 1"))
    try:
        frames, fps = read_suspect(path)
    except SwapError as error:
        session._refuse("trace", arguments, UsageError(error.problem, error.fix))
    report = TraceReport(str(path), "not from this vault", c2pa=_c2pa_state(session, path))
    if report.c2pa == "Invalid":
        report.notes.append(
            "its C2PA manifest does not verify: altered after signing, or a forged claim"
        )
    _trace(session, keys, frames, fps, threshold, report)
    with session.vault.transaction() as db:
        detail = {"verdict": report.verdict, "copies": [a["copy_id"] for a in report.accused]}
        session._record(db, "trace", "ok", arguments, detail=detail)
    return report


def _trace(session, keys, frames: np.ndarray, fps: float, threshold: float, report) -> None:
    index, renders = _index(session)
    found = index.search(frames, fps)
    matches = [m for m in found if m.score >= MATCH_SCORE]
    if not matches:
        score = f"{found[0].score:.2f}" if found else "none"
        report.notes.append(f"best fingerprint match {score}, below {MATCH_SCORE}")
        return
    with session.vault.session() as db:
        copies = {c.mark: c for c in db.scalars(select(Copy))}
    exported = [m for m in matches if any(c.render == m.render for c in copies.values())]
    if not exported:
        report.verdict = "never exported"
        report.source = _source(renders[matches[0].render][0], matches[0], len(frames))
        report.notes.append(f"no copy of render {matches[0].render} was ever exported")
        return
    masters = [renders[m.render] for m in exported]
    accused, best_p, render = accuse_copies(
        session, keys, frames, fps, masters, copies, threshold, "trace"
    )
    match = next((m for m in exported if render and m.render == render.id), exported[0])
    report.source = _source(renders[match.render][0], match, len(frames))
    if accused:
        report.verdict = "accused"
        report.accused = [_accused(session, copy, p) for copy, p in accused]
        return
    report.verdict = "no mark found"
    report.best_probability = best_p
    report.notes.append(_more_footage(len(frames) / fps, best_p, threshold))


def accuse_copies(
    session: MemberSession,
    keys: UnsealedKeys,
    frames: np.ndarray,
    fps: float | None,
    masters: list[tuple[Render, Asset]],
    copies: dict[int, Copy],
    threshold: float,
    action: str,
) -> tuple[list[tuple[Copy, float]], float, Render | None]:
    """Read the suspect against each master in turn and test the evidence against every
    issued copy. Each master tried is another test: the threshold is divided among them
    (Bonferroni) and the probabilities multiplied back, so they cover the whole search.
    Returns the accused copies with their probabilities, the best probability seen, and
    the render whose master gave the accusation."""
    from watermark import Reference, accuse, extract

    key = marking.watermark_key(keys.identity, session.vault.config.vault_id)
    code = marking.copy_code(key)
    tried = max(len(masters), 1)
    best = 1.0
    for render, master in masters:
        data = decrypted(session, keys, master, action, {"render": render.id})
        reference = Reference.from_frames(_batches(data))
        evidence = extract(frames, key, code.length, master=reference, fps=fps)
        verdict = accuse(evidence, code, list(copies), threshold=threshold / tried)
        if verdict.ranking:
            best = min(best, verdict.ranking[0].probability * tried)
        if verdict.accused:
            return (
                [(copies[a.copy], min(1.0, a.probability * tried)) for a in verdict.accused],
                best,
                render,
            )
    return [], best, None


def read_suspect(path: Path) -> tuple[np.ndarray, float]:
    """Up to MAX_SECONDS (and MAX_BYTES) of a suspect's frames and its frame rate, or a
    SwapError when it is not a readable video or has no picture."""
    import av

    from swap import SwapError, read_batches

    kept, total, limit, fps = [], 0, None, 25.0
    for batch in read_batches(path):
        if limit is None:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                fps = float(stream.average_rate or stream.guessed_rate or 25)
            limit = max(1, min(round(MAX_SECONDS * fps), MAX_BYTES // batch[0].nbytes))
        kept.append(batch[: limit - total])
        total += len(kept[-1])
        if total >= limit:
            break
    if not kept:
        raise SwapError(f"{path} has no picture to read", "give the video itself")
    return np.concatenate(kept), fps


def _batches(data: bytes):
    import io

    from swap import read_batches

    return read_batches(io.BytesIO(data))


def _index(session: MemberSession):
    from detect import FingerprintIndex

    index, renders = FingerprintIndex(), {}
    with session.vault.session() as db:
        for fingerprint in db.scalars(select(Fingerprint)):
            render = db.get(Render, fingerprint.render)
            rows = np.frombuffer(fingerprint.signatures, np.float16).reshape(-1, 64)
            index.add(render.id, rows.astype(np.float32), fingerprint.fps)
            renders[render.id] = (render, db.get(Asset, render.asset))
    return index, renders


def _source(render: Render, match, suspect_frames: int) -> dict[str, Any]:
    first = max(0, match.master_frame(0))
    return {
        "shot": render.shot,
        "render": render.number,
        "render_id": render.id,
        "score": round(match.score, 3),
        "frames": [first, max(first, match.master_frame(suspect_frames - 1))],
    }


def _accused(session: MemberSession, copy: Copy, probability: float) -> dict[str, Any]:
    return copy_view(copy) | {
        "copy_id": copy.id,
        "false_accusation_probability": probability,
        "history": _history(session, copy),
    }


def _history(session: MemberSession, copy: Copy) -> list[dict[str, Any]]:
    """The audit entries that name this copy (its export, lookups that found it)."""
    naming = select(AuditEntry).where(AuditEntry.action.in_(("export", "verify.mark", "trace")))
    entries = []
    with session.vault.session() as db:
        for row in db.scalars(naming):
            body = json.loads(bytes(row.entry).split(b"\n")[0])
            if copy.id in json.dumps(body.get("detail", {})):
                entries.append(
                    {"seq": row.seq, "time": row.time, "actor": row.actor, "action": row.action}
                )
    return entries


def _more_footage(seconds: float, best: float, threshold: float) -> str:
    """Evidence adds up about linearly with the frames read, and so does -log p."""
    if best >= 0.5 or best <= 0:
        return (
            f"the {seconds:.0f} s read carry no mark of any issued copy: not a vault copy, or "
            "too damaged; nobody is accused"
        )
    needed = seconds * math.log(threshold) / math.log(best)
    return (
        f"the best copy scores p = {best:.1e}, above the {threshold:.0e} needed: nobody is "
        f"accused; about {needed:.0f} s of this footage would be needed"
    )


def _c2pa_state(session: MemberSession, path: Path) -> str | None:
    from vault.verify import verify_file

    try:
        return verify_file(session.vault, path).provenance.state
    except UsageError:
        return None  # not a format C2PA is checked in here

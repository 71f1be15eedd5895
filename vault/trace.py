"""`vault trace FILE`: which master a leaked clip comes from, and whose copy it was.

An edited leak is first split at its cuts (detect.segments) and each shot traced alone. A
shot's frames are looked up in the fingerprint index of every master (renders, and footage
whose copies left; detect/), so only the matching masters are decrypted. Each is read
against the suspect by informed extraction (the watermark library registers the suspect to
the master in space and time), and the evidence is tested against every copy the vault ever
issued, of any master. A copy is accused only when the probability that an innocent copy
scores as high is below the threshold (Bonferroni-corrected over the shots and masters
tried); otherwise the report says the evidence is too weak and roughly how much more footage
would be needed. Script pages go to vault/script_trace.py. Tracing is logged.
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
from vault.script_trace import ScriptTraceReport, is_script_file, trace_script

if TYPE_CHECKING:
    from vault.core import UnsealedKeys
    from vault.session import MemberSession

MATCH_SCORE = 0.8  # mean fingerprint cosine from which a render is the suspect's source
MAX_SECONDS = 30.0  # of the suspect read: evidence grows with length, and so does memory
MAX_BYTES = 600_000_000  # of decoded suspect frames held at once
MIN_SECONDS = 2.0  # below this, a clip that accuses no one is too short to say more
SHORTEST_SHOT = 0.5  # seconds: a stretch between cuts shorter than this is not a shot
_PAGE_SUFFIXES = frozenset({".pdf", ".txt", ".fountain", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})
_WHAT_TRACE_READS = "pass the leaked clip, or the leaked script as text, a PDF or a page image"
_CANDIDATES = 5  # best fingerprint matches tried; sibling re-renders look alike
# Overall verdict of several segments: the most telling one wins.
_VERDICTS = (
    "accused",
    "no mark found",
    "never exported",
    "insufficient evidence",
    "not from this vault",
)


@dataclass
class SegmentReport:
    """One shot of the suspect (the whole clip unless it was cut together from several)."""

    frames: tuple[int, int]  # suspect frames [first, last)
    seconds: float
    verdict: str = "not from this vault"
    source: dict[str, Any] | None = None
    accused: list[dict[str, Any]] = field(default_factory=list)
    best_probability: float | None = None
    changes: list[dict[str, str]] = field(default_factory=list)
    frame_scores: list[float] = field(default_factory=list)  # of the accused (or best) copy
    pictures: dict[str, bytes] = field(default_factory=dict)  # suspect and master, JPEG
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "frames": list(self.frames),
            "seconds": round(self.seconds, 2),
            "verdict": self.verdict,
            "source": self.source,
            "accused": self.accused,
            "best_probability": self.best_probability,
            "attacks": self.changes,
            "frame_scores": [round(v, 2) for v in self.frame_scores],
            "notes": self.notes,
        }


@dataclass
class TraceReport:
    file: str
    c2pa: dict[str, Any]
    segments: list[SegmentReport] = field(default_factory=list)
    file_changes: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        found = {s.verdict for s in self.segments} or {"not from this vault"}
        return next(v for v in _VERDICTS if v in found)

    @property
    def accused(self) -> list[dict[str, Any]]:
        """Every copy accused in any segment, once, with its smallest probability."""
        best: dict[str, dict[str, Any]] = {}
        for segment in self.segments:
            for a in segment.accused:
                held = best.get(a["copy_id"])
                if (
                    held is None
                    or a["false_accusation_probability"] < held["false_accusation_probability"]
                ):
                    best[a["copy_id"]] = a
        return sorted(best.values(), key=lambda a: a["false_accusation_probability"])

    @property
    def lead(self) -> SegmentReport | None:
        """The segment that decided the verdict."""
        return next((s for s in self.segments if s.verdict == self.verdict), None)

    @property
    def attacks(self) -> list[dict[str, str]]:
        seen = {(c["kind"], c["detail"]): c for s in self.segments for c in s.changes}
        return self.file_changes + list(seen.values())

    def to_json(self) -> dict[str, Any]:
        lead = self.lead
        probabilities = [s.best_probability for s in self.segments if s.best_probability]
        return {
            "file": self.file,
            "verdict": self.verdict,
            "source": lead.source if lead else None,
            "accused": self.accused,
            "attacks": self.attacks,
            "c2pa": self.c2pa,
            "best_probability": min(probabilities) if probabilities else None,
            "segments": [s.to_json() for s in self.segments],
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        out = [f"{self.file}: {self.verdict}"]
        several = len(self.segments) > 1
        if several:
            out.append(f"  an edit of {len(self.segments)} shots, each traced on its own:")
        for number, segment in enumerate(self.segments, 1):
            out += _segment_lines(segment, f"  shot {number} of the edit: " if several else "  ")
        if self.file_changes:
            out.append("  the file: " + "; ".join(c["detail"] for c in self.file_changes))
        out.append(f"  C2PA: {self.c2pa['state'] or 'not checked for this format'}")
        out += [f"  note: {note}" for note in self.notes]
        return out


def _segment_lines(segment: SegmentReport, lead: str) -> list[str]:
    first, last = segment.frames
    out = [f"{lead}frames {first}-{last - 1} ({segment.seconds:.1f} s): {segment.verdict}"]
    if segment.source:
        s = segment.source
        out.append(
            f"    source: shot {s['shot']}, {s['name']}, master frames "
            f"{s['frames'][0]}-{s['frames'][1]}, match {s['score']:.2f}"
        )
    for a in segment.accused:
        out.append(
            f"    ACCUSED {a['recipient']}: copy {a['copy_id']} issued {a['created_at'][:19]} "
            f"by {a['requested_by']}; false-accusation probability "
            f"{a['false_accusation_probability']:.1e}"
        )
        out += [
            f"      audit #{h['seq']} {h['time'][:19]} {h['actor']} {h['action']}"
            for h in a["history"]
        ]
    if segment.changes:
        out.append("    attacks seen: " + "; ".join(c["detail"] for c in segment.changes))
    out += [f"    note: {note}" for note in segment.notes]
    return out


def trace_file(
    session: MemberSession,
    keys: UnsealedKeys,
    path: Path,
    threshold: float = 1e-6,
    page: Path | None = None,
) -> TraceReport | ScriptTraceReport:
    """Trace `path` (a clip, or script pages) to what it was copied from and whose copy it
    was; the report says why when it cannot. `page` is where the caller will write the
    evidence page (it holds a master frame, so it is logged). Tracing is logged."""
    from vault.export import check_destination

    arguments = {"file": str(path), "threshold": threshold}
    if page is not None:
        arguments["report"] = str(page)
    session._require(access.TRACE, "trace", arguments)
    if page is not None:
        check_destination(session, Path(page), "trace", arguments)
    if not 0 < threshold < 1:
        session._refuse("trace", arguments, UsageError("the threshold must be between 0 and 1"))
    try:
        with path.open("rb") as file:
            head = file.read(1 << 16)
    except OSError as exc:
        session._refuse("trace", arguments, UsageError(f"cannot read {path}: {exc.strerror}"))
    if not head.strip():
        problem = f"{path} is empty"
        session._refuse("trace", arguments, UsageError(problem, _WHAT_TRACE_READS))
    if is_script_file(head):
        report = trace_script(session, keys, path, path.read_bytes(), threshold, arguments)
    elif path.suffix.lower() in _PAGE_SUFFIXES:
        problem = f"{path} is not a readable PDF, page image or text file"
        session._refuse("trace", arguments, UsageError(problem, _WHAT_TRACE_READS))
    else:
        report = _trace_video(session, keys, path, threshold, arguments)
    with session.vault.transaction() as db:
        detail = {"verdict": report.verdict, "copies": [a["copy_id"] for a in report.accused]}
        session._record(db, "trace", "ok", arguments, detail=detail)
    return report


def _trace_video(
    session: MemberSession, keys: UnsealedKeys, path: Path, threshold: float, arguments: dict
) -> TraceReport:
    from detect import segments
    from swap import SwapError

    try:
        frames, fps = read_suspect(path)
    except SwapError as error:
        session._refuse("trace", arguments, UsageError(error.problem, error.fix))
    report = TraceReport(str(path), _c2pa(session, path))
    if report.c2pa["forgery"]:
        report.notes.append(report.c2pa["forgery"])
    elif report.c2pa["state"] == "Invalid":
        report.notes.append("its C2PA manifest does not verify: altered after signing")
    search = _Search(session, keys)
    shots = segments(frames, shortest=max(1, round(SHORTEST_SHOT * fps)))
    for first, last in shots:
        segment = SegmentReport((first, last), (last - first) / fps)
        # Each shot is a test of its own: the threshold is shared among them (Bonferroni).
        search.trace(frames[first:last], fps, threshold, len(shots), segment)
        report.segments.append(segment)
    report.file_changes = _file_changes(path, report.accused, search)
    return report


class _Search:
    """What every segment of one trace shares: the render index, the issued copies, and
    each master read once (decrypted, logged, and reduced to a watermark Reference)."""

    def __init__(self, session: MemberSession, keys: UnsealedKeys) -> None:
        self.session, self.keys = session, keys
        self.index, self.sources = _index(session)
        with session.vault.session() as db:
            self.copies = list(db.scalars(select(Copy)))
        self.masters: dict[str, _Master] = {}

    def trace(
        self, frames: np.ndarray, fps: float, threshold: float, tests: int, out: SegmentReport
    ) -> None:
        found = self.index.search(frames, fps, top=_CANDIDATES)
        matches = [m for m in found if m.score >= MATCH_SCORE]
        if not matches:
            score = f"{found[0].score:.2f}" if found else "none"
            out.notes.append(f"best fingerprint match {score}, below {MATCH_SCORE}")
            return
        issued = {c.master for c in self.copies}
        exported = [m for m in matches if m.master in issued]
        if not exported:
            out.verdict = "never exported"
            out.source = _source(*self.sources[matches[0].master], matches[0], len(frames))
            out.notes.append(f"no copy of {out.source['name']} was ever issued")
            return
        masters = [self.sources[m.master] for m in exported]
        reading = accuse_copies(
            self.session,
            self.keys,
            frames,
            fps,
            masters,
            self.copies,
            threshold / tests,
            "trace",
            self.masters,
        )
        asset = reading.master_asset or masters[0][1]
        match = next(m for m in exported if m.master == asset.id)
        out.source = _source(*self.sources[asset.id], match, len(frames))
        out.accused = [
            _accused(self.session, copy, min(1.0, p * tests)) for copy, p in reading.accused
        ]
        out.best_probability = min(1.0, reading.best * tests)
        out.notes += reading.notes
        if reading.evidence is not None:
            _describe(reading, frames, fps, out)
        if out.accused:
            out.verdict = "accused"
        elif out.seconds < MIN_SECONDS:
            out.verdict = "insufficient evidence"
            out.notes.append(_too_short(out.seconds))
        else:
            out.verdict = "no mark found"
            out.notes.append(_more_footage(out.seconds, out.best_probability, threshold))


@dataclass
class _Master:
    """A master render as trace reads it: its watermark reference and its plaintext."""

    reference: Any  # watermark.Reference
    data: bytes


@dataclass
class Reading:
    """What reading a suspect's mark against the candidate masters found."""

    accused: list[tuple[Copy, float]]  # with probabilities covering the masters tried
    best: float  # smallest probability seen, accused or not
    master_asset: Asset | None  # the master the evidence below was read against
    evidence: Any = None  # watermark.Evidence
    master: _Master | None = None
    top: Copy | None = None  # the best-scoring copy
    key: bytes = b""
    notes: list[str] = field(default_factory=list)


def accuse_copies(
    session: MemberSession,
    keys: UnsealedKeys,
    frames: np.ndarray,
    fps: float | None,
    masters: list[tuple[Render | None, Asset]],
    copies: list[Copy],
    threshold: float,
    action: str,
    cache: dict[str, _Master] | None = None,
) -> Reading:
    """Read the suspect against each master in turn and test the evidence against every
    issued copy. Each master tried is another test: the threshold is divided among them
    (Bonferroni) and the probabilities multiplied back, so they cover the whole search.
    Stops at the first master that gives an accusation; otherwise the reading with the
    best probability is returned."""
    from watermark import WatermarkError, accuse, extract

    key = marking.watermark_key(keys.identity, session.vault.config.vault_id)
    code = marking.copy_code(key)
    tried = max(len(masters), 1)
    cache = {} if cache is None else cache
    result = Reading([], 1.0, None, key=key)
    for render, asset in masters:
        master = cache.get(asset.id) or _read_master(session, keys, asset, action)
        cache[asset.id] = master
        try:
            evidence = extract(frames, key, code.length, master=master.reference, fps=fps)
        except WatermarkError as error:
            result.notes.append(f"{_name(render, asset)}: {error}")
            continue
        marks = sorted({c.mark for c in copies})
        verdict = accuse(evidence, code, marks, threshold=threshold / tried)
        best = verdict.ranking[0].probability * tried if verdict.ranking else 1.0
        if verdict.accused or result.master_asset is None or best < result.best:
            result = Reading(
                [
                    (_copy_of(copies, a.copy, asset), min(1.0, a.probability * tried))
                    for a in verdict.accused
                ],
                min(result.best, best),
                asset,
                evidence,
                master,
                _copy_of(copies, verdict.ranking[0].copy, asset) if verdict.ranking else None,
                key,
                result.notes,
            )
        if verdict.accused:
            break
    return result


def _copy_of(copies: list[Copy], mark: int, master: Asset) -> Copy:
    """The copy a mark read in `master` stands for: its recipient's newest copy of that
    master (a mark is one recipient's, on every copy they received)."""
    theirs = sorted((c for c in copies if c.mark == mark), key=lambda c: c.created_at)
    of_master = [c for c in theirs if c.master == master.id]
    return (of_master or theirs)[-1]


def _read_master(session: MemberSession, keys: UnsealedKeys, asset: Asset, action: str) -> _Master:
    from watermark import Reference

    data = decrypted(session, keys, asset, action, {"master": asset.id})
    return _Master(Reference.from_frames(_batches(data)), data)


def _describe(reading: Reading, frames: np.ndarray, fps: float, out: SegmentReport) -> None:
    """The segment's attacks, per-frame detection scores and a matched pair of pictures."""
    from detect import Clip, changes
    from vault.provenance import thumbnail_jpeg
    from watermark import frame_scores

    evidence, master = reading.evidence, reading.master
    copy = reading.accused[0][0] if reading.accused else reading.top
    if copy is not None:
        codeword = marking.copy_code(reading.key).codeword(copy.mark)
        out.frame_scores = frame_scores(evidence, codeword, reading.key).tolist()
    registration = evidence.registration
    if registration is None:
        out.notes.append("the clip could not be registered to the master: read blind")
        return
    middle = len(frames) // 2
    master_index = int(registration.frame_map[middle])
    master_frame, master_fps = _frame_at(master.data, master_index)
    suspect = Clip(frames.shape[1], frames.shape[2], fps, len(frames))
    original = Clip(*master_frame.shape[:2], master_fps, len(master.reference))
    found = changes(
        registration, suspect, original, frames[middle], master.reference.luma[master_index]
    )
    out.changes = [c.to_json() for c in found]
    out.pictures = {
        "suspect": thumbnail_jpeg(frames[middle], 480),
        "master": thumbnail_jpeg(master_frame, 480),
    }


def _frame_at(data: bytes, index: int) -> tuple[np.ndarray, float]:
    """Frame `index` of an in-memory video, and its frame rate."""
    import io

    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        last = None
        for number, frame in enumerate(container.decode(stream)):
            last = frame
            if number == index:
                break
        return last.to_ndarray(format="rgb24"), rate


def _file_changes(path: Path, accused: list[dict[str, Any]], search: _Search) -> list[dict]:
    """Whether the file is a copy exactly as issued, or was re-encoded on the way."""
    import hashlib

    import av

    if not accused:
        return []
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    issued = {c.sha256 for c in search.copies if c.id == accused[0]["copy_id"]}
    if digest in issued:
        return [{"kind": "none", "detail": "the copy exactly as issued, byte for byte"}]
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.bit_rate or container.bit_rate or 0
        codec = stream.codec_context.name
    return [
        {
            "kind": "re-encode",
            "detail": f"re-encoded or re-wrapped: {codec}"
            + (f" at {rate / 1000:.0f} kb/s" if rate else "")
            + ", not the file as issued",
        }
    ]


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
    """Every fingerprinted master (renders, and footage once a copy of it left) in a
    search index, and each master's render (None for footage) and asset by asset id."""
    from detect import FingerprintIndex

    index, sources = FingerprintIndex(), {}
    with session.vault.session() as db:
        renders = {r.asset: r for r in db.scalars(select(Render))}
        for fingerprint in db.scalars(select(Fingerprint)):
            rows = np.frombuffer(fingerprint.signatures, np.float16).reshape(-1, 64)
            index.add(fingerprint.asset, rows.astype(np.float32), fingerprint.fps)
            asset = db.get(Asset, fingerprint.asset)
            sources[asset.id] = (renders.get(asset.id), asset)
    return index, sources


def _name(render: Render | None, asset: Asset) -> str:
    return f"render {render.id}" if render else f"footage {asset.name!r}"


def _source(render: Render | None, asset: Asset, match, suspect_frames: int) -> dict[str, Any]:
    first = max(0, match.master_frame(0))
    return {
        "shot": render.shot if render else asset.shot,
        "render": render.number if render else None,
        "render_id": render.id if render else None,
        "master": asset.id,
        "name": _name(render, asset),
        "score": round(match.score, 3),
        "frames": [first, max(first, match.master_frame(suspect_frames - 1))],
    }


def _accused(session: MemberSession, copy: Copy, probability: float) -> dict[str, Any]:
    return copy_view(copy) | {
        "copy_id": copy.id,
        "false_accusation_probability": probability,
        "history": copy_history(session, copy.id),
    }


def copy_history(session: MemberSession, copy_id: str) -> list[dict[str, Any]]:
    """The audit entries that name a copy (its making, lookups and traces that found it)."""
    naming = select(AuditEntry).where(
        AuditEntry.action.in_(("export", "get", "verify.mark", "trace"))
    )
    entries = []
    with session.vault.session() as db:
        for row in db.scalars(naming):
            body = json.loads(bytes(row.entry).split(b"\n")[0])
            if copy_id in json.dumps(body.get("detail", {})):
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


def _too_short(seconds: float) -> str:
    return (
        f"{seconds:.1f} s is too little footage to name anyone: nobody is accused; "
        f"give at least {MIN_SECONDS:.0f} s, ideally 10 s or more"
    )


def _c2pa(session: MemberSession, path: Path) -> dict[str, Any]:
    """The suspect's C2PA state, and a forgery warning when it claims to be the studio's
    and that claim does not hold (a broken signature, or someone else's)."""
    from vault.verify import verify_file

    try:
        provenance = verify_file(session.vault, path).provenance
    except UsageError:
        return {"state": None, "signer": None, "forgery": None}
    claims_studio = bool(provenance.render or provenance.copy) or (
        provenance.claim_generator or ""
    ).startswith("vault")
    forgery = None
    if claims_studio and provenance.state == "Invalid":
        forgery = (
            "FORGERY: its manifest claims to come from this studio but its signature fails "
            "(forged, or altered after signing)"
        )
    elif claims_studio and provenance.state == "Valid":
        forgery = (
            f"FORGERY: its manifest claims to come from this studio but is signed by "
            f"{provenance.signer}, not under the studio root"
        )
    return {"state": provenance.state, "signer": provenance.signer, "forgery": forgery}

"""`vault trace --report trace.html`: the evidence as one self-contained page.

For a security officer, a lawyer or a manager who will not read JSON: the verdict, who and
with what false-accusation probability, the copy's audit history, the attacks seen, and two
pictures: the suspect frame beside the master frame it was matched to, and a plot of the
per-frame detection score of the accused copy (an innocent copy's scores scatter around 0;
the leaker's stand above it all along the clip). No external files, scripts or fonts: the
page can be mailed, archived and opened offline.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

import numpy as np

from vault.script_trace import ScriptTraceReport

if TYPE_CHECKING:
    from vault.trace import SegmentReport, TraceReport

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
.verdict{font-size:1.3em;font-weight:600}.accused{color:#a00}.clear{color:#060}
table{border-collapse:collapse}td,th{padding:2px 10px 2px 0;text-align:left;vertical-align:top}
figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-size:.85em;color:#555}
.note{color:#555}.forgery{color:#a00;font-weight:600}
"""
_PLOT_W, _PLOT_H, _PAD = 900, 220, 40


def render_page(report: TraceReport | ScriptTraceReport) -> str:
    """The whole page as HTML text."""
    if isinstance(report, ScriptTraceReport):
        return _script_page(report)
    parts = [*_head(report), _summary(report)]
    several = len(report.segments) > 1
    for number, segment in enumerate(report.segments, 1):
        parts.append(_segment(segment, f"Shot {number} of the edit" if several else "The clip"))
    parts.append("</body></html>")
    return "\n".join(parts)


def _head(report: TraceReport | ScriptTraceReport) -> list[str]:
    return [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Trace: {_e(report.file)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Trace of {_e(report.file)}</h1>",
        f"<p class='verdict {_tone(report.verdict)}'>{_e(report.verdict)}</p>",
    ]


def _script_page(report: ScriptTraceReport) -> str:
    rows = [("Read as", _e(report.how_read))]
    if report.source:
        s = report.source
        pages = f"pages {s['pages'][0]}–{s['pages'][1]}" if s["pages"] else ""
        rows.append(("Source", f"script {_e(s['name'])} ({_e(s['script'])}) {pages}"))
    if report.evidence:
        e = report.evidence
        rows.append(("Canary sites", f"{e['sites_read']} read of {e['sites']['covered']} covered"))
    rows += [_accused_row(a) for a in report.accused]
    if any(report.claims.values()):
        rows.append(("Visible marks (not proof)", _e(report.claims)))
    if report.signature.get("state"):
        rows.append(("PDF signature", _e(report.signature["state"])))
    if report.signature.get("forgery"):
        rows.append(("Forgery", f"<span class='forgery'>{_e(report.signature['forgery'])}</span>"))
    rows += [("Note", _e(note)) for note in report.notes]
    return "\n".join([*_head(report), _table(rows), "</body></html>"])


def _accused_row(a: dict) -> tuple[str, str]:
    history = "<br>".join(
        f"#{h['seq']} {_e(h['time'][:19])} {_e(h['actor'])} {_e(h['action'])}" for h in a["history"]
    )
    return (
        f"<span class='accused'>Accused: {_e(a['recipient'])}</span>",
        f"copy {_e(a['copy_id'])}, made {_e(a['created_at'][:19])} by "
        f"{_e(a['requested_by'])}; false-accusation probability "
        f"<b>{a['false_accusation_probability']:.1e}</b><br>audit: {history}",
    )


def _summary(report: TraceReport) -> str:
    rows = [("C2PA state of the file", report.c2pa["state"] or "not checked for this format")]
    if report.c2pa["forgery"]:
        rows.append(("Forgery", f"<span class='forgery'>{_e(report.c2pa['forgery'])}</span>"))
    rows += [("The file", _e(c["detail"])) for c in report.file_changes]  # per shot below
    rows += [("Note", _e(note)) for note in report.notes]
    return _table(rows)


def _segment(segment: SegmentReport, title: str) -> str:
    first, last = segment.frames
    parts = [
        f"<h2>{title}: frames {first}–{last - 1} ({segment.seconds:.1f} s)</h2>",
        f"<p class='verdict {_tone(segment.verdict)}'>{_e(segment.verdict)}</p>",
    ]
    rows = []
    if segment.source:
        s = segment.source
        rows.append(
            (
                "Source",
                f"shot {s['shot']}, {_e(s['name'])}, master frames "
                f"{s['frames'][0]}–{s['frames'][1]}, fingerprint match {s['score']:.2f}",
            )
        )
    rows += [_accused_row(a) for a in segment.accused]
    if segment.best_probability is not None and not segment.accused:
        rows.append(("Best candidate", f"probability {segment.best_probability:.1e} (too weak)"))
    rows += [("Attack seen", _e(c["detail"])) for c in segment.changes]
    rows += [("Note", _e(note)) for note in segment.notes]
    parts.append(_table(rows))
    if segment.pictures:
        parts.append(
            _figure(segment.pictures["suspect"], "the suspect (middle frame)")
            + _figure(segment.pictures["master"], "the master frame it was matched to")
        )
    if segment.frame_scores:
        who = segment.accused[0]["recipient"] if segment.accused else "the best candidate"
        parts.append(_plot(np.asarray(segment.frame_scores), who))
    return "\n".join(parts)


def _plot(scores: np.ndarray, who: str) -> str:
    """Per-frame detection score as an SVG line, with its running mean and the 0 line."""
    top = max(4.0, float(np.abs(scores).max()))
    x = _PAD + np.arange(len(scores)) * (_PLOT_W - 2 * _PAD) / max(len(scores) - 1, 1)

    def y(values: np.ndarray) -> np.ndarray:
        return _PLOT_H / 2 - values / top * (_PLOT_H / 2 - 10)

    window = min(len(scores), 12)
    running = np.convolve(scores, np.ones(window) / window, mode="same")
    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y(scores), strict=True))
    mean = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y(running), strict=True))
    zero = _PLOT_H / 2
    return (
        f"<figure><svg xmlns='http://www.w3.org/2000/svg' width='{_PLOT_W}' "
        f"height='{_PLOT_H}' viewBox='0 0 {_PLOT_W} {_PLOT_H}' font-size='11'>"
        f"<line x1='{_PAD}' x2='{_PLOT_W - _PAD}' y1='{zero}' y2='{zero}' stroke='#999'/>"
        f"<polyline points='{line}' fill='none' stroke='#9ab' stroke-width='1'/>"
        f"<polyline points='{mean}' fill='none' stroke='#a00' stroke-width='2'/>"
        f"<text x='2' y='14'>+{top:.0f}</text><text x='2' y='{zero + 4}'>0</text>"
        f"<text x='2' y='{_PLOT_H - 4}'>-{top:.0f}</text>"
        f"<text x='{_PLOT_W - _PAD}' y='{_PLOT_H - 4}' text-anchor='end'>suspect frame</text>"
        "</svg><figcaption>Detection score of "
        f"{_e(who)}'s mark in each suspect frame (grey) and its mean over 12 frames (red). "
        "A copy that is not in the clip scatters around 0.</figcaption></figure>"
    )


def _figure(jpeg: bytes, caption: str) -> str:
    data = base64.b64encode(jpeg).decode()
    return (
        f"<figure><img src='data:image/jpeg;base64,{data}' width='440' alt='{_e(caption)}'>"
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _tone(verdict: str) -> str:
    return "accused" if verdict == "accused" else "clear"


def _e(text: object) -> str:
    return html.escape(str(text))

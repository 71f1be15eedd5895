"""Leak tracing: find which render a suspect clip comes from, then (with the watermark
library) whose copy it is. May import `watermark`, never `vault`.

- `signatures` and `FingerprintIndex`: match a suspect clip to a render and a frame offset
  without decoding the renders.
- `segments`: split an edited leak (a trailer) at its cuts, so each shot is traced alone.
- `changes`: what the leak went through (crop, scale, mirror, frame rate...), read off the
  watermark's registration of the suspect to the master.
- `read_text` and `script_evidence`: a leaked screenplay (text, PDF or page photo) read
  against the master for the canary variants of watermark.script.
"""

from detect.changes import Change, Clip, changes
from detect.cuts import cuts, segments
from detect.errors import DetectError
from detect.fingerprint import signatures
from detect.index import FingerprintIndex, Match
from detect.script import ScriptEvidence, script_evidence
from detect.text_source import Claims, SuspectText, read_text

__all__ = [
    "Change",
    "Claims",
    "Clip",
    "DetectError",
    "FingerprintIndex",
    "Match",
    "ScriptEvidence",
    "SuspectText",
    "changes",
    "cuts",
    "read_text",
    "script_evidence",
    "segments",
    "signatures",
]

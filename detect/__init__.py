"""Leak tracing: find which render a suspect clip comes from, then (with the watermark
library) whose copy it is. May import `watermark`, never `vault`.

Built so far: perceptual fingerprints of frames (`signatures`) and the `FingerprintIndex`
that matches a suspect clip to a render and a frame offset without decoding the renders.
Registration, accusation, edit splitting and the report come with the trace issue.
"""

from detect.fingerprint import signatures
from detect.index import FingerprintIndex, Match

__all__ = ["FingerprintIndex", "Match", "signatures"]

"""Forensic marks for video. Knows nothing of the vault: frames and codewords in, evidence
and accusations out.

    code = TardosCode.generate(key, code_length(copies, colluders, epsilon), colluders)
    marked = embed(frames, code.codeword(copy), key, first_frame=0)
    evidence = extract(suspect, key, code.length, master=Reference.from_frames(master))
    verdict = accuse(evidence, code, issued=range(copies))

Frames are (T, H, W) luma or (T, H, W, 3) RGB, uint8 or uint16 (10-bit by default). The mark
is a perceptually shaped luma change carrying one recipient's Tardos codeword, spread over the
picture and over time; see the module docstrings of schedule, embed, extract and register.
"""

from watermark.accusation import DEFAULT_THRESHOLD, Accusation, Verdict, accuse
from watermark.embedding import embed
from watermark.errors import WatermarkError
from watermark.extraction import Evidence, extract, frame_scores
from watermark.reference import Reference
from watermark.register import Registration
from watermark.tardos import TardosCode, code_length

__all__ = [
    "DEFAULT_THRESHOLD",
    "Accusation",
    "Evidence",
    "Reference",
    "Registration",
    "TardosCode",
    "Verdict",
    "WatermarkError",
    "accuse",
    "code_length",
    "embed",
    "extract",
    "frame_scores",
]

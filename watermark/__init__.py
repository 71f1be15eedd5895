"""Forensic marks for video and screenplays. Knows nothing of the vault.

Built so far: the collusion-secure payload code (`TardosCode`, `code_length`): per-recipient
codewords and accusations with a rigorous false-accusation probability. The video embedder
and extractor come next (see the forensic watermark issue).
"""

from watermark.tardos import TardosCode, code_length

__all__ = ["TardosCode", "code_length"]

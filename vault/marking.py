"""The vault's side of forensic marking: its watermark key, its copy code, and a swap-pipeline
backend that marks frames, so an export is decode → mark → encode through the same pipeline
as a render.

The key is derived from the vault identity (HKDF-SHA256), so it needs no file of its own and
is available exactly when the vault is unsealed. One Tardos code serves every copy the vault
issues, of any render: a copy's row in it (its `mark`) is allocated once and never reused, so
a leak can be tested against every copy ever issued. Each script has a key and a code of its
own, as long as the script has canary sites.
"""

from __future__ import annotations

import numpy as np
import pyrage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAX_COPIES = 1000  # copies the code is sized for: n in m = π² c² ln(n / ε)
COLLUDERS = 3
FALSE_ACCUSATION = 1e-6
ALGORITHM = "org.vault.forensic-luma.v1"  # the soft-binding algorithm named in manifests
SCRIPT_COLLUDERS = 2


def watermark_key(identity: pyrage.x25519.Identity, vault_id: str) -> bytes:
    """The vault's 32-byte watermark key."""
    return _derived(identity, vault_id, b"vault forensic watermark key v1")


def script_key(identity: pyrage.x25519.Identity, vault_id: str, script_id: str) -> bytes:
    """The 32-byte canary key of one script: its sites' code positions and spellings."""
    return _derived(identity, vault_id, b"vault screenplay canary key v1 " + script_id.encode())


def script_code(key: bytes, sites: int):
    """A script's code: one position per canary site, uniform biases (see watermark.tardos:
    few positions read almost without noise; secure against the two-copy merge)."""
    from watermark import TardosCode

    return TardosCode.generate(key, max(sites, 1), SCRIPT_COLLUDERS, bias="uniform")


def _derived(identity: pyrage.x25519.Identity, vault_id: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=vault_id.encode(), info=info).derive(
        str(identity).encode()
    )


def copy_code(key: bytes):
    """The vault's collusion-secure code (the same for a given key, every time)."""
    from watermark import TardosCode, code_length

    return TardosCode.generate(key, code_length(MAX_COPIES, COLLUDERS, FALSE_ACCUSATION), COLLUDERS)


class MarkingBackend:
    """A swap-pipeline backend that embeds one copy's codeword, frame-accurately across
    batches (`reset` before a clip)."""

    def __init__(self, codeword: np.ndarray, key: bytes) -> None:
        self.codeword, self.key = codeword, key
        self._next_frame = 0

    def reset(self) -> None:
        self._next_frame = 0

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        from watermark import embed

        marked = embed(frames, self.codeword, self.key, first_frame=self._next_frame)
        self._next_frame += len(frames)
        return marked

"""Random generators derived from the production key: every secret value is recomputable.

Seeding from (domain, purpose, key, numbers) rather than from call order means any value, such
as copy 17's codeword or the pattern of code position 900, can be recomputed later from the
key alone, e.g. during an investigation years after the export.
"""

from __future__ import annotations

import hashlib

import numpy as np


def keyed_rng(domain: bytes, label: bytes, key: bytes, *numbers: int) -> np.random.Generator:
    """A Generator seeded from SHA-256 of length-prefixed (domain, label, key) and numbers."""
    h = hashlib.sha256()
    for part in (domain, label, key):
        h.update(len(part).to_bytes(8, "big") + part)
    for number in numbers:
        h.update(int(number).to_bytes(16, "big", signed=True))
    return np.random.default_rng(int.from_bytes(h.digest(), "big"))

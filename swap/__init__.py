"""Face-swap pipeline (frames in, frames out). Knows nothing of the vault.

Not built yet: see the face-swap issue. This package exists so the layout and the
one-way dependency rule (vault -> swap) are in place from the start.
"""

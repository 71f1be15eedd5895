"""Merkle tree hashing and proofs as defined by RFC 6962 and RFC 9162.

All "leaf" arguments to the tree, frontier and verification functions are leaf
*hashes* (see :func:`leaf_hash`), never raw entries: that keeps the 0x00/0x01
domain separation in one place and stops callers from mixing the two up.

Proof builders take the full list of leaf hashes and raise ``ValueError`` on
bad arguments. Verifiers never raise on bad arguments; they return ``False``,
because a verifier's input comes from an untrusted log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 hash of a leaf entry: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the RFC 6962 Merkle tree hash (MTH) of a list of leaf hashes.

    Works level by level instead of recursing on the RFC's split point. Pairing
    neighbours and lifting an unpaired last node unchanged builds exactly the
    same tree: the RFC's left subtree always holds a power-of-two number of
    leaves, so it is perfect and its nodes pair up the same way here.
    """
    if len(leaf_hashes) == 0:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    sha256 = hashlib.sha256  # local name: this loop runs once per node
    while len(level) > 1:
        paired = [
            sha256(_NODE_PREFIX + left + right).digest()
            # strict=False: an odd last node is left out here and carried up below.
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> list[bytes]:
    """Return the frontier of a tree of ``size + 1`` leaves, without changing ``frontier``.

    The frontier of a tree of ``size`` leaves holds the roots of its perfect
    subtrees, one per set bit of ``size``, largest first. ``leaf`` is a leaf hash.
    Appending works like binary increment: each trailing 1 bit of ``size`` is a
    subtree of the same height as the carry, so the two merge.
    """
    if size < 0 or len(frontier) != size.bit_count():
        raise ValueError(
            f"a frontier for size {size} has {size.bit_count()} hashes, got {len(frontier)}"
        )
    new_frontier = list(frontier)
    carry = leaf
    remaining = size
    while remaining & 1:
        carry = node_hash(new_frontier.pop(), carry)
        remaining >>= 1
    new_frontier.append(carry)
    return new_frontier


def frontier_root(frontier: list[bytes]) -> bytes:
    """Return the tree root for a frontier: node(f0, node(f1, ... f_last))."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for subtree_root in reversed(frontier[:-1]):
        root = node_hash(subtree_root, root)
    return root


def _split_point(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2): the RFC 6962 split."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(leaf_hashes: Sequence[bytes], size: int) -> None:
    if not 0 <= size <= len(leaf_hashes):
        raise ValueError(f"tree size {size} is outside 0..{len(leaf_hashes)}")


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Return the RFC 6962 inclusion proof PATH(index, D[0:size])."""
    _check_size(leaf_hashes, size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    # Walk down from the root; each step contributes the subtree hash of the side
    # we do not enter. The RFC lists those bottom-up, so reverse at the end.
    siblings = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split_point(hi - lo)
        if index < mid:
            siblings.append(root_from_leaf_hashes(leaf_hashes[mid:hi]))
            hi = mid
        else:
            siblings.append(root_from_leaf_hashes(leaf_hashes[lo:mid]))
            lo = mid
    siblings.reverse()
    return siblings


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Return the RFC 6962 consistency proof PROOF(old_size, D[0:new_size]).

    The proof is empty when ``old_size`` is 0 or equals ``new_size``: every tree
    extends the empty tree, and a tree is consistent with itself.
    """
    _check_size(leaf_hashes, new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is outside 0..{new_size}")
    if old_size in (0, new_size):
        return []
    # Iterative SUBPROOF(m, D[lo:hi], whole): "whole" is the RFC's flag b, true while
    # the old tree is still exactly the left edge of the subtree being examined.
    nodes = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split_point(hi - lo)
        if m <= k:
            nodes.append(root_from_leaf_hashes(leaf_hashes[lo + k : hi]))
            hi = lo + k
        else:
            nodes.append(root_from_leaf_hashes(leaf_hashes[lo : lo + k]))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        # The verifier cannot rebuild this old-tree subtree from the old root alone.
        nodes.append(root_from_leaf_hashes(leaf_hashes[lo:hi]))
    nodes.reverse()
    return nodes


def _all_hashes(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def _shift_until_odd(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift both until fn's low bit is set or fn is 0 (RFC 9162 step)."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an inclusion proof for leaf hash ``leaf`` (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size or not _all_hashes(leaf, root, *proof):
        return False
    fn, sn = index, size - 1
    computed = leaf
    for sibling in proof:
        if sn == 0:
            return False  # proof is longer than the path to the root
        if fn & 1 or fn == sn:
            computed = node_hash(sibling, computed)
            fn, sn = _shift_until_odd(fn, sn)
        else:
            computed = node_hash(computed, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and computed == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Check that the tree ``new_root`` extends ``old_root`` (RFC 9162 section 2.1.4.2)."""
    if not 0 <= old_size <= new_size or not _all_hashes(old_root, new_root, *proof):
        return False
    if old_size == 0:
        # Nothing to prove, but the claimed old root must really be the empty tree.
        empty_new_ok = new_size > 0 or new_root == EMPTY_ROOT
        return not proof and old_root == EMPTY_ROOT and empty_new_ok
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False

    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # A power-of-two old tree is a whole subtree of the new one, so RFC 6962
        # leaves its root out of the proof; the verifier supplies it.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_computed = new_computed = path[0]
    for node in path[1:]:
        if sn == 0:
            return False  # proof is longer than the path to the root
        if fn & 1 or fn == sn:
            old_computed = node_hash(node, old_computed)
            new_computed = node_hash(node, new_computed)
            fn, sn = _shift_until_odd(fn, sn)
        else:
            new_computed = node_hash(new_computed, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and old_computed == old_root and new_computed == new_root

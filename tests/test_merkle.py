"""Tests for vault.merkle against RFC 6962 test vectors and an independent reference."""

from __future__ import annotations

import random

import pytest

from vault import merkle
from vault.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    frontier_append,
    frontier_root,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# Test vectors from github.com/transparency-dev/merkle, proof/verify_test.go (the same
# RFC 6962 data as certificate-transparency-go and Trillian). There, inclusion vectors
# number leaves from 1; the indices below are converted to 0-based.
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
RFC_LEAF_HASHES = [leaf_hash(d) for d in RFC_LEAVES]

# RFC_ROOTS[n] is the root of the tree of the first n leaves.
RFC_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]


def _hashes(*hex_strings: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hex_strings]


# (0-based leaf index, tree size, proof)
RFC_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        _hashes(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        3,
        _hashes("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    ),
    (
        1,
        5,
        _hashes(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

# (old size, new size, proof)
RFC_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        _hashes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _hashes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _hashes(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _hashes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]

MAX_PROPERTY_SIZE = 64


# --- Independent reference: the RFC 6962 section 2.1 definitions, written recursively.


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = _split(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    return ref_subproof(m, leaves, True)


def inclusion_shape(m: int, n: int) -> tuple[str, ...]:
    """Bottom-up side ("L"/"R") of each sibling on the RFC 6962 path of leaf m in size n."""
    if n == 1:
        return ()
    k = _split(n)
    if m < k:
        return (*inclusion_shape(m, k), "R")
    return (*inclusion_shape(m - k, n - k), "L")


def consistency_shape(m: int, n: int, whole: bool = True) -> tuple[str, ...]:
    """Bottom-up role of each node in the RFC 6962 consistency proof from size m to n.

    "T" is the old-tree subtree the proof starts from, "L" a node shared by both trees,
    "R" a node only in the new tree. The verifier's hashing schedule depends only on
    this, so two size pairs with the same shape accept exactly the same proofs.
    """
    if m == n:
        return () if whole else ("T",)
    k = _split(n)
    if m <= k:
        return (*consistency_shape(m, k, whole), "R")
    return (*consistency_shape(m - k, n - k, False), "L")


# --- Helpers.


def random_leaf_hashes(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [leaf_hash(rng.randbytes(rng.randrange(0, 40))) for _ in range(n)]


def flip_bit(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def with_flipped(proof: list[bytes], i: int, bit: int) -> list[bytes]:
    tampered = list(proof)
    tampered[i] = flip_bit(tampered[i], bit)
    return tampered


LEAVES = random_leaf_hashes(MAX_PROPERTY_SIZE, seed=6962)
ROOTS = [root_from_leaf_hashes(LEAVES[:n]) for n in range(MAX_PROPERTY_SIZE + 1)]


# --- Hashing and roots.


def test_leaf_and_node_hash_domain_separation() -> None:
    assert leaf_hash(b"") == RFC_ROOTS[1]
    assert node_hash(RFC_LEAF_HASHES[0], RFC_LEAF_HASHES[1]) == RFC_ROOTS[2]
    assert leaf_hash(b"\x01" + b"a" * 64) != node_hash(b"a" * 32, b"a" * 32)


def test_rfc6962_roots() -> None:
    for n, want in enumerate(RFC_ROOTS):
        assert root_from_leaf_hashes(RFC_LEAF_HASHES[:n]) == want, f"size {n}"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT


def test_iterative_root_matches_recursive_definition() -> None:
    rng = random.Random(1)
    leaves = random_leaf_hashes(300, seed=2)
    sizes = list(range(0, 301))
    rng.shuffle(sizes)
    for n in sizes:
        assert root_from_leaf_hashes(leaves[:n]) == ref_mth(leaves[:n]), f"size {n}"


def test_root_accepts_tuples_and_does_not_mutate_input() -> None:
    leaves = tuple(random_leaf_hashes(7))
    assert root_from_leaf_hashes(leaves) == ref_mth(list(leaves))
    as_list = list(leaves)
    root_from_leaf_hashes(as_list)
    assert as_list == list(leaves)


# --- Frontier.


def test_frontier_matches_root_for_every_size() -> None:
    leaves = random_leaf_hashes(300, seed=3)
    frontier: list[bytes] = []
    assert frontier_root(frontier) == EMPTY_ROOT
    for size, leaf in enumerate(leaves):
        frontier = frontier_append(frontier, size, leaf)
        assert len(frontier) == (size + 1).bit_count()
        assert frontier_root(frontier) == root_from_leaf_hashes(leaves[: size + 1]), size + 1


def test_frontier_holds_perfect_subtree_roots() -> None:
    frontier: list[bytes] = []
    for size, leaf in enumerate(RFC_LEAF_HASHES[:7]):
        frontier = frontier_append(frontier, size, leaf)
    # 7 = 4 + 2 + 1
    assert frontier == [
        RFC_ROOTS[4],
        node_hash(RFC_LEAF_HASHES[4], RFC_LEAF_HASHES[5]),
        RFC_LEAF_HASHES[6],
    ]


def test_frontier_append_does_not_mutate_and_checks_size() -> None:
    frontier = [RFC_LEAF_HASHES[0]]
    frontier_append(frontier, 1, RFC_LEAF_HASHES[1])
    assert frontier == [RFC_LEAF_HASHES[0]]
    with pytest.raises(ValueError):
        frontier_append(frontier, 3, RFC_LEAF_HASHES[1])
    with pytest.raises(ValueError):
        frontier_append([], 1, RFC_LEAF_HASHES[1])
    with pytest.raises(ValueError):
        frontier_append([], -1, RFC_LEAF_HASHES[0])


# --- RFC 6962 proof vectors.


@pytest.mark.parametrize(("index", "size", "proof"), RFC_INCLUSION)
def test_rfc6962_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(RFC_LEAF_HASHES, index, size) == proof
    root = RFC_ROOTS[size]
    assert verify_inclusion(RFC_LEAF_HASHES[index], index, size, proof, root)


@pytest.mark.parametrize(("old", "new", "proof"), RFC_CONSISTENCY)
def test_rfc6962_consistency_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(RFC_LEAF_HASHES, old, new) == proof
    assert verify_consistency(old, new, RFC_ROOTS[old], RFC_ROOTS[new], proof)


def test_every_bit_of_rfc6962_inclusion_vectors_matters() -> None:
    for index, size, proof in RFC_INCLUSION:
        leaf, root = RFC_LEAF_HASHES[index], RFC_ROOTS[size]
        for bit in range(256):
            assert not verify_inclusion(flip_bit(leaf, bit), index, size, proof, root)
            assert not verify_inclusion(leaf, index, size, proof, flip_bit(root, bit))
            for i in range(len(proof)):
                tampered = with_flipped(proof, i, bit)
                assert not verify_inclusion(leaf, index, size, tampered, root)


def test_every_bit_of_rfc6962_consistency_vectors_matters() -> None:
    for old, new, proof in RFC_CONSISTENCY:
        old_root, new_root = RFC_ROOTS[old], RFC_ROOTS[new]
        for bit in range(256):
            assert not verify_consistency(old, new, flip_bit(old_root, bit), new_root, proof)
            assert not verify_consistency(old, new, old_root, flip_bit(new_root, bit), proof)
            for i in range(len(proof)):
                tampered = with_flipped(proof, i, bit)
                assert not verify_consistency(old, new, old_root, new_root, tampered)


# --- Property tests over every proof in trees up to MAX_PROPERTY_SIZE leaves.


def test_inclusion_proofs_match_reference_and_verify() -> None:
    for size in range(1, MAX_PROPERTY_SIZE + 1):
        for index in range(size):
            proof = inclusion_proof(LEAVES, index, size)
            assert proof == ref_path(index, LEAVES[:size]), (index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


def test_consistency_proofs_match_reference_and_verify() -> None:
    for new in range(0, MAX_PROPERTY_SIZE + 1):
        for old in range(0, new + 1):
            proof = consistency_proof(LEAVES, old, new)
            want = [] if old in (0, new) else ref_proof(old, LEAVES[:new])
            assert proof == want, (old, new)
            assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof), (old, new)


def test_tampered_inclusion_proofs_fail() -> None:
    rng = random.Random(9162)
    for size in range(1, MAX_PROPERTY_SIZE + 1):
        root = ROOTS[size]
        for index in range(size):
            leaf = LEAVES[index]
            proof = inclusion_proof(LEAVES, index, size)
            args = (index, size)

            assert not verify_inclusion(flip_bit(leaf, rng.randrange(256)), *args, proof, root)
            assert not verify_inclusion(leaf, *args, proof, flip_bit(root, rng.randrange(256)))
            for i in range(len(proof)):
                tampered = with_flipped(proof, i, rng.randrange(256))
                assert not verify_inclusion(leaf, *args, tampered, root)

            assert not verify_inclusion(leaf, *args, [*proof, root], root)
            assert not verify_inclusion(leaf, *args, [root, *proof], root)
            if proof:
                assert not verify_inclusion(leaf, *args, proof[:-1], root)
                assert not verify_inclusion(leaf, *args, proof[1:], root)
                assert not verify_inclusion(leaf, *args, [p[:-1] for p in proof], root)
            if size > 1:
                assert not verify_inclusion(LEAVES[(index + 1) % size], *args, proof, root)

            # Any other index in the same tree takes a different path.
            for wrong in range(size):
                if wrong != index:
                    assert not verify_inclusion(leaf, wrong, size, proof, root), (index, wrong)


def test_wrong_inclusion_size_fails_unless_hashing_schedule_is_identical() -> None:
    # The size is not hashed into the root, so RFC 9162 verification accepts the
    # same proof for another size whenever that size hashes the same nodes in the
    # same order (e.g. leaf 0 of size 3 vs size 4). A size-to-root binding, such as a
    # signed checkpoint, is what rules that out; here we check nothing else passes.
    for size in range(1, MAX_PROPERTY_SIZE + 1):
        for index in range(size):
            proof = inclusion_proof(LEAVES, index, size)
            shape = inclusion_shape(index, size)
            for wrong_size in range(0, 2 * MAX_PROPERTY_SIZE + 2):
                if wrong_size == size:
                    continue
                same = wrong_size > index and inclusion_shape(index, wrong_size) == shape
                got = verify_inclusion(LEAVES[index], index, wrong_size, proof, ROOTS[size])
                assert got == same, (index, size, wrong_size)


def test_tampered_consistency_proofs_fail() -> None:
    rng = random.Random(6962)
    for new in range(2, MAX_PROPERTY_SIZE + 1):
        for old in range(1, new):
            proof = consistency_proof(LEAVES, old, new)
            old_root, new_root = ROOTS[old], ROOTS[new]
            sizes = (old, new)

            assert not verify_consistency(
                *sizes, flip_bit(old_root, rng.randrange(256)), new_root, proof
            )
            assert not verify_consistency(
                *sizes, old_root, flip_bit(new_root, rng.randrange(256)), proof
            )
            for i in range(len(proof)):
                tampered = with_flipped(proof, i, rng.randrange(256))
                assert not verify_consistency(*sizes, old_root, new_root, tampered)

            assert not verify_consistency(*sizes, new_root, old_root, proof)
            assert not verify_consistency(*sizes, old_root, new_root, [])
            assert not verify_consistency(*sizes, old_root, new_root, proof[:-1])
            assert not verify_consistency(*sizes, old_root, new_root, [*proof, old_root])
            assert not verify_consistency(*sizes, old_root, new_root, [new_root, *proof])
            assert not verify_consistency(*sizes, old_root, new_root, [proof[0], *proof])
            assert not verify_consistency(*sizes, old_root, new_root, [p[:-1] for p in proof])


def test_wrong_consistency_sizes_fail_unless_hashing_schedule_is_identical() -> None:
    # As for inclusion: only a size pair with the same proof shape can accept the
    # same proof and roots. Everything else, including swapped sizes, must fail.
    for new in range(2, MAX_PROPERTY_SIZE + 1):
        for old in range(1, new):
            proof = consistency_proof(LEAVES, old, new)
            shape = consistency_shape(old, new)
            old_root, new_root = ROOTS[old], ROOTS[new]
            probes = {(old + d1, new + d2) for d1 in (-2, -1, 0, 1, 2) for d2 in (-2, -1, 0, 1, 2)}
            probes |= {(old ^ 2, new), (old, new * 2), (old, new // 2), (new, old), (0, new)}
            probes.discard((old, new))
            for wrong_old, wrong_new in sorted(probes):
                valid_pair = 0 < wrong_old < wrong_new
                same = valid_pair and consistency_shape(wrong_old, wrong_new) == shape
                got = verify_consistency(wrong_old, wrong_new, old_root, new_root, proof)
                assert got == same, (old, new, wrong_old, wrong_new)


# --- Argument checking.


def test_inclusion_proof_rejects_bad_arguments() -> None:
    for index, size in [(0, 0), (1, 1), (-1, 3), (5, 5), (0, 9), (0, -1)]:
        with pytest.raises(ValueError):
            inclusion_proof(RFC_LEAF_HASHES, index, size)


def test_consistency_proof_rejects_bad_arguments() -> None:
    for old, new in [(2, 1), (-1, 3), (0, 9), (9, 9), (1, -1)]:
        with pytest.raises(ValueError):
            consistency_proof(RFC_LEAF_HASHES, old, new)


def test_verify_inclusion_rejects_bad_arguments() -> None:
    leaf, root = RFC_LEAF_HASHES[0], RFC_ROOTS[1]
    assert verify_inclusion(leaf, 0, 1, [], root)
    for index, size in [(0, 0), (1, 1), (-1, 1), (2, 1), (1, 0)]:
        assert not verify_inclusion(leaf, index, size, [], root)
    assert not verify_inclusion(b"", 0, 1, [], root)
    assert not verify_inclusion(leaf, 0, 1, [], b"")
    assert not verify_inclusion(leaf + b"\x00", 0, 1, [], root + b"\x00")
    assert not verify_inclusion(leaf, 0, 1, [b""], root)


def test_verify_consistency_edge_cases() -> None:
    empty, one, two = RFC_ROOTS[0], RFC_ROOTS[1], RFC_ROOTS[2]
    assert verify_consistency(0, 0, empty, empty, [])
    assert verify_consistency(0, 5, empty, RFC_ROOTS[5], [])
    assert verify_consistency(1, 1, one, one, [])
    assert not verify_consistency(0, 0, empty, one, [])
    assert not verify_consistency(0, 5, one, RFC_ROOTS[5], [])  # old root is not empty
    assert not verify_consistency(0, 5, empty, RFC_ROOTS[5], [empty])
    assert not verify_consistency(1, 1, one, two, [])
    assert not verify_consistency(1, 1, one, one, [one])
    assert not verify_consistency(2, 1, two, one, [])
    assert not verify_consistency(-1, 1, empty, one, [])
    assert not verify_consistency(1, 2, one, two, [])
    assert not verify_consistency(1, 2, one[:-1], two, [RFC_LEAF_HASHES[1]])
    assert verify_consistency(1, 2, one, two, [RFC_LEAF_HASHES[1]])


def test_module_exports_hash_size() -> None:
    assert merkle.HASH_SIZE == len(EMPTY_ROOT) == 32

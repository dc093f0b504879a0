"""RFC 6962 trees: public vectors, proofs for every pair of sizes up to 64, and mutants of
valid proofs (in the style of transparency-dev/merkle's test data) that must all fail."""

from __future__ import annotations

import base64
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.verifier import reference
from tollhouse_verify.errors import ProofError
from tollhouse_verify.tree import (
    EMPTY_ROOT,
    MemoryTree,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 test leaves (certificate-transparency's merkle tree tests) and the roots of their
# first 1..8 (facts: published values, not computed here).
RFC6962_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
RFC6962_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# transparency-dev/merkle testdata: the same roots in base64.
ROOT_1_B64 = "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
ROOT_8_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
# Inclusion of leaf 0 in the tree of 8, and consistency 6 → 8 and 2 → 5 (published vectors).
PATH_0_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]
CONSISTENCY_6_8 = [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
]
CONSISTENCY_2_5 = [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
]


def hexes(values: list[bytes]) -> list[str]:
    return [v.hex() for v in values]


def test_rfc6962_roots_of_the_test_leaves() -> None:
    tree = MemoryTree.of_leaves(RFC6962_LEAVES)
    assert [tree.root(n).hex() for n in range(1, 9)] == RFC6962_ROOTS
    assert base64.b64encode(tree.root(1)).decode() == ROOT_1_B64
    assert base64.b64encode(tree.root(8)).decode() == ROOT_8_B64
    assert MemoryTree().root() == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_rfc6962_proof_vectors() -> None:
    tree = MemoryTree.of_leaves(RFC6962_LEAVES)
    assert hexes(tree.inclusion_proof(0, 8)) == PATH_0_8
    assert hexes(tree.consistency_proof(6, 8)) == CONSISTENCY_6_8
    assert hexes(tree.consistency_proof(2, 5)) == CONSISTENCY_2_5
    assert hexes(tree.consistency_proof(1, 8)) == PATH_0_8
    verify_inclusion(leaf_hash(RFC6962_LEAVES[0]), 0, 8, tree.inclusion_proof(0, 8), tree.root(8))


def test_the_c2sp_seven_leaf_structure() -> None:
    # c2sp.org/merkle-tree's example: d0 → [b, i, l], d6 → [j, k]; 3 → 7 [c, d, h, l].
    leaves = [bytes([i]) for i in range(7)]
    tree = MemoryTree.of_leaves(leaves)
    b, c, d = (leaf_hash(leaves[i]) for i in (1, 2, 3))
    h = reference.mth(leaves[2:4])
    i_ = reference.mth(leaves[2:4])
    j = reference.mth(leaves[:4])
    k = reference.mth(leaves[4:6])
    l_ = reference.mth(leaves[4:7])
    assert tree.inclusion_proof(0) == [b, i_, l_]
    assert tree.inclusion_proof(6) == [k, j]
    assert tree.consistency_proof(3) == [c, d, reference.mth(leaves[:2]), l_]
    assert tree.consistency_proof(4) == [l_]
    assert h == i_


LEAVES_64 = [f"leaf {i}".encode() for i in range(64)]
TREE_64 = MemoryTree.of_leaves(LEAVES_64)


@pytest.mark.parametrize("n", range(1, 65))
def test_inclusion_for_every_index_of_every_size_up_to_64(n: int) -> None:
    root = reference.mth(LEAVES_64[:n])
    assert TREE_64.root(n) == root == root_of(TREE_64.hashes[:n])
    for m in range(n):
        proof = TREE_64.inclusion_proof(m, n)
        assert proof == reference.path(m, LEAVES_64[:n])
        verify_inclusion(TREE_64.hashes[m], m, n, proof, root)


@pytest.mark.parametrize("n", range(1, 65))
def test_consistency_for_every_pair_of_sizes_up_to_64(n: int) -> None:
    new_root = reference.mth(LEAVES_64[:n])
    for m in range(1, n + 1):
        proof = TREE_64.consistency_proof(m, n)
        assert proof == (reference.consistency(m, LEAVES_64[:n]) if m < n else [])
        verify_consistency(m, n, proof, reference.mth(LEAVES_64[:m]), new_root)
        if m < n:
            with pytest.raises(ProofError):
                verify_consistency(m, n, proof, new_root, new_root)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=12), min_size=1, max_size=64), st.data())
def test_proofs_of_random_trees_verify_against_the_reference(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    tree = MemoryTree.of_leaves(leaves)
    root = reference.mth(leaves)
    assert tree.root() == root
    m = data.draw(st.integers(0, n - 1))
    verify_inclusion(leaf_hash(leaves[m]), m, n, tree.inclusion_proof(m), root)
    old = data.draw(st.integers(1, n))
    verify_consistency(old, n, tree.consistency_proof(old), reference.mth(leaves[:old]), root)


def _proof_mutants(proof: list[bytes], rng: random.Random) -> list[list[bytes]]:
    """A flipped bit in each hash, a hash inserted at and removed from each place, garbage."""
    mutants = []
    for i, p in enumerate(proof):
        bit = rng.randrange(256)
        flipped = bytearray(p)
        flipped[bit // 8] ^= 1 << (bit % 8)
        mutants.append([*proof[:i], bytes(flipped), *proof[i + 1 :]])
        mutants.append([*proof[:i], *proof[i + 1 :]])
    for i in range(len(proof) + 1):
        mutants.append([*proof[:i], rng.randbytes(32), *proof[i:]])
    mutants.append([rng.randbytes(32) for _ in proof] or [rng.randbytes(32)])
    mutants.append([*proof, b"garbage"])
    mutants.append([p[:31] for p in proof] or [b""])
    return [m for m in mutants if m != proof]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 32, 33, 63, 64])
def test_inclusion_mutants_all_fail(n: int) -> None:
    rng = random.Random(n)
    root = TREE_64.root(n)
    for m in range(n):
        proof = TREE_64.inclusion_proof(m, n)
        leaf = TREE_64.hashes[m]
        cases: list[tuple[bytes, int, int, list[bytes], bytes]] = [
            (leaf, m + 1, n, proof, root),
            (leaf, m - 1, n, proof, root),
            (leaf, m, n * 2, proof, root),
            (leaf, m, n // 2, proof, root),
            (leaf, m, m, proof, root),  # index = size
            (leaf, m, n, proof, TREE_64.root(n - 1) if n > 1 else EMPTY_ROOT),
            (leaf_hash(b"wrong leaf"), m, n, proof, root),
        ]
        if n > 1:
            cases.append((root, m, n, proof, root))  # an inner node passed off as the leaf
        cases += [(leaf, m, n, bad, root) for bad in _proof_mutants(proof, rng)]
        for case in cases:
            if case[1] < 0:
                continue
            with pytest.raises(ProofError):
                verify_inclusion(*case)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64])
def test_consistency_mutants_all_fail(n: int) -> None:
    rng = random.Random(n)
    new_root = TREE_64.root(n)
    for m in range(1, n):
        proof = TREE_64.consistency_proof(m, n)
        old_root = TREE_64.root(m)
        cases: list[tuple[int, int, list[bytes], bytes, bytes]] = [
            (m + 1, n, proof, old_root, new_root),
            (m - 1, n, proof, old_root, new_root),
            (m, n * 2, proof, old_root, new_root),
            (m // 2, n, proof, old_root, new_root),
            (n, m, proof, new_root, old_root),
            (m, n, proof, new_root, old_root),
            (m, n, [], old_root, new_root),
        ]
        # A proof valid only for another second size, offered with the true roots of n.
        for other in (n - 1, n + 1):
            if m < other <= 64 and TREE_64.consistency_proof(m, other) != proof:
                cases.append((m, n, TREE_64.consistency_proof(m, other), old_root, new_root))
        cases += [(m, n, bad, old_root, new_root) for bad in _proof_mutants(proof, rng)]
        for case in cases:
            if case[0] < 0 or (case[0] == 0 and not case[2] and case[3] == EMPTY_ROOT):
                continue
            with pytest.raises(ProofError):
                verify_consistency(*case)


def test_a_current_tree_proof_with_an_older_checkpoint_fails() -> None:
    # treeship#191: the proof is for the tree of 20, the checkpoint says 12.
    proof = TREE_64.inclusion_proof(5, 20)
    with pytest.raises(ProofError):
        verify_inclusion(TREE_64.hashes[5], 5, 12, proof, TREE_64.root(12))
    verify_inclusion(TREE_64.hashes[5], 5, 12, TREE_64.inclusion_proof(5, 12), TREE_64.root(12))


def test_last_index_of_a_power_of_two_and_single_leaf_trees() -> None:
    for n in (1, 2, 4, 8, 16, 32, 64):
        verify_inclusion(
            TREE_64.hashes[n - 1], n - 1, n, TREE_64.inclusion_proof(n - 1, n), TREE_64.root(n)
        )
    with pytest.raises(ProofError):
        verify_inclusion(TREE_64.hashes[0], 0, 1, [TREE_64.hashes[1]], TREE_64.root(1))
    with pytest.raises(ProofError):
        verify_consistency(0, 5, [TREE_64.hashes[0]], EMPTY_ROOT, TREE_64.root(5))
    verify_consistency(0, 5, [], EMPTY_ROOT, TREE_64.root(5))
    with pytest.raises(ProofError):
        verify_consistency(5, 5, [], TREE_64.root(5), TREE_64.root(6))

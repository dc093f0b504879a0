"""RFC 6962 / RFC 9162 Merkle trees: hashing, inclusion and consistency proofs.

    MTH({}) = SHA-256("")        MTH({d}) = SHA-256(0x00 ‖ d)
    MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])),  k the largest power of two < n

Proofs are produced from a `RangeHash` — any function giving MTH of the leaves [lo, hi) — so the
same code serves an in-memory tree (`MemoryTree`) and one stored as tiles (`tiles.TiledTree`).
Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step; each rejection there is a
`ProofError` here (index ≥ size, a proof too long or too short, a wrong root).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

from tollhouse_verify.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()

RangeHash = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """MTH of one leaf: SHA-256(0x00 ‖ data)."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An inner node: SHA-256(0x01 ‖ left ‖ right)."""
    return sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than `n` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class RootBuilder:
    """The tree's root as leaf hashes are appended, in O(log n) memory: the roots of the
    complete subtrees of the size so far (its binary decomposition), largest first."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def append(self, hash_: bytes) -> None:
        self.size += 1
        m = self.size
        stack = self._stack
        while not m & 1:
            hash_ = sha256(b"\x01" + stack.pop() + hash_).digest()
            m >>= 1
        stack.append(hash_)

    def extend(self, hashes: Iterable[bytes]) -> None:
        for h in hashes:
            self.append(h)

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        stack = self._stack
        r = stack[-1]
        for h in reversed(stack[:-1]):
            r = node_hash(h, r)
        return r


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH of the leaves with these hashes."""
    builder = RootBuilder()
    builder.extend(leaf_hashes)
    return builder.root()


class MemoryTree:
    """A tree held as its leaf hashes (tests, and the verifier after a full download)."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self.hashes = list(leaf_hashes)

    @classmethod
    def of_leaves(cls, leaves: Iterable[bytes]) -> MemoryTree:
        return cls([leaf_hash(d) for d in leaves])

    @property
    def size(self) -> int:
        return len(self.hashes)

    def range_hash(self, lo: int, hi: int) -> bytes:
        """MTH of the leaves [lo, hi)."""
        if not 0 <= lo < hi <= len(self.hashes):
            if lo == hi == 0:
                return EMPTY_ROOT
            raise ValueError(f"no range [{lo}, {hi}) in a tree of {len(self.hashes)}")
        if hi - lo == 1:
            return self.hashes[lo]
        k = split_point(hi - lo)
        return node_hash(self.range_hash(lo, lo + k), self.range_hash(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        size = len(self.hashes) if size is None else size
        return root_of(self.hashes[:size])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, len(self.hashes) if size is None else size, self.range_hash)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        return consistency_proof(old, len(self.hashes) if new is None else new, self.range_hash)


def inclusion_proof(index: int, size: int, mth: RangeHash) -> list[bytes]:
    """PATH(index, D[size]) (RFC 6962 §2.1.1), nearest the leaf first."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    # Iterative form of the recursion, collecting siblings from the root down, then reversed.
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(mth(lo + k, hi))
            hi = lo + k
        else:
            path.append(mth(lo, lo + k))
            lo = lo + k
    path.reverse()
    return path


def consistency_proof(old: int, new: int, mth: RangeHash) -> list[bytes]:
    """PROOF(old, D[new]) (RFC 6962 §2.1.2); empty when old is 0 or equal to new."""
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    proof: list[bytes] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:
            proof.append(mth(lo + k, hi))
            hi = lo + k
        else:
            proof.append(mth(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append(mth(lo, hi))
    proof.reverse()
    return proof


def _check_hashes(proof: Sequence[bytes]) -> None:
    for p in proof:
        if len(p) != HASH_SIZE:
            raise ProofError(f"a proof hash has {len(p)} bytes, not {HASH_SIZE}")


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` gives for `leaf` (a leaf hash) at `index` in a tree of `size`,
    or ProofError if the proof cannot belong to such a tree (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    _check_hashes(proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` under `root`."""
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise ProofError(f"the inclusion proof for index {index} does not lead to the root")


def verify_consistency(
    old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Raise ProofError unless `proof` shows the tree of size `old` (root `old_root`) is a
    prefix of the tree of size `new` (root `new_root`) (RFC 9162 §2.1.4.2)."""
    if old > new:
        raise ProofError(f"size {old} is larger than size {new}: a log never shrinks")
    _check_hashes(proof)
    if old == new:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for size {old}")
        return
    if old == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if old_root != EMPTY_ROOT:
            raise ProofError("the empty tree has another root")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != old_root:
        raise ProofError(f"the consistency proof does not lead to the root of size {old}")
    if sr != new_root:
        raise ProofError(f"the consistency proof does not lead to the root of size {new}")

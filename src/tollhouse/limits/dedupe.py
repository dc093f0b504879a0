"""The daily dedupe filter: "was this post already delivered to this organisation today?"

X counts a post delivered twice to the same project on the same UTC day once. An exact set per
organisation per day grows with what the organisation reads (the motivating licensee: ~70 M posts
a day), so both backends use a Bloom filter of fixed size instead: `bits` bits (default 2**23 =
1 MiB per organisation per UTC day; the key expires an hour after the day ends) and `hashes` bit
positions per post.

Errors go one way only. A Bloom filter has no false negatives, so a post is never counted twice
on one day; a false positive makes a new post look seen, so it is *not* counted. With the
defaults the false-positive rate is (1 - e^(-k·n/m))^k: 5e-6 at 100 k posts/day, 2 % at 1 M
posts/day. The cap can therefore be overshot by that fraction, in the licensee's favour, and
never charged twice; the exact record for billing is metering's, not this counter. An
organisation reading far more than a million posts a day should get a larger filter
(`limits_dedupe_bits`, up to 2**32).

Bit positions are computed here, in Python, with double hashing (Kirsch-Mitzenmacher) over a
keyed BLAKE2b of the post id, so the memory and Redis backends set exactly the same bits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_BITS = 1 << 23
DEFAULT_HASHES = 4
_KEY = b"tollhouse-dedupe"
_MASK64 = (1 << 64) - 1
# The keyed hash's initial state; `copy()` of it equals a fresh `blake2b(key=_KEY)` (tested).
_KEYED = hashlib.blake2b(digest_size=16, key=_KEY)
# Positions of recently delivered posts, per (bits, hashes): ~200 bytes per post.
MEMO_POSTS = 1 << 16
_MEMO: dict[tuple[int, int], dict[int, tuple[int, ...]]] = {}


@dataclass(frozen=True, slots=True)
class DedupeShape:
    """Size of the filter (bits) and positions per post (hashes)."""

    bits: int = DEFAULT_BITS
    hashes: int = DEFAULT_HASHES

    def __post_init__(self) -> None:
        if not 1 << 10 <= self.bits <= 1 << 32:
            raise ValueError("dedupe bits must be between 2**10 and 2**32")
        if not 1 <= self.hashes <= 16:
            raise ValueError("dedupe hashes must be between 1 and 16")

    @property
    def memory_bytes(self) -> int:
        return self.bits // 8

    def positions(self, post_id: int) -> list[int]:
        """The `hashes` bit positions of one post."""
        return self.all_positions((post_id,))

    def all_positions(self, post_ids: Iterable[int]) -> list[int]:
        """Positions of every post, `hashes` per post, in order (the Redis script's argument).

        This runs for every delivered post of every request. Positions are a pure function of
        the post id and the shape, so recently hashed posts are remembered (bounded; emptied
        when full); the others are hashed in one loop with everything bound locally."""
        memo = _MEMO.get((self.bits, self.hashes))
        if memo is None:
            memo = _MEMO[(self.bits, self.hashes)] = {}
        out: list[int] = []
        extend = out.extend
        for post_id in post_ids:
            known = memo.get(post_id)
            if known is None:
                if len(memo) >= MEMO_POSTS:
                    memo.clear()
                known = memo[post_id] = self._hash(post_id)
            extend(known)
        return out

    def _hash(self, post_id: int) -> tuple[int, ...]:
        # The keyed BLAKE2b state is copied (the key block was hashed once, at import) and the
        # two 64-bit halves come out of one int.
        state = _KEYED.copy()
        state.update((post_id & _MASK64).to_bytes(8, "little"))
        value = int.from_bytes(state.digest(), "little")
        h1 = value & _MASK64
        h2 = (value >> 64) | 1
        bits = self.bits
        return tuple([(h1 + i * h2) % bits for i in range(self.hashes)])

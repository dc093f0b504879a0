"""Bit positions follow their definition exactly (a keyed BLAKE2b of the post id, double
hashing), whatever the shape: the memory and Redis backends and older processes set the same
bits, so the batched computation must not drift from the per-post formula."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.limits import dedupe
from tollhouse.limits.dedupe import DedupeShape


def by_definition(post_id: int, bits: int, hashes: int) -> list[int]:
    digest = hashlib.blake2b(
        (post_id & (1 << 64) - 1).to_bytes(8, "little"), digest_size=16, key=b"tollhouse-dedupe"
    ).digest()
    h1 = int.from_bytes(digest[:8], "little")
    h2 = int.from_bytes(digest[8:], "little") | 1
    return [(h1 + i * h2) % bits for i in range(hashes)]


@given(
    posts=st.lists(st.integers(min_value=0, max_value=(1 << 63) - 1), max_size=30),
    bits=st.integers(min_value=1 << 10, max_value=1 << 32),
    hashes=st.integers(min_value=1, max_value=16),
)
def test_positions_follow_the_definition(posts: list[int], bits: int, hashes: int) -> None:
    shape = DedupeShape(bits=bits, hashes=hashes)
    expected = [p for post in posts for p in by_definition(post, bits, hashes)]
    assert shape.all_positions(posts) == expected
    for post in posts[:3]:
        assert shape.positions(post) == by_definition(post, bits, hashes)


def test_remembered_positions_survive_the_memo_emptying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedupe, "MEMO_POSTS", 3)
    shape = DedupeShape(bits=1 << 20, hashes=5)
    posts = [7, 8, 9, 7, 10, 11, 8, 12, 7]
    for _ in range(2):  # the second pass reads what the first remembered (and re-hashes)
        assert shape.all_positions(posts) == [
            p for post in posts for p in by_definition(post, 1 << 20, 5)
        ]

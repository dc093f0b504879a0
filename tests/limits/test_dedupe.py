"""The daily dedupe filter: no false negatives, positions in range, same bits in both backends."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.limits import dedupe
from tollhouse.limits.dedupe import DedupeShape

ids = st.integers(min_value=1, max_value=2**63 - 1)


@given(st.lists(ids, max_size=200), st.integers(min_value=10, max_value=20))
def test_positions_are_stable_and_in_range(posts: list[int], log_bits: int) -> None:
    shape = DedupeShape(bits=1 << log_bits, hashes=4)
    flat = shape.all_positions(posts)
    assert len(flat) == 4 * len(posts)
    assert all(0 <= p < shape.bits for p in flat)
    assert flat == shape.all_positions(posts)


@given(st.sets(ids, max_size=300))
def test_a_seen_post_is_always_seen(posts: set[int]) -> None:
    shape = DedupeShape(bits=1 << 12, hashes=3)
    bitmap = set()
    for post in posts:
        bitmap.update(shape.positions(post))
    assert all(set(shape.positions(post)) <= bitmap for post in posts)


def test_false_positives_stay_near_the_formula() -> None:
    shape = DedupeShape(bits=1 << 16, hashes=4)
    bitmap: set[int] = set()
    for post in range(5_000):
        bitmap.update(shape.positions(post))
    false_positives = sum(
        set(shape.positions(post)) <= bitmap for post in range(10**9, 10**9 + 20_000)
    )
    # (1 - e^(-4·5000/65536))^4 ≈ 0.44 %; allow 3x for sampling noise.
    assert false_positives / 20_000 < 0.013


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        DedupeShape(bits=100)
    with pytest.raises(ValueError):
        DedupeShape(hashes=0)


# Bit positions follow their definition exactly (a keyed BLAKE2b of the post id, double
# hashing), whatever the shape: the memory and Redis backends and older processes set the same
# bits, so the batched computation must not drift from the per-post formula.


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

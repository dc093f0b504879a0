"""The daily dedupe filter: no false negatives, positions in range, same bits in both backends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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

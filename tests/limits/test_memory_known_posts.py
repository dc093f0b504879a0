"""The memory backend's set of posts known to be in today's filter changes no count: every
delivery counts exactly what the Bloom filter alone counts, including when the set is emptied."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.limits import memory
from tollhouse.limits.decisions import Delivery
from tollhouse.limits.dedupe import DedupeShape
from tollhouse.limits.memory import MemoryLimits

SHAPE = DedupeShape(bits=1 << 10, hashes=3)  # small, so false positives happen too
DAY = 86_400


def bloom_only(deliveries: list[tuple[int, list[int]]]) -> list[int]:
    bitmaps: dict[int, set[int]] = {}
    counts = []
    for day, posts in deliveries:
        bits = bitmaps.setdefault(day, set())
        new = 0
        for post in posts:
            positions = set(SHAPE.positions(post))
            new += not positions <= bits
            bits |= positions
        counts.append(new)
    return counts


@given(
    deliveries=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),
            st.lists(st.integers(min_value=1, max_value=400), max_size=30),
        ),
        max_size=25,
    ),
    known_limit=st.sampled_from([4, 50, 1 << 16]),
)
def test_counts_equal_the_filter_alone(
    deliveries: list[tuple[int, list[int]]], known_limit: int
) -> None:
    deliveries.sort(key=lambda d: d[0])  # days only move forward
    clock = [0.0]
    limits = MemoryLimits(dedupe=SHAPE, clock=lambda: clock[0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory, "KNOWN_PER_ORG", known_limit)
        counted = []
        for day, posts in deliveries:
            clock[0] = day * DAY + 10
            result = asyncio.run(limits.count(Delivery(1, 1, tuple(posts), 1, None)))
            counted.append(result.new_posts)
    assert counted == bloom_only(deliveries)

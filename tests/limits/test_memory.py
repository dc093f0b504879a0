"""Memory backend with an injected clock: the cap resets on the billing day, dedupe per UTC day."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.limits.conftest import ENDPOINT, SMALL_FILTER, Caller
from tollhouse.limits import memory
from tollhouse.limits.decisions import Delivery
from tollhouse.limits.dedupe import DedupeShape
from tollhouse.limits.memory import MemoryLimits
from tollhouse.limits.service import LimitsService

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now.timestamp()


async def test_the_cap_resets_on_the_billing_day(
    caller_factory: Callable[..., Caller], anyio_backend: str
) -> None:
    clock = Clock(datetime(2026, 3, 14, 23, 0, tzinfo=UTC))
    service = LimitsService(MemoryLimits(SMALL_FILTER, clock), reserve=0)
    caller = caller_factory(cap=3, billing_day=15)
    await service.count_delivered(caller, [1, 2, 3])
    refused = await service.admit(caller, ENDPOINT)
    next_month = int(datetime(2026, 3, 15, tzinfo=UTC).timestamp())
    assert refused.refusal == "cap" and refused.cap is not None
    assert refused.cap.period_end == next_month
    clock.now = datetime(2026, 3, 14, 23, 59, 59, tzinfo=UTC)
    assert (await service.admit(caller, ENDPOINT)).refusal == "cap"
    clock.now = datetime(2026, 3, 15, tzinfo=UTC)
    fresh = await service.admit(caller, ENDPOINT)
    assert fresh.admitted and fresh.cap is not None and fresh.cap.used == 0
    assert fresh.cap.period_start == next_month


async def test_dedupe_is_per_utc_day(
    caller_factory: Callable[..., Caller], anyio_backend: str
) -> None:
    clock = Clock(datetime(2026, 3, 20, 23, 59, tzinfo=UTC))
    service = LimitsService(MemoryLimits(SMALL_FILTER, clock))
    caller = caller_factory(cap=100)
    first = await service.count_delivered(caller, [1, 2])
    clock.now += timedelta(seconds=30)
    same_day = await service.count_delivered(caller, [1, 2])
    clock.now += timedelta(seconds=60)  # past midnight UTC
    next_day = await service.count_delivered(caller, [1, 2])
    assert first is not None and same_day is not None and next_day is not None
    assert (first.new_posts, same_day.new_posts, next_day.new_posts) == (2, 0, 2)
    assert next_day.used == 4
    usage = await service.usage(caller, days=2)
    assert sorted(usage.daily.items()) == [
        (datetime(2026, 3, 20).date(), {11: 2}),
        (datetime(2026, 3, 21).date(), {11: 2}),
    ]


async def test_daily_counts_are_kept_ninety_days(
    caller_factory: Callable[..., Caller], anyio_backend: str
) -> None:
    clock = Clock(datetime(2026, 1, 1, 12, tzinfo=UTC))
    backend = MemoryLimits(SMALL_FILTER, clock)
    service = LimitsService(backend)
    caller = caller_factory(cap=None)
    for n in range(100):
        await service.count_delivered(caller, [n])
        clock.now += timedelta(days=1)
    usage = await service.usage(caller, days=90)
    assert len(usage.daily) == 89  # today has no posts yet; older days are dropped
    assert len(backend._daily[caller.org_id]) <= 90


# The memory backend's set of posts known to be in today's filter changes no count: every
# delivery counts exactly what the Bloom filter alone counts, including when the set is emptied.

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

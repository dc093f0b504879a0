"""Memory backend with an injected clock: the cap resets on the billing day, dedupe per UTC day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.limits.conftest import ENDPOINT, SMALL_FILTER, Caller
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

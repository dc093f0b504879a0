"""Fixtures for the limits tests: both backends, and plans/callers built from access' types."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.backends import KEY_VALUE_BACKENDS
from tollhouse.access.plans import Plan, RateLimit
from tollhouse.limits.backend import LimitsBackend
from tollhouse.limits.dedupe import DedupeShape
from tollhouse.limits.memory import MemoryLimits
from tollhouse.limits.redis.backend import RedisLimits

ENDPOINT = "/2/tweets/search/recent"
SMALL_FILTER = DedupeShape(bits=1 << 16)


def make_plan(
    windows: tuple[tuple[int, int], ...] = ((450, 900),),
    cap: int | None = None,
    overage: bool = False,
    endpoint: str = ENDPOINT,
) -> Plan:
    """A plan with `windows` ((requests, seconds), …) on `endpoint` and the given cap."""
    return Plan(
        name="test",
        monthly_fee=Decimal("0"),
        monthly_post_cap=cap,
        overage_per_1k=Decimal("1.50") if overage else None,
        endpoints=frozenset({endpoint, "/2/usage/tweets"}),
        rate_limits={endpoint: tuple(RateLimit(r, s) for r, s in windows)},
        max_apps=8,
        max_stream_rules=0,
        max_query_length=512,
    )


@dataclass(frozen=True)
class Caller:
    """The parts of RequestContext limits reads (RequestContext itself needs a key to exist)."""

    org_id: int
    app_id: int
    plan: Plan
    billing_day: int = 1


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=KEY_VALUE_BACKENDS)
async def backend(
    request: pytest.FixtureRequest, redis_prefix: str, anyio_backend: str
) -> AsyncIterator[LimitsBackend]:
    """Each backend in turn; the Redis one with a private key prefix."""
    if request.param == "memory":
        yield MemoryLimits(dedupe=SMALL_FILTER)
        return
    url = request.getfixturevalue("redis_url")
    redis_backend = RedisLimits(url, dedupe=SMALL_FILTER, prefix=redis_prefix)
    yield redis_backend
    keys = [k async for k in redis_backend.redis.scan_iter(match=redis_prefix + "*")]
    if keys:
        await redis_backend.redis.delete(*keys)
    await redis_backend.close()


@pytest.fixture
def caller_factory() -> Callable[..., Caller]:
    def build(org_id: int = 1, app_id: int = 11, billing_day: int = 1, **plan: object) -> Caller:
        return Caller(org_id, app_id, make_plan(**plan), billing_day)  # type: ignore[arg-type]

    return build

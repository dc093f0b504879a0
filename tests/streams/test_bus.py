"""Both bus backends: every subscriber receives every event once, in publishing order; connection
slots admit one holder per key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from tests.backends import KEY_VALUE_BACKENDS
from tests.waiting import wait_until_async
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.streams.bus import Bus, ConnectionSlots, bus_from_url, split_prefix
from tollhouse.streams.errors import BusUnavailable
from tollhouse.streams.events import Event, PostDeleted, PostPublished, RulesChanged

pytestmark = pytest.mark.anyio


@pytest.fixture(params=KEY_VALUE_BACKENDS)
def bus_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    redis_url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    return f"{redis_url}?prefix={prefix}"


def _post(i: int) -> PostPublished:
    post = PostRecord(i, 7, f"post {i} #tag", datetime(2026, 1, 1, tzinfo=UTC), hashtags=("tag",))
    author = UserRecord(7, "alice", datetime(2020, 1, 1, tzinfo=UTC), verified=True)
    return PostPublished(post, author, "bob", 123.5)


async def _until(predicate: object, timeout: float = 5.0) -> None:
    async def wait() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def buses(bus_url: str) -> AsyncIterator[list[tuple[Bus, ConnectionSlots]]]:
    """Two "processes": for memory:// one process, so both handlers share one bus."""
    first = bus_from_url(bus_url)
    second = first if bus_url == "memory://" else bus_from_url(bus_url)
    yield [first, second]
    for bus, slots in {id(b): (b, s) for b, s in (first, second)}.values():
        await bus.close()
        closer = getattr(slots, "close", None)
        if closer is not None:
            await closer()


async def test_every_subscriber_gets_every_event_once_in_order(
    buses: list[tuple[Bus, ConnectionSlots]],
) -> None:
    seen: list[list[Event]] = [[], []]
    for (bus, _), log in zip(buses, seen, strict=True):

        async def handler(event: Event, log: list[Event] = log) -> None:
            log.append(event)

        await bus.start(handler)
    events: list[Event] = [
        *(_post(i) for i in range(1, 51)),
        PostDeleted(3, datetime(2026, 1, 2, tzinfo=UTC)),
        RulesChanged("42"),
    ]
    await buses[0][0].publish(events[:30])
    await buses[1][0].publish(events[30:])
    await _until(lambda: all(len(log) >= len(events) for log in seen))
    await asyncio.sleep(0.05)
    assert seen[0] == events
    assert seen[1] == events


async def test_one_slot_holder_per_key(buses: list[tuple[Bus, ConnectionSlots]]) -> None:
    slots_a, slots_b = buses[0][1], buses[1][1]
    assert await slots_a.claim("filter:1", "token-a", 30)
    assert not await slots_b.claim("filter:1", "token-b", 30)
    assert await slots_b.claim("filter:2", "token-b", 30)
    assert not await slots_b.refresh("filter:1", "token-b", 30)
    assert await slots_a.refresh("filter:1", "token-a", 30)
    await slots_b.release("filter:1", "token-b")  # not the holder: no effect
    assert not await slots_b.claim("filter:1", "token-b", 30)
    await slots_a.release("filter:1", "token-a")
    assert await slots_b.claim("filter:1", "token-b", 30)


async def test_an_unrefreshed_slot_expires(buses: list[tuple[Bus, ConnectionSlots]]) -> None:
    slots_a, slots_b = buses[0][1], buses[1][1]
    assert await slots_a.claim("sample:9", "token-a", 0.2)
    await wait_until_async(
        lambda: slots_b.claim("sample:9", "token-b", 30), "the unrefreshed slot can be claimed"
    )


def test_prefix_is_taken_out_of_the_url() -> None:
    assert split_prefix("redis://h:6379/0?prefix=t:1:") == ("redis://h:6379/0", "t:1:")
    assert split_prefix("redis://h:6379/0") == ("redis://h:6379/0", "tollhouse:")
    with pytest.raises(ValueError):
        bus_from_url("kafka://x")


async def test_an_unreachable_redis_is_a_clear_error() -> None:
    bus, slots = bus_from_url("redis://127.0.0.1:1/0?prefix=nowhere:")
    with pytest.raises(BusUnavailable):
        await bus.publish([RulesChanged("1")])
    with pytest.raises(BusUnavailable):
        await slots.claim("filter:1", "token", 5)
    await bus.close()

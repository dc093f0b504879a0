"""The hub: matching posts reach the connections of the apps whose rules they match, once; a slow
connection is ended when its buffer passes the bound while the others keep everything."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from tollhouse.corpus.query import parse
from tollhouse.corpus.records import PostRecord
from tollhouse.streams.events import PostPublished, RulesChanged
from tollhouse.streams.hub import StreamHub
from tollhouse.streams.index import CompiledRule, compile_rule
from tollhouse.streams.rules import StreamRule
from tollhouse.streams.sample import in_sample

pytestmark = pytest.mark.anyio


class Rules:
    """Rules per app, as the database would return them."""

    def __init__(self) -> None:
        self.by_app: dict[str, list[StreamRule]] = {}
        self.loads = 0

    async def load(self, app_id: str) -> Sequence[tuple[StreamRule, CompiledRule]]:
        self.loads += 1
        return [(r, compile_rule(parse(r.value))) for r in self.by_app.get(app_id, [])]


def _event(i: int, text: str) -> PostPublished:
    return PostPublished(PostRecord(i, 1, text, datetime(2026, 1, 1, tzinfo=UTC)))


async def test_posts_go_to_the_apps_whose_rules_match_with_those_rules() -> None:
    rules = Rules()
    rules.by_app = {
        "a": [StreamRule(1, "a", "cat", "cats"), StreamRule(2, "a", "dog")],
        "b": [StreamRule(3, "b", "dog")],
    }
    hub = StreamHub(rules.load, buffer_limit=10)
    a = await hub.connect_filter("a")
    b = await hub.connect_filter("b")
    hub.dispatch(_event(10, "cat and dog"))
    hub.dispatch(_event(11, "only a dog"))
    hub.dispatch(_event(12, "a bird"))
    got_a = await a.next_batch(1)
    got_b = await b.next_batch(1)
    assert got_a is not None and got_b is not None
    assert [(d.event.post.id, [r.id for r in d.rules]) for d in got_a] == [(10, [1, 2]), (11, [2])]
    assert [(d.event.post.id, [r.id for r in d.rules]) for d in got_b] == [(10, [3]), (11, [3])]
    assert await a.next_batch(0.05) is None


async def test_rule_changes_apply_to_connected_apps_only() -> None:
    rules = Rules()
    rules.by_app = {"a": [StreamRule(1, "a", "cat")]}
    hub = StreamHub(rules.load, buffer_limit=10)
    a = await hub.connect_filter("a")
    rules.by_app["a"] = [StreamRule(2, "a", "bird")]
    await hub.handle(RulesChanged("a"))
    await hub.handle(RulesChanged("z"))  # no connection here: nothing loaded
    assert rules.loads == 2
    hub.dispatch(_event(1, "cat"))
    hub.dispatch(_event(2, "bird"))
    batch = await a.next_batch(1)
    assert batch is not None and [d.event.post.id for d in batch] == [2]
    hub.disconnect(a)
    assert hub.connection_count == 0
    hub.dispatch(_event(3, "bird"))  # no rules left in the index
    assert a.ended == "closed"


async def test_slow_connection_is_ended_and_fast_ones_keep_everything() -> None:
    rules = Rules()
    rules.by_app = {"slow": [StreamRule(1, "slow", "cat")], "fast": [StreamRule(2, "fast", "cat")]}
    hub = StreamHub(rules.load, buffer_limit=5)
    slow = await hub.connect_filter("slow")
    fast = await hub.connect_filter("fast")
    received = []
    for i in range(20):
        hub.dispatch(_event(i, "cat"))
        batch = await fast.next_batch(1)  # the fast reader drains after every post
        assert batch is not None
        received += [d.event.post.id for d in batch]
    assert received == list(range(20))
    assert slow.ended == "slow"
    assert slow.buffered == 0  # the overflowing buffer is released, not kept
    assert await slow.next_batch(1) is None
    assert fast.ended is None


async def test_sample_connections_get_the_sampled_ids_only() -> None:
    hub = StreamHub(Rules().load, buffer_limit=10_000)
    sample = hub.connect_sample("a")
    for i in range(1, 2001):
        hub.dispatch(_event(i, "anything"))
    batch = await sample.next_batch(1)
    assert batch is not None
    assert [d.event.post.id for d in batch] == [i for i in range(1, 2001) if in_sample(i)]


async def test_ended_connection_wakes_its_reader() -> None:
    hub = StreamHub(Rules().load)
    conn = await hub.connect_filter("a")
    waiter = asyncio.create_task(conn.next_batch(30))
    await asyncio.sleep(0.01)
    hub.close_all()
    assert await asyncio.wait_for(waiter, 1) is None
    assert conn.ended == "shutdown"


async def test_a_failed_rule_load_leaves_no_connection_behind() -> None:
    async def broken(app_id: str) -> Sequence[tuple[StreamRule, CompiledRule]]:
        raise OSError("database down")

    hub = StreamHub(broken)
    with pytest.raises(OSError):
        await hub.connect_filter("a")
    assert hub.connection_count == 0

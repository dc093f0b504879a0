"""Replay publishes stored posts in id order, within [from, to), with authors and entities."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from tests.processes import clean_env, run_tollhouse
from tollhouse.corpus.ids import snowflake
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users
from tollhouse.streams.bus import bus_from_url
from tollhouse.streams.events import Event, PostPublished
from tollhouse.streams.memory import MemoryBus
from tollhouse.streams.replay import replay

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 1, tzinfo=UTC)


def _store(engine: Engine, count: int) -> list[PostRecord]:
    users = [UserRecord(1, "alice", START), UserRecord(2, "bob", START)]
    made = [
        PostRecord(
            snowflake(START + timedelta(minutes=i)),
            1 + i % 2,
            f"post {i} #news @bob",
            START + timedelta(minutes=i),
            hashtags=("news",),
            mentions=("bob",),
            in_reply_to_user_id=2 if i % 3 == 0 else None,
            replied_to_id=7 if i % 3 == 0 else None,
        )
        for i in range(count)
    ]
    with engine.begin() as conn:
        insert_users(conn, users)
        insert_posts(conn, list(reversed(made)))
    return made


async def test_replay_publishes_the_window_in_id_order(sqlite_engine: Engine) -> None:
    made = _store(sqlite_engine, 30)
    bus = MemoryBus()
    seen: list[Event] = []

    async def collect(event: Event) -> None:
        seen.append(event)

    await bus.start(collect)
    window = await replay(
        sqlite_engine, bus, 10_000, START + timedelta(minutes=5), START + timedelta(minutes=25)
    )
    assert window.published == 20
    assert [e.post.id for e in seen if isinstance(e, PostPublished)] == [p.id for p in made[5:25]]
    first = seen[0]
    assert isinstance(first, PostPublished)
    assert first.author is not None and first.author.username == "bob"
    assert first.post.hashtags == ("news",) and first.post.mentions == ("bob",)
    assert first.reply_to_username is None  # post 5 is no reply
    second = seen[1]
    assert isinstance(second, PostPublished) and second.reply_to_username == "bob"  # post 6
    seen.clear()
    limited = await replay(sqlite_engine, bus, 10_000, limit=7)
    assert limited.published == 7 and [e.post.id for e in seen] == [p.id for p in made[:7]]  # type: ignore[union-attr]


async def test_replay_command_publishes_on_the_redis_bus(
    sqlite_engine: Engine, redis_url: str, redis_prefix: str
) -> None:
    made = _store(sqlite_engine, 12)
    url = f"{redis_url}?prefix={redis_prefix}"
    bus, _slots = bus_from_url(url)
    seen: list[Event] = []

    async def collect(event: Event) -> None:
        seen.append(event)

    await bus.start(collect)
    replay = await run_tollhouse(
        "corpus",
        "replay",
        "--rate",
        "500",
        "--database-url",
        str(sqlite_engine.url),
        env=clean_env(bus_url=url),
    )
    assert replay.returncode == 0, replay.stderr
    assert b"published 12 posts" in replay.stdout
    for _ in range(200):
        if len(seen) >= 12:
            break
        await asyncio.sleep(0.02)
    await bus.close()
    assert [e.post.id for e in seen] == [p.id for p in made]  # type: ignore[union-attr]


async def test_replay_command_refuses_a_memory_bus(sqlite_engine: Engine) -> None:
    replay = await run_tollhouse(
        "corpus",
        "replay",
        "--rate",
        "10",
        "--database-url",
        str(sqlite_engine.url),
        env=clean_env(),
    )
    assert replay.returncode == 1
    assert b"memory://" in replay.stderr

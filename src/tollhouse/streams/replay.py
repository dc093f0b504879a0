"""Replay: re-publish stored posts on the bus as if they were new, at a steady rate (demos, load).

Posts are read in id order (ids encode creation time) in half-open `[start, end)` by creation
time, a chunk at a time, and published in small bursts paced by the monotonic clock, so the rate
holds on average without sleeping once per post.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.engine import Engine

from tollhouse.corpus.ids import lowest_id_at
from tollhouse.corpus.models import ContentState, posts
from tollhouse.corpus.records import PostRecord
from tollhouse.streams.bus import Bus
from tollhouse.streams.events import PostPublished
from tollhouse.streams.ingest import events_for

CHUNK = 1000
# Bursts per second: the rate is reached by publishing rate/BURSTS posts this often.
BURSTS = 20


@dataclass(frozen=True, slots=True)
class ReplayResult:
    published: int
    seconds: float


def record_of(row: Any) -> PostRecord:
    """A stored post row back as a record (entity values taken from its entities object)."""
    entities = row.entities or {}
    return PostRecord(
        id=row.id,
        author_id=row.author_id,
        text=row.text,
        created_at=row.created_at,
        lang=row.lang,
        conversation_id=row.conversation_id,
        in_reply_to_user_id=row.in_reply_to_user_id,
        replied_to_id=row.replied_to_id,
        retweeted_id=row.retweeted_id,
        quoted_id=row.quoted_id,
        hashtags=tuple(h["tag"] for h in entities.get("hashtags", ())),
        mentions=tuple(m["username"] for m in entities.get("mentions", ())),
        urls=tuple(u.get("expanded_url") or u["url"] for u in entities.get("urls", ())),
        cashtags=tuple(c["tag"] for c in entities.get("cashtags", ())),
        entities=row.entities,
        retweet_count=row.retweet_count,
        reply_count=row.reply_count,
        like_count=row.like_count,
        quote_count=row.quote_count,
        bookmark_count=row.bookmark_count,
        impression_count=row.impression_count,
        possibly_sensitive=row.possibly_sensitive,
        source=row.source,
    )


def _chunk(conn: Connection, after: int, before: int, limit: int) -> list[PostPublished]:
    rows = conn.execute(
        select(posts)
        .where(
            posts.c.id > after,
            posts.c.id < before,
            posts.c.state == ContentState.ACTIVE.value,
        )
        .order_by(posts.c.id)
        .limit(limit)
    ).all()
    return events_for(conn, [record_of(r) for r in rows])


async def replay(
    engine: Engine,
    bus: Bus,
    rate: float,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Publish the active posts created in [start, end) in id order at `rate` posts/s."""
    after = lowest_id_at(start) - 1 if start is not None else 0
    before = lowest_id_at(end) if end is not None else (1 << 63) - 1
    per_burst = max(1, round(rate / BURSTS))
    interval = per_burst / rate
    published = 0
    began = time.monotonic()
    next_burst = began
    while limit is None or published < limit:
        want = CHUNK if limit is None else min(CHUNK, limit - published)

        def read(after: int = after, want: int = want) -> list[PostPublished]:
            with engine.connect() as conn:
                return _chunk(conn, after, before, want)

        events = await asyncio.to_thread(read)
        if not events:
            break
        after = events[-1].post.id
        for i in range(0, len(events), per_burst):
            delay = next_burst - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            next_burst += interval
            now = time.time()
            burst = [
                PostPublished(e.post, e.author, e.reply_to_username, now)
                for e in events[i : i + per_burst]
            ]
            await bus.publish(burst)
            published += len(burst)
            if progress is not None:
                progress(published)
    return ReplayResult(published, time.monotonic() - began)

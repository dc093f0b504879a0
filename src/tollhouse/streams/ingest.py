"""Live ingest: store new posts and publish them on the bus; delete posts and publish that.

The database write happens first (in a worker thread) and the publish after it commits, so a
client that is sent a post can always look it up. Re-sent posts (already stored) are not published
again; `republish` is the replay path, which publishes stored posts as if they were new.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Engine

from tollhouse.corpus.models import ContentState, posts, users
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users
from tollhouse.streams.bus import Bus
from tollhouse.streams.events import Event, PostDeleted, PostPublished


@dataclass(frozen=True, slots=True)
class IngestResult:
    published: int  # new posts stored and published
    already_stored: int  # posts that were present already (not published again)
    deleted: int  # posts newly marked deleted (and published as deletions)


def _usernames(conn: Connection, user_ids: Iterable[int]) -> dict[int, UserRecord]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = conn.execute(select(users).where(users.c.id.in_(ids)))
    return {
        r.id: UserRecord(
            id=r.id,
            username=r.username,
            created_at=r.created_at,
            name=r.name,
            description=r.description,
            verified=r.verified,
            protected=r.protected,
            followers_count=r.followers_count,
            following_count=r.following_count,
            tweet_count=r.tweet_count,
            listed_count=r.listed_count,
            location=r.location,
            url=r.url,
            profile_image_url=r.profile_image_url,
        )
        for r in rows
    }


def events_for(
    conn: Connection, batch: Sequence[PostRecord], known: Iterable[UserRecord] = ()
) -> list[PostPublished]:
    """Publishable events for `batch`, with authors and reply-to usernames looked up."""
    people = {u.id: u for u in known}
    wanted = {p.author_id for p in batch} | {
        p.in_reply_to_user_id for p in batch if p.in_reply_to_user_id is not None
    }
    people.update(_usernames(conn, wanted - set(people)))
    now = time.time()
    out = []
    for post in batch:
        reply_to = people.get(post.in_reply_to_user_id) if post.in_reply_to_user_id else None
        out.append(
            PostPublished(
                post=post,
                author=people.get(post.author_id),
                reply_to_username=reply_to.username if reply_to is not None else None,
                published_at=now,
            )
        )
    return out


def _store(
    engine: Engine,
    batch: Sequence[PostRecord],
    authors: Sequence[UserRecord],
    also_store: Sequence[PostRecord],
) -> tuple[list[PostPublished], int]:
    with engine.begin() as conn:
        insert_posts(conn, also_store)
        ids = [p.id for p in batch]
        present = (
            set(conn.execute(select(posts.c.id).where(posts.c.id.in_(ids))).scalars())
            if ids
            else set()
        )
        insert_users(conn, authors)
        fresh = [p for p in {p.id: p for p in batch}.values() if p.id not in present]
        insert_posts(conn, fresh)
        events = events_for(conn, fresh, authors)
    return events, len(batch) - len(fresh)


def _mark_deleted(engine: Engine, post_ids: Sequence[int], at: datetime) -> list[int]:
    if not post_ids:
        return []
    with engine.begin() as conn:
        live = list(
            conn.execute(
                select(posts.c.id).where(
                    posts.c.id.in_(list(post_ids)), posts.c.state != ContentState.DELETED.value
                )
            ).scalars()
        )
        if live:
            conn.execute(
                update(posts)
                .where(posts.c.id.in_(live))
                .values(state=ContentState.DELETED.value, state_changed_at=at)
            )
    return live


async def ingest(
    engine: Engine,
    bus: Bus,
    new_posts: Sequence[PostRecord] = (),
    authors: Sequence[UserRecord] = (),
    deletions: Sequence[int] = (),
    also_store: Sequence[PostRecord] = (),
) -> IngestResult:
    """Store `new_posts` (and `authors`, and `also_store`: referenced posts, stored but not
    published), mark `deletions` deleted, then publish the new posts and the deletions."""
    events, already = await asyncio.to_thread(_store, engine, new_posts, authors, also_store)
    at = datetime.now(UTC)
    deleted = await asyncio.to_thread(_mark_deleted, engine, deletions, at)
    out: list[Event] = [*events, *(PostDeleted(i, at) for i in deleted)]
    await bus.publish(out)
    return IngestResult(published=len(events), already_stored=already, deleted=len(deleted))

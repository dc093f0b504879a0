"""Live ingest: store new posts and publish them on the bus; delete posts and publish that.

The database write happens first (in a worker thread) and the publish after it commits, so a
client that is sent a post can always look it up. Re-sent posts (already stored) are not published
again; `republish` is the replay path, which publishes stored posts as if they were new.

Posts are checked before anything is stored (`implausible`, and every author must be a known
user): a search's time bounds are bounds on the id, and a timeline needs its user, so a post that
disagrees with its id or has no author would be served wrong for as long as it is stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.engine import Engine

from tollhouse.corpus.ids import created_at_of
from tollhouse.corpus.models import ContentState, posts, users
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users
from tollhouse.streams.bus import Bus
from tollhouse.streams.errors import IngestRejected
from tollhouse.streams.events import Event, PostDeleted, PostPublished

# X opened in March 2006: no post is older.
X_LAUNCH = datetime(2006, 3, 21, tzinfo=UTC)
# Ids at least this large are snowflakes and encode their creation time to the millisecond.
SNOWFLAKE_FLOOR = 10**15
# How far `created_at` may be from the time its snowflake id encodes (and from the future).
# X's own posts differ by under a second (created_at is given to the second); a minute allows for
# the clock of whatever minted the id, while bounding how far a time-bounded search (whose bounds
# are id bounds) can misplace a post to one minute.
CREATED_AT_TOLERANCE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class IngestResult:
    published: int  # new posts stored and published
    already_stored: int  # posts that were present already (not published again)
    deleted: int  # posts newly marked deleted (and published as deletions)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def implausible(post: PostRecord, now: datetime) -> str | None:
    """Why `post`'s creation time cannot be true (None when it can be)."""
    created = post.created_at
    if created < X_LAUNCH:
        return f"post {post.id} has created_at {_iso(created)}, before X began ({_iso(X_LAUNCH)})"
    if created > now + CREATED_AT_TOLERANCE:
        return f"post {post.id} has created_at {_iso(created)}, in the future"
    if post.id >= SNOWFLAKE_FLOOR:
        encoded = created_at_of(post.id)
        if abs(created - encoded) > CREATED_AT_TOLERANCE:
            return (
                f"post {post.id} has created_at {_iso(created)}, but its id encodes "
                f"{_iso(encoded)} (more than {CREATED_AT_TOLERANCE.seconds} s apart)"
            )
    return None


def _unknown_authors(
    conn: Connection, batch: Sequence[PostRecord], authors: Sequence[UserRecord]
) -> list[str]:
    known = {u.id for u in authors}
    wanted = {p.author_id for p in batch} - known
    if wanted:
        known |= set(conn.execute(select(users.c.id).where(users.c.id.in_(wanted))).scalars())
    return [
        f"post {p.id} has author_id {p.author_id}, which is not a known user "
        "(include the user in `includes.users`)"
        for p in batch
        if p.author_id not in known
    ]


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
        now = datetime.now(UTC)
        everything = [*batch, *also_store]
        problems = [why for p in everything if (why := implausible(p, now)) is not None]
        problems += _unknown_authors(conn, everything, authors)
        if problems:
            raise IngestRejected(problems)
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
    published), mark `deletions` deleted, then publish the new posts and the deletions.

    Raises `IngestRejected` (storing nothing) if a post's `created_at` is implausible or its
    author is neither in `authors` nor stored already."""
    events, already = await asyncio.to_thread(_store, engine, new_posts, authors, also_store)
    at = datetime.now(UTC)
    deleted = await asyncio.to_thread(_mark_deleted, engine, deletions, at)
    out: list[Event] = [*events, *(PostDeleted(i, at) for i in deleted)]
    await bus.publish(out)
    return IngestResult(published=len(events), already_stored=already, deleted=len(deleted))

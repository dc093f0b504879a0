"""Writing posts and users: one function each, used by importers, the generator and live ingest.

Writes are idempotent (an id already present is left as it is), so re-importing a file or
replaying a batch never duplicates anything. Rows are plain dicts/tuples: no ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from tollhouse.corpus.models import ContentState, post_facets, posts, users
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.text import search_text, tokenize


def user_row(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "username_lower": user.username.lower(),
        "name": user.name,
        "description": user.description,
        "location": user.location,
        "url": user.url,
        "profile_image_url": user.profile_image_url,
        "created_at": user.created_at,
        "verified": user.verified,
        "protected": user.protected,
        "followers_count": user.followers_count,
        "following_count": user.following_count,
        "tweet_count": user.tweet_count,
        "listed_count": user.listed_count,
        "state": ContentState.ACTIVE.value,
        "state_changed_at": None,
        "withheld": None,
    }


def entities_of(post: PostRecord) -> dict[str, Any] | None:
    """The X v2 `entities` object: the record's own, or derived from its entity values with
    indices found in the text (first occurrence at or after the previous entity)."""
    if post.entities is not None:
        return post.entities
    out: dict[str, Any] = {}
    lowered = post.text.lower()

    def spans(prefix: str, values: Sequence[str]) -> Iterable[tuple[int, int, str]]:
        cursor = 0
        for value in values:
            needle = (prefix + value).lower()
            start = lowered.find(needle, cursor)
            if start < 0:
                start = lowered.find(needle)
            end = start + len(needle) if start >= 0 else 0
            cursor = max(cursor, end)
            yield max(start, 0), end, value

    if post.hashtags:
        out["hashtags"] = [
            {"start": s, "end": e, "tag": v} for s, e, v in spans("#", post.hashtags)
        ]
    if post.cashtags:
        out["cashtags"] = [
            {"start": s, "end": e, "tag": v} for s, e, v in spans("$", post.cashtags)
        ]
    if post.mentions:
        out["mentions"] = [
            {"start": s, "end": e, "username": v} for s, e, v in spans("@", post.mentions)
        ]
    if post.urls:
        out["urls"] = [
            {"start": s, "end": e, "url": v, "expanded_url": v, "display_url": _display(v)}
            for s, e, v in spans("", post.urls)
        ]
    return out or None


def _display(url: str) -> str:
    bare = url.split("://", 1)[-1]
    return bare if len(bare) <= 30 else bare[:29] + "…"


def post_row(post: PostRecord, postgres: bool) -> dict[str, Any]:
    tokens = tokenize(post.text)
    return {
        "id": post.id,
        "author_id": post.author_id,
        "text": post.text,
        "created_at": post.created_at,
        "lang": post.lang or "und",
        "conversation_id": post.conversation,
        "in_reply_to_user_id": post.in_reply_to_user_id,
        "replied_to_id": post.replied_to_id,
        "retweeted_id": post.retweeted_id,
        "quoted_id": post.quoted_id,
        "entities": entities_of(post),
        "retweet_count": post.retweet_count,
        "reply_count": post.reply_count,
        "like_count": post.like_count,
        "quote_count": post.quote_count,
        "bookmark_count": post.bookmark_count,
        "impression_count": post.impression_count,
        "possibly_sensitive": post.possibly_sensitive,
        "source": post.source,
        "has_links": bool(post.urls),
        "has_mentions": bool(post.mentions),
        "has_hashtags": bool(post.hashtags),
        "search_text": search_text(tokens),
        "tokens": tokens if postgres else None,
        "state": ContentState.ACTIVE.value,
        "state_changed_at": None,
        "withheld": None,
    }


def facet_rows(post: PostRecord) -> list[dict[str, Any]]:
    """One row per distinct (kind, value) the post carries; see corpus.models.post_facets."""
    seen: set[tuple[str, str]] = set()
    for kind, values in (
        ("m", post.mentions),
        ("h", post.hashtags),
        ("u", post.urls),
        ("c", post.cashtags),
    ):
        for value in values:
            seen.add((kind, value.lower()[:512]))
    return [{"kind": k, "value": v, "post_id": post.id} for k, v in sorted(seen)]


def _insert_ignoring_existing(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing()
    result = conn.execute(stmt, rows)
    return max(result.rowcount, 0)


def insert_users(conn: Connection, batch: Sequence[UserRecord]) -> int:
    """Insert users whose id is not yet present; returns how many statements ran."""
    return _insert_ignoring_existing(conn, users, [user_row(u) for u in batch])


def insert_posts(conn: Connection, batch: Sequence[PostRecord]) -> int:
    """Insert posts (and their facets) whose id is not yet present."""
    pg = conn.dialect.name == "postgresql"
    n = _insert_ignoring_existing(conn, posts, [post_row(p, pg) for p in batch])
    facets = [row for p in batch for row in facet_rows(p)]
    _insert_ignoring_existing(conn, post_facets, facets)
    return n

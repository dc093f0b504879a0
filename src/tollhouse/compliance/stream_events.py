"""Content events as X's compliance-stream lines (`{"data": {<event>: {…}}}`), ready for the
bus: post events on the tweets stream (`event_at` ends in `Z`), user events on the users
stream (`event_at` ends in `+00:00`, as X sends them)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.compliance.content_events import ContentEvent
from tollhouse.compliance.job_results import notice_key
from tollhouse.compliance.timefmt import x_time, x_user_event_time
from tollhouse.corpus.models import posts
from tollhouse.streams.compliance import ComplianceEventPublished, ComplianceStream


def _payload(e: ContentEvent, author_id: int | None) -> dict[str, Any]:
    details = dict(e.details)
    if e.subject == "post":
        tweet: dict[str, Any] = {"id": str(e.subject_id)}
        if e.event == "tweet_edit":
            edits = details.get("edit_tweet_ids") or [str(e.subject_id)]
            return {
                "tweet": {"id": str(edits[-1])},
                "initial_tweet_id": details.get("initial_tweet_id", str(edits[0])),
                "edit_tweet_ids": list(edits),
                "event_at": x_time(e.occurred_at),
            }
        if author_id is not None:
            tweet["author_id"] = str(author_id)
        body: dict[str, Any] = {"tweet": tweet, "event_at": x_time(e.occurred_at)}
        if e.event == "withheld":
            body["withheld_in_countries"] = list(details["withheld_in_countries"])
        return body
    body = {"user": {"id": str(e.subject_id)}, "event_at": x_user_event_time(e.occurred_at)}
    if e.event == "user_withheld":
        body["withheld_in_countries"] = list(details["withheld_in_countries"])
    elif e.event == "scrub_geo":
        body["up_to_tweet_id"] = details.get("up_to_tweet_id")
    elif e.event == "user_profile_modification":
        body["profile_field"] = details["profile_field"]
        body["new_value"] = details["new_value"]
    return body


def stream_events(
    conn: Connection, events: Sequence[ContentEvent]
) -> list[ComplianceEventPublished]:
    """The bus events for stored content events (ids set)."""
    post_ids = [e.subject_id for e in events if e.subject == "post"]
    authors: dict[int, int] = {}
    if post_ids:
        stmt = sa.select(posts.c.id, posts.c.author_id).where(posts.c.id.in_(post_ids))
        authors = {post_id: author_id for post_id, author_id in conn.execute(stmt)}
    now = time.time()
    out = []
    for e in events:
        if e.id is None:
            continue
        line = orjson.dumps({"data": {e.event: _payload(e, authors.get(e.subject_id))}})
        stream: ComplianceStream = "tweets" if e.subject == "post" else "users"
        key = notice_key(e.subject, e.subject_id, e.id)
        out.append(ComplianceEventPublished(stream, e.subject_id, line, key, now))
    return out


def for_stored(engine: Engine, events: Sequence[ContentEvent]) -> list[ComplianceEventPublished]:
    """`stream_events` on a connection of its own."""
    if not events:
        return []
    with engine.connect() as conn:
        return stream_events(conn, events)

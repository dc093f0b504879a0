"""X API v2 JSON objects → corpus records, for live ingest.

Stand-in until the corpus importer (`tollhouse.corpus.importer`) is in place; then this module
only forwards to it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tollhouse.corpus.ids import created_at_of
from tollhouse.corpus.records import PostRecord, UserRecord


def _id(value: Any, what: str) -> int:
    text = str(value)
    if not text.isdigit() or len(text) > 19:
        raise ValueError(f"{what} [{text}] is not an id")
    return int(text)


def _time(value: Any, fallback: datetime) -> datetime:
    if value is None:
        return fallback
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"[{value}] is not an ISO-8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def post_from_x(obj: Any) -> PostRecord:
    """A post record from an X v2 post object (`id`, `text`, `author_id` required)."""
    if not isinstance(obj, dict) or "id" not in obj or "text" not in obj:
        raise ValueError("every post needs `id` and `text`")
    if "author_id" not in obj:
        raise ValueError(f"post {obj['id']} needs `author_id`")
    post_id = _id(obj["id"], "post id")
    refs = {
        r.get("type"): _id(r.get("id"), "referenced post id")
        for r in obj.get("referenced_tweets", [])
    }
    entities = obj.get("entities") or {}
    metrics = obj.get("public_metrics") or {}
    return PostRecord(
        id=post_id,
        author_id=_id(obj["author_id"], "author_id"),
        text=str(obj["text"]),
        created_at=_time(obj.get("created_at"), created_at_of(post_id)),
        lang=str(obj.get("lang") or "und"),
        conversation_id=_id(obj["conversation_id"], "conversation_id")
        if obj.get("conversation_id")
        else None,
        in_reply_to_user_id=_id(obj["in_reply_to_user_id"], "in_reply_to_user_id")
        if obj.get("in_reply_to_user_id")
        else None,
        replied_to_id=refs.get("replied_to"),
        retweeted_id=refs.get("retweeted"),
        quoted_id=refs.get("quoted"),
        hashtags=tuple(h["tag"] for h in entities.get("hashtags", [])),
        mentions=tuple(m["username"] for m in entities.get("mentions", [])),
        urls=tuple(u.get("expanded_url") or u["url"] for u in entities.get("urls", [])),
        cashtags=tuple(c["tag"] for c in entities.get("cashtags", [])),
        entities=entities or None,
        retweet_count=int(metrics.get("retweet_count", 0)),
        reply_count=int(metrics.get("reply_count", 0)),
        like_count=int(metrics.get("like_count", 0)),
        quote_count=int(metrics.get("quote_count", 0)),
        possibly_sensitive=bool(obj.get("possibly_sensitive", False)),
        source=obj.get("source"),
    )


def user_from_x(obj: Any) -> UserRecord:
    """A user record from an X v2 user object (`id`, `username` required)."""
    if not isinstance(obj, dict) or "id" not in obj or "username" not in obj:
        raise ValueError("every user needs `id` and `username`")
    metrics = obj.get("public_metrics") or {}
    return UserRecord(
        id=_id(obj["id"], "user id"),
        username=str(obj["username"]),
        created_at=_time(obj.get("created_at"), datetime(2010, 11, 4, tzinfo=UTC)),
        name=str(obj.get("name") or obj["username"]),
        description=str(obj.get("description") or ""),
        verified=bool(obj.get("verified", False)),
        protected=bool(obj.get("protected", False)),
        followers_count=int(metrics.get("followers_count", 0)),
        following_count=int(metrics.get("following_count", 0)),
        tweet_count=int(metrics.get("tweet_count", 0)),
        listed_count=int(metrics.get("listed_count", 0)),
        location=obj.get("location"),
        url=obj.get("url"),
        profile_image_url=obj.get("profile_image_url"),
    )

"""What travels on the bus: a new post, a deleted post, or "an app's rules changed".

Events are frozen values; `encode`/`decode` turn them into bytes for buses that cross processes.
A post event carries the whole record and its author so that every gateway process can match and
render it without reading the database.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

import orjson

from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.streams.compliance import ComplianceEventPublished


@dataclass(frozen=True, slots=True)
class PostPublished:
    """A post entered the platform (live ingest or replay)."""

    post: PostRecord
    author: UserRecord | None = None
    # Username of the user replied to, for `to:` rules; None when not a reply or unknown.
    reply_to_username: str | None = None
    # Monotonic publish time (time.time()) at ingest, for delivery-latency measurement.
    published_at: float = 0.0


@dataclass(frozen=True, slots=True)
class PostDeleted:
    """A post was deleted at `deleted_at` (feeds deletion compliance)."""

    post_id: int
    deleted_at: datetime


@dataclass(frozen=True, slots=True)
class RulesChanged:
    """The rules of `app_id` changed; processes with a connection of that app reload them."""

    app_id: str


Event: TypeAlias = PostPublished | PostDeleted | RulesChanged | ComplianceEventPublished

_R = TypeVar("_R", PostRecord, UserRecord)


def _record_dict(record: PostRecord | UserRecord) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _record(cls: type[_R], raw: dict[str, Any]) -> _R:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        if f.name in ("created_at",) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    return cls(**values)


def encode(event: Event) -> bytes:
    """The event as compact JSON bytes."""
    if isinstance(event, PostPublished):
        body: dict[str, Any] = {
            "type": "post",
            "post": _record_dict(event.post),
            "author": None if event.author is None else _record_dict(event.author),
            "reply_to_username": event.reply_to_username,
            "published_at": event.published_at,
        }
    elif isinstance(event, PostDeleted):
        body = {"type": "delete", "id": event.post_id, "deleted_at": event.deleted_at}
    elif isinstance(event, ComplianceEventPublished):
        body = {
            "type": "compliance",
            "stream": event.stream,
            "id": event.subject_id,
            "line": event.line.decode(),
            "key": event.notice_key,
            "at": event.published_at,
        }
    else:
        body = {"type": "rules", "app_id": event.app_id}
    return orjson.dumps(body)


def decode(data: bytes | str) -> Event:
    """The event `encode` produced; raises ValueError on anything else."""
    raw = orjson.loads(data)
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind == "post":
        author = raw.get("author")
        return PostPublished(
            post=_record(PostRecord, raw["post"]),
            author=None if author is None else _record(UserRecord, author),
            reply_to_username=raw.get("reply_to_username"),
            published_at=float(raw.get("published_at") or 0.0),
        )
    if kind == "delete":
        return PostDeleted(int(raw["id"]), datetime.fromisoformat(raw["deleted_at"]))
    if kind == "rules":
        return RulesChanged(str(raw["app_id"]))
    if kind == "compliance":
        return ComplianceEventPublished(
            raw["stream"], int(raw["id"]), raw["line"].encode(), raw["key"], float(raw["at"])
        )
    raise ValueError(f"not a stream event: {kind!r}")

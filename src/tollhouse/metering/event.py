"""The usage event: one per request to a metered endpoint, refused ones included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """What one request used. Ids of the licensee are None when the request was refused before
    the key was known (401); `end_user` is the name the licensee gave, matched against its
    declared end users when the event is stored."""

    request_id: str
    occurred_us: int  # request start, Unix microseconds (UTC)
    org_id: int | None
    app_id: int | None
    key_id: str | None
    endpoint: str
    method: str
    status: int
    posts: int
    new_posts: int
    bytes: int
    duration_us: int
    client_ip: str | None
    user_agent: str | None
    end_user: str | None
    post_ids: tuple[int, ...] = ()
    # The raw query string of a search or counts request (query, start_time, end_time …): what
    # compliance's rules read to see how a key searches. None elsewhere (a lookup's ids are in
    # `post_ids` already).
    query_string: str | None = None
    # The filtered-stream rule values in force for a stream's usage interval.
    stream_rules: tuple[str, ...] = ()

    @property
    def occurred_at(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.occurred_us)

    def to_wire(self) -> list[Any]:
        """A compact positional form for the spool (order = field order)."""
        return [
            self.request_id,
            self.occurred_us,
            self.org_id,
            self.app_id,
            self.key_id,
            self.endpoint,
            self.method,
            self.status,
            self.posts,
            self.new_posts,
            self.bytes,
            self.duration_us,
            self.client_ip,
            self.user_agent,
            self.end_user,
            list(self.post_ids),
            self.query_string,
            list(self.stream_rules),
        ]

    @classmethod
    def from_wire(cls, row: list[Any]) -> UsageEvent:
        # 16 fields: a record spooled before the query string and stream rules were recorded.
        if len(row) not in (16, 18):
            raise ValueError(f"usage event has {len(row)} fields, expected 16 or 18")
        fields: list[Any] = [*row[:15], tuple(row[15])]
        if len(row) == 18:
            fields += [row[16], tuple(row[17])]
        return cls(*fields)


def status_class(status: int) -> int:
    """2 for 2xx, 4 for 4xx …: the rollups' status dimension."""
    return status // 100

"""X's timestamp shapes: `2021-10-07T07:41:18.000Z` on jobs and results, and
`2022-06-27T23:49:41.839+00:00` on user compliance-stream events."""

from __future__ import annotations

from datetime import UTC, datetime


def x_time(at: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC)."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def x_user_event_time(at: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmm+00:00` (UTC), as X sends on user events."""
    return x_time(at)[:-1] + "+00:00"

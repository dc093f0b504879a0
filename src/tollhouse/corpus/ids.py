"""Snowflake ids, as X issues them: milliseconds since the X epoch in the top 41 bits.

Because ids encode their creation time, time bounds on a search become id bounds on the primary
key, which is what keeps every search an index range scan.
"""

from __future__ import annotations

from datetime import UTC, datetime

X_EPOCH_MS = 1288834974657
_TIME_SHIFT = 22
_MAX_ID = (1 << 63) - 1


def snowflake(created_at: datetime, worker: int = 0, sequence: int = 0) -> int:
    """The id X would give a post created at `created_at` by `worker` with `sequence`."""
    ms = int(created_at.timestamp() * 1000) - X_EPOCH_MS
    if ms < 0:
        raise ValueError("snowflake ids start at 2010-11-04")
    return (ms << _TIME_SHIFT) | ((worker & 0x3FF) << 12) | (sequence & 0xFFF)


def created_at_of(post_id: int) -> datetime:
    """The creation time encoded in a snowflake id (UTC)."""
    ms = (post_id >> _TIME_SHIFT) + X_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def lowest_id_at(moment: datetime) -> int:
    """The smallest id a post created at or after `moment` can have."""
    return lowest_id_at_ms(int(moment.timestamp() * 1000))


def lowest_id_at_ms(epoch_ms: int) -> int:
    """The smallest id a post created at or after `epoch_ms` (Unix epoch milliseconds) can have."""
    return max(epoch_ms - X_EPOCH_MS, 0) << _TIME_SHIFT


def highest_id_before(moment: datetime) -> int:
    """The largest id a post created strictly before `moment` can have."""
    return min(lowest_id_at(moment) - 1, _MAX_ID)


def id_bounds(
    start: datetime | None,
    end: datetime | None,
    since_id: int | None = None,
    until_id: int | None = None,
) -> tuple[int, int]:
    """Half-open id bounds [lowest, highest) of the posts created in [start, end) with ids
    above `since_id` and below `until_id` (each bound optional): time bounds are id bounds."""
    lowest = 0
    highest = _MAX_ID
    if start is not None:
        lowest = max(lowest, lowest_id_at(start))
    if end is not None:
        highest = min(highest, highest_id_before(end) + 1)
    if since_id is not None:
        lowest = max(lowest, since_id + 1)
    if until_id is not None:
        highest = min(highest, until_id)
    return lowest, highest

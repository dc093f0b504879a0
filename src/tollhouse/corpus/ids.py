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

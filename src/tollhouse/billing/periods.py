"""Billing periods: from the organisation's billing day, at local midnight in its time zone.

A period runs `[start, end)` from one billing day to the next. A billing day past a month's end
falls on that month's last day (billing day 31 → Feb 28, or 29 in a leap year, then Mar 31).
The boundaries are local midnights converted to UTC instants, so a period in
America/Los_Angeles spanning the March DST change is one hour shorter than its days suggest.
Only invoice periods follow the zone: the daily dedupe day (limits) stays the UTC day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tollhouse.errors import InvalidInput


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A half-open interval of UTC instants."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def __contains__(self, instant: object) -> bool:
        return isinstance(instant, datetime) and self.start <= instant < self.end


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name` (None or "UTC": UTC); a clear error for an unknown name."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r} (an IANA name such as Europe/Paris)"
        ) from None


def check_billing_day(day: int) -> int:
    if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
        raise InvalidInput(f"billing day must be 1-31, not {day!r}")
    return day


def _anchor(year: int, month: int, day: int, tz: ZoneInfo) -> datetime:
    last = calendar.monthrange(year, month)[1]
    local = datetime(year, month, min(day, last), tzinfo=tz)
    return local.astimezone(UTC)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def period_containing(instant: datetime, billing_day: int, time_zone: str | None = None) -> Period:
    """The billing period holding `instant` (UTC-aware)."""
    check_billing_day(billing_day)
    if instant.tzinfo is None:
        raise InvalidInput("instants must be time-zone aware")
    tz = zone(time_zone)
    local = instant.astimezone(tz)
    year, month = local.year, local.month
    start = _anchor(year, month, billing_day, tz)
    if instant < start:
        year, month = _shift(year, month, -1)
        start = _anchor(year, month, billing_day, tz)
    ny, nm = _shift(year, month, 1)
    return Period(start, _anchor(ny, nm, billing_day, tz))


def next_period(period: Period, billing_day: int, time_zone: str | None = None) -> Period:
    return period_containing(period.end, billing_day, time_zone)


def periods_between(
    start: datetime, end: datetime, billing_day: int, time_zone: str | None = None
) -> Iterator[Period]:
    """Every period that overlaps `[start, end)`, in order."""
    period = period_containing(start, billing_day, time_zone)
    while period.start < end:
        yield period
        period = next_period(period, billing_day, time_zone)


def ended_by(
    since: datetime, as_of: datetime, billing_day: int, time_zone: str | None = None
) -> list[Period]:
    """The periods from the one holding `since` that have ended by `as_of`."""
    return [p for p in periods_between(since, as_of, billing_day, time_zone) if p.end <= as_of]


def day_after(instant: datetime) -> datetime:
    return instant + timedelta(days=1)

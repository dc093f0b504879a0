"""Calendar math for limits: epoch-aligned windows, UTC days and billing months.

Billing months are half-open `[start, end)` and start at 00:00 UTC on the organisation's billing
day (1-28, so that every month has it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span `[start, end)` of UTC time."""

    start: datetime
    end: datetime

    @property
    def start_epoch(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_epoch(self) -> int:
        return int(self.end.timestamp())

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def window_reset(now_epoch: float, window_seconds: int) -> int:
    """When the fixed window holding `now_epoch` ends (X aligns windows to the epoch)."""
    return (int(now_epoch) // window_seconds + 1) * window_seconds


def utc_day(now_epoch: float) -> int:
    """The UTC day number (days since 1970-01-01) holding `now_epoch`."""
    return int(now_epoch) // DAY_SECONDS


def day_date(day_number: int) -> date:
    """The calendar date of a UTC day number."""
    return datetime.fromtimestamp(day_number * DAY_SECONDS, UTC).date()


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def _check_day(billing_day: int) -> None:
    if not 1 <= billing_day <= 28:
        raise ValueError(f"billing_day must be 1-28, not {billing_day}")


def billing_period(now: datetime, billing_day: int) -> Period:
    """The billing month holding `now` (UTC-aware) for an organisation billed on `billing_day`."""
    _check_day(billing_day)
    now = now.astimezone(UTC)
    year, month = now.year, now.month
    if now.day < billing_day:
        year, month = _shift_month(year, month, -1)
    start = datetime(year, month, billing_day, tzinfo=UTC)
    end_year, end_month = _shift_month(year, month, 1)
    return Period(start, datetime(end_year, end_month, billing_day, tzinfo=UTC))


def period_candidates(now_epoch: float, billing_day: int) -> tuple[Period, Period, Period]:
    """The billing months before, holding and after `now_epoch`.

    The Redis backend decides with Redis's clock, not this host's; it gets all three and picks the
    one holding Redis's time, so hosts whose clocks are off by up to a month still agree.
    """
    current = billing_period(datetime.fromtimestamp(now_epoch, UTC), billing_day)
    before = billing_period(current.start - timedelta(seconds=1), billing_day)
    after = billing_period(current.end, billing_day)
    return before, current, after

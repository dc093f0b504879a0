"""Billing months, UTC days and window alignment (pure functions, property-tested)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.limits.periods import (
    billing_period,
    day_date,
    period_candidates,
    utc_day,
    window_reset,
)

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
days = st.integers(min_value=1, max_value=28)


@given(moments, days)
def test_the_billing_month_holds_now_and_starts_on_the_billing_day(now: datetime, day: int) -> None:
    period = billing_period(now, day)
    assert now in period
    assert period.start.day == day == period.end.day
    assert period.start.time() == period.end.time() == datetime.min.time()
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    assert months == 1


@given(moments, days)
def test_candidates_are_three_consecutive_months(now: datetime, day: int) -> None:
    before, current, after = period_candidates(now.timestamp(), day)
    assert before.end == current.start and current.end == after.start
    assert now in current


@given(st.integers(min_value=0, max_value=2**40), st.integers(min_value=1, max_value=100_000))
def test_windows_are_aligned_to_the_epoch(now: int, seconds: int) -> None:
    reset = window_reset(now, seconds)
    assert reset % seconds == 0 and now < reset <= now + seconds
    # Every moment in the same window has the same reset.
    assert window_reset(reset - seconds, seconds) == reset == window_reset(reset - 1, seconds)


def test_the_cap_resets_at_midnight_utc_on_the_billing_day() -> None:
    just_before = datetime(2026, 3, 14, 23, 59, 59, tzinfo=UTC)
    period = billing_period(just_before, 15)
    assert (period.start, period.end) == (
        datetime(2026, 2, 15, tzinfo=UTC),
        datetime(2026, 3, 15, tzinfo=UTC),
    )
    assert billing_period(just_before + timedelta(seconds=1), 15).start == period.end
    # December rolls into January.
    assert billing_period(datetime(2026, 12, 20, tzinfo=UTC), 20).end == datetime(
        2027, 1, 20, tzinfo=UTC
    )


def test_bad_billing_days_are_refused() -> None:
    with pytest.raises(ValueError, match="1-28"):
        billing_period(datetime(2026, 1, 1, tzinfo=UTC), 29)


def test_utc_days() -> None:
    moment = datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC)
    assert day_date(utc_day(moment.timestamp())) == moment.date()
    assert utc_day(moment.timestamp() + 1) == utc_day(moment.timestamp()) + 1

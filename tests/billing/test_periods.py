from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.billing.periods import Period, ended_by, period_containing, periods_between
from tollhouse.errors import InvalidInput

LA = "America/Los_Angeles"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_billing_day_31_falls_on_each_months_last_day() -> None:
    ends = [p.end for p in periods_between(utc(2026, 1, 31), utc(2026, 5, 1), 31)]
    assert ends == [utc(2026, 2, 28), utc(2026, 3, 31), utc(2026, 4, 30), utc(2026, 5, 31)]
    leap = period_containing(utc(2028, 2, 10), 31)
    assert leap == Period(utc(2028, 1, 31), utc(2028, 2, 29))


def test_los_angeles_periods_start_at_local_midnight_across_dst() -> None:
    march = period_containing(utc(2026, 3, 15), 1, LA)
    assert march.start == utc(2026, 3, 1, 8)  # PST, UTC-8
    assert march.end == utc(2026, 4, 1, 7)  # PDT, UTC-7
    assert march.seconds == 31 * 86400 - 3600  # the DST week's 23-hour day
    # 07:30Z on March 1 is still February 28 in Los Angeles: February's invoice …
    feb = period_containing(utc(2026, 3, 1, 7, 30), 1, LA)
    assert feb.end == utc(2026, 3, 1, 8)
    # … while its dedupe day (limits) is the UTC day of March 1.
    assert utc(2026, 3, 1, 7, 30).date().isoformat() == "2026-03-01"


def test_los_angeles_billing_day_31() -> None:
    p = period_containing(utc(2026, 3, 5), 31, LA)
    assert p.start == utc(2026, 2, 28, 8)
    assert p.end == utc(2026, 3, 31, 7)


def test_ended_by_and_errors() -> None:
    done = ended_by(utc(2026, 1, 5), utc(2026, 4, 1), 1)
    assert [p.start.month for p in done] == [1, 2, 3]
    with pytest.raises(InvalidInput):
        period_containing(utc(2026, 1, 1), 32)
    with pytest.raises(InvalidInput):
        period_containing(utc(2026, 1, 1), 1, "Mars/Olympus")
    with pytest.raises(InvalidInput):
        period_containing(datetime(2026, 1, 1), 1)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)),
    st.integers(1, 31),
    st.sampled_from([None, LA, "Europe/Paris", "Asia/Tokyo", "Australia/Sydney"]),
)
def test_periods_tile_time(naive: datetime, day: int, tz: str | None) -> None:
    instant = naive.replace(tzinfo=UTC)
    p = period_containing(instant, day, tz)
    assert instant in p
    assert period_containing(p.end, day, tz).start == p.end
    assert period_containing(p.start - timedelta(microseconds=1), day, tz).end == p.start
    assert 27 * 86400 <= p.seconds <= 32 * 86400

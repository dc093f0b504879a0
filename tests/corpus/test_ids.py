"""Time bounds are id bounds: a post lies in [start, end) exactly when its id lies in the bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.corpus.ids import id_bounds, snowflake

moments = st.datetimes(
    min_value=datetime(2011, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000))


@given(created=moments, start=moments, span=st.integers(min_value=1, max_value=10**9))
def test_a_post_is_inside_the_time_window_exactly_when_inside_the_id_bounds(
    created: datetime, start: datetime, span: int
) -> None:
    end = start + timedelta(milliseconds=span)
    lowest, highest = id_bounds(start, end)
    post_id = snowflake(created, worker=5, sequence=7)
    assert (start <= created < end) == (lowest <= post_id < highest)


def test_since_and_until_ids_are_exclusive() -> None:
    assert id_bounds(None, None, since_id=10, until_id=20) == (11, 20)
    assert id_bounds(None, None) == (0, (1 << 63) - 1)

"""The sample stream's choice is deterministic and close to 1 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.corpus.ids import snowflake
from tollhouse.streams.sample import in_sample


@given(st.integers(0, 2**63 - 1))
def test_the_choice_depends_on_the_id_alone(post_id: int) -> None:
    assert in_sample(post_id) == in_sample(post_id)


def test_about_one_percent_of_realistic_ids_are_sampled() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Snowflakes with sequence 0 and few workers: the low bits barely vary.
    ids = [snowflake(start + timedelta(milliseconds=i), worker=i % 3) for i in range(100_000)]
    share = sum(map(in_sample, ids)) / len(ids)
    assert 0.008 < share < 0.012

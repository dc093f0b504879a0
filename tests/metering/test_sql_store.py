"""Storing usage events: exactly once, rollups equal a recount of raw events, sketch accuracy."""

from __future__ import annotations

import random
from datetime import UTC

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tests.metering.factories import DAY0, make_event, traffic
from tollhouse.metering import sketches
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.models import usage_events, usage_rollups, usage_rollups_daily
from tollhouse.metering.queries import usage
from tollhouse.metering.sql_store import record_events

_TOTALS = "SELECT COUNT(*), SUM(posts), SUM(new_posts), SUM(bytes) FROM usage_events"
_ROLLUP_TOTALS = "SELECT SUM(requests), SUM(posts), SUM(new_posts), SUM(bytes) FROM usage_rollups"


def _recount(
    engine: Engine,
) -> tuple[dict[tuple[object, ...], list[int]], dict[tuple[object, ...], list[int]]]:
    """Rollups as stored, and as recomputed from raw events."""
    with engine.connect() as conn:
        stored: dict[tuple[object, ...], list[int]] = {
            (r.org_id, r.hour.replace(tzinfo=None), r.app_id, r.endpoint, r.status_class): [
                r.requests,
                r.posts,
                r.new_posts,
                r.bytes,
                r.errors,
            ]
            for r in conn.execute(sa.select(usage_rollups))
        }
        recount: dict[tuple[object, ...], list[int]] = {}
        for e in conn.execute(sa.select(usage_events)):
            at = e.occurred_at.replace(tzinfo=None)
            key = (
                e.org_id or 0,
                at.replace(minute=0, second=0, microsecond=0),
                e.app_id or 0,
                e.endpoint,
                e.status // 100,
            )
            acc = recount.setdefault(key, [0, 0, 0, 0, 0])
            for i, v in enumerate((1, e.posts, e.new_posts, e.bytes, int(e.status >= 400))):
                acc[i] += v
    return stored, recount


def _daily(
    engine: Engine,
) -> tuple[dict[tuple[object, ...], list[int]], dict[tuple[object, ...], list[int]]]:
    """Daily rollups as stored, and the hourly ones as stored summed per day."""
    with engine.connect() as conn:
        stored: dict[tuple[object, ...], list[int]] = {
            (r.org_id, r.day, r.app_id, r.endpoint, r.status_class): [
                r.requests,
                r.posts,
                r.new_posts,
                r.bytes,
                r.errors,
            ]
            for r in conn.execute(sa.select(usage_rollups_daily))
        }
        summed: dict[tuple[object, ...], list[int]] = {}
        for r in conn.execute(sa.select(usage_rollups)):
            day = r.hour.astimezone(UTC).date() if r.hour.tzinfo else r.hour.date()
            acc = summed.setdefault((r.org_id, day, r.app_id, r.endpoint, r.status_class), [0] * 5)
            for i, v in enumerate((r.requests, r.posts, r.new_posts, r.bytes, r.errors)):
                acc[i] += v
    return stored, summed


def test_storing_the_same_events_twice_counts_them_once(engine: Engine) -> None:
    events = traffic(random.Random(7), 400)
    assert record_events(engine, events) == 400
    with engine.connect() as conn:
        first = conn.execute(sa.text(_TOTALS)).one(), conn.execute(sa.text(_ROLLUP_TOTALS)).one()
    # A replay of the whole batch, then of an overlapping batch with some new events.
    assert record_events(engine, events) == 0
    more = traffic(random.Random(8), 50)
    assert record_events(engine, events[200:] + more) == 50
    with engine.connect() as conn:
        totals = conn.execute(sa.text(_TOTALS)).one()
        rollup_totals = conn.execute(sa.text(_ROLLUP_TOTALS)).one()
    assert first[0][0] == 400
    assert tuple(first[0]) == tuple(first[1])
    assert totals[0] == 450
    assert tuple(totals) == tuple(rollup_totals)
    assert totals[1] == sum(e.posts for e in events + more)


def test_refused_requests_are_recorded_without_licensee(engine: Engine) -> None:
    rng = random.Random(1)
    record_events(engine, [make_event(rng, org_id=None, app_id=None, status=401)])
    with engine.connect() as conn:
        row = conn.execute(sa.select(usage_events)).one()
        rollup = conn.execute(sa.select(usage_rollups)).one()
    assert (row.org_id, row.app_id, row.key_id, row.status) == (None, None, None, 401)
    assert (rollup.org_id, rollup.app_id, rollup.status_class, rollup.errors) == (0, 0, 4, 1)


_event_streams = st.lists(
    st.tuples(
        st.integers(1, 3),  # org
        st.integers(0, 47),  # hour offset
        st.sampled_from((200, 200, 206, 401, 403, 429, 500)),
        st.integers(0, 4),  # posts
        st.booleans(),  # replay it in a later batch too
    ),
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(stream=_event_streams, batch_size=st.integers(1, 25))
def test_rollups_equal_a_recount_of_raw_events(
    engine: Engine, stream: list[tuple[int, int, int, int, bool]], batch_size: int
) -> None:
    from datetime import timedelta

    rng = random.Random(len(stream))
    events: list[UsageEvent] = []
    replays: list[UsageEvent] = []
    for org, hour, status, posts, replay in stream:
        known = status != 401
        e = make_event(
            rng,
            org_id=org if known else None,
            app_id=org * 10 + hour % 2 if known else None,
            at=DAY0 + timedelta(hours=hour, seconds=rng.randrange(3600)),
            status=status,
            post_ids=tuple(range(posts)),
        )
        events.append(e)
        if replay:
            replays.append(e)
    stream_with_replays = events + replays
    for i in range(0, len(stream_with_replays), batch_size):
        record_events(engine, stream_with_replays[i : i + batch_size])
    stored, recount = _recount(engine)
    assert stored == recount
    daily, summed = _daily(engine)
    assert daily == summed


def test_distinct_posts_estimate_is_within_its_stated_error(engine: Engine) -> None:
    """A day of traffic with heavy repetition: 3,000 requests of 50 posts drawn from a skewed
    pool, so most posts are delivered many times."""
    rng = random.Random(2026)
    pool = 60_000
    events: list[UsageEvent] = []
    exact: set[int] = set()
    for i in range(3000):
        ids = tuple(int(pool * rng.random() ** 3) + 1 for _ in range(50))
        exact.update(ids)
        events.append(make_event(rng, app_id=10 + i % 2, at=DAY0, post_ids=ids))
    for i in range(0, len(events), 500):
        record_events(engine, events[i : i + 500])
    # Replaying must not change the estimate either.
    record_events(engine, events[:500])
    with engine.connect() as conn:
        report = usage(conn, 1, DAY0.date(), DAY0.date().replace(day=2), by="app")
    d = report.total.distinct_posts
    assert d is not None
    assert report.total.posts == 150_000
    assert d.lower <= len(exact) <= d.upper
    assert abs(d.estimate - len(exact)) <= sketches.RELATIVE_ERROR_2SD * len(exact)
    # The per-app unions are estimates of per-app distinct counts.
    per_app = {app: {p for e in events if e.app_id == app for p in e.post_ids} for app in (10, 11)}
    for row in report.rows:
        assert row.distinct_posts is not None
        exact_app = len(per_app[int(row.key)])
        assert row.distinct_posts.lower <= exact_app <= row.distinct_posts.upper

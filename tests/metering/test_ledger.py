"""The delivery ledger: exact distinct posts and users, equal to a brute-force set over traffic
with heavy repetition, stored once however often a batch is replayed."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import date, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tests.metering.factories import DAY0, make_event
from tollhouse.metering import ledger, ledger_queries
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ledger import LedgerKind
from tollhouse.metering.queries import usage
from tollhouse.metering.sql_store import record_events

BASE_ID = 1_800_000_000_000_000_000
_ORGS = itertools.count(1000)


def _traffic(rng: random.Random, n: int) -> list[UsageEvent]:
    events = []
    pool = [BASE_ID + rng.randrange(1 << 40) for _ in range(300)]  # few ids: heavy repetition
    for _ in range(n):
        at = DAY0 + timedelta(seconds=rng.randrange(3 * 86400))
        event = make_event(
            rng,
            org_id=rng.choice((1, 2)),
            app_id=rng.choice((10, 11)),
            at=at,
            post_ids=tuple(rng.choice(pool) for _ in range(rng.randrange(0, 20))),
        )
        events.append(replace(event, user_ids=tuple(rng.randrange(1, 50) for _ in range(3))))
    return events


def _brute(
    events: list[UsageEvent], org: int, start: date, end: date, apps: set[int] | None
) -> tuple[int, int]:
    posts: set[int] = set()
    users: set[int] = set()
    for e in events:
        if e.org_id != org or not (start <= e.occurred_at.date() < end):
            continue
        if apps is not None and e.app_id not in apps:
            continue
        posts.update(e.post_ids)
        users.update(e.user_ids)
    return len(posts), len(users)


def test_exact_distinct_equals_brute_force(engine: Engine, usage_engine: Engine) -> None:
    rng = random.Random(7)
    events = _traffic(rng, 600)
    for i in range(0, len(events), 50):
        record_events(usage_engine, events[i : i + 50])
    record_events(usage_engine, events[100:300])  # a replayed spool: nothing changes
    day0 = DAY0.date()
    with usage_engine.connect() as conn:
        for org in (1, 2):
            for start, end in (
                (day0, day0 + timedelta(days=3)),
                (day0 + timedelta(days=1), day0 + timedelta(days=2)),
            ):
                for apps in (None, {10}, {11}, {10, 11}):
                    got = ledger_queries.distinct(
                        conn, org, start, end, None if apps is None else sorted(apps)
                    )
                    assert (got.posts, got.users) == _brute(events, org, start, end, apps)
        with engine.connect() as corpus:
            report = usage(conn, 1, day0, day0 + timedelta(days=3), corpus=corpus)
    assert report.exact is not None
    assert (report.exact.posts, report.exact.users) == _brute(
        events, 1, day0, day0 + timedelta(days=3), None
    )
    assert report.as_dict()["distinct_posts_exact"] == report.exact.posts


def test_first_last_and_recipients(usage_engine: Engine) -> None:
    rng = random.Random(1)
    post = BASE_ID + 5
    e1 = make_event(rng, org_id=1, app_id=10, at=DAY0, post_ids=(post,))
    e2 = make_event(rng, org_id=1, app_id=11, at=DAY0 + timedelta(days=2), post_ids=(post,))
    e3 = make_event(
        rng, org_id=2, app_id=20, at=DAY0 + timedelta(days=1), post_ids=(post, post + 1)
    )
    record_events(usage_engine, [e1, e2, e3])
    with usage_engine.connect() as conn:
        first = ledger_queries.first_and_last(conn, 1, post)
        assert first is not None
        assert (first.first_day, first.last_day, first.app_ids) == (
            DAY0.date(),
            DAY0.date() + timedelta(days=2),
            (10, 11),
        )
        assert [r.org_id for r in ledger_queries.recipients(conn, post)] == [1, 2]
        assert [r.org_id for r in ledger_queries.recipients(conn, post + 1)] == [2]
        assert ledger_queries.first_and_last(conn, 1, post + 1) is None


def test_chunks_past_the_limit_still_union(usage_engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ledger, "CHUNK_BYTES", 64)
    rng = random.Random(3)
    ids = [BASE_ID + rng.randrange(1 << 44) for _ in range(400)]
    for i in range(0, 400, 40):
        record_events(usage_engine, [make_event(rng, post_ids=tuple(ids[i : i + 40] + ids[:5]))])
    with usage_engine.connect() as conn:
        got = ledger_queries.delivered(conn, 1, LedgerKind.POSTS)
    assert sorted(got) == sorted(set(ids))


def test_old_spool_records_without_user_ids_still_read() -> None:
    event = make_event(random.Random(0), post_ids=(1, 2))
    old = event.to_wire()[:16]
    back = UsageEvent.from_wire(orjson.loads(orjson.dumps(old)))
    assert back == event and back.user_ids == ()
    full = replace(
        event, user_ids=(5,), refused_ids=(7, 8), query_string="query=a", stream_rules=("b",)
    )
    assert UsageEvent.from_wire(orjson.loads(orjson.dumps(full.to_wire()))) == full
    with pytest.raises(ValueError):
        UsageEvent.from_wire(full.to_wire()[:17])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(st.integers(0, 1 << 63), max_size=30), min_size=1, max_size=12))
def test_ledger_ids_are_exact_for_any_64_bit_ids(
    sqlite_engine: Engine, batches: list[list[int]]
) -> None:
    org = next(_ORGS)  # one organisation per example: the database is shared by all of them
    rng = random.Random(org)
    for n, batch in enumerate(batches):
        # A time of its own per event: request ids are UUIDv7 of it, random bits seeded alike.
        at = DAY0 + timedelta(seconds=org * 100 + n)
        record_events(sqlite_engine, [make_event(rng, org_id=org, at=at, post_ids=tuple(batch))])
    with sqlite_engine.connect() as conn:
        got = ledger_queries.delivered(conn, org, LedgerKind.POSTS)
    assert set(got) == {i for b in batches for i in b}

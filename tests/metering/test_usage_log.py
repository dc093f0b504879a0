"""The usage log: indices assigned in the store's transaction, once per request id."""

from __future__ import annotations

import random

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.metering.factories import make_event, traffic
from tollhouse.metering.models import usage_log
from tollhouse.metering.sql_store import record_events
from tollhouse.metering.usage_log import append_leaf, log_size
from tollhouse_verify import leaf as leaves
from tollhouse_verify.leaf import UsageLeaf, ids_digest


def _log(engine: Engine, org_id: int) -> list[tuple[int, str, bytes]]:
    t = usage_log.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.idx, t.request_id, t.leaf).where(t.org_id == org_id).order_by(t.idx)
        )
        return [(int(r.idx), str(r.request_id), bytes(r.leaf)) for r in rows]


def test_each_event_of_an_org_gets_the_next_index_once(usage_engine: Engine) -> None:
    rng = random.Random(3)
    events = traffic(rng, 300, orgs=3)
    half = len(events) // 2
    record_events(usage_engine, events[:half])
    # A replayed spool: the first half again, with the rest.
    record_events(usage_engine, events)
    record_events(usage_engine, events[half:])
    for org in (1, 2, 3):
        own = [e for e in events if e.org_id == org]
        log = _log(usage_engine, org)
        assert [i for i, _, _ in log] == list(range(len(own)))
        assert sorted(rid for _, rid, _ in log) == sorted(e.request_id for e in own)
        with usage_engine.connect() as conn:
            assert log_size(conn, org) == len(own)
    # Refused before the key was known (401): in no organisation's log.
    with usage_engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(usage_log)).scalar_one()
    assert total == sum(1 for e in events if e.org_id is not None)


def test_the_leaf_states_the_event(engine: Engine, usage_engine: Engine) -> None:
    rng = random.Random(4)
    event = make_event(rng, org_id=5, app_id=9, post_ids=(30, 10, 20), end_user="Agence A")
    record_events(usage_engine, [event], directory=engine)
    [(idx, rid, data)] = _log(usage_engine, 5)
    parsed = leaves.parse(data)
    assert isinstance(parsed, UsageLeaf)
    assert (idx, rid) == (0, event.request_id)
    assert parsed.rid == event.request_id
    assert parsed.time_ms == event.occurred_us // 1000
    assert (parsed.org, parsed.app, parsed.key) == (5, 9, "k9")
    assert (parsed.method, parsed.route, parsed.status, parsed.bill) == (
        "GET",
        event.endpoint,
        200,
        True,
    )
    assert (parsed.posts, parsed.new, parsed.size_bytes) == (3, 1, event.bytes)
    assert parsed.ids == ids_digest([10, 20, 30])
    assert parsed.user == "Agence A"
    refused = make_event(rng, org_id=5, app_id=9, status=429)
    record_events(usage_engine, [refused])
    last = leaves.parse(_log(usage_engine, 5)[-1][2])
    assert isinstance(last, UsageLeaf) and not last.bill and last.ids is None


def test_other_leaves_share_the_sequence_and_are_added_once(usage_engine: Engine) -> None:
    rng = random.Random(5)
    record_events(usage_engine, [make_event(rng, org_id=6) for _ in range(3)])
    with usage_engine.begin() as conn:
        assert append_leaf(conn, 6, "close:2026-03-01", b"x\n") == 3
        assert append_leaf(conn, 6, "close:2026-03-01", b"x\n") is None
        assert append_leaf(conn, 8, "close:2026-03-01", b"y\n") == 0
    record_events(usage_engine, [make_event(rng, org_id=6)])
    assert [i for i, _, _ in _log(usage_engine, 6)] == [0, 1, 2, 3, 4]

"""What compliance's rules need on a usage event: client network, search query string, stream
rules in force and the delivered post ids, stored; and spool records written before these
fields existed still read."""

from __future__ import annotations

import dataclasses
import random
import struct
import zlib

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.metering.factories import make_event
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.models import usage_events
from tollhouse.metering.network import client_network, pack_post_ids, unpack_post_ids
from tollhouse.metering.spool import _decode_records, encode
from tollhouse.metering.sql_store import record_events


def test_a_spool_record_from_before_the_new_fields_still_reads() -> None:
    event = make_event(random.Random(1), post_ids=(5, 6))
    old_row = event.to_wire()[:16]  # the 16-field form older servers spooled
    payload = orjson.dumps([old_row])
    framed = struct.pack("<II", len(payload), zlib.crc32(payload)) + payload
    events, records, _ = _decode_records(framed)
    assert records == 1
    assert events == [event]
    assert events[0].query_string is None and events[0].stream_rules == ()


def test_the_new_fields_round_trip_through_the_spool() -> None:
    event = dataclasses.replace(
        make_event(random.Random(2)),
        query_string="query=lang%3Aen&start_time=2026-01-01T00%3A00%3A00Z",
        stream_rules=("from:alice", "protest"),
    )
    events, _, _ = _decode_records(encode([event]))
    assert events == [event]


def test_client_network_is_the_24_or_48_prefix() -> None:
    assert client_network("203.0.113.77") == "203.0.113.0/24"
    assert client_network("2001:db8:1:2::1") == "2001:db8:1::/48"
    assert client_network("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert client_network("not an address") is None
    assert client_network(None) is None


def test_post_ids_pack_and_unpack() -> None:
    ids = (1, 2**62 + 7, 1_600_000_000_000_000_000)
    assert unpack_post_ids(pack_post_ids(ids)) == list(ids)
    assert pack_post_ids(()) is None


def test_the_store_keeps_what_compliance_reads(usage_engine: Engine) -> None:
    event: UsageEvent = dataclasses.replace(
        make_event(random.Random(3), post_ids=(11, 12, 13)),
        client_ip="198.51.100.20",
        query_string="query=coffee",
        stream_rules=("coffee",),
    )
    refused = dataclasses.replace(
        make_event(random.Random(4), org_id=None, app_id=None), client_ip=None
    )
    assert record_events(usage_engine, [event, refused]) == 2
    t = usage_events.c
    with usage_engine.connect() as conn:
        rows = {
            r.request_id: r
            for r in conn.execute(
                sa.select(
                    t.request_id, t.client_network, t.query_string, t.stream_rules, t.post_ids
                )
            )
        }
    kept = rows[event.request_id]
    assert kept.client_network == "198.51.100.0/24"
    assert kept.query_string == "query=coffee"
    assert kept.stream_rules == ["coffee"]
    assert unpack_post_ids(kept.post_ids) == [11, 12, 13]
    other = rows[refused.request_id]
    assert other.client_network is None and other.stream_rules is None and other.post_ids is None

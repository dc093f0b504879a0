"""Filtered and sample streams against a real server, with tweepy and twarc unchanged but for the
transport adapter that points them at it; posts are ingested through POST /admin/v1/posts while
the clients are connected."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import tweepy
from sqlalchemy import select
from sqlalchemy.engine import Engine
from twarc import Twarc2

from tests.conftest import LiveServer
from tests.streams.support import (
    ADMIN,
    LineReader,
    bearer,
    ingest,
    licensee,
    point_at,
    post_json,
    streaming_plan,
    user_json,
)
from tollhouse.access.service import AccessService
from tollhouse.corpus.models import posts
from tollhouse.db import create_engine, usage_database_url
from tollhouse.metering.models import usage_events
from tollhouse.migrations.runner import upgrade
from tollhouse.streams.sample import in_sample

FAST = {"stream_keepalive_seconds": "0.3", "metering_mode": "off"}


@pytest.fixture
def db_url(sqlite_engine: Engine) -> str:
    return str(sqlite_engine.url)


@dataclass
class Shared:
    server: LiveServer
    engine: Engine


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """One server for the tests that need no special settings (each test onboards its own org)."""
    path = tmp_path_factory.mktemp("streams") / "tollhouse.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env.update({f"TOLLHOUSE_{k.upper()}": v for k, v in FAST.items()})
    env["TOLLHOUSE_DATABASE_URL"] = str(engine.url)
    server = LiveServer(env).start()
    yield Shared(server, engine)
    server.stop()
    engine.dispose()


@pytest.fixture
def server(shared: Shared) -> LiveServer:
    return shared.server


@pytest.fixture
def org_engine(shared: Shared) -> Engine:
    return shared.engine


def org() -> str:
    return f"org-{uuid.uuid4().hex[:8]}"


ALICE, BOB = user_json(101, "alice"), user_json(102, "bob")


class Collector(tweepy.StreamingClient):  # type: ignore[misc]  # tweepy ships no types
    """A StreamingClient that queues what it receives."""

    def __init__(self, token: str, base_url: str) -> None:
        super().__init__(token, wait_on_rate_limit=False)
        point_at(self.session, base_url)
        self.received: queue.Queue[tweepy.StreamResponse] = queue.Queue()
        self.connected = threading.Event()

    def on_connect(self) -> None:
        self.connected.set()

    def on_response(self, response: tweepy.StreamResponse) -> None:
        self.received.put(response)


def test_tweepy_streaming_client_gets_exactly_the_matching_posts_with_their_rules(
    server: LiveServer, org_engine: Engine
) -> None:
    (token,) = licensee(org_engine, org(), "pro", ["collector"])
    client = Collector(token, server.base_url)
    added = client.add_rules(
        [tweepy.StreamRule("cat", tag="cats"), tweepy.StreamRule("from:alice")]
    )
    assert added.meta["summary"]["created"] == 2
    rule_id = {rule.tag or rule.value: rule.id for rule in added.data}
    assert {r.value for r in client.get_rules().data} == {"cat", "from:alice"}

    client.filter(threaded=True, expansions="author_id", tweet_fields="created_at,lang")
    try:
        got, batch = _receive_three(client, server)
    finally:
        client.disconnect()
    assert [r.data.id for r in got] == [int(batch[i]["id"]) for i in (0, 1, 3)]
    assert [sorted(str(m.id) for m in r.matching_rules) for r in got] == [
        [rule_id["cats"]],
        [rule_id["from:alice"]],
        sorted([rule_id["cats"], rule_id["from:alice"]]),
    ]
    assert got[0].matching_rules[0].tag == "cats"
    assert [r.includes["users"][0].username for r in got] == ["bob", "alice", "alice"]
    assert got[0].data.lang == "en" and got[0].data.created_at is not None
    assert client.received.empty()


def _receive_three(
    client: Collector, server: LiveServer
) -> tuple[list[tweepy.StreamResponse], list[dict[str, Any]]]:
    assert client.connected.wait(10)
    batch = [
        post_json("a cat sat", 102),
        post_json("dogs only", 101),
        post_json("nothing here", 102),
        post_json("my cat", 101),
    ]
    assert ingest(server.base_url, batch, [ALICE, BOB])["published"] == 4
    return [client.received.get(timeout=15) for _ in range(3)], batch


def test_twarc2_stream_receives_posts_ingested_while_connected(
    server: LiveServer, org_engine: Engine
) -> None:
    (token,) = licensee(org_engine, org(), "pro", ["archiver"])
    twarc = Twarc2(bearer_token=token)
    twarc.connect()
    point_at(twarc.client, server.base_url)
    created = twarc.add_stream_rules([{"value": "#storm OR rain", "tag": "weather"}])
    assert created["meta"]["summary"] == {"created": 1, "not_created": 0, "valid": 1, "invalid": 0}
    stop = threading.Event()
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def consume() -> None:
        for item in twarc.stream(event=stop):
            received.put(item)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    wanted = [
        post_json("heavy rain today", 101),
        post_json(
            "a #storm is coming",
            102,
            entities={"hashtags": [{"start": 2, "end": 8, "tag": "storm"}]},
        ),
    ]
    # twarc connects on its own thread; keep ingesting until its connection holds the rules.
    ingest(server.base_url, [post_json("sunny", 101)], [ALICE, BOB])
    first = None
    for _ in range(50):
        probe = post_json("rain check", 101)
        ingest(server.base_url, [probe])
        try:
            first = received.get(timeout=0.3)
            break
        except queue.Empty:
            continue
    assert first is not None and first["matching_rules"][0]["tag"] == "weather"
    while not received.empty():
        received.get()
    ingest(server.base_url, wanted)
    got = [received.get(timeout=15) for _ in range(2)]
    stop.set()
    reader.join(10)
    assert [g["data"]["id"] for g in got] == [w["id"] for w in wanted]
    # twarc asks for every expansion by default: the author comes from the store.
    assert got[1]["includes"]["users"][0]["username"] == "bob"
    assert twarc.delete_stream_rule_ids([created["data"][0]["id"]])["meta"]["summary"] == {
        "deleted": 1,
        "not_deleted": 0,
    }


def test_second_connection_of_an_app_gets_connection_exception_429(
    server: LiveServer, org_engine: Engine
) -> None:
    token, other = licensee(org_engine, org(), "pro", ["one", "two"])
    first = LineReader(server.base_url, "/2/tweets/search/stream", token)
    assert first.status == 200
    second = httpx.get(f"{server.base_url}/2/tweets/search/stream", headers=bearer(token))
    assert second.status_code == 429
    assert second.json()["title"] == "ConnectionException"
    assert second.json()["connection_issue"] == "TooManyConnections"
    # Another app of the same organisation has its own connection.
    other_reader = LineReader(server.base_url, "/2/tweets/search/stream", other)
    assert other_reader.status == 200
    first.close()
    other_reader.close()
    # Once the first connection is gone the app may connect again.
    for _ in range(50):
        again = LineReader(server.base_url, "/2/tweets/search/stream", token)
        if again.status == 200:
            break
        again.close()
    assert again.status == 200
    again.close()


def test_streams_only_on_plans_that_include_them(server: LiveServer, org_engine: Engine) -> None:
    (basic,) = licensee(org_engine, org(), "basic", ["app"])
    (pro,) = licensee(org_engine, org(), "pro", ["app2"])
    for path in ("/2/tweets/search/stream", "/2/tweets/search/stream/rules"):
        refused = httpx.get(server.base_url + path, headers=bearer(basic))
        assert refused.status_code == 403
        assert refused.json()["reason"] == "client-not-enrolled"
    # Pro has the filtered stream but not the sample stream.
    refused = httpx.get(server.base_url + "/2/tweets/sample/stream", headers=bearer(pro))
    assert refused.status_code == 403


def test_sample_stream_delivers_the_deterministic_one_percent(
    server: LiveServer, org_engine: Engine
) -> None:
    (token,) = licensee(org_engine, org(), "enterprise", ["sampler"])
    reader = LineReader(server.base_url, "/2/tweets/sample/stream", token)
    # Ids are fresh snowflakes, so how many fall in the 1 % varies: draw posts until three do
    # (about 300 posts; bounded), so the test never depends on luck.
    batch: list[dict[str, Any]] = []
    while sum(in_sample(int(p["id"])) for p in batch) < 3 and len(batch) < 20_000:
        batch.append(post_json(f"post number {len(batch)}", 101))
    expected = [p["id"] for p in batch if in_sample(int(p["id"]))]
    assert len(expected) == 3 and len(batch) > len(expected)
    ingest(server.base_url, batch, [ALICE])
    got = reader.take(len(expected))
    reader.close()
    assert [g["data"]["id"] for g in got] == expected
    assert all("matching_rules" not in g for g in got)
    assert list(reader.drain()) == []


def test_keep_alives_flow_while_no_post_matches(server: LiveServer, org_engine: Engine) -> None:
    (token,) = licensee(org_engine, org(), "pro", ["quiet"])
    httpx.post(
        f"{server.base_url}/2/tweets/search/stream/rules",
        json={"add": [{"value": "zebra"}]},
        headers=bearer(token),
    )
    reader = LineReader(server.base_url, "/2/tweets/search/stream", token)
    ingest(server.base_url, [post_json("no stripes", 101)], [ALICE])
    while reader.keepalives < 3:
        assert not reader.ended.wait(0.2)
    reader.close()
    assert list(reader.drain()) == []


def test_admin_ingest_needs_the_operator_token_and_records_deletions(
    server: LiveServer, org_engine: Engine
) -> None:
    (token,) = licensee(org_engine, org(), "pro", ["app"])
    post = post_json("to be deleted", 101)
    refused = httpx.post(
        f"{server.base_url}/admin/v1/posts", json={"data": [post]}, headers=bearer(token)
    )
    assert refused.status_code == 401
    bad = httpx.post(
        f"{server.base_url}/admin/v1/posts", json={"data": [{"text": "no id"}]}, headers=ADMIN
    )
    assert bad.status_code == 400 and "errors" in bad.json()
    assert ingest(server.base_url, [post], [ALICE]) == {
        "published": 1,
        "already_stored": 0,
        "deleted": 0,
    }
    assert ingest(server.base_url, [post])["already_stored"] == 1
    assert ingest(server.base_url, deletions=[post["id"]])["deleted"] == 1
    with org_engine.connect() as conn:
        row = conn.execute(
            select(posts.c.state, posts.c.state_changed_at).where(posts.c.id == int(post["id"]))
        ).one()
    assert row.state == "deleted" and row.state_changed_at is not None
    assert ingest(server.base_url, deletions=[post["id"]])["deleted"] == 0


def _raw_stream(base_url: str, token: str) -> socket.socket:
    """A connection that sends the request and then reads nothing (a stalled consumer)."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(
        f"GET /2/tweets/search/stream HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode()
    )
    return sock


def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    chunks = []
    while chunk := sock.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _lines(raw: bytes) -> Iterator[dict[str, Any]]:
    _headers, _, body = raw.partition(b"\r\n\r\n")
    for piece in body.split(b"\r\n"):
        piece = piece.strip()
        if piece.startswith(b"{"):
            yield orjson.loads(piece)


def test_slow_consumer_is_disconnected_while_a_fast_one_gets_everything(
    live_server: Callable[..., LiveServer], db_url: str, sqlite_engine: Engine
) -> None:
    server = live_server(database_url=db_url, stream_buffer_posts="60", **FAST)
    slow_token, fast_token = licensee(sqlite_engine, "acme", "pro", ["slow", "fast"])
    for token in (slow_token, fast_token):
        response = httpx.post(
            f"{server.base_url}/2/tweets/search/stream/rules",
            json={"add": [{"value": "cat"}]},
            headers=bearer(token),
        )
        assert response.status_code == 200
    fast = LineReader(server.base_url, "/2/tweets/search/stream", fast_token)
    slow = _raw_stream(server.base_url, slow_token)
    padding = " ".join(["cat"] + ["whiskers"] * 500)  # ~4.5 kB per post
    total = 0
    # A batch is published at once, so the bound (60) is above the batch size (50); the stalled
    # reader's socket buffers fill after a few hundred posts, then its buffer overflows.
    for _ in range(30):
        batch = [post_json(padding, 101) for _ in range(50)]
        ingest(server.base_url, batch, [ALICE])
        total += len(batch)
        got = fast.take(len(batch))
        assert all(g["data"]["text"] == padding for g in got)
    fast.close()
    lines = list(_lines(_read_all(slow)))
    slow.close()
    errors = [line["errors"][0] for line in lines if "errors" in line]
    delivered = [line for line in lines if "data" in line]
    assert errors and errors[-1]["disconnect_type"] == "OperationalDisconnect"
    assert len(delivered) < total


def test_rules_of_one_process_reach_clients_of_another_through_redis(
    live_server: Callable[..., LiveServer],
    db_url: str,
    sqlite_engine: Engine,
    redis_url: str,
    redis_prefix: str,
) -> None:
    bus = f"{redis_url}?prefix={redis_prefix}"
    one = live_server(database_url=db_url, bus_url=bus, **FAST)
    two = live_server(database_url=db_url, bus_url=bus, **FAST)
    red, blue = licensee(sqlite_engine, "acme", "pro", ["red", "blue"])
    for token, value in ((red, "apple"), (blue, "berry")):
        response = httpx.post(
            f"{one.base_url}/2/tweets/search/stream/rules",
            json={"add": [{"value": value}]},
            headers=bearer(token),
        )
        assert response.status_code == 200
    red_reader = LineReader(one.base_url, "/2/tweets/search/stream", red)
    blue_reader = LineReader(two.base_url, "/2/tweets/search/stream", blue)
    # One connection per app across processes: red is connected on `one`.
    refused = httpx.get(f"{two.base_url}/2/tweets/search/stream", headers=bearer(red))
    assert refused.status_code == 429
    batch = [
        post_json("apple pie", 101),
        post_json("berry jam", 101),
        post_json("apple and berry", 101),
        post_json("plain bread", 101),
    ]
    half = len(batch) // 2
    ingest(one.base_url, batch[:half], [ALICE])
    ingest(two.base_url, batch[half:])
    red_got = red_reader.take(2)
    blue_got = blue_reader.take(2)
    red_reader.close()
    blue_reader.close()
    assert [g["data"]["id"] for g in red_got] == [batch[0]["id"], batch[2]["id"]]
    assert [g["data"]["id"] for g in blue_got] == [batch[1]["id"], batch[2]["id"]]
    assert list(red_reader.drain()) == [] and list(blue_reader.drain()) == []


def test_rule_limits_come_from_the_plan(server: LiveServer, org_engine: Engine) -> None:
    service = AccessService(org_engine)
    streaming_plan(service, "tiny", max_rules=2, max_length=20)
    (token,) = licensee(org_engine, org(), "tiny", ["app"])
    url = f"{server.base_url}/2/tweets/search/stream/rules"
    too_long = httpx.post(url, json={"add": [{"value": "a" * 21}]}, headers=bearer(token))
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["title"] == "UnprocessableEntity"
    ok = httpx.post(url, json={"add": [{"value": "one"}, {"value": "two"}]}, headers=bearer(token))
    assert ok.status_code == 200
    capped = httpx.post(url, json={"add": [{"value": "three"}]}, headers=bearer(token))
    assert capped.status_code == 400
    assert capped.json()["title"] == "RulesCapExceeded"


def test_metering_totals_equal_posts_received_and_the_cap_ends_the_stream(
    live_server: Callable[..., LiveServer], db_url: str, sqlite_engine: Engine, tmp_path: Path
) -> None:
    server = live_server(
        database_url=db_url,
        stream_keepalive_seconds="0.2",
        stream_usage_interval_seconds="0.2",
        metering_mode="fast",
        spool_dir=str(tmp_path / "spool"),
    )
    streaming_plan(AccessService(sqlite_engine), "capped", monthly_post_cap=8)
    (token,) = licensee(sqlite_engine, "acme", "capped", ["reader"])
    response = httpx.post(
        f"{server.base_url}/2/tweets/search/stream/rules",
        json={"add": [{"value": "cat"}]},
        headers=bearer(token),
    )
    assert response.status_code == 200
    reader = LineReader(server.base_url, "/2/tweets/search/stream", token)
    first = [post_json(f"cat {i}", 101) for i in range(5)]
    ingest(server.base_url, first, [ALICE])
    got = reader.take(5)
    second = [post_json(f"cat again {i}", 101) for i in range(4)]
    ingest(server.base_url, second)
    got += reader.take(5)
    # The batch that reached the cap (8) is delivered, then the stream ends with X's error.
    assert [g["data"]["id"] for g in got[:9]] == [p["id"] for p in first + second]
    assert got[9]["errors"][0]["title"] == "UsageCapExceeded"
    assert reader.ended.wait(10)
    reader.close()
    received = 9
    # Usage events: one per connection per interval with posts, summing to what was received.
    # (In the usage file the server stores into, beside the corpus's.)
    usage = create_engine(usage_database_url(db_url))
    with usage.connect() as conn:
        for _ in range(100):
            rows = conn.execute(
                select(usage_events.c.posts).where(
                    usage_events.c.endpoint == "/2/tweets/search/stream",
                    usage_events.c.posts > 0,
                )
            ).all()
            if sum(r.posts for r in rows) >= received:
                break
            time.sleep(0.1)
    assert sum(r.posts for r in rows) == received
    assert len(rows) <= 3  # per interval, not per post
    usage.dispose()
    # A new connection is refused while the cap is used up.
    refused = httpx.get(f"{server.base_url}/2/tweets/search/stream", headers=bearer(token))
    assert refused.status_code == 429 and refused.json()["title"] == "UsageCapExceeded"


def test_rules_requests_answer_like_x(server: LiveServer, org_engine: Engine) -> None:
    (token,) = licensee(org_engine, org(), "pro", ["rules"])
    url = f"{server.base_url}/2/tweets/search/stream/rules"
    auth = bearer(token)
    assert httpx.get(url, headers=auth).json()["meta"]["result_count"] == 0
    dry = httpx.post(url, params={"dry_run": "true"}, json={"add": [{"value": "x"}]}, headers=auth)
    assert dry.status_code == 200 and dry.json()["meta"]["summary"]["created"] == 1
    assert httpx.get(url, headers=auth).json()["meta"]["result_count"] == 0
    made = httpx.post(
        url, json={"add": [{"value": "cat", "tag": "pets"}, {"value": "dog"}]}, headers=auth
    ).json()
    ids = {r["value"]: r["id"] for r in made["data"]}
    duplicate = httpx.post(url, json={"add": [{"value": "cat"}, {"value": "bird"}]}, headers=auth)
    assert duplicate.status_code == 200
    body = duplicate.json()
    assert body["meta"]["summary"] == {"created": 1, "not_created": 1, "valid": 1, "invalid": 1}
    assert body["errors"] == [
        {
            "value": "cat",
            "id": ids["cat"],
            "title": "DuplicateRule",
            "type": "https://api.twitter.com/2/problems/duplicate-rules",
        }
    ]
    invalid = httpx.post(url, json={"add": [{"value": "(cat"}, {"value": "ok"}]}, headers=auth)
    assert invalid.status_code == 400
    assert invalid.json()["meta"]["summary"]["created"] == 0
    assert invalid.json()["errors"][0]["type"].endswith("/invalid-rules")
    listed = httpx.get(url, params={"ids": ids["cat"]}, headers=auth).json()
    assert listed["data"] == [{"id": ids["cat"], "value": "cat", "tag": "pets"}]
    dry_delete = httpx.post(
        url, params={"dry_run": "true"}, json={"delete": {"ids": [ids["cat"]]}}, headers=auth
    )
    assert dry_delete.json()["meta"]["summary"] == {"deleted": 1, "not_deleted": 0}
    deleted = httpx.post(
        url, json={"delete": {"ids": [ids["cat"], "1"], "values": ["dog"]}}, headers=auth
    ).json()
    assert deleted["meta"]["summary"] == {"deleted": 2, "not_deleted": 1}
    assert deleted["errors"][0]["value"] == "1"
    assert [r["value"] for r in httpx.get(url, headers=auth).json()["data"]] == ["bird"]
    bad: object
    for bad in ({}, {"add": []}, {"add": [{"tag": "no value"}]}, {"delete": {}}, {"nope": 1}):
        refused = httpx.post(url, json=bad, headers=auth)
        assert refused.status_code == 400, bad
        assert refused.json()["title"] == "Invalid Request"
    assert httpx.post(url, content=b"not json", headers=auth).status_code == 400
    unknown = httpx.get(f"{server.base_url}/2/tweets/search/stream?foo=1", headers=auth)
    assert unknown.status_code == 400


def test_headers_and_posts_do_not_wait_for_a_keep_alive(
    live_server: Callable[..., LiveServer], db_url: str, sqlite_engine: Engine, tmp_path: Path
) -> None:
    # With metering on, the metering middleware holds a response's start until its first body.
    server = live_server(
        database_url=db_url,
        stream_keepalive_seconds="120",
        metering_mode="fast",
        spool_dir=str(tmp_path / "spool"),
    )
    (token,) = licensee(sqlite_engine, "acme", "pro", ["patient"])
    httpx.post(
        f"{server.base_url}/2/tweets/search/stream/rules",
        json={"add": [{"value": "owl"}]},
        headers=bearer(token),
    )
    # LineReader fails unless the response headers arrive within 10 s (the keep-alive is 120 s).
    reader = LineReader(server.base_url, "/2/tweets/search/stream", token)
    assert reader.status == 200
    post = post_json("an owl at night", 101)
    ingest(server.base_url, [post], [ALICE])
    assert reader.take(1, timeout=10)[0]["data"]["id"] == post["id"]
    assert reader.keepalives == 0
    reader.close()

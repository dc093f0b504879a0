"""The compliance streams against a live server: X's event shapes, partitions, Enterprise
only, and a backfill that re-sends events without counting a notice twice."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.conftest import LiveServer, scratch_database
from tests.streams.support import ADMIN, LineReader, bearer, ingest, licensee, post_json, user_json
from tollhouse.compliance.models import compliance_notices
from tollhouse.db import create_engine
from tollhouse.streams.compliance import partition_of

Z_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
USER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Engine]]:
    urls = scratch_database(request.param, tmp_path_factory.mktemp("compliance-streams"))
    engine = create_engine(next(urls))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env.update(
        {
            "TOLLHOUSE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "TOLLHOUSE_STREAM_KEEPALIVE_SECONDS": "0.3",
            "TOLLHOUSE_METERING_MODE": "off",
        }
    )
    server = LiveServer(env).start()
    yield server, engine
    server.stop()
    engine.dispose()
    for _ in urls:  # lets the PostgreSQL schema generator drop its schema
        pass


def _notices(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(compliance_notices)).scalar_one()
        )


def _event(base_url: str, **event: object) -> None:
    answer = httpx.post(
        f"{base_url}/admin/v1/content/events", json={"events": [event]}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text


def test_compliance_streams(live: tuple[LiveServer, Engine]) -> None:
    server, engine = live
    (token,) = licensee(engine, "ent-org", "enterprise", ["app"])
    (pro_token,) = licensee(engine, "pro-org", "pro", ["app"])
    alice = user_json(9001, "alice")
    post = post_json("to be deleted", 9001)
    ingest(server.base_url, [post], [alice])
    post_id = int(post["id"])
    part = partition_of(post_id)

    refused = httpx.get(
        f"{server.base_url}/2/tweets/compliance/stream",
        params={"partition": "1"},
        headers=bearer(pro_token),
    )
    assert refused.status_code == 403
    no_partition = httpx.get(f"{server.base_url}/2/tweets/compliance/stream", headers=bearer(token))
    assert no_partition.status_code == 400

    tweets = LineReader(server.base_url, "/2/tweets/compliance/stream", token, partition=str(part))
    other = LineReader(
        server.base_url, "/2/tweets/compliance/stream", token, partition=str(part % 4 + 1)
    )
    users = LineReader(
        server.base_url, "/2/users/compliance/stream", token, partition=str(partition_of(9001))
    )
    ingest(server.base_url, deletions=[str(post_id)])
    (line,) = tweets.take(1)
    delete = line["data"]["delete"]
    assert delete["tweet"] == {"id": str(post_id), "author_id": "9001"}
    assert Z_TIME.match(delete["event_at"])
    _event(server.base_url, type="user_protect", user_id="9001")
    _event(server.base_url, type="user_withheld", user_id="9001", withheld_in_countries=["DE"])
    protect, withheld = users.take(2)
    assert list(protect["data"]) == ["user_protect"]
    assert protect["data"]["user_protect"]["user"] == {"id": "9001"}
    assert USER_TIME.match(protect["data"]["user_protect"]["event_at"])
    assert withheld["data"]["user_withheld"]["withheld_in_countries"] == ["DE"]
    time.sleep(1.0)  # keep-alives pass; the other partition got no event lines
    assert list(other.drain()) == []
    for reader in (tweets, other, users):
        reader.close()
    deadline = time.monotonic() + 10
    while _notices(engine) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _notices(engine) == 3
    # A backfill re-sends the last minutes; the notices stay three.
    again = LineReader(
        server.base_url,
        "/2/tweets/compliance/stream",
        token,
        partition=str(part),
        backfill_minutes="5",
    )
    (resent,) = again.take(1)
    assert resent == line
    time.sleep(0.5)
    again.close()
    assert _notices(engine) == 3
    bad = httpx.get(
        f"{server.base_url}/2/users/compliance/stream",
        params={"partition": "1", "backfill_minutes": "9"},
        headers=bearer(token),
    )
    assert bad.status_code == 400

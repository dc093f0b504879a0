"""An operator onboards a licensee with the CLI only; the key it prints works with tweepy
(unchanged but for where it connects) and the edge's refusals surface as tweepy's exceptions."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import tweepy
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.e2e.conftest import point_at
from tollhouse.cli.main import app
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users
from tollhouse.db import create_engine
from tollhouse.settings import get_settings

NOW = datetime.now(UTC).replace(microsecond=0)
AUTHOR = UserRecord(id=2244994945, username="tollhouse_dev", created_at=NOW, name="Tollhouse")
POST = PostRecord(id=1850000000000000000, author_id=AUTHOR.id, text="hello from the edge", created_at=NOW)  # fmt: skip  # noqa: E501


def tollhouse(database_url: str, *args: str) -> Any:
    """Run a `tollhouse … --json` command (in this process, not in the server's)."""
    saved = os.environ.get("TOLLHOUSE_DATABASE_URL")
    os.environ["TOLLHOUSE_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)
    finally:
        if saved is None:
            os.environ.pop("TOLLHOUSE_DATABASE_URL", None)
        else:
            os.environ["TOLLHOUSE_DATABASE_URL"] = saved
        get_settings.cache_clear()


def client_for(base_url: str, token: str) -> tweepy.Client:
    client = tweepy.Client(bearer_token=token)
    point_at(client.session, base_url)
    return client


@pytest.mark.slow
def test_cli_onboarded_key_works_with_tweepy(
    database_url: str, live_server: Callable[..., Any]
) -> None:
    engine: Engine = create_engine(database_url)
    with engine.begin() as conn:
        insert_users(conn, [AUTHOR])
        insert_posts(conn, [POST])
    engine.dispose()
    tollhouse(database_url, "plans", "load")
    tollhouse(database_url, "agreements", "publish")
    tollhouse(database_url, "orgs", "create", "Acme", "--plan", "basic")
    tollhouse(database_url, "orgs", "accept-agreement", "Acme", "--by", "Jane Doe")
    tollhouse(database_url, "apps", "create", "--org", "Acme", "acme-app", "--use-case", "display")
    key = tollhouse(database_url, "keys", "create", "--app", "acme-app")
    assert set(key) == {"id", "token"}
    server = live_server(database_url=database_url)
    client = client_for(server.base_url, key["token"])

    tweet = client.get_tweet(POST.id, expansions=["author_id"])
    assert tweet.data.text == POST.text
    assert tweet.includes["users"][0].username == AUTHOR.username
    assert client.get_user(username=AUTHOR.username).data.id == AUTHOR.id

    # Basic has no full-archive search: tweepy sees X's 403.
    with pytest.raises(tweepy.Forbidden):
        client.search_all_tweets("hello")
    token = key["token"]
    wrong = token[:-1] + ("1" if token[-1] == "0" else "0")  # always differs from the real key
    with pytest.raises(tweepy.Unauthorized):
        client_for(server.base_url, wrong).get_tweet(POST.id)

    tollhouse(database_url, "keys", "revoke", key["id"])
    # Poll rather than sleep: the point here is tweepy's view, the 1 s bound is tested elsewhere.
    for _ in range(100):
        try:
            client.get_tweet(POST.id)
        except tweepy.Unauthorized:
            break
        time.sleep(0.05)
    else:
        pytest.fail("revoked key still accepted")

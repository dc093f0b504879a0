"""End-to-end fixtures: a real `tollhouse serve` process over a few thousand sample posts, and
the one change real clients get: a requests transport adapter that sends their
`https://api.twitter.com` requests to that server instead."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy.engine import Engine

from tests.api.conftest import issue_token
from tests.api.sample_corpus import SampleCorpus, build
from tests.backends import SQL_BACKENDS
from tests.conftest import LiveServer, scratch_database
from tests.processes import clean_env
from tollhouse.db import create_engine

X_API = "https://api.twitter.com"


class LocalTwitter(HTTPAdapter):
    """Rewrites https://api.twitter.com/… to the local server; everything else is untouched."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        request.url = self.base_url + request.url[len(X_API) :]
        return super().send(request, **kwargs)


def point_at(session: requests.Session, base_url: str) -> None:
    """Mount the rewriting adapter on a client's own requests session."""
    session.mount(X_API, LocalTwitter(base_url))


@dataclass
class Served:
    base_url: str
    token: str
    corpus: SampleCorpus
    backend: str


@contextmanager
def serving(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    extend: Callable[[Engine, SampleCorpus], object] | None = None,
) -> Iterator[Served]:
    """A live server over a 3000-post sample corpus (plus what `extend` adds), on SQLite or
    PostgreSQL."""
    urls = scratch_database(backend, tmp_path_factory.mktemp("e2e"))
    url = next(urls)
    engine = create_engine(url)
    corpus = build(engine, n_posts=3000)
    if extend is not None:
        extend(engine, corpus)
    token = issue_token(engine)
    engine.dispose()
    server = LiveServer(clean_env(database_url=url)).start()
    try:
        yield Served(server.base_url, token, corpus, backend)
    finally:
        server.stop()
        for _ in urls:  # lets the PostgreSQL schema generator drop its schema
            pass


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A live server over a 3000-post sample corpus, on SQLite or PostgreSQL."""
    with serving(request.param, tmp_path_factory) as running:
        yield running

"""API test fixtures: one sample corpus per backend and module, the app in front of it, and a
real API key when the access service is present (any token otherwise)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.api.sample_corpus import SampleCorpus, build
from tests.backends import SQL_BACKENDS
from tests.conftest import scratch_database
from tollhouse.api import page_tokens, pagination
from tollhouse.api.app import create_app
from tollhouse.db import create_engine
from tollhouse.settings import load_settings


def issue_token(engine: Engine) -> str:
    """A bearer token for an organisation on a plan with every endpoint and generous limits,
    made through the access service; "any-token" if the access service does not exist yet."""
    try:
        from tollhouse.access.agreements import default_agreement
        from tollhouse.access.plans import RateLimit, default_plans
        from tollhouse.access.service import AccessService
    except ImportError:
        return "any-token"
    enterprise = next(p for p in default_plans() if p.name == "enterprise")
    plan = dataclasses.replace(
        enterprise,
        name="api-tests",
        rate_limits={t: (RateLimit(1_000_000, 900),) for t in enterprise.endpoints},
        monthly_post_cap=None,
    )
    service = AccessService(engine)
    service.load_plans([plan], actor="tests")
    service.publish_agreement(default_agreement(), actor="tests")
    service.create_org("api-tests-org", plan.name, actor="tests")
    service.accept_agreement("api-tests-org", "Test Runner", actor="tests")
    service.create_app("api-tests-org", "api-tests-app", actor="tests")
    return service.create_key("api-tests-app", actor="tests").token


class ScopeRecorder:
    """Wraps the app to keep the last HTTP scope, so tests can read what handlers told the
    edge (`tollhouse.delivered`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last: Scope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.last = scope
        await self.app(scope, receive, send)


@dataclass
class Api:
    client: TestClient
    corpus: SampleCorpus
    backend: str
    database_url: str
    recorder: ScopeRecorder

    def binding(self, template: str, *parts: str) -> pagination.Binding:
        """The binding this app signs `template`'s tokens with, for those parameter values."""
        key = page_tokens.signing_key(self.recorder.app.state.tollhouse.settings)  # type: ignore[attr-defined]
        return pagination.Binding.of(key, template, *parts)

    def delivered(self) -> list[int] | None:
        assert self.recorder.last is not None
        ids: list[int] | None = self.recorder.last.get("tollhouse.delivered")
        return ids


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def corpus_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database URL (SQLite or a private PostgreSQL schema), one per module."""
    yield from scratch_database(request.param, tmp_path_factory.mktemp("api"))


@contextmanager
def running_api(
    corpus_database: str, extend: Callable[[Engine, SampleCorpus], object] | None = None
) -> Iterator[Api]:
    """The app over the sample corpus (plus what `extend` adds), with a client that sends a
    valid bearer token."""
    engine = create_engine(corpus_database)
    corpus = build(engine)
    if extend is not None:
        extend(engine, corpus)
    token = issue_token(engine)
    engine.dispose()
    recorder = ScopeRecorder(create_app(load_settings(database_url=corpus_database)))
    with TestClient(recorder, headers={"Authorization": f"Bearer {token}"}) as client:
        backend = "sqlite" if corpus_database.startswith("sqlite") else "postgresql"
        yield Api(client, corpus, backend, corpus_database, recorder)


@pytest.fixture(scope="module")
def api(corpus_database: str) -> Iterator[Api]:
    """The app over the sample corpus, with a client that sends a valid bearer token."""
    with running_api(corpus_database) as running:
        yield running

"""One organisation cannot hold every corpus thread: past `corpus_concurrency_per_org` of its
searches in flight it is answered 429 at once, while another organisation is still served.

The held searches are really held (their corpus work waits on an event inside the thread), so
nothing here depends on timing."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.sample_corpus import build
from tollhouse.access.agreements import default_agreement
from tollhouse.access.plans import RateLimit, default_plans
from tollhouse.access.service import AccessService
from tollhouse.api.app import create_app
from tollhouse.api.edge import close_directory
from tollhouse.corpus import deadline
from tollhouse.db import create_engine
from tollhouse.settings import load_settings

pytestmark = pytest.mark.anyio
PER_ORG = 2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def two_org_keys(database_url: str) -> tuple[str, str]:
    engine = create_engine(database_url)
    build(engine)
    enterprise = next(p for p in default_plans() if p.name == "enterprise")
    plan = dataclasses.replace(
        enterprise,
        name="slots-tests",
        rate_limits={t: (RateLimit(1_000_000, 900),) for t in enterprise.endpoints},
        monthly_post_cap=None,
    )
    service = AccessService(engine)
    service.load_plans([plan], actor="tests")
    service.publish_agreement(default_agreement(), actor="tests")
    tokens = []
    for org in ("org-a", "org-b"):
        service.create_org(org, plan.name, actor="tests")
        service.accept_agreement(org, "Test Runner", actor="tests")
        service.create_app(org, f"{org}-app", actor="tests")
        tokens.append(service.create_key(f"{org}-app", actor="tests").token)
    engine.dispose()
    return tokens[0], tokens[1]


class Gate:
    """Holds the first `count` corpus works inside their thread until opened."""

    def __init__(self, count: int, run: Callable[..., Any]) -> None:
        self.count = count
        self.run = run
        self.arrived = threading.Semaphore(0)
        self.opened = threading.Event()
        self.held = 0
        self.lock = threading.Lock()

    def __call__(self, *args: Any) -> Any:
        with self.lock:
            hold = self.held < self.count
            self.held += hold
        if hold:
            self.arrived.release()
            assert self.opened.wait(60), "the gate was never opened"
        return self.run(*args)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    held = Gate(PER_ORG, deadline.run_bounded)
    monkeypatch.setattr(deadline, "run_bounded", held)
    yield held
    held.opened.set()


async def test_one_org_cannot_hold_every_corpus_thread(
    database_url: str, gate: Gate, anyio_backend: str
) -> None:
    a_token, b_token = two_org_keys(database_url)
    settings = load_settings(
        database_url=database_url,
        metering_mode="off",
        corpus_threads=PER_ORG + 2,
        corpus_concurrency_per_org=PER_ORG,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tollhouse") as client:

        def search(token: str) -> Any:
            return client.get(
                "/2/tweets/search/recent",
                params={"query": "lantern"},
                headers={"Authorization": f"Bearer {token}"},
            )

        held = [asyncio.ensure_future(search(a_token)) for _ in range(PER_ORG)]
        for _ in range(PER_ORG):  # each of A's searches is inside its corpus thread, held
            assert await asyncio.to_thread(gate.arrived.acquire, True, 60)
        refused = await search(a_token)
        assert refused.status_code == 429, refused.text
        body = refused.json()
        assert body["title"] == "Too Many Requests" and body["type"] == "about:blank"
        assert body["status"] == 429 and f"already has {PER_ORG} searches" in body["detail"]
        assert refused.headers["retry-after"] == "1"
        served = await search(b_token)  # another organisation: served while A is held
        assert served.status_code == 200, served.text
        assert not any(task.done() for task in held)
        gate.opened.set()
        assert [(await task).status_code for task in held] == [200] * PER_ORG
        # A's slots are all given back: as many searches at once are served again.
        again = await asyncio.gather(*(search(a_token) for _ in range(PER_ORG)))
        assert [r.status_code for r in again] == [200] * PER_ORG
    close_directory(app)
    app.state.tollhouse.corpus_executor.shutdown(wait=True)
    app.state.tollhouse.engine.dispose()


def test_the_default_is_half_the_corpus_threads() -> None:
    assert load_settings(corpus_threads=16).corpus_slots_per_org == 8
    assert load_settings(corpus_threads=1).corpus_slots_per_org == 1
    assert load_settings(corpus_threads=16, corpus_concurrency_per_org=3).corpus_slots_per_org == 3

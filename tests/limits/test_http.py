"""The limits steps in a tiny Starlette app: headers on every response, 429 bodies, counting."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.limits.conftest import ENDPOINT, Caller
from tollhouse.api.middleware.limits import admit_step, count_step
from tollhouse.api.scope import RESPONSE_HEADERS_KEY
from tollhouse.limits.backend import LimitsBackend
from tollhouse.limits.redis.backend import RedisLimits
from tollhouse.limits.service import LimitsService

pytestmark = pytest.mark.anyio


class TinyEdge:
    """The edge's use of the limits steps, without authentication (one fixed caller)."""

    def __init__(self, app: ASGIApp, service: LimitsService, caller: Caller) -> None:
        self.app, self.service, self.caller = app, service, caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = await admit_step(self.service, self.caller, ENDPOINT, True, scope)
        if refusal is not None:
            for message in refusal:
                await send(message)
            return
        extra = scope.get(RESPONSE_HEADERS_KEY, [])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
        await count_step(self.service, self.caller, scope)


async def search(request: Request) -> JSONResponse:
    start = int(request.query_params.get("from", "0"))
    ids = list(range(start, start + 10))
    request.scope["tollhouse.delivered"] = ids
    return JSONResponse({"data": [{"id": str(i), "text": "…"} for i in ids]})


def client_for(service: LimitsService, caller: Caller) -> httpx.AsyncClient:
    app = Starlette(routes=[Route(ENDPOINT, search)])
    transport = httpx.ASGITransport(app=TinyEdge(app, service, caller))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


SF_ITEM = re.compile(r'^"(\w+)";q=(\d+);w=(\d+)$')
SF_STATE = re.compile(r'^"(\w+)";r=(\d+);t=(\d+)$')


async def test_every_response_carries_x_and_ietf_headers(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    caller = caller_factory(windows=((3, 900), (50, 86_400)), cap=1000)
    async with client_for(LimitsService(backend), caller) as client:
        ok = await client.get(ENDPOINT)
        assert ok.status_code == 200
        h = ok.headers
        assert (h["x-rate-limit-limit"], h["x-rate-limit-remaining"]) == ("3", "2")
        reset = int(h["x-rate-limit-reset"])
        assert reset % 900 == 0
        policies = [SF_ITEM.match(p.strip()) for p in h["ratelimit-policy"].split(",")]
        assert [m.groups() for m in policies if m] == [("15m", "3", "900"), ("24h", "50", "86400")]
        states = [SF_STATE.match(p.strip()) for p in h["ratelimit"].split(",")]
        assert [m.groups()[:2] for m in states if m] == [("15m", "2"), ("24h", "49")]
        for _ in range(2):
            assert (await client.get(ENDPOINT)).status_code == 200
        refused = await client.get(ENDPOINT)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert int(refused.headers["x-rate-limit-reset"]) == reset
    assert 1 <= int(refused.headers["retry-after"]) <= 900


async def test_cap_429_points_at_the_cap_reset(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    caller = caller_factory(windows=((100, 900),), cap=25, billing_day=3)
    service = LimitsService(backend, reserve=10)
    async with client_for(service, caller) as client:
        for start in (0, 5, 100):  # 10 + 5 new + 10 = 25 distinct posts
            assert (await client.get(ENDPOINT, params={"from": start})).status_code == 200
        refused = await client.get(ENDPOINT)
        usage = await service.usage(caller, days=1)
    assert usage.used == 25
    assert refused.status_code == 429
    assert refused.json() == {
        "title": "UsageCapExceeded",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": "https://api.twitter.com/2/problems/usage-capped",
        "period": "Monthly",
        "scope": "Product",
    }
    h = refused.headers
    assert int(h["x-rate-limit-reset"]) == usage.period_end
    assert h["x-rate-limit-remaining"] == "0" and h["x-rate-limit-limit"] == "25"
    assert abs(time.time() + int(h["retry-after"]) - usage.period_end) <= 5


async def test_fail_closed_answers_503_and_fail_open_serves(
    caller_factory: Callable[..., Caller], anyio_backend: str
) -> None:
    caller = caller_factory(cap=10)
    closed = LimitsService(RedisLimits("redis://127.0.0.1:1/0"), failure_policy="fail_closed")
    async with client_for(closed, caller) as client:
        refused = await client.get(ENDPOINT)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["title"] == "Service Unavailable"
    opened = LimitsService(RedisLimits("redis://127.0.0.1:1/0"), failure_policy="fail_open")
    async with client_for(opened, caller) as client:
        served = await client.get(ENDPOINT)
    assert served.status_code == 200 and "x-rate-limit-limit" not in served.headers
    assert opened.metrics.failed_open == 1

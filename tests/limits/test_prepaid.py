"""Prepaid balances at the edge: refused at zero with X's CreditsDepleted, spent per new post
per UTC day and per user read, exact across processes with Redis."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.limits.conftest import ENDPOINT, Caller, make_plan
from tollhouse.api.middleware.limits import admit_step, count_step
from tollhouse.limits.balance import MemoryBalances, RedisBalances, to_micros
from tollhouse.limits.memory import MemoryLimits
from tollhouse.limits.service import LimitsService

pytestmark = pytest.mark.anyio
PAGE = to_micros(Decimal("0.005")) * 100  # a page of 100 posts at $0.005


def prepaid_caller(org_id: int = 7) -> Caller:
    plan = dataclasses.replace(make_plan(windows=((10**6, 900),)), prepaid=True)
    return Caller(org_id, 70, plan)


async def serve(service: LimitsService, caller: Caller, posts: list[int], status: int = 200,
                endpoint: str = ENDPOINT) -> Any:  # fmt: skip
    scope: dict[str, Any] = {}
    refusal = await admit_step(service, caller, endpoint, True, scope)
    if refusal is not None:
        return refusal
    scope["tollhouse.delivered"] = posts
    scope["tollhouse.response_status"] = status
    await count_step(service, caller, scope)
    return None


async def test_refused_at_zero_then_a_grant_restores_access() -> None:
    service = LimitsService(MemoryLimits(), balances=MemoryBalances())
    caller = prepaid_caller()
    start, body = await serve(service, caller, [1])
    assert start["status"] == 402
    problem = json.loads(body["body"])
    assert problem["title"] == "CreditsDepleted"
    assert problem["type"] == "https://api.x.com/2/problems/credits"
    service.balances.credit(7, Decimal("1.00"), Decimal("0.005"), Decimal("0.010"))
    assert await serve(service, caller, list(range(100))) is None  # $0.50
    assert await serve(service, caller, list(range(100))) is None  # same posts today: free
    assert await service.balances.check(7) == to_micros(Decimal("0.50"))
    assert await serve(service, caller, list(range(100, 200))) is None  # $0.50 more: zero
    start, _ = await serve(service, caller, [999])
    assert start["status"] == 402


async def test_user_reads_are_spent_on_success_only() -> None:
    service = LimitsService(MemoryLimits(), balances=MemoryBalances())
    caller = Caller(8, 80, dataclasses.replace(make_plan(endpoint="/2/users/:id"), prepaid=True))
    service.balances.credit(8, Decimal("1"), Decimal("0.005"), Decimal("0.010"))
    assert await serve(service, caller, [], endpoint="/2/users/:id") is None
    assert await serve(service, caller, [], status=404, endpoint="/2/users/:id") is None
    assert await service.balances.check(8) == to_micros(Decimal("0.99"))


async def test_a_plan_not_prepaid_never_reads_a_balance() -> None:
    class Exploding(MemoryBalances):
        async def check(self, org_id: int) -> int | None:
            raise AssertionError("read")

    service = LimitsService(MemoryLimits(), balances=Exploding())
    assert await serve(service, Caller(9, 90, make_plan()), [1, 2]) is None


def stored(balances: RedisBalances, org_id: int = 7) -> int:
    value: Any = balances.sync.hget(balances.key(org_id), "b")
    return int(value)


def test_three_processes_share_one_redis_balance(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    balances = RedisBalances(redis_url, redis_prefix)
    balances.credit(7, Decimal("10.00"), Decimal("0.005"), Decimal("0.010"))  # 20 pages
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    worker = [sys.executable, "-m", "tests.limits.prepaid_worker", redis_url, redis_prefix]
    procs = [
        subprocess.Popen([*worker, str(n), "5"], cwd=root, env=env, stdout=subprocess.PIPE)
        for n in range(3)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    served = sum(r["served"] for r in results)
    left = stored(balances)
    # Each process has one request in flight: at most one page each past zero, then refusals.
    assert 20 <= served <= 20 + 3
    assert -3 * PAGE <= left <= 0
    assert left == 10 * 10**6 - served * PAGE  # exact: every page spent once

    # A grant restores access at once (well within a second).
    balances.credit(7, Decimal("5.00"), Decimal("0.005"), Decimal("0.010"))
    granted_at = time.monotonic()
    assert stored(balances) > 0
    assert time.monotonic() - granted_at < 1
    balances.sync.close()
    import redis

    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(match=redis_prefix + "*"):
        r.delete(key)
    r.close()

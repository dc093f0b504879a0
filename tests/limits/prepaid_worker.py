"""One gateway process spending a shared prepaid balance (run by test_prepaid.py): requests go
through the edge's limits steps, each delivering a page of 100 new posts, until refused."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import Any

from tests.limits.conftest import ENDPOINT, Caller, make_plan
from tollhouse.api.middleware.limits import admit_step, count_step
from tollhouse.limits.balance import RedisBalances
from tollhouse.limits.redis.backend import RedisLimits
from tollhouse.limits.service import LimitsService


async def main(url: str, prefix: str, worker: int, refusals_wanted: int) -> dict[str, Any]:
    backend = RedisLimits(url, prefix=prefix)
    service = LimitsService(backend, balances=RedisBalances(url, prefix, backend.pipe), reserve=100)
    plan = dataclasses.replace(make_plan(windows=((10**9, 900),)), prepaid=True)
    caller = Caller(7, 70 + worker, plan)
    served = refused = 0
    next_post = worker * 10**9
    while refused < refusals_wanted:
        scope: dict[str, Any] = {}
        refusal = await admit_step(service, caller, ENDPOINT, True, scope)
        if refusal is not None:
            assert b"CreditsDepleted" in refusal[1]["body"]
            refused += 1
            continue
        await asyncio.sleep(0.001)  # the handler
        scope["tollhouse.delivered"] = list(range(next_post, next_post + 100))
        scope["tollhouse.response_status"] = 200
        next_post += 100
        await count_step(service, caller, scope)
        served += 1
    await service.close()
    return {"served": served, "refused": refused}


if __name__ == "__main__":
    out = asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    print(json.dumps(out))

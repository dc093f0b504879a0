"""The DIY gateway at its leanest: FastAPI + slowapi + a dict of keys + a usage counter, around
the floor's own hand-written SQL and renderer (bench/gateway_peers/bare.py).

Not what a team would write in a day (that is diy.py: models and a response model); this is the
same lookup (same SQL on the same SQLite file) behind a bearer-key check against a dict, a
slowapi rate limit per key (in-memory storage, a limit too high to refuse during the run) and a
per-organisation count of posts delivered. No monthly cap, no dedupe, no durable metering: it
does less than Tollhouse, which is the point of the comparison.

    BENCH_DB=/path/to/bench.db BENCH_TOKEN=… uvicorn bench.gateway_peers.diy_lean:app
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from bench.gateway_peers.bare import _SELECT, _TIME_FORMAT, _connection, _render
from fastapi import FastAPI, HTTPException, Query, Request
from slowapi import Limiter, _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded

API_KEYS: dict[str, str] = {os.environ.get("BENCH_TOKEN", "diy-token"): "bench-org"}
usage: Counter[str] = Counter()


def api_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if token not in API_KEYS:
        raise HTTPException(status_code=401, detail="Unauthorized")
    return token


limiter = Limiter(key_func=api_key)
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]


@app.get("/2/tweets")
@limiter.limit("1000000000/15minute")
def tweets(request: Request, ids: str = Query(...)) -> dict[str, Any]:
    org = API_KEYS[api_key(request)]
    id_list = [int(v) for v in ids.split(",")]
    sql = _SELECT.format(marks=", ".join("?" * len(id_list)))
    rows = _connection().execute(sql, (_TIME_FORMAT, *id_list)).fetchall()
    by_id = {
        row[0]: row
        for row in rows
        if row[20] == "active" and row[21] in ("active", None) and not row[22]
    }
    data = [_render(by_id[i]) for i in id_list if i in by_id]
    usage[org] += len(data)
    return {"data": data}

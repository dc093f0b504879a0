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

from typing import Any

from bench.gateway_peers.bare import _visible_posts
from bench.gateway_peers.diy import API_KEYS, api_key, limiter, usage
from fastapi import FastAPI, Query, Request
from slowapi import _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded

# diy.py's gateway (keys, key check, limiter, usage counter) in an app of its own.
app = FastAPI()
app.state.limiter = limiter
app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]


@app.get("/2/tweets")
@limiter.limit("1000000000/15minute")
def tweets(request: Request, ids: str = Query(...)) -> dict[str, Any]:
    org = API_KEYS[api_key(request)]
    data = _visible_posts([int(v) for v in ids.split(",")])
    usage[org] += len(data)
    return {"data": data}

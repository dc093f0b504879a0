"""X API v2 streams: filtered-stream rules, the filtered stream and the sample stream.

A stream is a long-lived `200` response of newline-delimited JSON, one post per CRLF-ended line,
with a bare CRLF keep-alive when nothing was sent for `stream_keepalive_seconds`. It ends with an
X error line when the server ends it (slow reader, usage cap, shutdown). Each app may hold one
connection per stream at a time, across every gateway process.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.access.context import RequestContext
from tollhouse.api import params as p
from tollhouse.api import problems, x_fields
from tollhouse.api.middleware.metering import MAX_END_USER, MAX_USER_AGENT
from tollhouse.api.problems import (
    invalid_request,
    service_unavailable,
)
from tollhouse.api.scope import request_context
from tollhouse.api.state import app_state
from tollhouse.api.stream_meter import MeteredStream
from tollhouse.api.stream_response import StreamResponse
from tollhouse.endpoints import endpoint
from tollhouse.streams.errors import BusUnavailable
from tollhouse.streams.metering import StreamMeter
from tollhouse.streams.runtime import runtime_for

router = APIRouter(tags=["streams"])

FILTERED_STREAM = endpoint("GET", "/2/tweets/search/stream")
SAMPLE_STREAM = endpoint("GET", "/2/tweets/sample/stream")


# ---- streams ----------------------------------------------------------------------------------


@router.get("/2/tweets/search/stream", summary="Stream posts matching the app's rules")
async def filtered_stream(request: Request) -> Response:
    return await _open_stream(request, "filter")


@router.get("/2/tweets/sample/stream", summary="Stream a 1% sample of all posts")
async def sample_stream(request: Request) -> Response:
    return await _open_stream(request, "sample")


async def _open_stream(request: Request, kind: str) -> Response:
    context = request_context(request)
    args = dict(request.query_params)
    served = FILTERED_STREAM if kind == "filter" else SAMPLE_STREAM
    p.check_known(args, served.params)
    backfill = args.get("backfill_minutes")
    if backfill is not None and backfill not in ("0", "1", "2", "3", "4", "5"):
        raise invalid_request(
            f"The `backfill_minutes` query parameter value [{backfill}] is not between 0 and 5",
            {"backfill_minutes": [backfill]},
        )
    # backfill_minutes is accepted for compatibility; Tollhouse keeps no backfill buffer.
    how = p.rendering(args, x_fields.TWEET_EXPANSIONS)
    runtime = await runtime_for(request.app)
    settings = runtime.settings
    app_id = str(context.app_id)
    slot = f"{kind}:{app_id}"
    token = uuid.uuid4().hex
    ttl = max(3 * settings.stream_keepalive_seconds, 5.0)
    try:
        claimed = await runtime.slots.claim(slot, token, ttl)
    except BusUnavailable as exc:
        raise service_unavailable("Streams are unavailable right now; retry shortly.") from exc
    if not claimed:
        raise problems.too_many_connections()
    try:
        if kind == "filter":
            conn = await runtime.hub.connect_filter(app_id)
        else:
            conn = runtime.hub.connect_sample(app_id)
    except BaseException:
        await runtime.slots.release(slot, token)
        raise
    meter = stream_meter(request, context, served.template)
    if kind == "filter" and isinstance(meter, MeteredStream):
        hub = runtime.hub
        meter.rules = lambda: hub.rule_values(app_id)
    return StreamResponse(runtime, conn, slot, token, ttl, how, meter)


def stream_meter(request: Request, context: RequestContext, endpoint: str) -> StreamMeter:
    """The meter for one stream connection (see tollhouse.api.stream_meter)."""
    state = app_state(request)
    client = request.client
    return MeteredStream(
        context,
        endpoint,
        state.limits,
        state.usage_writer,
        client_ip=client.host if client else None,
        user_agent=(request.headers.get("user-agent") or "")[:MAX_USER_AGENT] or None,
        end_user=(request.headers.get("x-end-user") or "").strip()[:MAX_END_USER] or None,
    )

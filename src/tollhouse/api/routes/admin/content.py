"""`/admin/v1/content/events`: the operator records changes of posts' and users' state (X's
compliance event names) and lists them; the corpus serves what they say at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api.problems import answer, invalid_request, service_unavailable
from tollhouse.api.responses import JSONResponse
from tollhouse.api.routes.admin.auth import require_operator
from tollhouse.api.state import app_state
from tollhouse.compliance import content_events, stream_events
from tollhouse.compliance.clock import clock_of
from tollhouse.compliance.content_events import ContentEvent
from tollhouse.streams.errors import BusUnavailable
from tollhouse.streams.runtime import runtime_for

router = APIRouter(tags=["admin"])


async def publish_compliance(request: Request, stored: Sequence[ContentEvent]) -> None:
    """Send stored content events to the compliance streams of every process. The events are
    stored already; a bus that is down loses only the live lines (jobs still see them)."""
    lines = await asyncio.to_thread(stream_events.for_stored, app_state(request).engine, stored)
    if not lines:
        return
    runtime = await runtime_for(request.app)
    try:
        await runtime.bus.publish(lines)
    except BusUnavailable as exc:
        raise service_unavailable(f"Events stored but not streamed: {exc}") from exc


MAX_EVENTS = 10_000


_EVENTS_BODY = {
    "type": "object",
    "properties": {
        "events": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_EVENTS,
            "items": {"type": "object"},
        }
    },
    "required": ["events"],
}


@router.post(
    "/admin/v1/content/events",
    summary="Record content events (deletes, protects, …)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _EVENTS_BODY}}}
    },
)
async def post_events(request: Request) -> Response:
    actor = require_operator(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"The body is not JSON: {exc}") from exc
    raw = body.get("events") if isinstance(body, dict) else None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_EVENTS:
        raise invalid_request(
            f'The body must be {{"events": [...]}} with 1 to {MAX_EVENTS} events.'
        )
    clock = clock_of(request.app)
    now = clock()
    events = answer(lambda: [content_events.parse_event(e, now) for e in raw])
    engine = app_state(request).engine
    stored = await asyncio.to_thread(content_events.record, engine, events, clock, actor)
    await publish_compliance(request, stored)
    return JSONResponse({"data": [e.as_dict() for e in stored]})


@router.get("/admin/v1/content/events", summary="Content events of one post or user")
async def list_events(request: Request) -> Response:
    require_operator(request)
    subject = request.query_params.get("subject", "post")
    raw_id = request.query_params.get("id", "")
    if subject not in ("post", "user") or not raw_id.isdigit():
        raise invalid_request("Give `subject` (post or user) and a numeric `id`.")

    def read() -> list[dict[str, Any]]:
        with app_state(request).engine.connect() as conn:
            found = content_events.events_of(conn, subject, [int(raw_id)])  # type: ignore[arg-type]
        return [e.as_dict() for e in found.get(int(raw_id), [])]

    return JSONResponse({"data": await asyncio.to_thread(read)})

"""X's compliance streams: `GET /2/tweets/compliance/stream` and `/2/users/compliance/stream`
(`partition` 1-4 required, `backfill_minutes` 0-5). Lines come from the bus, so every server
process serves every event; each line sent to an app counts as notice to its organisation
(once per event, whatever a backfill re-sends)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from tollhouse.access.context import RequestContext
from tollhouse.api import openapi as doc
from tollhouse.api import params as p
from tollhouse.api.problems import (
    invalid_request,
    service_unavailable,
    too_many_connections,
    unauthorized,
)
from tollhouse.api.scope import CONTEXT_KEY
from tollhouse.api.state import AppState
from tollhouse.api.stream_response import OPERATIONAL_DISCONNECT, error_line
from tollhouse.compliance.notices import record_notices
from tollhouse.endpoints import endpoint
from tollhouse.streams.compliance import ComplianceConnection, ComplianceStream
from tollhouse.streams.errors import BusUnavailable
from tollhouse.streams.runtime import StreamRuntime, runtime_for

router = APIRouter(tags=["compliance"])
PARAMS = ("partition", "backfill_minutes")
_STREAM_PARAMS = {
    "partition": {"type": "integer", "minimum": 1, "maximum": 4},
    "backfill_minutes": doc.bounded(p.BACKFILL_MINUTES),
}


@router.get(
    "/2/tweets/compliance/stream",
    summary="Compliance events of posts (one partition)",
    openapi_extra=doc.operation(
        endpoint("GET", "/2/tweets/compliance/stream"), doc.STREAM, overrides=_STREAM_PARAMS
    ),
)
async def tweets_compliance_stream(request: Request) -> Response:
    return await _open(request, "tweets")


@router.get(
    "/2/users/compliance/stream",
    summary="Compliance events of users (one partition)",
    openapi_extra=doc.operation(
        endpoint("GET", "/2/users/compliance/stream"), doc.STREAM, overrides=_STREAM_PARAMS
    ),
)
async def users_compliance_stream(request: Request) -> Response:
    return await _open(request, "users")


def _caller(request: Request) -> RequestContext:
    context = request.scope.get(CONTEXT_KEY)
    if not isinstance(context, RequestContext):
        raise unauthorized()
    return context


async def _open(request: Request, stream: ComplianceStream) -> Response:
    context = _caller(request)
    args = dict(request.query_params)
    p.check_known(args, PARAMS)
    partition = args.get("partition")
    if partition not in ("1", "2", "3", "4"):
        raise invalid_request(
            "The `partition` query parameter is required and must be between 1 and 4",
            {"partition": [str(partition)]},
        )
    backfill = args.get("backfill_minutes", "0")
    if backfill not in ("0", "1", "2", "3", "4", "5"):
        raise invalid_request(
            f"The `backfill_minutes` query parameter value [{backfill}] is not between 0 and 5",
            {"backfill_minutes": [backfill]},
        )
    runtime = await runtime_for(request.app)
    slot = f"compliance:{stream}:{partition}:{context.app_id}"
    token = uuid.uuid4().hex
    ttl = max(3 * runtime.settings.stream_keepalive_seconds, 5.0)
    try:
        claimed = await runtime.slots.claim(slot, token, ttl)
    except BusUnavailable as exc:
        raise service_unavailable("Streams are unavailable right now; retry shortly.") from exc
    if not claimed:
        raise too_many_connections()
    conn = runtime.hub.compliance.connect(
        str(context.app_id), stream, int(partition), int(backfill)
    )
    return ComplianceStreamResponse(runtime, conn, slot, token, ttl, context.org_id)


class ComplianceStreamResponse(Response):
    """Lines as they come, `\\r\\n` keep-alives between, notices recorded per batch."""

    def __init__(
        self,
        runtime: StreamRuntime,
        conn: ComplianceConnection,
        slot: str,
        token: str,
        ttl: float,
        org_id: int,
    ) -> None:
        super().__init__(content=None, status_code=200, media_type="application/json")
        self.raw_headers = [(b"content-type", b"application/json")]
        self.runtime = runtime
        self.conn = conn
        self.slot = slot
        self.token = token
        self.ttl = ttl
        self.org_id = org_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._watch(receive))
        state: AppState = scope["app"].state.tollhouse
        engine = state.engine
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            keepalive = self.runtime.settings.stream_keepalive_seconds
            refreshed = asyncio.get_running_loop().time()
            while True:
                batch = await self.conn.next_batch(keepalive)
                if self.conn.ended is not None:
                    if self.conn.ended != "client":
                        await send(_body(error_line(OPERATIONAL_DISCONNECT)))
                    break
                now = asyncio.get_running_loop().time()
                if now - refreshed >= self.ttl / 3:
                    refreshed = now
                    if not await self.runtime.slots.refresh(self.slot, self.token, self.ttl):
                        await send(_body(error_line(OPERATIONAL_DISCONNECT)))
                        break
                if batch is None:
                    await send(_body(b"\r\n"))
                    continue
                await send(_body(b"".join(e.line + b"\r\n" for e in batch)))
                keys = [e.notice_key for e in batch]
                await asyncio.to_thread(
                    record_notices, engine, self.org_id, keys, "stream", datetime.now(UTC)
                )
        finally:
            watcher.cancel()
            self.runtime.hub.compliance.disconnect(self.conn)
            with contextlib.suppress(Exception):
                await self.runtime.slots.release(self.slot, self.token)
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.conn.end("client")
                return


def _body(chunk: bytes) -> Message:
    return {"type": "http.response.body", "body": chunk, "more_body": True}

"""The long-lived response of one stream connection: the pump that renders deliveries into
newline-delimited JSON lines, sends keep-alives and ends the stream with an X error line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.engine import Engine
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from tollhouse.api import render
from tollhouse.api.problems import PROBLEMS
from tollhouse.api.render import (
    post_includes,
    post_record_row,
    post_renderer,
    user_record_row,
    user_renderer,
)
from tollhouse.streams.hub import StreamConnection, StreamDelivery
from tollhouse.streams.metering import StreamMeter
from tollhouse.streams.runtime import StreamRuntime

# How long a server-ended stream waits for a slow reader to take its last bytes and the error.
_FAREWELL_SECONDS = 30.0

OPERATIONAL_DISCONNECT = {
    "title": "operational-disconnect",
    "disconnect_type": "OperationalDisconnect",
    "detail": "This stream has been disconnected for operational reasons.",
    "type": PROBLEMS + "operational-disconnect",
}
USAGE_CAPPED = {
    "title": "UsageCapExceeded",
    "detail": "Usage cap exceeded: Monthly product cap",
    "type": PROBLEMS + "usage-capped",
    "period": "Monthly",
    "scope": "Product",
}


class LineRenderer:
    """Turns deliveries into stream lines with the connection's fields and expansions."""

    def __init__(self, how: render.Rendering, engine: Engine) -> None:
        self.how = how
        self.engine = engine
        self.render_post = post_renderer(how.tweet_fields)
        self.render_user = user_renderer(how.user_fields)
        # Only the author can be expanded from the event itself; anything else reads the store.
        self.needs_store = bool(how.expansions - {"author_id"})

    def _includes(self, delivery: StreamDelivery) -> dict[str, Any]:
        if "author_id" in self.how.expansions and delivery.event.author is not None:
            return {"users": [self.render_user(user_record_row(delivery.event.author))]}
        return {}

    def lines(self, batch: Sequence[StreamDelivery]) -> bytes:
        """Render `batch` without touching the database (no expansions beyond author_id)."""
        return b"".join(self._line(d, self._includes(d)) for d in batch)

    def lines_from_store(self, batch: Sequence[StreamDelivery]) -> bytes:
        """Render `batch` with expansions from the store (run in a worker thread)."""
        out = []
        with self.engine.connect() as conn:
            for delivery in batch:
                row = post_record_row(delivery.event.post)
                includes, errors, _ids = post_includes(conn, [row], self.how)
                out.append(self._line(delivery, includes, errors))
        return b"".join(out)

    def _line(
        self,
        delivery: StreamDelivery,
        includes: dict[str, Any],
        errors: Sequence[dict[str, Any]] = (),
    ) -> bytes:
        body: dict[str, Any] = {"data": self.render_post(post_record_row(delivery.event.post))}
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = list(errors)
        if delivery.rules:
            body["matching_rules"] = [{"id": str(r.id), "tag": r.tag or ""} for r in delivery.rules]
        return orjson.dumps(body) + b"\r\n"

    async def render(self, batch: Sequence[StreamDelivery]) -> bytes:
        if self.needs_store:
            return await asyncio.to_thread(self.lines_from_store, batch)
        return self.lines(batch)


def error_line(error: dict[str, Any]) -> bytes:
    return orjson.dumps({"errors": [error]}) + b"\r\n"


class StreamResponse(Response):
    """The long-lived streaming response of one connection (a raw ASGI response so that a slow
    reader can be cut off while a write to it is still pending)."""

    media_type = "application/json"

    def __init__(
        self,
        runtime: StreamRuntime,
        conn: StreamConnection,
        slot: str,
        token: str,
        ttl: float,
        how: render.Rendering,
        meter: StreamMeter,
    ) -> None:
        super().__init__(content=None, status_code=200, media_type=self.media_type)
        # No content-length: the body is chunked and open-ended.
        self.raw_headers = [(b"content-type", b"application/json")]
        self.runtime = runtime
        self.conn = conn
        self.slot = slot
        self.token = token
        self.ttl = ttl
        self.renderer = LineRenderer(how, runtime.engine)
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            # An empty first chunk makes the headers leave now (middlewares may hold the start
            # message until the first body part), not with the first post or keep-alive.
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            farewell = await self._pump(send)
            if farewell is not None:
                await self._send_within(send, farewell, _FAREWELL_SECONDS)
        finally:
            watcher.cancel()
            self.runtime.hub.disconnect(self.conn)
            with contextlib.suppress(Exception):
                await self.runtime.slots.release(self.slot, self.token)
            with contextlib.suppress(Exception):
                await self.meter.flush(final=True)
        await self._send_within(
            send, {"type": "http.response.body", "body": b"", "more_body": False}, 1.0
        )

    async def _watch_disconnect(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.conn.end("client")
                return

    async def _pump(self, send: Send) -> Message | None:
        """Write batches and keep-alives until the connection ends; the last message to send
        (an error line) or None."""
        settings = self.runtime.settings
        keepalive = settings.stream_keepalive_seconds
        interval = settings.stream_usage_interval_seconds
        next_refresh = time.monotonic() + self.ttl / 3
        next_flush = time.monotonic() + interval
        while True:
            batch = await self.conn.next_batch(keepalive)
            if self.conn.ended is not None:
                return self._farewell(self.conn.ended)
            now = time.monotonic()
            if now >= next_refresh:
                next_refresh = now + self.ttl / 3
                if not await self.runtime.slots.refresh(self.slot, self.token, self.ttl):
                    return self._farewell("slot lost")
            if now >= next_flush:
                next_flush = now + interval
                await self.meter.flush()
            if batch is None:
                chunk = b"\r\n"
            else:
                if not await self.meter.admit([d.event.post.id for d in batch]):
                    return _body(error_line(USAGE_CAPPED))
                chunk = await self.renderer.render(batch)
                self.meter.wrote(len(chunk))
            if not await self._send_unless_ended(send, _body(chunk)):
                return self._farewell(self.conn.ended or "slow")
            if self.meter.exhausted:
                return _body(error_line(USAGE_CAPPED))

    def _farewell(self, reason: str) -> Message | None:
        if reason == "client":
            return None
        return _body(error_line(OPERATIONAL_DISCONNECT))

    async def _send_unless_ended(self, send: Send, message: Message) -> bool:
        """Send `message`; if the connection is ended while the write waits on a slow reader,
        give the write a grace period (so the reader can still get the error line) and report
        False."""
        if self.conn.ended is not None:
            return False
        write = asyncio.ensure_future(send(message))
        ended = asyncio.ensure_future(self.conn.wait_ended())
        try:
            await asyncio.wait({write, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        if write.done():
            write.result()
            return True
        if self.conn.ended == "client":
            write.cancel()
            return False
        try:
            await asyncio.wait_for(write, _FAREWELL_SECONDS)
        except (TimeoutError, Exception):
            self.conn.end("abandoned")
        return False

    async def _send_within(self, send: Send, message: Message, seconds: float) -> None:
        if self.conn.ended in ("client", "abandoned"):
            return
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(send(message), seconds)


def _body(chunk: bytes) -> Message:
    return {"type": "http.response.body", "body": chunk, "more_body": True}

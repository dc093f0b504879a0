"""The edge's metering step: an ASGI middleware around the `/2/` pipeline.

It sits outside authentication so that refused requests (401/403/429) are recorded too. It gives
every `/2/` request a UUIDv7 (`scope["tollhouse.request_id"]`, `x-request-id` header) and, for
metered endpoints, holds the response until the pipeline has finished (limits and handlers fill
in delivered and new posts), records the usage event and — in strict mode — sends the response
only once the event is fsynced to the spool. Streamed responses are passed through as they come
and recorded when they end.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollhouse.api import problems
from tollhouse.api.scope import (
    CONTEXT_KEY,
    DELIVERED_KEY,
    DELIVERED_USERS_KEY,
    ENDPOINT_KEY,
    NEW_POSTS_KEY,
    REFUSED_KEY,
    REQUEST_ID_KEY,
)
from tollhouse.endpoints import match_endpoint
from tollhouse.metering.errors import MeteringUnavailable
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.recorder import UsageRecorder

MAX_USER_AGENT = 512
MAX_END_USER = 200
_MAX_QUERY_STRING = 4096
# Endpoints whose query string says how a licensee searches (compliance reads it); a lookup's
# query string is its ids, which the event carries already.
_SEARCHES = frozenset(
    (
        "/2/tweets/search/recent",
        "/2/tweets/search/all",
        "/2/tweets/counts/recent",
        "/2/tweets/counts/all",
    )
)


def end_user_name(value: bytes) -> str | None:
    """The end user an `X-End-User` header value names, as metering records it and the edge
    matches it against the declared end users."""
    return value.decode("utf-8", "replace").strip()[:MAX_END_USER] or None


def end_user_of(scope: Scope) -> str | None:
    """The end user the request's `X-End-User` header names, or None."""
    for name, value in scope["headers"]:
        if name == b"x-end-user":
            return end_user_name(value)
    return None


class MeteringMiddleware:
    """Request ids for every `/2/` request; usage events for metered endpoints."""

    def __init__(self, app: ASGIApp, writer: UsageRecorder | None) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/2/"):
            await self.app(scope, receive, send)
            return
        start_ns = time.time_ns()
        request_id = uuid7(start_ns // 1_000_000)
        scope[REQUEST_ID_KEY] = request_id
        id_header = (b"x-request-id", request_id.encode())
        endpoint = match_endpoint(scope["method"], scope["path"])
        scope[ENDPOINT_KEY] = endpoint  # matched once: the edge and the dispatch read it
        if self.writer is None or endpoint is None or not endpoint.metered:
            await self.app(scope, receive, _with_header(send, id_header))
            return
        metered = _MeteredRequest(
            self.writer, scope, send, id_header, request_id, start_ns, endpoint.template
        )
        # Streams are never held back: their headers must reach the client before any post.
        metered.streaming = endpoint.template.endswith("/stream")
        await metered.run(self.app, receive)


class _MeteredRequest:
    __slots__ = (
        "body_bytes",
        "endpoint",
        "held",
        "id_header",
        "recorded",
        "request_id",
        "scope",
        "send",
        "start_ns",
        "status",
        "streaming",
        "writer",
    )

    def __init__(
        self,
        writer: UsageRecorder,
        scope: Scope,
        send: Send,
        id_header: tuple[bytes, bytes],
        request_id: str,
        start_ns: int,
        endpoint: str,
    ) -> None:
        self.writer = writer
        self.scope = scope
        self.send = send
        self.id_header = id_header
        self.request_id = request_id
        self.start_ns = start_ns
        self.endpoint = endpoint
        self.held: list[Message] = []
        self.status = 500
        self.body_bytes = 0
        self.streaming = False
        self.recorded = False

    async def run(self, app: ASGIApp, receive: Receive) -> None:
        try:
            await app(self.scope, receive, self.on_send)
        except BaseException:
            if not self.recorded:
                if not self.streaming:
                    self.status = 500  # what is held is never sent; the client gets a 500
                self._record_nowait()
            raise
        if self.streaming:
            if not self.recorded:
                self._record_nowait()
            return
        if self.held:
            await self._record_then_release()

    async def on_send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            # A copy: senders may reuse their message dicts (the edge's canned refusals do).
            message = {**message, "headers": [*message.get("headers", ()), self.id_header]}
            if self.streaming:
                await self.send(message)
            else:
                self.held.append(message)
            return
        if kind == "http.response.body":
            self.body_bytes += len(message.get("body", b""))
            if self.streaming:
                await self.send(message)
                return
            self.held.append(message)
            if message.get("more_body", False):
                # A stream: it cannot wait for its end; send what we have and pass on the rest.
                self.streaming = True
                for held in self.held:
                    await self.send(held)
                self.held = []
            return
        await self.send(message)

    def _event(self) -> UsageEvent:
        scope = self.scope
        context = scope.get(CONTEXT_KEY)
        delivered = scope.get(DELIVERED_KEY) or ()
        new_posts = scope.get(NEW_POSTS_KEY)
        user_agent = end_user = None
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value[:MAX_USER_AGENT].decode("latin-1")
            elif name == b"x-end-user":
                end_user = end_user_name(value)
        client = scope.get("client")
        query_string = None
        if self.endpoint in _SEARCHES:
            raw = scope.get("query_string", b"")
            query_string = raw[:_MAX_QUERY_STRING].decode("latin-1") or None
        return UsageEvent(
            request_id=self.request_id,
            occurred_us=self.start_ns // 1000,
            org_id=getattr(context, "org_id", None),
            app_id=getattr(context, "app_id", None),
            key_id=getattr(context, "key_id", None),
            endpoint=self.endpoint,
            method=scope["method"],
            status=self.status,
            posts=len(delivered),
            new_posts=len(delivered) if new_posts is None else int(new_posts),
            bytes=self._bytes_to_record(),
            duration_us=(time.time_ns() - self.start_ns) // 1000,
            client_ip=client[0] if client else None,
            user_agent=user_agent,
            end_user=end_user,
            post_ids=tuple(delivered),
            query_string=query_string,
            user_ids=tuple(scope.get(DELIVERED_USERS_KEY) or ()),
            refused_ids=tuple(scope.get(REFUSED_KEY) or ()),
        )

    def _bytes_to_record(self) -> int:
        # An accepted stream meters itself: one event per usage interval with the posts and bytes
        # of that interval (api/stream_meter.py). This event stands for the connection only, so its
        # bytes would be counted twice.
        if self.status == 200 and self.endpoint.endswith("/stream"):
            return 0
        return self.body_bytes

    def _record_nowait(self) -> None:
        self.recorded = True
        self.writer.record(self._event())

    async def _record_then_release(self) -> None:
        self.recorded = True
        event = self._event()
        if self.writer.mode == "strict":
            try:
                started = time.perf_counter()
                await self.writer.record_durably(event)
                self.writer.acknowledgements.observe(time.perf_counter() - started)
            except MeteringUnavailable:
                # Nothing may leave without its record: answer 503 instead of the response.
                await self._send_unavailable()
                return
        else:
            self.writer.record(event)
        for message in self.held:
            await self.send(message)

    async def _send_unavailable(self) -> None:
        start, body = problems.asgi_messages(problems.metering_unavailable())
        await self.send({**start, "headers": [*start["headers"], self.id_header]})
        await self.send(body)


def _with_header(send: Send, header: tuple[bytes, bytes]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), header]}
        await send(message)

    return wrapped

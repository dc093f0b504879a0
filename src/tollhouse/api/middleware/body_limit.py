"""A cap on request bodies, per route, enforced as the body arrives.

A body whose `Content-Length` passes the route's cap is refused before any of it is read; one
sent without a length (chunked) is counted as it arrives and refused the moment it passes, so
no handler ever holds more than the cap in memory. The refusal is a 413 `Problem`.
Caps come from settings: `max_body_bytes` for every route, `max_body_bytes_by_route` for the
routes (path prefixes, the longest matching one wins) that need another.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollhouse.api import problems


class BodyLimit:
    """ASGI middleware refusing request bodies larger than their route's cap with 413."""

    def __init__(
        self, app: ASGIApp, default_bytes: int, by_route: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_bytes = default_bytes
        # Longest prefix first, so that the most specific route's cap is the one found.
        self.by_route = sorted((by_route or {}).items(), key=lambda kv: -len(kv[0]))

    def cap_for(self, path: str) -> int:
        """The most bytes a request to `path` may carry in its body."""
        for prefix, cap in self.by_route:
            if path.startswith(prefix):
                return cap
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _refuse(send, cap)
            return
        received = 0
        exceeded = False  # the body passed the cap: whatever the app answers becomes the 413
        answered = False  # a response has started (the app's, or the 413)

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    exceeded = True
                    # Stops the handler's read; some frameworks turn any error while reading a
                    # body into their own 400 (FastAPI does), which `guarded_send` replaces.
                    raise problems.payload_too_large(cap)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if exceeded:
                if not answered and message["type"] == "http.response.start":
                    answered = True
                    await _refuse(send, cap)
                return  # the app's own answer to the cut-off read is dropped
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except problems.ApiProblem:
            if not exceeded:
                raise
        if exceeded and not answered:
            await _refuse(send, cap)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, cap: int) -> None:
    start, body = problems.asgi_messages(problems.payload_too_large(cap))
    await send(start)
    await send(body)

"""The edge pipeline: the one place every `/2/` request passes through.

    1. authenticate          bearer token → key (format + checksum first, then the cache)
    2. org and app active    } decided when the key entry was loaded; the entry carries
    3. agreement accepted    } the refusal, so these are one attribute read; with it, the
                             declared end users the agreement does not let it serve
    4. endpoint in plan      `match_endpoint` (matched once, by MeteringMiddleware), then a
                             frozenset lookup
    5. limits admit          rate windows and monthly cap, before the handler
    6. handler
    7. after the handler     count `scope["tollhouse.delivered"]` against the cap

Metering is not a step here: MeteringMiddleware, outside this pipeline, records every `/2/`
request, refused ones included.

It is pure ASGI: per request there is a header scan, a dict lookup, one SHA-256 and a
constant-time compare; no ORM, no database (misses load once, off the event loop), no logging on
success. Refusals are X Problem bodies: 401 `Unauthorized`, 403 `client-forbidden` + reason.
"""

from __future__ import annotations

import hmac
import time
from hashlib import sha256
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tollhouse.access.context import RequestContext
from tollhouse.access.directory import MISSING, KeyDirectory, KeyEntry, Refusal
from tollhouse.access.keys import TOKEN_LENGTH, parse_token
from tollhouse.access.revocation import redis_url_of
from tollhouse.api import problems
from tollhouse.api.middleware.limits import PREPAID_KEY, admit_step, count_step
from tollhouse.api.middleware.metering import end_user_of
from tollhouse.api.scope import (
    CONTEXT_KEY,
    ENDPOINT_KEY,
    RESPONSE_HEADERS_KEY,
    RESPONSE_STATUS_KEY,
)
from tollhouse.endpoints import Endpoint, match_endpoint

ADMIN_PREFIX = "/admin/"
_BEARER = b"bearer "
_DIRECTORY_ATTR = "tollhouse_directory"


_UNAUTHORIZED = problems.asgi_messages(problems.unauthorized())


def _refusal_problem(refusal: Refusal) -> problems.ApiProblem:
    if refusal is Refusal.AGREEMENT_NOT_ACCEPTED:
        return problems.client_forbidden(
            "agreement-not-accepted",
            "Your organisation has not accepted the current developer agreement.",
        )
    if refusal is Refusal.APP_SUSPENDED:
        return problems.client_forbidden("client-suspended", "This app is suspended.")
    if refusal is Refusal.ORG_TERMINATED:
        return problems.client_forbidden(
            "client-terminated", "Your organisation's access has been terminated."
        )
    return problems.client_forbidden("client-suspended", "Your organisation is suspended.")


_REFUSALS = {refusal: problems.asgi_messages(_refusal_problem(refusal)) for refusal in Refusal}


def _not_enrolled(context: RequestContext, endpoint: Endpoint) -> tuple[Message, Message]:
    return problems.asgi_messages(
        problems.client_forbidden(
            "client-not-enrolled",
            f"Your plan ({context.plan.name}) does not include {endpoint.label}.",
            required_enrollment="a plan that includes " + endpoint.template,
        )
    )


def directory_for(app: Any) -> KeyDirectory:
    """The app's key directory, created (and its change watcher started) on first use."""
    directory: KeyDirectory | None = getattr(app.state, _DIRECTORY_ATTR, None)
    if directory is None:
        state = app.state.tollhouse
        directory = KeyDirectory(state.engine)
        directory.watch(redis_url_of(state.settings), state.settings.database_url)
        setattr(app.state, _DIRECTORY_ATTR, directory)
    return directory


def close_directory(app: Any) -> None:
    """Stop the key directory's change watcher, if the app started one."""
    directory: KeyDirectory | None = getattr(app.state, _DIRECTORY_ATTR, None)
    if directory is not None:
        directory.close()


def bearer_token(scope: Scope) -> str | None:
    """The bearer token of the request's Authorization header, or None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() != _BEARER:
                return None
            try:
                token: str = value[7:].strip().decode("ascii")
                return token
            except UnicodeDecodeError:
                return None
    return None


class EdgeMiddleware:
    """Runs the edge pipeline in front of X API routes (`/2/…`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._directory: KeyDirectory | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/2/"):
            await self.app(scope, receive, send)
            return

        # 1. authenticate. A token seen before is found by its SHA-256 digest; a new one must
        #    pass the format and checksum test (no lookup for typos), then the key directory.
        token = bearer_token(scope)
        if token is None or len(token) != TOKEN_LENGTH:
            await _reply(send, _UNAUTHORIZED)
            return
        directory = self._directory or self._bind(scope)
        digest = sha256(token.encode()).digest()
        entry = directory.verified(digest)
        if entry is None:
            entry = await self._verify(directory, token, digest)
            if entry is None:
                await _reply(send, _UNAUTHORIZED)
                return
        if entry.not_after is not None and time.time() >= entry.not_after:
            await _reply(send, _UNAUTHORIZED)  # rotated away and past its grace period
            return
        # 2.-3. organisation and app active, agreement accepted (decided at load time).
        if entry.refusal is not None:
            await _reply(send, _REFUSALS[entry.refusal])
            return
        # The agreement's government use: a declared government end user it does not let the
        # organisation serve (only organisations that have one pay for reading the header).
        if entry.refused_end_users:
            name = end_user_of(scope)
            why = entry.refused_end_users.get(name) if name is not None else None
            if why is not None and name is not None:
                await _reply(send, problems.asgi_messages(problems.end_user_refused(name, why)))
                return
        context = entry.context
        # 4. endpoint in plan. Unknown /2/ paths go on to the router, which answers 404.
        # Metering, in front, has matched it already.
        endpoint = scope.get(ENDPOINT_KEY) or match_endpoint(scope["method"], scope["path"])
        if endpoint is not None and endpoint.template not in context.plan.endpoints:
            await _reply(send, _not_enrolled(context, endpoint))
            return
        scope[CONTEXT_KEY] = context
        scope[ENDPOINT_KEY] = endpoint

        # 5. limits admit: decide here, before the handler; on refusal reply and return.
        #    Headers for the response go in scope[RESPONSE_HEADERS_KEY].
        limits = scope["app"].state.tollhouse.limits if endpoint is not None else None
        if limits is not None and endpoint is not None:
            refused = await admit_step(
                limits,
                context,
                endpoint.template,
                endpoint.metered,
                scope,
                reserve=not endpoint.streaming,
            )
            if refused is not None:
                await _reply(send, refused)
                return

        # 6. handler (extra headers from the steps above are added to its response)
        extra = scope.get(RESPONSE_HEADERS_KEY)
        if PREPAID_KEY in scope:
            send = _recording_status(send, scope)
        try:
            await self.app(scope, receive, send if not extra else _with_headers(send, extra))
        finally:
            # 7. after the handler: scope.get(DELIVERED_KEY) holds the delivered post ids; count
            #    them against the monthly cap (MeteringMiddleware, outside, records the request).
            #    Limits counts even if the handler raised, to give back the cap reservation.
            if limits is not None:
                await count_step(limits, context, scope)

    @staticmethod
    async def _verify(directory: KeyDirectory, token: str, digest: bytes) -> KeyEntry | None:
        """Check a token not seen before; remember it if genuine."""
        key_id = parse_token(token)
        if key_id is None:
            return None
        generation = directory.generation
        entry = directory.get(key_id)
        if entry is MISSING:
            entry = await anyio.to_thread.run_sync(directory.load, key_id)
        if not isinstance(entry, KeyEntry):
            return None
        if not hmac.compare_digest(digest.hex(), entry.token_hash):
            return None
        directory.remember(digest, entry, generation)
        return entry

    def _bind(self, scope: Scope) -> KeyDirectory:
        self._directory = directory_for(scope["app"])
        return self._directory


class AdminGuard:
    """Only the operator token opens `/admin/`: a licensee key is refused right here, before
    any routing, body parsing or lookup."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith(ADMIN_PREFIX)
            and not _is_operator(scope)
        ):
            await _reply(send, _UNAUTHORIZED)
            return
        await self.app(scope, receive, send)


def _is_operator(scope: Scope) -> bool:
    expected: str = scope["app"].state.tollhouse.settings.admin_token
    token = bearer_token(scope)
    return (
        bool(expected)
        and token is not None
        and hmac.compare_digest(token.encode(), expected.encode())
    )


def _recording_status(send: Send, scope: Scope) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            scope[RESPONSE_STATUS_KEY] = message["status"]
        await send(message)

    return wrapped


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *extra]
        await send(message)

    return wrapped


async def _reply(send: Send, messages: tuple[Message, Message]) -> None:
    # Canned messages are shared by every refusal: send copies so no outer layer can change them.
    start, body = messages
    await send({**start, "headers": list(start["headers"])})
    await send(dict(body))

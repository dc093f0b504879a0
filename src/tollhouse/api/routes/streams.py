"""X API v2 streams: filtered-stream rules, the filtered stream and the sample stream.

A stream is a long-lived `200` response of newline-delimited JSON, one post per CRLF-ended line,
with a bare CRLF keep-alive when nothing was sent for `stream_keepalive_seconds`. It ends with an
X error line when the server ends it (slow reader, usage cap, shutdown). Each app may hold one
connection per stream at a time, across every gateway process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from fastapi import APIRouter
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from tollhouse.access.context import RequestContext
from tollhouse.api import params as p
from tollhouse.api.problems import (
    PROBLEMS,
    ApiProblem,
    invalid_request,
    service_unavailable,
    unauthorized,
)
from tollhouse.api.render import post_includes, post_renderer, user_renderer
from tollhouse.api.responses import JSONResponse
from tollhouse.api.scope import CONTEXT_KEY
from tollhouse.api.state import app_state
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.search import Record
from tollhouse.corpus.store import entities_of
from tollhouse.streams import rules as rule_service
from tollhouse.streams.errors import BusUnavailable, RulesCapExceeded
from tollhouse.streams.events import RulesChanged
from tollhouse.streams.hub import Delivery, StreamConnection
from tollhouse.streams.metering import MeteredStream, StreamMeter
from tollhouse.streams.runtime import StreamRuntime, runtime_for

router = APIRouter(tags=["streams"])
log = logging.getLogger("tollhouse.streams")

STREAM_PARAMS = (
    "backfill_minutes",
    "expansions",
    "media.fields",
    "place.fields",
    "poll.fields",
    "tweet.fields",
    "user.fields",
)
RULES_GET_PARAMS = ("ids",)
RULES_POST_PARAMS = ("dry_run",)
# Most rules one request may add or delete (X: 1000 per request).
MAX_RULES_PER_REQUEST = 1000
MAX_TAG_LENGTH = 256
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


# ---- problems ---------------------------------------------------------------------------------


def too_many_connections() -> ApiProblem:
    """429 `ConnectionException`: the app already holds its one connection to this stream."""
    return ApiProblem(
        429,
        {
            "title": "ConnectionException",
            "detail": "This stream is currently at the maximum allowed connection limit.",
            "connection_issue": "TooManyConnections",
            "type": PROBLEMS + "streaming-connection",
        },
    )


def rules_cap(exc: RulesCapExceeded) -> ApiProblem:
    return ApiProblem(
        400,
        {"title": "RulesCapExceeded", "detail": str(exc), "type": PROBLEMS + "rule-cap"},
    )


def _caller(request: Request) -> RequestContext:
    context = request.scope.get(CONTEXT_KEY)
    if not isinstance(context, RequestContext):
        raise unauthorized()
    return context


def _sent() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{datetime.now(UTC).microsecond // 1000:03d}Z"
    )


def _rule_json(rule: rule_service.StreamRule) -> dict[str, str]:
    out = {"id": str(rule.id), "value": rule.value}
    if rule.tag:
        out["tag"] = rule.tag
    return out


# ---- rules ------------------------------------------------------------------------------------


@router.get("/2/tweets/search/stream/rules", summary="List the app's filtered-stream rules")
async def get_rules(request: Request) -> Response:
    context = _caller(request)
    args = dict(request.query_params)
    p.check_known(args, RULES_GET_PARAMS)
    ids = p.id_list(args, "ids", MAX_RULES_PER_REQUEST) if "ids" in args else None
    engine = app_state(request).engine

    def work() -> list[rule_service.StreamRule]:
        with engine.connect() as conn:
            return rule_service.list_rules(conn, str(context.app_id), ids)

    found = await asyncio.to_thread(work)
    body: dict[str, Any] = {}
    if found:
        body["data"] = [_rule_json(r) for r in found]
    body["meta"] = {"sent": _sent(), "result_count": len(found)}
    return JSONResponse(body)


def _bool_param(args: dict[str, str], name: str) -> bool:
    raw = args.get(name)
    if raw is None:
        return False
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise invalid_request(f"The `{name}` query parameter value [{raw}] is not one of [true,false]")


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object with `add` or `delete`.")
    return body


def _new_rules(raw: Any) -> list[rule_service.NewRule]:
    if not isinstance(raw, list) or not raw:
        raise invalid_request("`add` must be a non-empty list of rules with a `value`.")
    if len(raw) > MAX_RULES_PER_REQUEST:
        raise invalid_request(f"`add` may hold at most {MAX_RULES_PER_REQUEST} rules.")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise invalid_request("Every rule in `add` needs a string `value`.")
        unknown = set(item) - {"value", "tag"}
        if unknown:
            raise invalid_request(f"Unknown rule field(s): {', '.join(sorted(unknown))}.")
        tag = item.get("tag")
        if tag is not None and (not isinstance(tag, str) or len(tag) > MAX_TAG_LENGTH):
            raise invalid_request(f"A rule `tag` must be a string of at most {MAX_TAG_LENGTH}.")
        out.append(rule_service.NewRule(item["value"], tag or None))
    return out


def _delete_spec(raw: Any) -> tuple[list[int], list[str]]:
    if not isinstance(raw, dict) or not (set(raw) <= {"ids", "values"}) or not raw:
        raise invalid_request("`delete` must be an object with `ids` or `values`.")
    ids_raw = raw.get("ids", [])
    values = raw.get("values", [])
    if not isinstance(ids_raw, list) or not isinstance(values, list):
        raise invalid_request("`delete.ids` and `delete.values` must be lists.")
    if not ids_raw and not values:
        raise invalid_request("`delete` must name at least one rule.")
    if len(ids_raw) + len(values) > MAX_RULES_PER_REQUEST:
        raise invalid_request(f"`delete` may name at most {MAX_RULES_PER_REQUEST} rules.")
    ids = []
    for value in ids_raw:
        text = str(value)
        if not text.isdigit() or len(text) > 19:
            raise invalid_request(f"The rule id [{text}] is not a valid id.")
        ids.append(int(text))
    if not all(isinstance(v, str) for v in values):
        raise invalid_request("`delete.values` must be strings.")
    return ids, values


@router.post("/2/tweets/search/stream/rules", summary="Add or delete filtered-stream rules")
async def post_rules(request: Request) -> Response:
    context = _caller(request)
    args = dict(request.query_params)
    p.check_known(args, RULES_POST_PARAMS)
    dry_run = _bool_param(args, "dry_run")
    body = await _json_body(request)
    if set(body) == {"add"}:
        response = await _add(request, context, _new_rules(body["add"]), dry_run)
    elif set(body) == {"delete"}:
        ids, values = _delete_spec(body["delete"])
        response = await _delete(request, context, ids, values, dry_run)
    else:
        raise invalid_request("The request body must hold exactly one of `add` or `delete`.")
    return response


async def _rules_changed(request: Request, app_id: str) -> None:
    """Make this process use the new rules before answering, and tell the other processes."""
    runtime = await runtime_for(request.app)
    await runtime.hub.reload(app_id)
    try:
        await runtime.bus.publish([RulesChanged(app_id)])
    except BusUnavailable:
        # The rules are stored; other processes read them when their next stream connects.
        log.warning("rules of app %s changed but the stream bus is unavailable", app_id)


async def _add(
    request: Request,
    context: RequestContext,
    new: list[rule_service.NewRule],
    dry_run: bool,
) -> Response:
    engine = app_state(request).engine
    app_id = str(context.app_id)
    plan = context.plan

    def work() -> rule_service.AddOutcome:
        with engine.begin() as conn:
            return rule_service.add_rules(
                conn,
                app_id,
                new,
                max_rules=plan.max_stream_rules,
                max_length=plan.max_query_length,
                dry_run=dry_run,
            )

    try:
        outcome = await asyncio.to_thread(work)
    except RulesCapExceeded as exc:
        raise rules_cap(exc) from exc
    if outcome.created and not dry_run:
        await _rules_changed(request, app_id)
    errors = [_add_error(e) for e in outcome.errors]
    body: dict[str, Any] = {}
    if outcome.created:
        body["data"] = [_rule_json(r) for r in outcome.created]
    body["meta"] = {
        "sent": _sent(),
        "summary": {
            "created": len(outcome.created),
            "not_created": len(new) - len(outcome.created),
            "valid": len(outcome.created),
            "invalid": len(new) - len(outcome.created),
        },
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=400 if outcome.invalid else 200)


def _add_error(error: rule_service.RuleError) -> dict[str, Any]:
    if error.kind == "duplicate":
        out: dict[str, Any] = {"value": error.value}
        if error.id is not None:
            out["id"] = str(error.id)
        out.update(title="DuplicateRule", type=PROBLEMS + "duplicate-rules")
        return out
    return {
        "value": error.value,
        "details": list(error.details),
        "title": "UnprocessableEntity",
        "type": PROBLEMS + "invalid-rules",
    }


async def _delete(
    request: Request, context: RequestContext, ids: list[int], values: list[str], dry_run: bool
) -> Response:
    engine = app_state(request).engine
    app_id = str(context.app_id)

    def work() -> rule_service.DeleteOutcome:
        with engine.begin() as conn:
            return rule_service.delete_rules(conn, app_id, ids=ids, values=values, dry_run=dry_run)

    outcome = await asyncio.to_thread(work)
    if outcome.deleted and not dry_run:
        await _rules_changed(request, app_id)
    body: dict[str, Any] = {
        "meta": {
            "sent": _sent(),
            "summary": {"deleted": len(outcome.deleted), "not_deleted": len(outcome.errors)},
        }
    }
    if outcome.errors:
        body["errors"] = [
            {
                "value": e.value,
                "details": list(e.details),
                "title": "RuleNotFound",
                "type": PROBLEMS + "invalid-request",
            }
            for e in outcome.errors
        ]
    return JSONResponse(body)


# ---- streams ----------------------------------------------------------------------------------


@router.get("/2/tweets/search/stream", summary="Stream posts matching the app's rules")
async def filtered_stream(request: Request) -> Response:
    return await _open_stream(request, "filter")


@router.get("/2/tweets/sample/stream", summary="Stream a 1% sample of all posts")
async def sample_stream(request: Request) -> Response:
    return await _open_stream(request, "sample")


async def _open_stream(request: Request, kind: str) -> Response:
    context = _caller(request)
    args = dict(request.query_params)
    p.check_known(args, STREAM_PARAMS)
    backfill = args.get("backfill_minutes")
    if backfill is not None and backfill not in ("0", "1", "2", "3", "4", "5"):
        raise invalid_request(
            f"The `backfill_minutes` query parameter value [{backfill}] is not between 0 and 5",
            {"backfill_minutes": [backfill]},
        )
    # backfill_minutes is accepted for compatibility; Tollhouse keeps no backfill buffer.
    how = p.rendering(args, p.TWEET_EXPANSIONS)
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
        raise too_many_connections()
    try:
        if kind == "filter":
            conn = await runtime.hub.connect_filter(app_id)
        else:
            conn = runtime.hub.connect_sample(app_id)
    except BaseException:
        await runtime.slots.release(slot, token)
        raise
    template = "/2/tweets/search/stream" if kind == "filter" else "/2/tweets/sample/stream"
    meter = stream_meter(request, context, template)
    if kind == "filter" and isinstance(meter, MeteredStream):
        hub = runtime.hub
        meter.rules = lambda: hub.rule_values(app_id)
    return StreamResponse(runtime, conn, slot, token, ttl, how, meter)


def stream_meter(request: Request, context: RequestContext, endpoint: str) -> StreamMeter:
    """The meter for one stream connection (see tollhouse.streams.metering)."""
    state = app_state(request)
    client = request.client
    return MeteredStream(
        context,
        endpoint,
        state.limits,
        state.usage_writer,
        client_ip=client.host if client else None,
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        end_user=(request.headers.get("x-end-user") or "").strip()[:200] or None,
    )


# ---- rendering --------------------------------------------------------------------------------


def post_row(post: PostRecord) -> Record:
    """The post as a row shaped like `search.POST_COLUMNS` (X-formatted time, JSON as text), for
    the shared renderers."""
    return cast(
        Record,
        (
            post.id,
            post.author_id,
            post.text,
            p.format_time(post.created_at),
            post.lang or "und",
            post.conversation,
            post.in_reply_to_user_id,
            post.replied_to_id,
            post.retweeted_id,
            post.quoted_id,
            _json_text(entities_of(post)),
            post.retweet_count,
            post.reply_count,
            post.like_count,
            post.quote_count,
            post.bookmark_count,
            post.impression_count,
            post.possibly_sensitive,
            post.source,
            None,
        ),
    )


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def user_row(user: UserRecord) -> Record:
    """The user as a row shaped like `search.USER_COLUMNS`."""
    return cast(
        Record,
        (
            user.id,
            user.username,
            user.name,
            user.description,
            user.location,
            user.url,
            user.profile_image_url,
            p.format_time(user.created_at),
            user.verified,
            user.protected,
            user.followers_count,
            user.following_count,
            user.tweet_count,
            user.listed_count,
            None,
            "active",
        ),
    )


class LineRenderer:
    """Turns deliveries into stream lines with the connection's fields and expansions."""

    def __init__(self, how: p.Rendering, engine: Engine) -> None:
        self.how = how
        self.engine = engine
        self.render_post = post_renderer(how.tweet_fields)
        self.render_user = user_renderer(how.user_fields)
        # Only the author can be expanded from the event itself; anything else reads the store.
        self.needs_store = bool(how.expansions - {"author_id"})

    def _includes(self, delivery: Delivery) -> dict[str, Any]:
        if "author_id" in self.how.expansions and delivery.event.author is not None:
            return {"users": [self.render_user(user_row(delivery.event.author))]}
        return {}

    def lines(self, batch: Sequence[Delivery]) -> bytes:
        """Render `batch` without touching the database (no expansions beyond author_id)."""
        return b"".join(self._line(d, self._includes(d)) for d in batch)

    def lines_from_store(self, batch: Sequence[Delivery]) -> bytes:
        """Render `batch` with expansions from the store (run in a worker thread)."""
        out = []
        with self.engine.connect() as conn:
            for delivery in batch:
                row = post_row(delivery.event.post)
                includes, errors, _ids = post_includes(conn, [row], self.how)
                out.append(self._line(delivery, includes, errors))
        return b"".join(out)

    def _line(
        self,
        delivery: Delivery,
        includes: dict[str, Any],
        errors: Sequence[dict[str, Any]] = (),
    ) -> bytes:
        body: dict[str, Any] = {"data": self.render_post(post_row(delivery.event.post))}
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = list(errors)
        if delivery.rules:
            body["matching_rules"] = [{"id": str(r.id), "tag": r.tag or ""} for r in delivery.rules]
        return orjson.dumps(body) + b"\r\n"

    async def render(self, batch: Sequence[Delivery]) -> bytes:
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
        how: p.Rendering,
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

"""Corpus work of the posts and users handlers: running it off the event loop under a deadline,
turning a page of post rows into X's envelope, lookup error objects, and the OpenAPI
description of hand-parsed parameters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api import pagination, problems
from tollhouse.api.org_slots import SlotsFull
from tollhouse.api.render import P_ID, Rendering, envelope, post_includes, post_renderer
from tollhouse.api.scope import CONTEXT_KEY, DELIVERED_KEY, DELIVERED_USERS_KEY, REFUSED_KEY
from tollhouse.api.state import app_state
from tollhouse.corpus import deadline, lookups, search
from tollhouse.corpus.errors import QueryTimedOut
from tollhouse.corpus.projections import Record

T = TypeVar("T")
# The corpus side of a request that delivers posts: (response body, delivered post ids).
Work = Callable[[Connection], tuple[dict[str, Any], list[int]]]


def query_params(request: Request) -> dict[str, str]:
    """The query string as a plain dict (a repeated parameter: the last value wins).

    Parsed straight from the scope as Starlette's `request.query_params` does (latin-1, then
    percent-decoding as UTF-8), without building its multi-dict first."""
    query: bytes = request.scope["query_string"]
    return dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))


async def run_corpus(
    request: Request, work: Callable[[Connection], T], *, lookup: bool = False
) -> T:
    """Run `work` on the corpus threads on a connection bounded by settings.query_timeout_ms.

    `lookup`: work of a known small size (a lookup by id: at most 100 index probes) runs on the
    lookup threads, which no search can occupy. Other work holds one of the organisation's
    corpus slots, and is a 429 when it has none left. A statement cut off at the deadline
    becomes a 503 Problem. The threads are plain executors: anyio's `to_thread` (Starlette's
    threadpool) costs twice as much event-loop time per hop (≈ 35 vs 15 µs, 64 concurrent
    callers on one core), and a lookup makes one hop per request.
    """
    state = app_state(request)
    run = asyncio.get_running_loop().run_in_executor
    try:
        if lookup:
            return await run(
                state.lookup_executor,
                deadline.run_bounded,
                state.engine,
                state.settings.query_timeout_ms,
                work,
            )
        # Other work holds one of the organisation's corpus slots while it runs (org_slots.py).
        context = request.scope.get(CONTEXT_KEY)
        org_id = getattr(context, "org_id", None)
        with state.org_slots.held(org_id) if org_id is not None else nullcontext():
            return await run(
                state.corpus_executor,
                deadline.run_bounded,
                state.engine,
                state.settings.query_timeout_ms,
                work,
            )
    except SlotsFull:
        raise problems.too_much_at_once(state.org_slots.limit) from None
    except QueryTimedOut:
        raise problems.query_timed_out() from None


def max_query_length(request: Request) -> int:
    """The longest query this caller may send: its plan's limit, else the settings default."""
    context = request.scope.get(CONTEXT_KEY)
    plan = getattr(context, "plan", None)
    limit = getattr(plan, "max_query_length", None)
    if isinstance(limit, int):
        return limit
    return app_state(request).settings.max_query_length


@dataclass(frozen=True, slots=True)
class Depth:
    """Where a timeline page sits in its timeline, of which X serves only the `limit` newest
    posts.

    `newer`: for a page of older posts (the first page, or a `next` token), how many posts of
    the timeline are newer than the page's first row; for a page of newer posts (a `previous`
    token), how many are newer than the token's post.
    """

    limit: int
    newer: int


def post_page(
    conn: Connection,
    rows: Sequence[Record],
    window: search.Window,
    how: Rendering,
    *,
    previous_tokens: bool,
    binding: pagination.Binding,
    depth: Depth | None = None,
) -> tuple[dict[str, Any], list[int]]:
    """The envelope for one page of post rows (limit + 1 rows fetched) and the delivered ids.

    `previous_tokens`: timelines also say how to page back towards newer posts. `depth`:
    timelines end (no `next_token`) at their depth limit, and their tokens carry the depth.
    """
    more = len(rows) > window.limit
    page = rows[: window.limit]
    going_back = window.direction == "previous" and window.after_id is not None
    if going_back and more:
        # The extra row is the newest one here: the page is the oldest `limit` rows.
        page = rows[1:]
    meta: dict[str, Any] = {"result_count": len(page)}
    if not page:
        return envelope(None, meta=meta), []
    render = post_renderer(how.tweet_fields)
    data = [render(row) for row in page]
    newest, oldest = page[0][P_ID], page[-1][P_ID]
    meta = {"newest_id": str(newest), "oldest_id": str(oldest), "result_count": len(page)}
    newest_depth = oldest_depth = None
    if depth is not None:
        newest_depth = max(depth.newer - len(page), 0) if going_back else depth.newer
        oldest_depth = newest_depth + len(page) - 1
        if not going_back and oldest_depth + 1 >= depth.limit:
            more = False  # the next page would be deeper than X serves
    if more or going_back:
        meta["next_token"] = pagination.encode(binding, "next", oldest, oldest_depth)
    if previous_tokens and (window.after_id is not None) and (not going_back or more):
        meta["previous_token"] = pagination.encode(binding, "previous", newest, newest_depth)
    includes, errors, included_ids = post_includes(conn, page, how)
    delivered = [row[P_ID] for row in page] + included_ids
    return envelope(data, includes, errors, meta), delivered


_DETAILS = {
    ("tweet", "not-found"): "Could not find tweet with {param}: [{value}].",
    (
        "tweet",
        "protected",
    ): "Sorry, you are not authorized to see the Tweet with {param}: [{value}].",
    ("tweet", "unavailable"): "Sorry, the Tweet with {param}: [{value}] is unavailable.",
    ("user", "not-found"): "Could not find user with {param}: [{value}].",
    ("user", "protected"): "Sorry, you are not authorized to see the user with {param}: [{value}].",
    ("user", "unavailable"): "User has been suspended: [{value}].",
}
_KINDS = {
    "not-found": "resource-not-found",
    "protected": "not-authorized-for-resource",
    "unavailable": "resource-unavailable",
}


def missing_errors(
    resource_type: str, parameter: str, missing: Mapping[Any, lookups.Missing]
) -> list[dict[str, Any]]:
    """X's partial error objects for lookups that found nothing servable."""
    return [
        problems.resource_error(
            _KINDS[reason],
            resource_type,
            parameter,
            str(value),
            _DETAILS[(resource_type, reason)].format(param=parameter, value=value),
        )
        for value, reason in missing.items()
    ]


def set_delivered(request: Request, ids: list[int]) -> None:
    """Tell the edge which posts this response delivers (data and includes.tweets)."""
    request.scope[DELIVERED_KEY] = ids


async def deliver_posts(request: Request, work: Work, *, lookup: bool = False) -> Response:
    """Answer with the page `work` builds, telling the edge which posts it delivers.

    The page is serialised on the worker thread that built it: its hundreds of dicts then die
    young there instead of outliving the thread hop, which made the cyclic collector promote them
    and run full collections (a third of a lookup's cost in bench/gateway.py).
    """

    def encoded(conn: Connection) -> tuple[bytes, list[int], list[int], list[int]]:
        body, delivered = work(conn)
        return orjson.dumps(body), delivered, included_user_ids(body), refused_post_ids(body)

    body, delivered, users, refused = await run_corpus(request, encoded, lookup=lookup)
    set_delivered(request, delivered)
    set_delivered_users(request, users)
    if refused:
        request.scope[REFUSED_KEY] = refused
    return Response(body, media_type="application/json")


def included_user_ids(body: Mapping[str, Any]) -> list[int]:
    """Ids of the user objects in an envelope's `includes.users`."""
    includes = body.get("includes") or {}
    return [int(u["id"]) for u in includes.get("users", ())]


def refused_post_ids(body: Mapping[str, Any]) -> list[int]:
    """Ids of posts asked for by id that the envelope's `errors` say were not served."""
    return [
        int(e["resource_id"])
        for e in body.get("errors", ())
        if e.get("resource_type") == "tweet"
        and e.get("parameter") in ("ids", "id")
        and str(e.get("resource_id", "")).isdigit()
    ]


def set_delivered_users(request: Request, ids: list[int]) -> None:
    """Tell metering which users this response delivers as objects (for the ledger)."""
    if ids:
        request.scope[DELIVERED_USERS_KEY] = ids

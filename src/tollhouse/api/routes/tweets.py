"""X API v2 posts endpoints: lookup, recent and full-archive search, counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api import openapi as doc
from tollhouse.api import page_tokens, pagination, x_fields
from tollhouse.api import params as p
from tollhouse.api.corpus_work import (
    Work,
    deliver_posts,
    max_query_length,
    missing_errors,
    post_page,
    query_params,
    run_corpus,
)
from tollhouse.api.count_pages import BUCKET_MS, buckets, count_page, epoch_ms
from tollhouse.api.problems import invalid_request
from tollhouse.api.render import envelope, now_utc, post_includes, post_renderer
from tollhouse.api.responses import JSONResponse
from tollhouse.api.state import app_state
from tollhouse.corpus import lookups, search
from tollhouse.corpus.ids import created_at_of, lowest_id_at, lowest_id_at_ms
from tollhouse.corpus.query import Node, QuerySyntaxError, parse, require_standalone
from tollhouse.corpus.query.sql import compile_where
from tollhouse.endpoints import Endpoint, endpoint

router = APIRouter(tags=["posts"])

TWEETS_LOOKUP = endpoint("GET", "/2/tweets")
TWEET_BY_ID = endpoint("GET", "/2/tweets/:id")
SEARCH_RECENT = endpoint("GET", "/2/tweets/search/recent")
SEARCH_ALL = endpoint("GET", "/2/tweets/search/all")
COUNTS_RECENT = endpoint("GET", "/2/tweets/counts/recent")
COUNTS_ALL = endpoint("GET", "/2/tweets/counts/all")
RECENT_DAYS = 7
ARCHIVE_DEFAULT_DAYS = 30
SEARCH_RECENT_PAGE = p.Bounds(10, 100, 10)
SEARCH_ALL_PAGE = p.Bounds(10, 500, 10)
_POST_EXPANSIONS = {"expansions": doc.listed(x_fields.TWEET_EXPANSIONS)}


@router.get(
    "/2/tweets",
    summary="Look up posts by id",
    description="Up to 100 posts by id; ids that cannot be served come back in `errors`.",
    openapi_extra=doc.operation(TWEETS_LOOKUP, doc.TWEETS, overrides=_POST_EXPANSIONS),
)
async def tweets_lookup(request: Request) -> Response:
    args = query_params(request)
    p.check_known(args, TWEETS_LOOKUP.params)
    ids = p.id_list(args)
    return await deliver_posts(request, lookup_work(args, ids, "ids", single=False), lookup=True)


@router.get(
    "/2/tweets/search/recent",
    summary="Search posts from the last 7 days",
    openapi_extra=doc.operation(
        SEARCH_RECENT,
        doc.TWEETS,
        overrides={**_POST_EXPANSIONS, "max_results": doc.bounded(SEARCH_RECENT_PAGE)},
    ),
)
async def search_recent(request: Request) -> Response:
    now = now_utc()
    week_ago = now - timedelta(days=RECENT_DAYS)
    return await _search(
        request,
        SEARCH_RECENT,
        now,
        earliest=week_ago,
        default_start=week_ago,
        page=SEARCH_RECENT_PAGE,
    )


@router.get(
    "/2/tweets/search/all",
    summary="Search the full archive of posts",
    openapi_extra=doc.operation(
        SEARCH_ALL,
        doc.TWEETS,
        overrides={**_POST_EXPANSIONS, "max_results": doc.bounded(SEARCH_ALL_PAGE)},
    ),
)
async def search_all(request: Request) -> Response:
    now = now_utc()
    default_start = now - timedelta(days=ARCHIVE_DEFAULT_DAYS)
    return await _search(
        request, SEARCH_ALL, now, earliest=None, default_start=default_start, page=SEARCH_ALL_PAGE
    )


_COUNTS_TOKEN = (
    "Opaque token from meta.next_token: the next page, 31 days older (pages run newest first, "
    "buckets oldest first within a page)."
)
_COUNTS_DOC = {"next_token": _COUNTS_TOKEN, "pagination_token": "The same as next_token."}


@router.get(
    "/2/tweets/counts/recent",
    summary="Count posts matching a query over the last 7 days",
    description="All buckets of the 7 days come in one response (no next_token).",
    openapi_extra=doc.operation(COUNTS_RECENT, doc.COUNTS, descriptions=_COUNTS_DOC),
)
async def counts_recent(request: Request) -> Response:
    now = now_utc()
    week_ago = now - timedelta(days=RECENT_DAYS)
    return await _counts(request, COUNTS_RECENT, now, earliest=week_ago, default_start=week_ago)


@router.get(
    "/2/tweets/counts/all",
    summary="Count posts matching a query over the full archive",
    description=(
        "At most 31 days of buckets per response (31 day, 744 hour or 44,640 minute buckets), "
        "the newest first; meta.next_token leads to the older rest."
    ),
    openapi_extra=doc.operation(COUNTS_ALL, doc.COUNTS, descriptions=_COUNTS_DOC),
)
async def counts_all(request: Request) -> Response:
    now = now_utc()
    default_start = now - timedelta(days=ARCHIVE_DEFAULT_DAYS)
    return await _counts(request, COUNTS_ALL, now, earliest=None, default_start=default_start)


@router.get(
    "/2/tweets/{id}",
    summary="Look up one post by id",
    openapi_extra=doc.operation(TWEET_BY_ID, doc.TWEET, overrides=_POST_EXPANSIONS),
)
async def tweet_by_id(request: Request) -> Response:
    args = query_params(request)
    p.check_known(args, TWEET_BY_ID.params, path_params=1)
    post_id = p.parse_id(request.path_params["id"], "id")
    work = lookup_work(args, [post_id], "id", single=True)
    return await deliver_posts(request, work, lookup=True)


def lookup_work(args: dict[str, str], ids: list[int], parameter: str, *, single: bool) -> Work:
    """The corpus work of a post lookup: (envelope, delivered ids) from a connection."""
    how = p.rendering(args, x_fields.TWEET_EXPANSIONS)

    def work(conn: Connection) -> tuple[dict[str, Any], list[int]]:
        found, missing = lookups.lookup_posts(conn, ids)
        rows = [found[i] for i in ids if i in found]
        errors = missing_errors("tweet", parameter, missing)
        if not rows:
            return envelope(None, errors=errors), []
        render = post_renderer(how.tweet_fields)
        data: Any = [render(row) for row in rows]
        if single:
            data = data[0]
        includes, include_errors, included = post_includes(conn, rows, how)
        delivered = [row[0] for row in rows] + included
        return envelope(data, includes, errors + include_errors), delivered

    return work


def parse_query(args: dict[str, str], limit: int) -> Node:
    """Parse `query` (at most `limit` characters); a syntax error is a 400 naming the
    position."""
    text = p.require_query(args)
    try:
        node = parse(text, max_length=limit)
        require_standalone(node)
    except QuerySyntaxError as exc:
        raise invalid_request(
            f"There were errors processing your request: {exc.message}",
            {"query": [text]},
        ) from None
    return node


async def _search(
    request: Request,
    served: Endpoint,
    now: datetime,
    *,
    earliest: datetime | None,
    default_start: datetime,
    page: p.Bounds,
) -> Response:
    args = query_params(request)
    p.check_known(args, served.params)
    dialect = app_state(request).engine.dialect.name
    work = search_work(
        args,
        dialect,
        max_query_length(request),
        now,
        earliest=earliest,
        default_start=default_start,
        page=page,
        binding=page_tokens.binding(request, served, args.get("query", "")),
    )
    return await deliver_posts(request, work)


def search_work(
    args: dict[str, str],
    dialect: str,
    max_length: int,
    now: datetime,
    *,
    earliest: datetime | None,
    default_start: datetime,
    page: p.Bounds,
    binding: pagination.Binding,
) -> Work:
    """The corpus work of a search request (parameters checked here, before any SQL); its
    tokens are signed and checked with `binding` (the endpoint and the query)."""
    limit = p.max_results(args, page.lo, page.hi, default=page.default)
    # relevancy is accepted for compatibility; results are ordered by recency either way.
    p.one_of(args, "sort_order", p.SORT_ORDERS, p.SORT_ORDERS[0])
    how = p.rendering(args, x_fields.TWEET_EXPANSIONS)
    bounds = p.id_window(args, earliest=earliest, default_start=default_start, now=now)
    token = page_tokens.page_token(binding, args, "next_token", "pagination_token")
    node = parse_query(args, max_length)
    window = search.Window(
        lowest=bounds.lowest,
        highest=bounds.highest,
        limit=limit,
        direction=token.direction if token else "next",
        after_id=token.id if token else None,
    )

    def work(conn: Connection) -> tuple[dict[str, Any], list[int]]:
        rows = search.search_posts(conn, lambda: compile_where(node, dialect), window, key=node)
        return post_page(conn, rows, window, how, previous_tokens=False, binding=binding)

    return work


async def _counts(
    request: Request,
    served: Endpoint,
    now: datetime,
    *,
    earliest: datetime | None,
    default_start: datetime,
) -> Response:
    args = query_params(request)
    p.check_known(args, served.params)
    granularity = p.one_of(args, "granularity", p.GRANULARITIES, "hour")
    p.field_list(args, "search_count.fields")
    bounds = p.id_window(args, earliest=earliest, default_start=default_start, now=now)
    # A counts token is a page end: bound to the query and to the granularity its buckets have.
    binding = page_tokens.binding(request, served, args.get("query", ""), granularity)
    token = page_tokens.counts_token(binding, args, "next_token", "pagination_token")
    dialect = app_state(request).engine.dialect.name
    where = compile_where(parse_query(args, max_query_length(request)), dialect)
    bucket_ms = BUCKET_MS[granularity]
    start = bounds.start_time or created_at_of(bounds.lowest)
    end = bounds.end_time or (
        now if bounds.highest > lowest_id_at(now) else created_at_of(bounds.highest)
    )
    try:
        page = count_page(epoch_ms(start), epoch_ms(end), bucket_ms, token[2] if token else None)
    except ValueError:
        assert token is not None
        raise page_tokens.invalid_token(token[0], token[1]) from None
    lowest = max(bounds.lowest, lowest_id_at_ms(page.start_ms))
    highest = min(bounds.highest, lowest_id_at_ms(page.end_ms))

    def work(conn: Connection) -> dict[int, int]:
        return search.count_posts(conn, where, lowest, highest, bucket_ms)

    counts = await run_corpus(request, work)
    data = list(buckets(page, bucket_ms, counts))
    meta: dict[str, Any] = {"total_tweet_count": sum(item["tweet_count"] for item in data)}
    if page.next_end_ms is not None:
        meta["next_token"] = pagination.encode_counts(binding, page.next_end_ms)
    return JSONResponse({"data": data, "meta": meta})

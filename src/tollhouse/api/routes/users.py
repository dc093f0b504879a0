"""X API v2 users endpoints: lookups by id and username, and the posts and mentions timelines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api import openapi as doc
from tollhouse.api import page_tokens, pagination, x_fields
from tollhouse.api import params as p
from tollhouse.api.corpus_work import (
    Depth,
    Work,
    deliver_posts,
    missing_errors,
    post_page,
    query_params,
    run_corpus,
    set_delivered_users,
)
from tollhouse.api.render import U_ID, U_PROTECTED, U_USERNAME, envelope, now_utc, user_renderer
from tollhouse.api.responses import JSONResponse
from tollhouse.corpus import lookups, search
from tollhouse.endpoints import endpoint

router = APIRouter(tags=["users"])

# How deep X lets a timeline be paged (see `depth_limit`).
TIMELINE_DEPTH = 3200
SHALLOW_TIMELINE_DEPTH = 800
_NEWEST = (1 << 63) - 1  # the open upper id bound of a timeline without until_id/end_time
_TIMELINE_TOKEN = "Opaque token from meta.next_token or meta.previous_token."
TIMELINE_PAGE = p.Bounds(5, 100, 10)
_USER_EXPANSIONS = {"expansions": doc.listed(x_fields.USER_EXPANSIONS)}
_TIMELINE = {
    "expansions": doc.listed(x_fields.TWEET_EXPANSIONS),
    "max_results": doc.bounded(TIMELINE_PAGE),
}


USERS_BY = endpoint("GET", "/2/users/by")
USER_BY_USERNAME = endpoint("GET", "/2/users/by/username/:username")
USERS_LOOKUP = endpoint("GET", "/2/users")
USER_BY_ID = endpoint("GET", "/2/users/:id")
USER_TWEETS = endpoint("GET", "/2/users/:id/tweets")
USER_MENTIONS = endpoint("GET", "/2/users/:id/mentions")


async def _users(
    request: Request,
    args: dict[str, str],
    *,
    ids: list[int] | None = None,
    usernames: list[str] | None = None,
    parameter: str,
    single: bool,
) -> Response:
    how = p.rendering(args, x_fields.USER_EXPANSIONS)

    def work(conn: Connection) -> dict[str, Any]:
        rows, missing = lookups.lookup_users(conn, ids or (), usernames or ())
        errors = missing_errors("user", parameter, missing)
        if not rows:
            return envelope(None, errors=errors)
        render = user_renderer(how.user_fields)
        data: Any = [render(row) for row in rows]
        return envelope(data[0] if single else data, errors=errors)

    body = await run_corpus(request, work, lookup=True)
    data = body.get("data")
    rows_out = data if isinstance(data, list) else [data] if data else []
    set_delivered_users(request, [int(u["id"]) for u in rows_out])
    return JSONResponse(body)


# Fixed paths first: /2/users/by must not be read as /2/users/{id}.
@router.get(
    "/2/users/by",
    summary="Look up users by username",
    openapi_extra=doc.operation(USERS_BY, doc.USERS, overrides=_USER_EXPANSIONS),
)
async def users_by_usernames(request: Request) -> Response:
    args = query_params(request)
    p.check_known(args, USERS_BY.params)
    names = p.username_list(args)
    return await _users(request, args, usernames=names, parameter="usernames", single=False)


@router.get(
    "/2/users/by/username/{username}",
    summary="Look up one user by username",
    openapi_extra=doc.operation(USER_BY_USERNAME, doc.USER, overrides=_USER_EXPANSIONS),
)
async def user_by_username(request: Request) -> Response:
    args = query_params(request)
    p.check_known(args, USER_BY_USERNAME.params, path_params=1)
    name = p.parse_username(request.path_params["username"], "username")
    return await _users(request, args, usernames=[name], parameter="username", single=True)


@router.get(
    "/2/users",
    summary="Look up users by id",
    openapi_extra=doc.operation(USERS_LOOKUP, doc.USERS, overrides=_USER_EXPANSIONS),
)
async def users_lookup(request: Request) -> Response:
    args = query_params(request)
    p.check_known(args, USERS_LOOKUP.params)
    ids = p.id_list(args)
    return await _users(request, args, ids=ids, parameter="ids", single=False)


@router.get(
    "/2/users/{id}",
    summary="Look up one user by id",
    openapi_extra=doc.operation(USER_BY_ID, doc.USER, overrides=_USER_EXPANSIONS),
)
async def user_by_id(request: Request) -> Response:
    args = query_params(request)
    p.check_known(args, USER_BY_ID.params, path_params=1)
    user_id = p.parse_id(request.path_params["id"], "id")
    return await _users(request, args, ids=[user_id], parameter="id", single=True)


@router.get(
    "/2/users/{id}/tweets",
    summary="A user's posts, newest first",
    description=(
        "Only the user's 3,200 newest posts (800 with exclude=replies) can be paged through; "
        "the page that reaches that depth has no next_token."
    ),
    openapi_extra=doc.operation(
        USER_TWEETS,
        doc.TWEETS,
        overrides=_TIMELINE,
        descriptions={
            "pagination_token": _TIMELINE_TOKEN
            + " Ends after 3,200 posts (800 with exclude=replies)."
        },
    ),
)
async def user_tweets(request: Request) -> Response:
    return await _timeline(request, mentions=False)


@router.get(
    "/2/users/{id}/mentions",
    summary="Posts mentioning a user, newest first",
    description=(
        "Only the 800 newest posts mentioning the user can be paged through; the page that "
        "reaches that depth has no next_token."
    ),
    openapi_extra=doc.operation(
        USER_MENTIONS,
        doc.TWEETS,
        overrides=_TIMELINE,
        descriptions={"pagination_token": _TIMELINE_TOKEN + " Ends after 800 posts."},
    ),
)
async def user_mentions(request: Request) -> Response:
    return await _timeline(request, mentions=True)


async def _timeline(request: Request, *, mentions: bool) -> Response:
    args = query_params(request)
    allowed = USER_MENTIONS.params if mentions else USER_TWEETS.params
    p.check_known(args, allowed, path_params=1)
    user_id = p.parse_id(request.path_params["id"], "id")
    served = USER_MENTIONS if mentions else USER_TWEETS
    # A timeline's tokens are its user's, and (posts) for the same `exclude`.
    binding = page_tokens.binding(request, served, str(user_id), args.get("exclude", ""))
    return await deliver_posts(
        request, timeline_work(args, user_id, mentions=mentions, binding=binding)
    )


def depth_limit(*, mentions: bool, exclude: frozenset[str]) -> int:
    """How many of a timeline's newest posts X serves: 3,200 of a user's posts (800 when
    replies are excluded) and 800 mentions. Paging stops there: no `next_token`."""
    if mentions or "replies" in exclude:
        return SHALLOW_TIMELINE_DEPTH
    return TIMELINE_DEPTH


def timeline_work(
    args: dict[str, str], user_id: int, *, mentions: bool, binding: pagination.Binding
) -> Work:
    """The corpus work of a posts or mentions timeline (parameters checked here); its tokens
    are signed and checked with `binding`."""
    limit = p.max_results(args, TIMELINE_PAGE.lo, TIMELINE_PAGE.hi, default=TIMELINE_PAGE.default)
    exclude = frozenset() if mentions else p.exclude_list(args)
    how = p.rendering(args, x_fields.TWEET_EXPANSIONS)
    bounds = p.id_window(args, earliest=None, default_start=None, now=now_utc())
    token = page_tokens.page_token(binding, args, "pagination_token")
    deepest = depth_limit(mentions=mentions, exclude=exclude)
    if token is not None and token.depth is not None and token.depth >= deepest:
        raise page_tokens.invalid_token(
            "pagination_token", args["pagination_token"]
        )  # never issued
    towards_newer = token is not None and token.direction == "previous"
    after_id = token.id if token else None

    def work(conn: Connection) -> tuple[dict[str, Any], list[int]]:
        found, missing = lookups.lookup_users(conn, ids=[user_id])
        if missing:
            return envelope(None, errors=missing_errors("user", "id", missing)), []
        user = found[0]
        if user[U_PROTECTED]:
            hidden = missing_errors("user", "id", {user[U_ID]: "protected"})
            return envelope(None, errors=hidden), []

        def newer_from(bound: int) -> int:
            if mentions:
                return search.mention_posts_from(conn, user[U_USERNAME], bound, deepest)
            return search.user_posts_from(conn, user_id, bound, deepest, exclude)

        # How many timeline posts are newer than the page (paging to older posts) or than the
        # token's post (paging to newer ones): the token carries it, else it is counted.
        if token is not None and token.depth is not None:
            newer = token.depth if towards_newer else token.depth + 1
        elif towards_newer:
            assert after_id is not None
            newer = newer_from(after_id + 1)
        else:
            upper = bounds.highest if after_id is None else min(bounds.highest, after_id)
            # Only a page below until_id/end_time or a token from elsewhere needs the count.
            newer = 0 if upper >= _NEWEST else newer_from(upper)
        # Paging to older posts stops at the depth limit; paging to newer ones cannot reach it.
        window_limit = limit if towards_newer else min(limit, deepest - newer)
        if window_limit <= 0:
            return envelope(None, meta={"result_count": 0}), []
        window = search.Window(
            lowest=bounds.lowest,
            highest=bounds.highest,
            limit=window_limit,
            direction=token.direction if token else "next",
            after_id=after_id,
        )
        if mentions:
            rows = search.mention_posts(conn, user[U_USERNAME], window)
        else:
            rows = search.user_posts(conn, user_id, window, exclude)
        depth = Depth(limit=deepest, newer=newer)
        return post_page(
            conn, rows, window, how, previous_tokens=True, binding=binding, depth=depth
        )

    return work

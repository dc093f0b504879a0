"""`POST /admin/v1/posts`: live ingest of new posts and deletions (operator token).

The body is shaped like an X API v2 page, so a page fetched from X (or exported) can be posted as
it is: `{"data": [post…], "includes": {"users": [user…]}, "deletions": ["id"…]}`. Posts are stored,
then published to every connected stream; deletions mark posts deleted (with the time) and are
published for deletion compliance.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api import openapi as doc
from tollhouse.api.problems import invalid_request, service_unavailable
from tollhouse.api.responses import JSONResponse
from tollhouse.api.routes.admin.auth import require_operator
from tollhouse.api.routes.admin.content import publish_compliance
from tollhouse.api.state import app_state
from tollhouse.compliance.content_events import record_post_deletions
from tollhouse.corpus.importer import UnitRejected, parse_unit
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.ids import InvalidId, parse_id
from tollhouse.streams.errors import BusUnavailable, IngestRejected
from tollhouse.streams.ingest import ingest
from tollhouse.streams.runtime import runtime_for

router = APIRouter(tags=["admin"])

# Most posts plus deletions one request may carry (bounds the request's memory and transaction).
MAX_BATCH = 10_000


def _batch(body: Any) -> tuple[list[PostRecord], list[UserRecord], list[int]]:
    """The new posts (those in `data`; referenced posts in `includes.tweets` are stored but not
    published), every user and post to store, and the ids to delete."""
    if not isinstance(body, dict) or not set(body) <= {"data", "includes", "deletions"}:
        raise invalid_request(
            "The body must be an object with `data` (posts), `includes` and `deletions`."
        )
    raw_posts = body.get("data", [])
    raw_deletions = body.get("deletions", [])
    if not isinstance(raw_posts, list) or not isinstance(raw_deletions, list):
        raise invalid_request("`data` and `deletions` must be lists.")
    if len(raw_posts) + len(raw_deletions) > MAX_BATCH:
        raise invalid_request(f"One request may carry at most {MAX_BATCH} posts and deletions.")
    try:
        unit = parse_unit(1, {"data": raw_posts, "includes": body.get("includes") or {}})
    except UnitRejected as exc:
        raise invalid_request(f"Not valid X v2 JSON: {exc}") from exc
    deletions = []
    for value in raw_deletions:
        try:
            deletions.append(parse_id(value, "a post id"))
        except InvalidId as exc:
            raise invalid_request(
                f"`deletions` holds [{value}], which is not a post id: {exc}",
                {"deletions": [str(value)]},
            ) from exc
    return list(unit.posts), list(unit.users), deletions


_BATCH = doc.object_of(
    {
        "data": {"type": "array", "items": doc.ref("Tweet"), "maxItems": MAX_BATCH},
        "includes": doc.ref("Includes"),
        "deletions": {"type": "array", "items": doc.ref("IdString"), "maxItems": MAX_BATCH},
    }
)


@router.post(
    "/admin/v1/posts",
    summary="Ingest new posts and deletions (live traffic)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BATCH}}}
    },
)
async def ingest_posts(request: Request) -> Response:
    require_operator(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"The body is not valid JSON: {exc}") from exc
    posts, users, deletions = _batch(body)
    new_ids = {int(p["id"]) for p in body.get("data", [])}
    runtime = await runtime_for(request.app)
    try:
        result = await ingest(
            app_state(request).engine,
            runtime.bus,
            [p for p in posts if p.id in new_ids],
            users,
            deletions,
            also_store=[p for p in posts if p.id not in new_ids],
        )
    except IngestRejected as exc:
        raise invalid_request(f"Nothing was stored: {exc}") from None
    except BusUnavailable as exc:
        # The posts are stored (ingest is idempotent): the operator may simply send them again.
        raise service_unavailable(f"Posts stored but not published: {exc}") from exc
    # Deletions are content events too (deletion compliance reads those and streams them).
    stored = await asyncio.to_thread(record_post_deletions, app_state(request).engine, deletions)
    await publish_compliance(request, stored)
    return JSONResponse(
        {
            "data": {
                "published": result.published,
                "already_stored": result.already_stored,
                "deleted": result.deleted,
            }
        }
    )

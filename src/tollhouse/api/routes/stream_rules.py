"""X API v2 filtered-stream rules: listing, adding and deleting an app's rules (JSON bodies
checked as X checks them).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.access.context import RequestContext
from tollhouse.api import params as p
from tollhouse.api import problems
from tollhouse.api.problems import PROBLEMS, invalid_request
from tollhouse.api.responses import JSONResponse
from tollhouse.api.scope import request_context
from tollhouse.api.state import app_state
from tollhouse.endpoints import endpoint
from tollhouse.streams import rules as rule_service
from tollhouse.streams.errors import BusUnavailable, RulesCapExceeded
from tollhouse.streams.events import RulesChanged
from tollhouse.streams.runtime import runtime_for

router = APIRouter(tags=["streams"])
log = logging.getLogger("tollhouse.streams")

GET_RULES = endpoint("GET", "/2/tweets/search/stream/rules")
POST_RULES = endpoint("POST", "/2/tweets/search/stream/rules")
# Most rules one request may add or delete (X: 1000 per request).
MAX_RULES_PER_REQUEST = 1000
MAX_TAG_LENGTH = 256


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
    context = request_context(request)
    args = dict(request.query_params)
    p.check_known(args, GET_RULES.params)
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
    context = request_context(request)
    args = dict(request.query_params)
    p.check_known(args, POST_RULES.params)
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
        raise problems.rules_cap(str(exc)) from exc
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

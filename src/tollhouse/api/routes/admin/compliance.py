"""`/admin/v1/holdings` and `/admin/v1/compliance/obligations`: an organisation's holdings and
deletion obligations (operator token); `POST /admin/v1/compliance/notices` records the
operator's explicit notice."""

from __future__ import annotations

import asyncio
from datetime import date

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api.problems import answer, invalid_request
from tollhouse.api.responses import JSONResponse
from tollhouse.api.routes.admin.auth import require_operator
from tollhouse.api.state import app_state
from tollhouse.compliance.clock import clock_of
from tollhouse.compliance.service import ComplianceService

router = APIRouter(tags=["admin"])


def _service(request: Request) -> ComplianceService:
    state = app_state(request)
    return ComplianceService(state.engine, state.usage_engine, clock_of(request.app))


def _day(request: Request, name: str) -> date | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_request(f"`{name}` must be a date (YYYY-MM-DD).", {name: [value]}) from None


def _org(request: Request) -> str:
    org = request.query_params.get("org")
    if not org:
        raise invalid_request("Give the organisation: `org`.")
    return org


@router.get("/admin/v1/holdings", summary="What an organisation received and must delete")
async def get_holdings(request: Request) -> Response:
    require_operator(request)
    org, app = _org(request), request.query_params.get("app")
    start, end = _day(request, "from"), _day(request, "to")
    service = _service(request)
    report = await asyncio.to_thread(answer, lambda: service.holdings(org, app, start, end))
    return JSONResponse({"data": report.as_dict()})


@router.get("/admin/v1/compliance/obligations", summary="An organisation's deletion obligations")
async def get_obligations(request: Request) -> Response:
    require_operator(request)
    org, status = _org(request), request.query_params.get("status")
    service = _service(request)
    found = await asyncio.to_thread(answer, lambda: service.obligations(org, status))
    return JSONResponse({"data": [o.as_dict() for o in found]})


_NOTICES_BODY = {
    "type": "object",
    "properties": {
        "org": {"type": "string"},
        "keys": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["org"],
}


@router.post(
    "/admin/v1/compliance/notices",
    summary="Record the operator's notice",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _NOTICES_BODY}},
        }
    },
)
async def post_notices(request: Request) -> Response:
    actor = require_operator(request)
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"The body is not JSON: {exc}") from exc
    org = body.get("org") if isinstance(body, dict) else None
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(org, str) or (keys is not None and not isinstance(keys, list)):
        raise invalid_request('The body must be {"org": NAME, "keys"?: [KEY, …]}.')
    service = _service(request)
    new = await asyncio.to_thread(answer, lambda: service.notify(org, keys, actor))
    return JSONResponse({"data": {"notices": new}})

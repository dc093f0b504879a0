"""`GET /admin/v1/usage`: the operator's view of one organisation's usage (as `tollhouse
usage`). Operator token only; one organisation per request, so nothing of another leaks."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.access.licensee_names import LicenseeNames
from tollhouse.api import problems
from tollhouse.api.responses import JSONResponse
from tollhouse.api.routes.admin.auth import require_operator
from tollhouse.api.state import app_state
from tollhouse.errors import InvalidInput, NotFound
from tollhouse.metering.service import usage_report

router = APIRouter(tags=["admin"])


@router.get("/admin/v1/usage")
def admin_usage(
    request: Request,
    org: str = Query(..., min_length=1, max_length=100),
    app: list[str] = Query(default_factory=list),
    from_: date | None = Query(None, alias="from"),
    to: date | None = Query(None),
    by: Literal["app", "endpoint", "day", "hour"] | None = Query(None),
    format: Literal["json", "csv"] = Query("json"),
) -> Response:
    """Usage of `org` over the UTC days [from, to) (default: the last 30 days), optionally only
    some apps and grouped by app, endpoint, day or hour; distinct posts with 2-sd bounds."""
    require_operator(request)
    end = to or datetime.now(UTC).date() + timedelta(days=1)
    start = from_ or end - timedelta(days=30)
    try:
        state = app_state(request)
        report = usage_report(
            state.engine,
            org,
            start,
            end,
            by=by,
            apps=app,
            usage_engine=state.usage_engine,
            licensees=LicenseeNames(),
        )
    except NotFound as exc:
        raise problems.about_blank(404, "Not Found", str(exc)) from exc
    except InvalidInput as exc:
        raise problems.invalid_request(str(exc), {"to": [str(end)]}) from exc
    if format == "csv":
        out = io.StringIO()
        report.write_csv(out)
        return Response(out.getvalue(), media_type="text/csv")
    return JSONResponse(report.as_dict())

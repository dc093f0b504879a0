"""`GET /2/usage/tweets`: the organisation's post cap, its use, reset day and daily use per app.

Shaped as X's Usage object: `project_*` is the organisation (X's project), `client_app` an app.
Counts come from the limits backend (the same deduplicated count the cap enforces), not from
metering: that is the number the licensee is refused by, so that is the number it must see.
X returns counts as strings; so do we.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api import problems
from tollhouse.api.responses import JSONResponse
from tollhouse.api.scope import CONTEXT_KEY
from tollhouse.api.state import app_state
from tollhouse.endpoints import endpoint
from tollhouse.limits.decisions import UsageSnapshot
from tollhouse.limits.errors import LimitsUnavailable
from tollhouse.limits.service import Caller

router = APIRouter(tags=["usage"])

USAGE_FIELDS = frozenset(
    {
        "cap_reset_day",
        "daily_client_app_usage",
        "daily_project_usage",
        "project_cap",
        "project_id",
        "project_usage",
    }
)
DEFAULT_FIELDS = ("cap_reset_day", "project_cap", "project_id", "project_usage")
DEFAULT_DAYS = 7
USAGE = endpoint("GET", "/2/usage/tweets")
MAX_DAYS = 90


def _parse(request: Request) -> tuple[int, frozenset[str]]:
    args = request.query_params
    unknown = sorted(set(args) - set(USAGE.params))
    if unknown:
        raise problems.invalid_request(
            f"The query parameter [{unknown[0]}] is not one of [{','.join(USAGE.params)}]",
            {name: args.getlist(name) for name in unknown},
        )
    days = DEFAULT_DAYS
    raw_days = args.get("days")
    if raw_days is not None:
        if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_DAYS:
            raise problems.invalid_request(
                f"The `days` query parameter value [{raw_days}] is not between 1 and {MAX_DAYS}",
                {"days": [raw_days]},
            )
        days = int(raw_days)
    fields = frozenset(DEFAULT_FIELDS)
    raw_fields = args.get("usage.fields")
    if raw_fields is not None:
        asked = [f for f in raw_fields.split(",") if f]
        bad = [f for f in asked if f not in USAGE_FIELDS]
        if bad or not asked:
            raise problems.invalid_request(
                f"The `usage.fields` query parameter value [{','.join(bad) or raw_fields}] is not "
                f"one of [{','.join(sorted(USAGE_FIELDS))}]",
                {"usage.fields": [raw_fields]},
            )
        fields = frozenset(asked) | {"project_id"}
    return days, fields


def _stamp(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def usage_body(
    caller: Caller, snapshot: UsageSnapshot, days: int, fields: frozenset[str], today: date
) -> dict[str, Any]:
    """The `data` object of X's Usage response for `snapshot`."""
    project_id = str(caller.org_id)
    data: dict[str, Any] = {"project_id": project_id}
    cap = caller.plan.monthly_post_cap
    if "project_cap" in fields and cap is not None:
        data["project_cap"] = str(cap)
    if "project_usage" in fields:
        data["project_usage"] = str(snapshot.used)
    if "cap_reset_day" in fields:
        data["cap_reset_day"] = caller.billing_day
    span = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    if "daily_project_usage" in fields:
        data["daily_project_usage"] = {
            "project_id": project_id,
            "usage": [
                {"date": _stamp(d), "usage": str(sum(snapshot.daily.get(d, {}).values()))}
                for d in span
            ],
        }
    if "daily_client_app_usage" in fields:
        apps = sorted({app for per_app in snapshot.daily.values() for app in per_app})
        data["daily_client_app_usage"] = [
            {
                "client_app_id": str(app),
                "usage": [
                    {"date": _stamp(d), "usage": str(snapshot.daily.get(d, {}).get(app, 0))}
                    for d in span
                ],
                "usage_result_count": len(span),
            }
            for app in apps
        ]
    return data


@router.get(
    "/2/usage/tweets",
    summary="Post usage of your organisation",
    description=(
        "Monthly post cap, posts counted this billing month, the day of the month the cap resets, "
        "and (with `usage.fields`) daily usage for the last `days` (1-90) days, also per app."
    ),
)
async def usage_tweets(request: Request) -> Response:
    caller: Caller | None = request.scope.get(CONTEXT_KEY)
    if caller is None:
        raise problems.unauthorized()
    days, fields = _parse(request)
    try:
        snapshot = await app_state(request).limits.usage(caller, days)
    except LimitsUnavailable:
        raise problems.limits_unavailable() from None
    today = datetime.now(UTC).date()
    return JSONResponse({"data": usage_body(caller, snapshot, days, fields, today)})

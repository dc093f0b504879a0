"""`GET /admin/v1/metrics`: this process's operational counters, for the operator's monitoring.

Counters are per process (each worker answers with its own); a scraper sums them. Today they say
how often the limits backend failed and what the failure policy did about it; how many usage
events wait to be written, how many group commits the spool made, and histograms of its durable
writes and of how long strict responses waited for theirs (metering/timing.py).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from tollhouse.api.routes.admin.auth import require_operator
from tollhouse.api.state import app_state

router = APIRouter(tags=["admin"])


@router.get("/admin/v1/metrics", summary="Operational counters of this process")
async def admin_metrics(request: Request) -> dict[str, Any]:
    require_operator(request)
    state = app_state(request)
    writer = state.usage_writer
    return {
        "process": os.getpid(),
        "limits": {
            "backend": state.settings.limits_url.split("://", 1)[0],
            "failure_policy": state.settings.limits_failure_policy,
            **dataclasses.asdict(state.limits.metrics),
        },
        "metering": {
            "mode": state.settings.metering_mode,
            **(writer.metrics() if writer is not None else {"pending_events": 0}),
        },
    }

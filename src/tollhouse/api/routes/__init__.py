"""Route registration: X API v2 routes under /2/, admin under /admin/v1/."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute


def x_api_routes() -> list[BaseRoute]:
    """The routes of the X API endpoints (what api/dispatch.py dispatches to)."""
    from tollhouse.api.routes import (
        compliance_jobs,
        compliance_streams,
        stream_rules,
        streams,
        tweets,
        usage,
        users,
    )

    routers = (tweets, users, usage, stream_rules, streams, compliance_jobs, compliance_streams)
    return [r for router in routers for r in router.router.routes]


def _routers() -> tuple[APIRouter, ...]:
    from tollhouse.api.routes import (
        admin,
        compliance_jobs,
        compliance_streams,
        health,
        stream_rules,
        streams,
        tweets,
        usage,
        usage_log,
        users,
    )

    return (
        tweets.router,
        users.router,
        usage.router,
        stream_rules.router,
        streams.router,
        health.router,
        *admin.routers,
        compliance_jobs.router,
        compliance_jobs.files,
        compliance_streams.router,
        usage_log.router,
    )


def all_routes() -> list[BaseRoute]:
    """Every route the app registers (what a 405's Allow header is worked out from)."""
    return [r for router in _routers() for r in router.routes]


def register_routes(app: FastAPI) -> None:
    # /2/ requests are dispatched to their handlers directly (api/dispatch.py, which reads the
    # handlers from these routes); the routes document them in OpenAPI and answer what the
    # dispatch passes on: unknown paths (404), other methods (405), trailing slashes.
    for router in _routers():
        app.include_router(router)

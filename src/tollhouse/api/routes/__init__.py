"""Route registration: X API v2 routes under /2/, admin under /admin/v1/."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import BaseRoute


def x_api_routes() -> list[BaseRoute]:
    """The routes of the X API endpoints (what api/dispatch.py dispatches to)."""
    from tollhouse.api.routes import stream_rules, streams, tweets, usage, users

    routers = (tweets, users, usage, stream_rules, streams)
    return [r for router in routers for r in router.router.routes]


def register_routes(app: FastAPI) -> None:
    # /2/ requests are dispatched to their handlers directly (api/dispatch.py, which reads the
    # handlers from these routes); the routes document them in OpenAPI and answer what the
    # dispatch passes on: unknown paths (404), other methods (405), trailing slashes.
    from tollhouse.api.routes import (
        admin,
        health,
        stream_rules,
        streams,
        tweets,
        usage,
        usage_log,
        users,
    )

    for router in (
        tweets.router,
        users.router,
        usage.router,
        stream_rules.router,
        streams.router,
        health.router,
        *admin.routers,
        usage_log.router,
    ):
        app.include_router(router)

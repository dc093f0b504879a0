"""Route registration: X API v2 routes under /2/, admin under /admin/v1/."""

from __future__ import annotations

from fastapi import FastAPI

from tollhouse.api.routes.plain import front_with_plain_routes


def register_routes(app: FastAPI) -> None:
    # The X API routes first: FastAPI tries included routes in order, every one of them, so the
    # admin routes ahead of the hot path cost each lookup a few dozen failed matches.
    from tollhouse.api.routes import streams, tweets, usage, users

    for x_router in (tweets.router, users.router, usage.router, streams.router):
        front_with_plain_routes(x_router)

    app.include_router(tweets.router)
    app.include_router(users.router)

    from tollhouse.api.routes import health

    app.include_router(health.router)

    from tollhouse.api.routes import admin

    app.include_router(admin.router)

    from tollhouse.api.routes import usage

    app.include_router(usage.router)

    from tollhouse.api.routes import admin_metrics, admin_usage

    app.include_router(admin_usage.router)
    app.include_router(admin_metrics.router)

    from tollhouse.api.routes import admin_posts

    app.include_router(streams.router)
    app.include_router(admin_posts.router)

"""The ASGI app factory.

X API requests (`/2/…`) take a short path of their own: metering → edge → direct dispatch to the
handler (`api/dispatch.py`). Everything else — admin API, OpenAPI, docs, health, and `/2/`
requests no handler serves — goes through FastAPI as usual.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tollhouse.api import openapi, problems
from tollhouse.api.dispatch import (
    XApiDispatch,
    allowed_methods,
    http_exception_response,
    plain_handlers,
    problem_response,
    unexpected_error_response,
)
from tollhouse.api.edge import AdminGuard, EdgeMiddleware, close_directory
from tollhouse.api.middleware.body_limit import BodyLimit
from tollhouse.api.middleware.metering import MeteringMiddleware
from tollhouse.api.responses import JSONResponse
from tollhouse.api.state import AppState
from tollhouse.db import create_engine, engine_beside
from tollhouse.limits.service import limits_from_settings
from tollhouse.metering.recorder import recorder_from_settings
from tollhouse.receipts.service import RoundThread
from tollhouse.settings import Settings, get_settings
from tollhouse.streams.runtime import close_runtime


class TollhouseApp(FastAPI):
    """FastAPI, with `/2/` requests sent through `x_layers` to the direct dispatch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The /2/ pipeline, outermost first: (ASGI middleware class, keyword arguments). Built on
        # the first /2/ request, like Starlette's middleware stack (bench/edge.py edits it).
        self.x_layers: list[tuple[type, dict[str, Any]]] = []
        self._x_pipeline: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/2/"):
            scope["app"] = self
            pipeline = self._x_pipeline or self._build_x_pipeline()
            await pipeline(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _build_x_pipeline(self) -> ASGIApp:
        async def through_fastapi(scope: Scope, receive: Receive, send: Send) -> None:
            await FastAPI.__call__(self, scope, receive, send)

        from tollhouse.api.routes import x_api_routes

        app: ASGIApp = XApiDispatch(plain_handlers(x_api_routes()), through_fastapi)
        for cls, options in reversed(self.x_layers):
            app = cls(app, **options)
        self._x_pipeline = app
        return app


def create_app(settings: Settings | None = None) -> TollhouseApp:
    """Build the Tollhouse ASGI app for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    # Room for every corpus and lookup thread, plus the key directory, the usage store (when it
    # is a thread) and the streams.
    pool_size = settings.corpus_threads + settings.lookup_threads + 8
    engine = create_engine(settings.database_url, pool_size=pool_size)
    # The usage tables' database: the same one on PostgreSQL, a file of their own beside a
    # SQLite one (db.usage_database_url says why). Here it serves start-up replays and the
    # admin usage reports; the store process opens its own.
    usage_engine = engine_beside(engine, settings.usage_url)
    state = AppState(settings=settings, engine=engine, usage_engine=usage_engine)
    state.usage_writer = recorder_from_settings(settings, usage_engine, engine)
    state.limits = limits_from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if state.usage_writer is not None:
            # Replays what a crashed process left in the spool before serving.
            await anyio.to_thread.run_sync(state.usage_writer.start)
        receipts = RoundThread(settings, engine, usage_engine)  # checkpoints, day closes
        receipts.start()
        yield
        await anyio.to_thread.run_sync(receipts.stop)
        await close_runtime(_app)  # streams: end connections, release the bus
        close_directory(_app)
        if state.usage_writer is not None:
            await anyio.to_thread.run_sync(state.usage_writer.stop)  # drains the buffer
        await state.limits.close()
        for executor in (state.corpus_executor, state.lookup_executor):
            executor.shutdown(wait=True, cancel_futures=True)
        engine.dispose()
        usage_engine.dispose()

    app = TollhouseApp(
        title="Tollhouse",
        version="0.1.0",
        description="X-API-v2-compatible data API with licensing, limits and metering.",
        default_response_class=JSONResponse,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.tollhouse = state
    _install_error_handlers(app)
    _include_routes(app)
    openapi.install(app)
    # Only the operator token opens /admin/, checked before any routing or body parsing.
    app.add_middleware(AdminGuard)
    # Bodies are capped before anything reads them, for the admin API and the /2/ routes alike.
    body_caps: dict[str, Any] = {
        "default_bytes": settings.max_body_bytes,
        "by_route": settings.max_body_bytes_by_route,
    }
    app.add_middleware(BodyLimit, **body_caps)
    # Metering outermost, so refused requests are metered and carry x-request-id too.
    app.x_layers = [
        (MeteringMiddleware, {"writer": state.usage_writer}),
        (BodyLimit, body_caps),
        (EdgeMiddleware, {}),
    ]
    return app


def _include_routes(app: FastAPI) -> None:
    from tollhouse.api.routes import register_routes

    register_routes(app)


def _install_error_handlers(app: FastAPI) -> None:
    from tollhouse.api.routes import all_routes

    routes = all_routes()

    async def on_problem(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, problems.ApiProblem)
        return problem_response(exc)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        allow = allowed_methods(routes, request.scope) if exc.status_code == 405 else None
        return http_exception_response(exc, allow)

    async def on_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(problems.invalid_fields(exc.errors()))

    async def on_unexpected(_request: Request, exc: Exception) -> Response:
        return unexpected_error_response(exc)

    app.add_exception_handler(problems.ApiProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)

"""The ASGI app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api import problems
from tollhouse.api.edge import EdgeMiddleware
from tollhouse.api.responses import JSONResponse
from tollhouse.api.state import AppState
from tollhouse.db import create_engine
from tollhouse.limits.service import limits_from_settings
from tollhouse.metering.asgi import MeteringMiddleware
from tollhouse.metering.writer import writer_for
from tollhouse.settings import Settings, get_settings
from tollhouse.streams.runtime import close_runtime

log = logging.getLogger("tollhouse.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Tollhouse ASGI app for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    engine = create_engine(settings.database_url)
    state = AppState(settings=settings, engine=engine)
    state.usage_writer = writer_for(settings, engine)
    state.limits = limits_from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if state.usage_writer is not None:
            # Replays what a crashed process left in the spool before serving.
            await anyio.to_thread.run_sync(state.usage_writer.start)
        yield
        await close_runtime(_app)  # streams (task G): end connections, release the bus
        if state.usage_writer is not None:
            await anyio.to_thread.run_sync(state.usage_writer.stop)  # drains the buffer
        await state.limits.close()
        engine.dispose()

    app = FastAPI(
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
    app.add_middleware(EdgeMiddleware)
    # Added last, so outermost: refused requests are metered and carry x-request-id too.
    app.add_middleware(MeteringMiddleware, writer=state.usage_writer)
    return app


def _include_routes(app: FastAPI) -> None:
    from tollhouse.api.routes import register_routes

    register_routes(app)


def _problem_response(problem: problems.ApiProblem) -> Response:
    return JSONResponse(
        problem.body,
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json" if "errors" not in problem.body else None,
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def on_problem(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, problems.ApiProblem)
        return _problem_response(exc)

    async def on_http(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _problem_response(problems.not_found_route())
        if exc.status_code == 405:
            return _problem_response(problems.method_not_allowed())
        body: dict[str, Any] = {
            "title": str(exc.detail),
            "type": "about:blank",
            "status": exc.status_code,
            "detail": str(exc.detail),
        }
        return JSONResponse(body, status_code=exc.status_code)

    async def on_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        params: dict[str, list[str]] = {}
        messages = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")]
            name = ".".join(loc) or "request"
            params.setdefault(name, []).append(str(err.get("input", "")))
            messages.append(f"The `{name}` parameter is invalid: {err.get('msg', 'invalid')}")
        return _problem_response(problems.invalid_request("; ".join(messages), params))

    async def on_unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return _problem_response(problems.internal_error())

    app.add_exception_handler(problems.ApiProblem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_unexpected)

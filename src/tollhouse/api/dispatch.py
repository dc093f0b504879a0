"""Direct dispatch of X API requests: `(method, template)` → handler, in one dict lookup.

Every X API handler takes only the `Request` and parses its parameters itself (X's own error
wording), so FastAPI's per-request machinery — five middleware layers, route matching over every
route, the dependency solver's exit stack — does nothing for it, yet cost about a fifth of the
event loop's time per post lookup (bench/gateway.py, py-spy). The edge has already matched the
endpoint (`scope[ENDPOINT_KEY]`), so this layer finds the handler by that match, fills in the
path parameters and runs it, turning its exceptions into the same X Problem responses FastAPI's
exception handlers give.

Anything it has no handler for (an unknown `/2/` path, a method the endpoint does not serve, a
trailing slash) goes on to the FastAPI app, which answers as it always has (404, 405, redirect).
The documented APIRoutes stay there, so OpenAPI describes every endpoint.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from tollhouse.api import problems
from tollhouse.api.responses import JSONResponse
from tollhouse.api.scope import ENDPOINT_KEY
from tollhouse.endpoints import Endpoint, match_endpoint

log = logging.getLogger("tollhouse.api")

Handler = Callable[[Request], Awaitable[Response]]
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def template_of(path: str) -> str:
    """The endpoint template of a route path: "/2/tweets/{id}" → "/2/tweets/:id"."""
    return _PARAMETER.sub(r":\1", path)


def plain_handlers(routes: Iterable[BaseRoute]) -> dict[tuple[str, str], Handler]:
    """`(method, template)` → handler for every APIRoute whose handler takes only the request."""
    table: dict[tuple[str, str], Handler] = {}
    for route in routes:
        if isinstance(route, APIRoute) and _takes_only_request(route.endpoint):
            for method in route.methods or ():
                table[(method, template_of(route.path))] = route.endpoint
    return table


def _takes_only_request(endpoint: Callable[..., Any]) -> bool:
    code = getattr(endpoint, "__code__", None)
    return code is not None and code.co_argcount == 1 and code.co_varnames[:1] == ("request",)


def path_params(endpoint: Endpoint, path: str) -> dict[str, str]:
    """The values of the template's `:name` segments in `path` (which matched the template)."""
    if ":" not in endpoint.template:
        return {}
    names = endpoint.template.split("/")
    return {n[1:]: value for n, value in zip(names, path.split("/"), strict=True) if n[:1] == ":"}


def problem_response(problem: problems.ApiProblem) -> Response:
    """The HTTP response for an X Problem (problem+json unless it is a partial-errors body)."""
    return JSONResponse(
        problem.body,
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json" if "errors" not in problem.body else None,
    )


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> str:
    """The `Allow` header for a 405: the methods of every route whose path matches.

    Starlette names only the first matching route's methods, and each method of a path (GET and
    POST of the stream rules, of `/admin/v1/orgs`) is a route of its own."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, APIRoute) and route.path_regex.match(scope["path"]):
            methods.update(route.methods or ())
    return ", ".join(sorted(methods))


def http_exception_response(exc: StarletteHTTPException, allow: str | None = None) -> Response:
    """Starlette's HTTP exceptions in the X Problem shape (404 and 405 as X words them).

    A 405 carries `allow` (RFC 9110 §15.5.6), or Starlette's own Allow header without it."""
    if exc.status_code == 404:
        return problem_response(problems.not_found_route())
    if exc.status_code == 405:
        problem = problems.method_not_allowed()
        problem.headers.update(exc.headers or {})
        if allow:
            problem.headers["Allow"] = allow
        return problem_response(problem)
    body: dict[str, Any] = {
        "title": str(exc.detail),
        "type": "about:blank",
        "status": exc.status_code,
        "detail": str(exc.detail),
    }
    return JSONResponse(body, status_code=exc.status_code)


def unexpected_error_response(exc: BaseException) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(problems.internal_error())


class XApiDispatch:
    """Runs the handler of the endpoint the edge matched; everything else goes to `fallback`."""

    def __init__(self, handlers: Mapping[tuple[str, str], Handler], fallback: ASGIApp) -> None:
        self.handlers = dict(handlers)
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = None
        path: str = scope["path"]
        endpoint: Endpoint | None = None
        if scope["type"] == "http" and path[-1] != "/":
            endpoint = scope.get(ENDPOINT_KEY) or match_endpoint(scope["method"], path)
            if endpoint is not None:
                handler = self.handlers.get((scope["method"], endpoint.template))
        if handler is None or endpoint is None:
            await self.fallback(scope, receive, send)
            return
        scope["path_params"] = path_params(endpoint, path)
        scope["endpoint"] = handler
        started = False

        async def sender(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            response = await handler(Request(scope, receive, send))
            await response(scope, receive, sender)
        except Exception as exc:
            if started:
                raise  # too late for an error response; the server closes the connection
            if isinstance(exc, problems.ApiProblem):
                response = problem_response(exc)
            elif isinstance(exc, StarletteHTTPException):
                response = http_exception_response(exc)
            else:
                response = unexpected_error_response(exc)
            await response(scope, receive, send)

"""Plain Starlette routes in front of the documented X API routes.

Every X API handler takes only the `Request` and parses its parameters itself (X's own error
wording), so FastAPI's per-request dependency solving and exit stack do nothing for it, yet cost
about a tenth of a post lookup (bench/gateway.py). Each such APIRoute gets a plain route with the
same path and methods matched before it; the APIRoute stays behind it to document the endpoint in
OpenAPI (and to answer methods the plain route refuses with the usual 405).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

Handler = Callable[[Request], Awaitable[Response]]


def front_with_plain_routes(router: APIRouter) -> None:
    """Put a plain route in front of every APIRoute of `router` whose handler takes only the
    request."""
    fronts: list[BaseRoute] = []
    for route in router.routes:
        if isinstance(route, APIRoute) and _takes_only_request(route.endpoint):
            methods = set(route.methods or ())
            fronts.append(
                Route(
                    route.path,
                    _methods_only(route.endpoint, methods),
                    methods=sorted(methods),
                    name=route.name,
                    include_in_schema=False,
                )
            )
    router.routes[:0] = fronts


def _takes_only_request(endpoint: Callable[..., Any]) -> bool:
    parameters = list(inspect.signature(endpoint).parameters.values())
    return len(parameters) == 1 and parameters[0].name == "request"


def _methods_only(endpoint: Handler, methods: set[str]) -> Handler:
    async def plain(request: Request) -> Response:
        if request.method not in methods:
            # Starlette gives a GET route HEAD as well; the documented route answers 405 to it,
            # and the edge knows no HEAD endpoint to limit or meter.
            raise StarletteHTTPException(status_code=405)
        return await endpoint(request)

    return plain

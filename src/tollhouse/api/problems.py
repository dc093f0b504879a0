"""X API v2 error bodies (RFC 7807 `Problem` objects with X's `type` URIs).

Domain code raises `TollhouseError`s; this module is the one place that turns them into an HTTP
status and a body. Nothing here includes tokens, hashes or stack traces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from tollhouse.errors import TollhouseError

PROBLEMS = "https://api.twitter.com/2/problems/"


class ApiProblem(TollhouseError):
    """A refusal that is already an HTTP answer: a status, a Problem body and extra headers."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(body.get("detail") or body.get("title") or "problem")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def invalid_request(
    message: str, parameters: Mapping[str, Sequence[str]] | None = None
) -> ApiProblem:
    """400 `invalid-request`, X's answer to a bad parameter or query."""
    error: dict[str, Any] = {"parameters": {k: list(v) for k, v in (parameters or {}).items()}}
    error["message"] = message
    return ApiProblem(
        400,
        {
            "errors": [error],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def unauthorized() -> ApiProblem:
    return ApiProblem(
        401,
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
    )


def not_found_route() -> ApiProblem:
    return ApiProblem(
        404, {"title": "Not Found", "type": "about:blank", "status": 404, "detail": "Not Found"}
    )


def method_not_allowed() -> ApiProblem:
    return ApiProblem(
        405,
        {
            "title": "Method Not Allowed",
            "type": "about:blank",
            "status": 405,
            "detail": "Method Not Allowed",
        },
    )


def service_unavailable(detail: str) -> ApiProblem:
    return ApiProblem(
        503,
        {"title": "Service Unavailable", "type": "about:blank", "status": 503, "detail": detail},
    )


def internal_error() -> ApiProblem:
    return ApiProblem(
        500,
        {
            "title": "Internal Server Error",
            "type": "about:blank",
            "status": 500,
            "detail": "Something went wrong on our side; the request id identifies it.",
        },
    )


def resource_error(
    kind: str,
    resource_type: str,
    parameter: str,
    value: str,
    detail: str,
) -> dict[str, Any]:
    """A partial error object inside a 200 lookup response (`errors` beside `data`).

    kind is the X problem slug: resource-not-found, not-authorized-for-resource,
    resource-unavailable.
    """
    titles = {
        "resource-not-found": "Not Found Error",
        "not-authorized-for-resource": "Authorization Error",
        "resource-unavailable": "Forbidden",
    }
    return {
        "value": value,
        "detail": detail,
        "title": titles[kind],
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + kind,
    }


def client_forbidden(
    reason: str, detail: str, required_enrollment: str | None = None
) -> ApiProblem:
    """403 `client-forbidden` with X's `reason` (e.g. `client-not-enrolled`)."""
    body: dict[str, Any] = {
        "title": "Client Forbidden",
        "detail": detail,
        "reason": reason,
        "type": PROBLEMS + "client-forbidden",
        "status": 403,
    }
    if required_enrollment is not None:
        body["required_enrollment"] = required_enrollment
        body["registration_url"] = "/admin/v1/plans"
    return ApiProblem(403, body)


def too_many_requests(headers: Mapping[str, str]) -> ApiProblem:
    """429 `Too Many Requests` (a full rate window); headers carry x-rate-limit-*, Retry-After."""
    return ApiProblem(
        429,
        {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        headers,
    )


def usage_capped(headers: Mapping[str, str]) -> ApiProblem:
    """429 `UsageCapExceeded`: the organisation's monthly post cap is used up (reset in headers)."""
    return ApiProblem(
        429,
        {
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": PROBLEMS + "usage-capped",
            "period": "Monthly",
            "scope": "Product",
        },
        headers,
    )


def limits_unavailable() -> ApiProblem:
    """503 when the limits backend cannot be asked and the policy is fail_closed."""
    problem = service_unavailable("Rate limits cannot be checked right now; retry shortly.")
    problem.headers["retry-after"] = "1"
    return problem


def asgi_messages(problem: ApiProblem) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two ASGI messages (start, body) answering with `problem` as problem+json.

    Built once for canned refusals; senders must copy them before anything may change them."""
    body = orjson.dumps(problem.body)
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in problem.headers.items()
    ]
    return (
        {"type": "http.response.start", "status": problem.status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


def not_found(detail: str) -> ApiProblem:
    """404 `resource-not-found`: the thing named in the path is not there (for this caller)."""
    return ApiProblem(
        404,
        {
            "title": "Not Found Error",
            "type": PROBLEMS + "resource-not-found",
            "status": 404,
            "detail": detail,
        },
    )

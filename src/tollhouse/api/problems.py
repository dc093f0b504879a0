"""X API v2 error bodies (RFC 7807 `Problem` objects with X's `type` URIs).

Domain code raises `TollhouseError`s (the tree is drawn in tollhouse.errors); this module is the
one place that turns them into an HTTP status and a body: `problem_for` maps an error by its
class, and the constructors below build every body a route or middleware sends. Nothing here
includes tokens, hashes or stack traces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson

from tollhouse.errors import Conflict, InvalidInput, NotFound, TollhouseError

T = TypeVar("T")

PROBLEMS = "https://api.twitter.com/2/problems/"

# A refusal repeats the bad value so that it can be found, but never whole: a 10 MB name or
# 10 000 ids would make the refusal as large as the request. Each echoed value (a parameter's
# value, a [bracketed] value inside a message) keeps this many characters, and any one text
# of the body at most MAX_TEXT.
MAX_ECHO = 128
# A [bracketed] list inside a message may be ours (the parameters an endpoint takes, up to about
# 200 characters for a search), so it keeps more before it is cut.
MAX_BRACKETED = 256
MAX_TEXT = 1000
# How many values of one parameter are repeated.
MAX_VALUES = 10
_BRACKETED = re.compile(rf"\[([^\[\]]{{{MAX_BRACKETED + 1},}})\]")


def echoed(value: str, limit: int = MAX_ECHO) -> str:
    """`value` as a refusal may repeat it: whole when short, else its start and its length."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}… ({len(value)} characters)"


def _bounded_text(text: str) -> str:
    return echoed(
        _BRACKETED.sub(lambda m: f"[{echoed(m.group(1), MAX_BRACKETED)}]", text), MAX_TEXT
    )


def _bounded(value: Any, key: str = "") -> Any:
    """A body with every echoed value cut (`echoed`); parameters keep MAX_VALUES values each."""
    if isinstance(value, str):
        return _bounded_text(value)
    if isinstance(value, dict):
        if key == "parameters":
            return {
                echoed(str(name)): [echoed(str(v)) for v in values[:MAX_VALUES]]
                for name, values in value.items()
            }
        return {k: _bounded(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v) for v in value]
    return value


class ApiProblem(TollhouseError):
    """A refusal that is already an HTTP answer: a status, a Problem body and extra headers."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        body = _bounded(body)
        super().__init__(body.get("detail") or body.get("title") or "problem")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def about_blank(status: int, title: str, detail: str) -> ApiProblem:
    """A plain HTTP problem (`type` about:blank), as X sends for errors of HTTP itself."""
    return ApiProblem(
        status, {"title": title, "type": "about:blank", "status": status, "detail": detail}
    )


def not_found(detail: str) -> ApiProblem:
    """404 `resource-not-found`: a named thing (organisation, app, plan…) does not exist."""
    return ApiProblem(
        404,
        {
            "title": "Not Found Error",
            "type": PROBLEMS + "resource-not-found",
            "status": 404,
            "detail": detail,
        },
    )


def conflict(detail: str) -> ApiProblem:
    """409 `conflict`: the change would break a uniqueness or consistency rule."""
    return ApiProblem(
        409, {"title": "Conflict", "type": PROBLEMS + "conflict", "status": 409, "detail": detail}
    )


def problem_for(exc: TollhouseError) -> ApiProblem:
    """The Problem for a domain refusal: 404 for unknown names, 409 for conflicts, 400 for
    invalid input (and for any other refusal)."""
    if isinstance(exc, ApiProblem):
        return exc
    if isinstance(exc, NotFound):
        return not_found(str(exc))
    if isinstance(exc, Conflict):
        return conflict(str(exc))
    if isinstance(exc, InvalidInput):
        return invalid_request(str(exc))
    return about_blank(400, "Bad Request", str(exc))


def answer(operation: Callable[[], T]) -> T:
    """Run a service operation, turning domain refusals into their Problem (`problem_for`)."""
    try:
        return operation()
    except TollhouseError as exc:
        raise problem_for(exc) from None


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


def invalid_fields(errors: Sequence[Mapping[str, Any]]) -> ApiProblem:
    """400 `invalid-request` for a request FastAPI could not validate (pydantic's `errors()`):
    each message names the field and the rule, in words, without the library's own text."""
    params: dict[str, list[str]] = {}
    messages = []
    for err in errors:
        kind = err.get("type", "")
        if kind == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            messages.append(f"The body is not valid JSON{': ' + reason if reason else ''}")
            params.setdefault("body", [])
            continue
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or "body"
        if kind == "missing":
            messages.append(f"The `{name}` field is required")
            params.setdefault(name, [])
            continue
        given = err.get("input", "")
        params.setdefault(name, []).append(given if isinstance(given, str) else repr(given))
        rule = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        messages.append(f"The `{name}` field is invalid: {rule}")
    return invalid_request("; ".join(messages), params)


def unauthorized() -> ApiProblem:
    return about_blank(401, "Unauthorized", "Unauthorized")


def not_found_route() -> ApiProblem:
    return about_blank(404, "Not Found", "Not Found")


def method_not_allowed() -> ApiProblem:
    return about_blank(405, "Method Not Allowed", "Method Not Allowed")


def service_unavailable(detail: str) -> ApiProblem:
    """503 for a `ServiceUnavailable`: `detail` says which service and what to do."""
    return about_blank(503, "Service Unavailable", detail)


def metering_unavailable() -> ApiProblem:
    """503 in strict mode when the usage event cannot be made durable."""
    return service_unavailable("Usage metering is unavailable; retry shortly.")


def query_timed_out() -> ApiProblem:
    """503 when a corpus query ran past its deadline and was cancelled."""
    return service_unavailable(
        "The query took too long and was cancelled; narrow it (fewer OR terms, a shorter "
        "time range) and retry."
    )


def internal_error() -> ApiProblem:
    return about_blank(
        500,
        "Internal Server Error",
        "Something went wrong on our side; the request id identifies it.",
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


def end_user_refused(name: str, why: str) -> ApiProblem:
    """403 `client-forbidden`: the request's `X-End-User` names an end user the agreement does
    not let the organisation serve (access/government_use.py says which and why)."""
    return client_forbidden(
        "end-user-not-approved", f"This request may not be served for end user [{name}]: {why}."
    )


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


def credits_depleted() -> ApiProblem:
    """402 `CreditsDepleted`: a pay-per-use organisation has no prepaid credit left. X's
    documentation does not list it; the shape is what X's API answers (as its clients report)."""
    return ApiProblem(
        402,
        {
            "title": "CreditsDepleted",
            "detail": "Your enrolled account does not have any credits",
            "type": "https://api.x.com/2/problems/credits",
            "status": 402,
        },
    )


def too_much_at_once(limit: int) -> ApiProblem:
    """429 `Too Many Requests` (X's body for it) when the organisation already has `limit`
    searches, timelines or counts running in this server (api/org_slots.py)."""
    return ApiProblem(
        429,
        {
            "title": "Too Many Requests",
            "detail": (
                f"Too Many Requests: your organisation already has {limit} searches, timelines "
                "or counts in progress; retry when one has finished."
            ),
            "type": "about:blank",
            "status": 429,
        },
        {"retry-after": "1"},
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


def too_many_connections() -> ApiProblem:
    """429 `ConnectionException`: the app already holds its one connection to this stream."""
    return ApiProblem(
        429,
        {
            "title": "ConnectionException",
            "detail": "This stream is currently at the maximum allowed connection limit.",
            "connection_issue": "TooManyConnections",
            "type": PROBLEMS + "streaming-connection",
        },
    )


def rules_cap(detail: str) -> ApiProblem:
    """400 `RulesCapExceeded`: adding the rules would pass the plan's stream-rule limit."""
    return ApiProblem(
        400, {"title": "RulesCapExceeded", "detail": detail, "type": PROBLEMS + "rule-cap"}
    )


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


def payload_too_large(cap: int) -> ApiProblem:
    """413 for a request body larger than its route accepts (`api.middleware.body_limit`)."""
    return ApiProblem(
        413,
        {
            "title": "Payload Too Large",
            "type": "about:blank",
            "status": 413,
            "detail": f"The request body is larger than {cap} bytes, "
            "the most this endpoint accepts.",
        },
    )

"""The OpenAPI document, generated from the definitions the handlers parse and answer with.

X API handlers take only the `Request` and parse their parameters by hand (X's own error
wording), so FastAPI sees no parameters, no bodies and no response models. This module describes
them instead, from the same sources the handlers read: each endpoint's parameter names from
`Endpoint.params`, field and expansion vocabularies from `x_fields`, patterns and bounds from
`params`; the `Problem` schema is checked against every body `problems` builds (tests).
`operation` is a route's `openapi_extra`; `install` post-processes the whole document (shared
schemas, security schemes, the admin API's errors) so the routes stay plain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from tollhouse.api import params as p
from tollhouse.api import x_fields
from tollhouse.endpoints import Endpoint

Schema = dict[str, Any]
_INTEGER: Schema = {"type": "integer"}
_STRING: Schema = {"type": "string"}

_REF = "#/components/schemas/"
PROBLEM_MEDIA = ("application/json", "application/problem+json")
X_SECURITY = "BearerToken"
ADMIN_SECURITY = "OperatorToken"


def ref(name: str) -> Schema:
    return {"$ref": _REF + name}


def _listed(values: Sequence[str]) -> Schema:
    """A comma-separated list of names (OpenAPI: form style, not exploded)."""
    return {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(values)}}


def _bounded_integer(bounds: p.Bounds) -> Schema:
    return {
        "type": "integer",
        "minimum": bounds.lo,
        "maximum": bounds.hi,
        "default": bounds.default,
    }


# name → (schema, description, required) for parameters that mean the same on every endpoint.
_SHARED: dict[str, tuple[Schema, str, bool]] = {
    "id": (
        {"type": "string", "pattern": p.ID_PATTERN},
        "The id (a 64-bit integer: at most 9223372036854775807).",
        True,
    ),
    "ids": (
        {"type": "string", "pattern": p.ID_LIST_PATTERN},
        "Comma-separated ids (1 to 100, each a 64-bit integer).",
        True,
    ),
    "username": ({"type": "string", "pattern": p.USERNAME_PATTERN}, "The username.", True),
    "usernames": (
        {"type": "string", "pattern": p.USERNAME_LIST_PATTERN},
        "Comma-separated usernames (1 to 100).",
        True,
    ),
    "query": (
        {"type": "string", "minLength": 1},
        "A search query in the X search language (operators from:, to:, lang:, #, @, …); "
        "its longest length is the plan's.",
        True,
    ),
    "start_time": (
        {"type": "string", "format": "date-time"},
        "Oldest time (inclusive), RFC 3339, e.g. 2024-01-01T00:00:00Z.",
        False,
    ),
    "end_time": (
        {"type": "string", "format": "date-time"},
        "Newest time (exclusive), RFC 3339, at least 10 seconds before the request.",
        False,
    ),
    "since_id": (
        {"type": "string", "pattern": p.ID_PATTERN},
        "Only posts with an id greater than this.",
        False,
    ),
    "until_id": (
        {"type": "string", "pattern": p.ID_PATTERN},
        "Only posts with an id less than this.",
        False,
    ),
    "next_token": ({"type": "string", "minLength": 1}, "Opaque token from meta.next_token.", False),
    "pagination_token": (
        {"type": "string", "minLength": 1},
        "Opaque token from meta.next_token or meta.previous_token.",
        False,
    ),
    "sort_order": (
        {"type": "string", "enum": list(p.SORT_ORDERS), "default": p.SORT_ORDERS[0]},
        "relevancy is accepted; results are ordered by recency either way.",
        False,
    ),
    "granularity": (
        {"type": "string", "enum": list(p.GRANULARITIES), "default": "hour"},
        "The width of each count bucket.",
        False,
    ),
    "exclude": (_listed(p.EXCLUDABLE), "Kinds of post to leave out.", False),
    "backfill_minutes": (
        _bounded_integer(p.BACKFILL_MINUTES),
        "Accepted for compatibility; no backfill buffer is kept.",
        False,
    ),
    "dry_run": ({"type": "boolean", "default": False}, "Validate the rules only.", False),
    **{
        name: (_listed(values), f"The `{name}` to return.", False)
        for name, values in x_fields.LIST_PARAMS.items()
    },
}


@dataclass(frozen=True, slots=True)
class Documented:
    """What an endpoint answers with: the 200 body's schema and its media type."""

    schema: Schema
    media_type: str = "application/json"
    description: str = "The X response envelope."


def parameter_schemas(
    endpoint: Endpoint,
    overrides: Mapping[str, Schema] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> list[Schema]:
    """The OpenAPI parameters of `endpoint`, in `Endpoint.params` order (path ones first).

    `overrides` gives the schema of a parameter whose limits are the endpoint's own
    (`max_results`, `expansions`, `days`…); every other name must be in the shared table."""
    path_names = [s[1:] for s in endpoint.template.split("/") if s.startswith(":")]
    out: list[Schema] = []
    for name in endpoint.params:
        in_path = name in path_names
        if overrides and name in overrides:
            schema, description, required = overrides[name], "", False
        else:
            schema, description, required = _SHARED[name]
        parameter: Schema = {
            "name": name,
            "in": "path" if in_path else "query",
            "required": in_path or required,
            "schema": schema,
        }
        if schema.get("type") == "array":
            parameter["style"] = "form"
            parameter["explode"] = False
        description = (descriptions or {}).get(name, description)
        if description:
            parameter["description"] = description
        out.append(parameter)
    return out


def _problem_content() -> Schema:
    return {media: {"schema": ref("Problem")} for media in PROBLEM_MEDIA}


_X_ERRORS: dict[str, str] = {
    "400": "A parameter or the query is invalid (`invalid-request`).",
    "401": "No bearer token, or one that is not a live key.",
    "403": "The plan, app, organisation or agreement does not allow this (`client-forbidden`).",
    "429": "A rate window is full or the monthly cap is used up (`x-rate-limit-*`, Retry-After).",
    "503": "Metering, limits or the query could not be served now; retry shortly.",
}


def _header(description: str, schema: Schema | None = None) -> Schema:
    return {"description": description, "schema": schema or _INTEGER}


# The headers limits/headers.py sets on every metered answer (a 429 adds Retry-After).
_LIMIT_HEADERS: dict[str, Schema] = {
    "x-rate-limit-limit": _header("Requests the binding rate window allows."),
    "x-rate-limit-remaining": _header("Requests left in that window."),
    "x-rate-limit-reset": _header("When that window resets (Unix seconds)."),
    "RateLimit-Policy": _header("Every window of the plan (IETF syntax).", _STRING),
    "RateLimit": _header("What is left of each window (IETF syntax).", _STRING),
}


def operation(
    endpoint: Endpoint,
    answer: Documented,
    *,
    overrides: Mapping[str, Schema] | None = None,
    descriptions: Mapping[str, str] | None = None,
    body: Schema | None = None,
    invalid: Schema | None = None,
) -> Schema:
    """A `/2/` route's `openapi_extra`: its parameters, responses and bearer security.

    `body` is the JSON request body's schema; `invalid` the 400 body's, where it is not a
    Problem."""
    responses: Schema = {
        "200": {
            "description": answer.description,
            "content": {answer.media_type: {"schema": answer.schema}},
            "headers": {
                "x-request-id": _header("The usage event of this request.", _STRING),
                **_LIMIT_HEADERS,
            },
        }
    }
    for status, description in _X_ERRORS.items():
        responses[status] = {"description": description, "content": _problem_content()}
    responses["429"]["headers"] = {
        **_LIMIT_HEADERS,
        "Retry-After": _header("Seconds until a retry can succeed."),
    }
    if ":" in endpoint.template:
        responses["404"] = {"description": "No such path.", "content": _problem_content()}
    if invalid is not None:
        responses["400"]["content"] = {
            media: {"schema": {"anyOf": [ref("Problem"), invalid]}} for media in PROBLEM_MEDIA
        }
    extra: Schema = {
        "parameters": parameter_schemas(endpoint, overrides, descriptions),
        "responses": responses,
        "security": [{X_SECURITY: []}],
    }
    if body is not None:
        extra["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return extra


def with_conflict(extra: Schema, description: str) -> Schema:
    """`extra` (an `operation`) that may also answer 409 with a Problem."""
    extra["responses"]["409"] = {"description": description, "content": _problem_content()}
    return extra


def bounded(bounds: p.Bounds) -> Schema:
    """The schema of an integer parameter whose range is the endpoint's own."""
    return _bounded_integer(bounds)


def listed(values: Sequence[str]) -> Schema:
    """The schema of a comma-separated list of names from `values`."""
    return _listed(values)


def object_of(properties: Schema, required: Sequence[str] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


_TIME = {"type": "string", "format": "date-time"}
_IDS = {"type": "array", "items": ref("IdString")}

COMPONENTS: dict[str, Schema] = {
    "IdString": {"type": "string", "pattern": p.ID_PATTERN, "description": "A 64-bit id."},
    "Problem": object_of(
        {
            "type": _STRING,
            "title": _STRING,
            "detail": _STRING,
            "status": _INTEGER,
            "reason": _STRING,
            "errors": {"type": "array", "items": {"type": "object"}},
        },
        ("type", "title"),
    ),
    "ResourceError": object_of(
        {
            "type": _STRING,
            "title": _STRING,
            "detail": _STRING,
            "value": _STRING,
            "parameter": _STRING,
            "resource_type": _STRING,
            "resource_id": _STRING,
        },
        ("type", "title"),
    ),
    "Tweet": object_of(
        {
            "id": ref("IdString"),
            "text": _STRING,
            "author_id": ref("IdString"),
            "conversation_id": ref("IdString"),
            "in_reply_to_user_id": ref("IdString"),
            "created_at": _TIME,
            "lang": _STRING,
            "edit_history_tweet_ids": _IDS,
            "referenced_tweets": {
                "type": "array",
                "items": object_of({"type": _STRING, "id": ref("IdString")}, ("type", "id")),
            },
            "possibly_sensitive": {"type": "boolean"},
            "public_metrics": {"type": "object"},
            "entities": {"type": "object"},
        },
        ("id", "text", "edit_history_tweet_ids"),
    ),
    "User": object_of(
        {
            "id": ref("IdString"),
            "name": _STRING,
            "username": _STRING,
            "created_at": _TIME,
            "description": _STRING,
            "protected": {"type": "boolean"},
            "verified": {"type": "boolean"},
            "pinned_tweet_id": ref("IdString"),
            "most_recent_tweet_id": ref("IdString"),
            "public_metrics": {"type": "object"},
        },
        ("id", "name", "username"),
    ),
    "Includes": object_of(
        {
            "tweets": {"type": "array", "items": ref("Tweet")},
            "users": {"type": "array", "items": ref("User")},
            "media": {"type": "array", "items": {"type": "object"}},
            "polls": {"type": "array", "items": {"type": "object"}},
            "places": {"type": "array", "items": {"type": "object"}},
        }
    ),
    "PageMeta": object_of(
        {
            "result_count": _INTEGER,
            "newest_id": ref("IdString"),
            "oldest_id": ref("IdString"),
            "next_token": _STRING,
            "previous_token": _STRING,
        }
    ),
    "Count": object_of({"start": _TIME, "end": _TIME, "tweet_count": _INTEGER}),
    "Rule": object_of({"id": ref("IdString"), "value": _STRING, "tag": _STRING}, ("id", "value")),
    "AdminData": object_of({"data": {}}, ("data",)),
}


def envelope(data: Schema, meta: Schema | None = None) -> Schema:
    """X's `{data, includes, meta, errors}` envelope around `data`."""
    return object_of(
        {
            "data": data,
            "includes": ref("Includes"),
            "meta": meta or ref("PageMeta"),
            "errors": {"type": "array", "items": ref("ResourceError")},
        }
    )


TWEETS = Documented(envelope({"type": "array", "items": ref("Tweet")}))
TWEET = Documented(envelope(ref("Tweet")))
USERS = Documented(envelope({"type": "array", "items": ref("User")}))
USER = Documented(envelope(ref("User")))
COUNTS = Documented(
    envelope(
        {"type": "array", "items": ref("Count")},
        object_of({"total_tweet_count": _INTEGER, "next_token": _STRING}),
    )
)
RULES = Documented(
    envelope(
        {"type": "array", "items": ref("Rule")},
        object_of({"sent": _STRING, "result_count": _INTEGER, "next_token": _STRING}),
    )
)
STREAM = Documented(
    envelope(ref("Tweet")),
    description="A long-lived response: one envelope per line, blank keep-alive lines between.",
)
JOB = Documented(object_of({"data": {"type": "object"}}, ("data",)))
JOBS = Documented(object_of({"data": {"type": "array", "items": {"type": "object"}}}, ("data",)))
USAGE = Documented(object_of({"data": {"type": "object"}}, ("data",)))

_ADMIN_ERRORS = {
    "400": "The body or a parameter is invalid.",
    "401": "No operator token, or another one.",
    "404": "A named organisation, app, key, plan or end user does not exist.",
    "409": "The change would break a uniqueness or consistency rule.",
}


def _admin(operation_: Schema, path: str) -> None:
    operation_["security"] = [{ADMIN_SECURITY: []}]
    responses: Schema = operation_.setdefault("responses", {})
    responses.pop("422", None)
    for status, body in responses.items():
        if status.startswith("2"):
            for media, content in body.get("content", {}).items():
                if media == "application/json":
                    content["schema"] = (
                        {"type": "object"}
                        if path.endswith(("/metrics", "/posts", "/usage"))
                        else ref("AdminData")
                    )
    for status, description in _ADMIN_ERRORS.items():
        responses[status] = {"description": description, "content": _problem_content()}


def _usage_log(operation_: Schema) -> None:
    # The licensee's own usage log (api/routes/usage_log.py): its own bearer key, Problem errors.
    operation_["security"] = [{X_SECURITY: []}]
    responses: Schema = operation_.setdefault("responses", {})
    responses.pop("422", None)
    for status, description in _USAGE_LOG_ERRORS.items():
        responses[status] = {"description": description, "content": _problem_content()}


_USAGE_LOG_ERRORS = {
    "400": "A malformed tile path, request id or tree size.",
    "401": "No key, or an unknown one.",
    "403": "The key may not read this log.",
    "404": "No such tile, entry, request id or checkpoint yet.",
    "503": "The usage database is unavailable.",
}


def post_process(document: Schema) -> Schema:
    """Add the shared schemas and security schemes; describe the admin API's errors."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(COMPONENTS)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {
        X_SECURITY: {
            "type": "http",
            "scheme": "bearer",
            "description": "A licensee key (`th_live_…`) for the /2/ data API.",
        },
        ADMIN_SECURITY: {
            "type": "http",
            "scheme": "bearer",
            "description": "The operator token (TOLLHOUSE_ADMIN_TOKEN) for /admin/v1/.",
        },
    }
    for path, item in document.get("paths", {}).items():
        for op in item.values():
            if path.startswith("/admin/"):
                _admin(op, path)
            if path.startswith("/usage-log/"):
                _usage_log(op)
            if "requestBody" in op:
                # api/middleware/body_limit.py refuses a body past the route's cap.
                op["responses"]["413"] = {
                    "description": "The body is larger than the route accepts.",
                    "content": _problem_content(),
                }
    return document


def install(app: FastAPI) -> None:
    """Make `app.openapi()` return the post-processed document (built once, then cached)."""
    generate: Callable[[], Schema] = app.openapi

    def openapi() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = post_process(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

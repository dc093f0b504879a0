"""The product's endpoint table: the X API v2 endpoints Tollhouse serves, and their matcher.

Templates (e.g. `/2/tweets/:id`) are the names plans, rate limits, metering and OpenAPI use for an
endpoint, so the table lives below all of them. `match_endpoint` runs on every request: a dict
lookup for static paths, and a segment-by-segment comparison with the one or two parameterised
shapes of the same method, length and resource when the dict misses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One method + path template. `params` are the query parameters it accepts, in X's order
    (the order of its "is not one of" message and of OpenAPI); the path's own parameters
    (`:id`) come first. `metered` is False where no posts are delivered; `streaming` marks
    long-lived responses that count their posts per batch as they go."""

    method: str
    template: str
    params: tuple[str, ...] = ()
    metered: bool = True
    streaming: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"


_FIELDS = ("tweet.fields", "media.fields", "poll.fields", "place.fields", "user.fields")
_USER_FIELDS = ("tweet.fields", "user.fields")
_TIME = ("start_time", "end_time", "since_id", "until_id")
_SEARCH = (
    "query",
    *_TIME,
    "max_results",
    "next_token",
    "pagination_token",
    "sort_order",
    "expansions",
    *_FIELDS,
)
_COUNTS = ("query", *_TIME, "granularity", "next_token", "pagination_token", "search_count.fields")
_TIMELINE = ("id", *_TIME, "max_results", "pagination_token", "exclude", "expansions", *_FIELDS)
_STREAM = (
    "backfill_minutes",
    "expansions",
    "media.fields",
    "place.fields",
    "poll.fields",
    "tweet.fields",
    "user.fields",
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/2/tweets", ("ids", "expansions", *_FIELDS)),
    Endpoint("GET", "/2/tweets/:id", ("id", "expansions", *_FIELDS)),
    Endpoint("GET", "/2/tweets/search/recent", _SEARCH),
    Endpoint("GET", "/2/tweets/search/all", _SEARCH),
    Endpoint("GET", "/2/tweets/counts/recent", _COUNTS),
    Endpoint("GET", "/2/tweets/counts/all", _COUNTS),
    Endpoint("GET", "/2/users/:id/tweets", _TIMELINE),
    Endpoint("GET", "/2/users/:id/mentions", tuple(p for p in _TIMELINE if p != "exclude")),
    Endpoint("GET", "/2/users/:id", ("id", "expansions", *_USER_FIELDS)),
    Endpoint("GET", "/2/users", ("ids", "expansions", *_USER_FIELDS)),
    Endpoint("GET", "/2/users/by/username/:username", ("username", "expansions", *_USER_FIELDS)),
    Endpoint("GET", "/2/users/by", ("usernames", "expansions", *_USER_FIELDS)),
    Endpoint("GET", "/2/usage/tweets", ("days", "usage.fields"), metered=False),
    Endpoint("GET", "/2/tweets/search/stream", _STREAM, streaming=True),
    Endpoint("GET", "/2/tweets/search/stream/rules", ("ids",), metered=False),
    Endpoint("POST", "/2/tweets/search/stream/rules", ("dry_run",), metered=False),
    Endpoint("GET", "/2/tweets/sample/stream", _STREAM, streaming=True),
)

# Every template a plan may name (GET and POST of the rules endpoint share one template).
TEMPLATES: frozenset[str] = frozenset(e.template for e in ENDPOINTS)

_STATIC: dict[tuple[str, str], Endpoint] = {
    (e.method, e.template): e for e in ENDPOINTS if ":" not in e.template
}


def _shape(template: str) -> tuple[str | None, ...]:
    """Path segments with None where a parameter goes: "/2/users/:id" → ("2", "users", None)."""
    return tuple(None if p.startswith(":") else p for p in template.strip("/").split("/"))


# Parameterised templates grouped by (method, segment count, resource segment) so a path is
# compared with one or two candidates, segment by segment, without regular expressions.
_DYNAMIC: dict[tuple[str, int, str], tuple[tuple[tuple[str | None, ...], Endpoint], ...]] = {}
for _e in ENDPOINTS:
    if ":" in _e.template:
        _s = _shape(_e.template)
        _key = (_e.method, len(_s), _s[1] or "")
        _DYNAMIC[_key] = (*_DYNAMIC.get(_key, ()), (_s, _e))


def match_endpoint(method: str, path: str) -> Endpoint | None:
    """The endpoint serving `method path`, or None if the path is not an API v2 endpoint."""
    if len(path) > 1 and path[-1] == "/":
        path = path[:-1]
    found = _STATIC.get((method, path))
    if found is not None:
        return found
    parts = path[1:].split("/")
    if len(parts) < 3:
        return None
    for shape, endpoint in _DYNAMIC.get((method, len(parts), parts[1]), ()):
        for want, got in zip(shape, parts, strict=True):
            if (want is not None and want != got) or not got:
                break
        else:
            return endpoint
    return None


_BY_TEMPLATE: dict[tuple[str, str], Endpoint] = {(e.method, e.template): e for e in ENDPOINTS}


def endpoint(method: str, template: str) -> Endpoint:
    """The table's entry for `method template` (a KeyError names a template not in the table)."""
    return _BY_TEMPLATE[(method, template)]

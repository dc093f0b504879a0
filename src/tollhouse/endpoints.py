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
    """One method + path template. `metered` is False where no posts are delivered;
    `streaming` marks long-lived responses that count their posts per batch as they go."""

    method: str
    template: str
    metered: bool = True
    streaming: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/2/tweets"),
    Endpoint("GET", "/2/tweets/:id"),
    Endpoint("GET", "/2/tweets/search/recent"),
    Endpoint("GET", "/2/tweets/search/all"),
    Endpoint("GET", "/2/tweets/counts/recent"),
    Endpoint("GET", "/2/tweets/counts/all"),
    Endpoint("GET", "/2/users/:id/tweets"),
    Endpoint("GET", "/2/users/:id/mentions"),
    Endpoint("GET", "/2/users/:id"),
    Endpoint("GET", "/2/users"),
    Endpoint("GET", "/2/users/by/username/:username"),
    Endpoint("GET", "/2/users/by"),
    Endpoint("GET", "/2/usage/tweets", metered=False),
    Endpoint("GET", "/2/tweets/search/stream", streaming=True),
    Endpoint("GET", "/2/tweets/search/stream/rules", metered=False),
    Endpoint("POST", "/2/tweets/search/stream/rules", metered=False),
    Endpoint("GET", "/2/tweets/sample/stream", streaming=True),
    Endpoint("POST", "/2/compliance/jobs", metered=False),
    Endpoint("GET", "/2/compliance/jobs", metered=False),
    Endpoint("GET", "/2/compliance/jobs/:id", metered=False),
    Endpoint("GET", "/2/tweets/compliance/stream", metered=False, streaming=True),
    Endpoint("GET", "/2/users/compliance/stream", metered=False, streaming=True),
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

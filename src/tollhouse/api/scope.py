"""Names of what the edge's steps and the handlers leave for each other in the ASGI scope.

One list, so that a producer and its readers can never disagree on a key.
"""

from __future__ import annotations

from starlette.requests import Request

from tollhouse.access.context import RequestContext
from tollhouse.api.problems import unauthorized

# The request context (org, app, key, plan), set by the edge after authentication.
CONTEXT_KEY = "tollhouse.context"
# The matched Endpoint (or None for a /2/ path that is no known endpoint).
ENDPOINT_KEY = "tollhouse.endpoint"
# Post ids a handler delivered (data and includes.tweets), read after it by limits and metering.
DELIVERED_KEY = "tollhouse.delivered"
# Extra response headers steps want on the response (e.g. x-rate-limit-*): list of (bytes, bytes).
RESPONSE_HEADERS_KEY = "tollhouse.response_headers"
# How many delivered posts were new against the cap today (set by limits, read by metering).
NEW_POSTS_KEY = "tollhouse.new_posts"
# The request's UUIDv7, also sent as `x-request-id` (set by metering, outermost on /2/).
REQUEST_ID_KEY = "tollhouse.request_id"


def request_context(request: Request) -> RequestContext:
    """The caller the edge authenticated (401 if the request reached a handler without one)."""
    context = request.scope.get(CONTEXT_KEY)
    if not isinstance(context, RequestContext):
        raise unauthorized()
    return context

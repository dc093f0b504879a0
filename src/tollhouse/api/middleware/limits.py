"""The limits steps of the edge pipeline (tollhouse.api.edge calls them).

`admit_step` runs before the handler: it decides, and either returns the refusal to send (429
`Too Many Requests`, 429 `UsageCapExceeded`, or 503 when the backend is down and the policy is
fail_closed) or leaves the limit headers for the response in the scope. `count_step` runs after
the handler: it counts the posts the handler put in `scope["tollhouse.delivered"]` against the
monthly cap and gives back the request's reservation. The limits domain decides; this module
turns its decisions into scope keys, headers and the Problem bodies of tollhouse.api.problems.
"""

from __future__ import annotations

from starlette.types import Message, Scope

from tollhouse.api import problems
from tollhouse.api.scope import DELIVERED_KEY, NEW_POSTS_KEY, RESPONSE_HEADERS_KEY
from tollhouse.limits.decisions import Decision
from tollhouse.limits.errors import LimitsUnavailable
from tollhouse.limits.headers import limit_headers
from tollhouse.limits.service import Caller, LimitsService

# Where admit_step leaves its Decision for count_step.
DECISION_KEY = "tollhouse.limits.decision"


def refusal_problem(decision: Decision) -> problems.ApiProblem:
    """The Problem for a refused decision, with every limit header (both on every 429)."""
    headers = dict(limit_headers(decision))
    if decision.refusal == "cap":
        return problems.usage_capped(headers)
    return problems.too_many_requests(headers)


async def admit_step(
    service: LimitsService,
    caller: Caller,
    endpoint: str,
    metered: bool,
    scope: Scope,
    reserve: bool = True,
) -> tuple[Message, Message] | None:
    """Decide the request: the refusal to send, or None (limit headers left in the scope)."""
    try:
        decision = await service.admit(caller, endpoint, metered, reserve)
    except LimitsUnavailable:
        return problems.asgi_messages(problems.limits_unavailable())
    if not decision.admitted:
        return problems.asgi_messages(refusal_problem(decision))
    scope[DECISION_KEY] = decision
    headers = limit_headers(decision)
    if headers:
        extra = scope.setdefault(RESPONSE_HEADERS_KEY, [])
        extra.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    scope[DECISION_KEY + ".metered"] = metered
    return None


async def count_step(service: LimitsService, caller: Caller, scope: Scope) -> None:
    """Count the delivered posts against the cap and release the reservation (never raises)."""
    decision: Decision | None = scope.get(DECISION_KEY)
    if decision is None or not decision.checked:
        return
    metered = scope.get(DECISION_KEY + ".metered", False)
    delivered = (scope.get(DELIVERED_KEY) or ()) if metered else ()
    counted = await service.count_delivered(caller, delivered, decision.reservation)
    if counted is not None:
        # Metering records how many of the delivered posts were new against the cap today.
        scope[NEW_POSTS_KEY] = counted.new_posts

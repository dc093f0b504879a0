"""The request context: who is calling, set by the edge in `scope["tollhouse.context"]`."""

from __future__ import annotations

from dataclasses import dataclass

from tollhouse.access.plans import Plan


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The licensee behind a request. Built once per key and reused for every request it makes."""

    org_id: int
    org_name: str
    app_id: int
    app_name: str
    key_id: str
    plan: Plan
    billing_day: int  # 1-28: the day of the month the organisation's billing period starts

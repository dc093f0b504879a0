from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from tollhouse.access.service import AccessService
from tollhouse.billing.organisations import AccessOrganisations
from tollhouse.billing.service import BillingService
from tollhouse.billing.usage import RollupUsage
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.sql_store import record_events

_ids = itertools.count(1)


@dataclass
class Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at


def event(
    org_id: int, at: datetime, posts: int = 0, endpoint: str = "/2/tweets/search/all",
    status: int = 200, request_id: str | None = None,
) -> UsageEvent:  # fmt: skip
    us = int(at.timestamp()) * 1_000_000 + at.microsecond
    return UsageEvent(
        request_id=request_id or f"req-{next(_ids):012d}",
        occurred_us=us, org_id=org_id, app_id=1, key_id="k", endpoint=endpoint, method="GET",
        status=status, posts=posts, new_posts=posts, bytes=10, duration_us=5,
        client_ip=None, user_agent=None, end_user=None,
    )  # fmt: skip


@dataclass
class World:
    access: AccessService
    billing: BillingService
    usage_engine: Engine
    clock: Clock

    def org(self, name: str, plan: str, billing_day: int = 1) -> int:
        return self.access.create_org(name, plan, "tests", billing_day).id

    def use(self, *events: UsageEvent) -> int:
        return record_events(self.usage_engine, events)


@pytest.fixture
def world(engine: Engine, usage_engine: Engine) -> Iterator[World]:
    access = AccessService(engine)
    access.install_defaults("tests")
    clock = Clock(datetime(2026, 3, 1, tzinfo=UTC))
    billing = BillingService(
        engine, RollupUsage(usage_engine), AccessOrganisations(access), now=clock
    )
    yield World(access, billing, usage_engine, clock)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)

"""Usage events for tests: a deterministic generator of plausible traffic."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
ENDPOINTS = ("/2/tweets/search/all", "/2/tweets/:id", "/2/users/:id/tweets")


def make_event(
    rng: random.Random,
    org_id: int | None = 1,
    app_id: int | None = 10,
    at: datetime = DAY0,
    status: int = 200,
    post_ids: tuple[int, ...] = (),
    endpoint: str = ENDPOINTS[0],
    end_user: str | None = None,
) -> UsageEvent:
    us = int(at.timestamp() * 1_000_000)
    return UsageEvent(
        request_id=uuid7(us // 1000),
        occurred_us=us,
        org_id=org_id,
        app_id=app_id,
        key_id=None if org_id is None else f"k{app_id}",
        endpoint=endpoint,
        method="GET",
        status=status,
        posts=len(post_ids),
        new_posts=len(post_ids) // 2,
        bytes=100 + 50 * len(post_ids),
        duration_us=rng.randrange(100, 5000),
        client_ip="127.0.0.1",
        user_agent="test",
        end_user=end_user,
        post_ids=post_ids,
    )


def traffic(rng: random.Random, n: int, orgs: int = 2, apps_per_org: int = 2) -> list[UsageEvent]:
    """`n` events spread over two days, several orgs and apps, with refusals and repeats."""
    events = []
    for _ in range(n):
        org = rng.randrange(1, orgs + 1)
        status = rng.choice((200, 200, 200, 200, 401, 429, 500))
        known = status != 401
        at = DAY0.replace(hour=rng.randrange(24), day=rng.choice((1, 2)))
        ids = (
            tuple(rng.randrange(1, 500) for _ in range(rng.randrange(0, 6)))
            if status == 200
            else ()
        )
        events.append(
            make_event(
                rng,
                org_id=org if known else None,
                app_id=org * 10 + rng.randrange(apps_per_org) if known else None,
                at=at.replace(minute=rng.randrange(60), microsecond=rng.randrange(10**6)),
                status=status,
                post_ids=ids,
                endpoint=rng.choice(ENDPOINTS),
            )
        )
    return events

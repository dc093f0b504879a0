"""A small world for the findings tests: licensees made through the access service (their
agreement accepted long ago), usage written through metering's store, evaluation over it."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.access.agreements import default_agreement
from tollhouse.access.models import agreement_acceptances, agreement_versions
from tollhouse.access.plans import RateLimit, default_plans
from tollhouse.access.service import AccessService
from tollhouse.compliance.findings import register
from tollhouse.compliance.findings.config import load_rules
from tollhouse.compliance.findings.evaluate import EvaluationResult, evaluate
from tollhouse.compliance.findings.finding import Finding
from tollhouse.compliance.findings.service import sql_sources
from tollhouse.compliance.findings.sources import Obligations
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.sql_store import record_events

LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)
DAY0 = datetime(2026, 3, 1, tzinfo=UTC)
FROM = datetime(2026, 1, 1, tzinfo=UTC)
TO = datetime(2026, 7, 1, tzinfo=UTC)
PLAN = "compliance-tests"
_seq = itertools.count()


@dataclass
class Org:
    id: int
    name: str
    apps: dict[str, int]
    keys: dict[str, str]  # app name → key id
    tokens: dict[str, str]


@dataclass
class World:
    engine: Engine
    usage_engine: Engine
    tmp: Path
    service: AccessService = field(init=False)
    rules_toml: str = ""
    obligations: Obligations | None = None

    def __post_init__(self) -> None:
        self.service = AccessService(self.engine)
        enterprise = next(p for p in default_plans() if p.name == "enterprise")
        plan = dataclasses.replace(
            enterprise,
            name=PLAN,
            rate_limits={t: (RateLimit(1_000_000, 900),) for t in enterprise.endpoints},
            monthly_post_cap=None,
            max_apps=10,
        )
        self.service.load_plans([plan], actor="tests")
        self.service.publish_agreement(default_agreement(), actor="tests")
        self.backdate_agreements(LONG_AGO)

    def plan(self, name: str, **changes: Any) -> str:
        """A plan like the tests' one, with `changes` (rate_limits as {template: (n, s)})."""
        base = self.service.get_plan(PLAN)
        if "rate_limits" in changes:
            limits = dict(base.rate_limits)
            limits.update({t: (RateLimit(n, s),) for t, (n, s) in changes["rate_limits"].items()})
            changes["rate_limits"] = limits
        if "endpoints" in changes:
            limits = changes.get("rate_limits", base.rate_limits)
            changes["rate_limits"] = {t: r for t, r in limits.items() if t in changes["endpoints"]}
        self.service.load_plans([dataclasses.replace(base, name=name, **changes)], actor="tests")
        return name

    def backdate_agreements(self, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(agreement_versions.update().values(published_at=at))
            conn.execute(agreement_acceptances.update().values(accepted_at=at))

    def org(
        self,
        name: str,
        apps: Sequence[str],
        use_cases: Sequence[str] = ("search_and_analytics",),
        plan: str = PLAN,
    ) -> Org:
        self.service.create_org(name, plan, actor="tests")
        self.service.accept_agreement(name, "Test Runner", actor="tests")
        self.backdate_agreements(LONG_AGO)
        ids, keys, tokens = {}, {}, {}
        for app in apps:
            view = self.service.create_app(name, app, "tests", use_cases)
            made = self.service.create_key(app, actor="tests")
            ids[app], keys[app], tokens[app] = view.id, made.id, made.token
        org_id = next(o.id for o in self.service.list_orgs() if o.name == name)
        return Org(org_id, name, ids, keys, tokens)

    def record(self, events: Sequence[UsageEvent]) -> None:
        for i in range(0, len(events), 5000):
            record_events(self.usage_engine, events[i : i + 5000], directory=self.engine)

    def evaluate(self, **kwargs: Any) -> EvaluationResult:
        path = None
        if self.rules_toml:
            path = self.tmp / "rules.toml"
            path.write_text(self.rules_toml)
        kwargs.setdefault("start", FROM)
        kwargs.setdefault("end", TO)
        kwargs.setdefault("now", TO)
        return evaluate(
            self.engine,
            sql_sources(self.engine, self.usage_engine, self.obligations),
            load_rules(path),
            "tests",
            **kwargs,
        )

    def evaluate_now(self, **kwargs: Any) -> EvaluationResult:
        """Evaluate the days around now (usage made through the API happens now)."""
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        end = today + timedelta(days=1)
        return self.evaluate(start=today - timedelta(days=1), end=end, now=end, **kwargs)

    def findings(self, rule: str | None = None, org: str | None = None) -> list[Finding]:
        return register.list_findings(self.engine, org=org, rule=rule)


def event(
    org: Org,
    app: str,
    at: datetime,
    endpoint: str = "/2/tweets/search/recent",
    post_ids: Sequence[int] = (),
    query_string: str | None = None,
    ip: str = "198.51.100.10",
    agent: str = "client/1.0",
    end_user: str | None = None,
    status: int = 200,
    stream_rules: Sequence[str] = (),
) -> UsageEvent:
    us = int(at.timestamp() * 1_000_000) + next(_seq) % 1000
    return UsageEvent(
        request_id=uuid7(us // 1000),
        occurred_us=us,
        org_id=org.id,
        app_id=org.apps[app],
        key_id=org.keys[app],
        endpoint=endpoint,
        method="GET",
        status=status,
        posts=len(post_ids),
        new_posts=len(post_ids),
        bytes=100,
        duration_us=1000,
        client_ip=ip,
        user_agent=agent,
        end_user=end_user,
        post_ids=tuple(post_ids),
        query_string=query_string,
        stream_rules=tuple(stream_rules),
    )


def days(n: int, start: datetime = DAY0) -> list[datetime]:
    return [start + timedelta(days=i) for i in range(n)]


def chunks(ids: range | list[int], size: int = 100) -> list[list[int]]:
    values = list(ids)
    return [values[i : i + size] for i in range(0, len(values), size)]


def select_one(engine: Engine, table: sa.Table) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table)))

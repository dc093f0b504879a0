"""The sources' SQL adapters: access's tables for the licensees, metering's rollups and raw
events for usage and (until metering's delivery ledger is there) for delivered posts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from pyroaring import BitMap64
from sqlalchemy.engine import Connection, Engine

from tollhouse.access import models as access
from tollhouse.compliance.findings.config import in_networks, parse_networks
from tollhouse.compliance.findings.models import canaries
from tollhouse.compliance.findings.sources import (
    AppFacts,
    DailyUse,
    Delivery,
    DeliveryKind,
    EndUserFacts,
    EndUserUse,
    HourlyUse,
    KeyNetworkDay,
    NetworkUse,
    OrgFacts,
    QueryUse,
)
from tollhouse.compliance.findings.terms import AgreementTimeline, VersionInForce
from tollhouse.errors import NotFound
from tollhouse.metering.models import usage_events, usage_rollups, usage_rollups_daily
from tollhouse.metering.network import unpack_post_ids

# Endpoints that deliver posts the caller named by id; every other one finds posts.
LOOKUP_ENDPOINTS = frozenset({"/2/tweets", "/2/tweets/:id"})


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class SqlLicensees:
    """Organisations, apps, keys, end users and agreements from access's tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def orgs(self, names: Sequence[str] | None) -> list[OrgFacts]:
        o = access.organisations.c
        with self.engine.connect() as conn:
            query = sa.select(access.organisations).order_by(o.id)
            rows = list(conn.execute(query).mappings())
            if names is not None:
                by_name = {r["name"]: r for r in rows}
                by_id = {str(r["id"]): r for r in rows}
                missing = [n for n in names if n not in by_name and n not in by_id]
                if missing:
                    raise NotFound(f"no organisation {missing[0]!r}")
                rows = [by_name.get(n) or by_id[n] for n in names]
            ids = [int(r["id"]) for r in rows]
            return self._facts(conn, rows, ids)

    def _facts(self, conn: Connection, rows: list[Any], ids: list[int]) -> list[OrgFacts]:
        plans = {r.name: r.definition for r in conn.execute(sa.select(access.plans))}
        apps: dict[int, list[AppFacts]] = defaultdict(list)
        a = access.apps.c
        for r in conn.execute(sa.select(access.apps).where(a.org_id.in_(ids)).order_by(a.id)):
            apps[int(r.org_id)].append(
                AppFacts(int(r.id), r.name, tuple(r.use_cases or ()), utc(r.created_at))
            )
        app_org = {app.id: org for org, items in apps.items() for app in items}
        keys: dict[int, dict[str, int]] = defaultdict(dict)
        k = access.api_keys.c
        for r in conn.execute(sa.select(k.id, k.app_id).where(k.app_id.in_(list(app_org)))):
            keys[app_org[int(r.app_id)]][r.id] = int(r.app_id)
        users: dict[int, list[EndUserFacts]] = defaultdict(list)
        e = access.end_users.c
        for r in conn.execute(sa.select(access.end_users).where(e.org_id.in_(ids))):
            users[int(r.org_id)].append(
                EndUserFacts(
                    int(r.id),
                    r.name,
                    r.sector,
                    utc(r.approved_at) if r.approved_at else None,
                    utc(r.created_at),
                )
            )
        versions = {
            int(r.id): VersionInForce(r.version, r.terms, utc(r.published_at), False)
            for r in conn.execute(sa.select(access.agreement_versions))
        }
        published = tuple(sorted(versions.values(), key=lambda v: v.since))
        accepted: dict[int, list[VersionInForce]] = defaultdict(list)
        acc = access.agreement_acceptances.c
        for r in conn.execute(
            sa.select(access.agreement_acceptances).where(acc.org_id.in_(ids)).order_by(acc.id)
        ):
            v = versions[int(r.agreement_id)]
            accepted[int(r.org_id)].append(
                VersionInForce(v.version, v.terms, utc(r.accepted_at), True)
            )
        return [
            OrgFacts(
                id=int(r["id"]),
                name=r["name"],
                plan=plans.get(r["plan_name"], {}),
                apps=tuple(apps[int(r["id"])]),
                end_users=tuple(users[int(r["id"])]),
                keys=keys[int(r["id"])],
                agreement=AgreementTimeline(
                    tuple(sorted(accepted[int(r["id"])], key=lambda v: v.since)), published
                ),
            )
            for r in rows
        ]

    def canaries(self) -> dict[int, int]:
        with self.engine.connect() as conn:
            return {int(r.post_id): int(r.org_id) for r in conn.execute(sa.select(canaries))}


def _day_of(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "sqlite":
        return sa.func.substr(column, 1, 10)
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class SqlUsage:
    """Usage from metering's rollups (volumes) and raw events (networks, agents, queries)."""

    def __init__(self, usage_engine: Engine) -> None:
        self.engine = usage_engine

    def daily(self, org_id: int, start: date, end: date) -> list[DailyUse]:
        t = usage_rollups_daily.c
        query = (
            sa.select(t.day, t.app_id, t.endpoint, t.requests, t.posts, t.errors)
            .where(t.org_id == org_id, t.day >= start, t.day < end)
            .order_by(t.day)
        )
        with self.engine.connect() as conn:
            return [
                DailyUse(_as_date(r.day), int(r.app_id), r.endpoint, r.requests, r.posts, r.errors)
                for r in conn.execute(query)
            ]

    def hourly(self, org_id: int, start: datetime, end: datetime) -> list[HourlyUse]:
        t = usage_rollups.c
        query = (
            sa.select(t.hour, t.app_id, t.endpoint, sa.func.sum(t.requests).label("requests"))
            .where(t.org_id == org_id, t.hour >= start, t.hour < end)
            .group_by(t.hour, t.app_id, t.endpoint)
            .order_by(t.hour)
        )
        with self.engine.connect() as conn:
            return [
                HourlyUse(utc(r.hour), int(r.app_id), r.endpoint, int(r.requests))
                for r in conn.execute(query)
            ]

    def key_networks(self, org_id: int | None, start: date, end: date) -> list[KeyNetworkDay]:
        t = usage_events.c
        with self.engine.connect() as conn:
            day = _day_of(conn, t.occurred_at).label("day")
            query = (
                sa.select(
                    day,
                    t.org_id,
                    t.app_id,
                    t.key_id,
                    t.client_network,
                    t.user_agent,
                    sa.func.count().label("requests"),
                    sa.func.min(t.request_id).label("sample"),
                )
                .where(
                    t.occurred_at >= day_start(start),
                    t.occurred_at < day_start(end),
                    t.org_id.is_not(None),
                    t.key_id.is_not(None),
                    t.client_network.is_not(None),
                )
                .group_by(day, t.org_id, t.app_id, t.key_id, t.client_network, t.user_agent)
            )
            if org_id is not None:
                query = query.where(t.org_id == org_id)
            return [
                KeyNetworkDay(
                    _as_date(r.day),
                    int(r.org_id),
                    int(r.app_id or 0),
                    r.key_id,
                    r.client_network,
                    r.user_agent or "",
                    int(r.requests),
                    r.sample,
                )
                for r in conn.execute(query)
            ]

    def queries(self, org_id: int, start: datetime, end: datetime) -> list[QueryUse]:
        t = usage_events.c
        query = (
            sa.select(
                t.request_id,
                t.occurred_at,
                t.app_id,
                t.key_id,
                t.endpoint,
                t.query_string,
                t.stream_rules,
                t.client_network,
            )
            .where(
                t.org_id == org_id,
                t.occurred_at >= start,
                t.occurred_at < end,
                sa.or_(t.query_string.is_not(None), t.stream_rules.is_not(None)),
            )
            .order_by(t.occurred_at)
        )
        with self.engine.connect() as conn:
            return [
                QueryUse(
                    r.request_id,
                    utc(r.occurred_at),
                    int(r.app_id or 0),
                    r.key_id or "",
                    r.endpoint,
                    r.query_string,
                    tuple(r.stream_rules or ()),
                    r.client_network,
                )
                for r in conn.execute(query)
            ]

    def end_users(self, org_id: int, start: datetime, end: datetime) -> list[EndUserUse]:
        t = usage_events.c
        query = (
            sa.select(
                t.end_user,
                t.end_user_id,
                t.app_id,
                sa.func.min(t.occurred_at).label("first_at"),
                sa.func.max(t.occurred_at).label("last_at"),
                sa.func.count().label("requests"),
                sa.func.min(t.request_id).label("first_id"),
                sa.func.max(t.request_id).label("last_id"),
            )
            .where(
                t.org_id == org_id,
                t.occurred_at >= start,
                t.occurred_at < end,
                t.end_user.is_not(None),
                t.status < 400,
            )
            .group_by(t.end_user, t.end_user_id, t.app_id)
        )
        with self.engine.connect() as conn:
            return [
                EndUserUse(
                    r.end_user,
                    None if r.end_user_id is None else int(r.end_user_id),
                    int(r.app_id or 0),
                    utc(r.first_at),
                    utc(r.last_at),
                    int(r.requests),
                    tuple(dict.fromkeys((r.first_id, r.last_id))),
                )
                for r in conn.execute(query)
            ]

    def networks(
        self, org_id: int, start: datetime, end: datetime, within: Sequence[str]
    ) -> list[NetworkUse]:
        cidrs = parse_networks(within, "networks")
        if not cidrs:
            return []
        t = usage_events.c
        query = (
            sa.select(
                t.app_id,
                t.client_network,
                sa.func.count().label("requests"),
                sa.func.min(t.occurred_at).label("first_at"),
                sa.func.min(t.request_id).label("sample"),
            )
            .where(
                t.org_id == org_id,
                t.occurred_at >= start,
                t.occurred_at < end,
                t.client_network.is_not(None),
            )
            .group_by(t.app_id, t.client_network)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [
            NetworkUse(
                org_id,
                int(r.app_id or 0),
                r.client_network,
                int(r.requests),
                utc(r.first_at),
                r.sample,
            )
            for r in rows
            if in_networks(r.client_network, cidrs)
        ]


class RawEventDeliveries:
    """The delivery ledger's sets, computed from raw events' post ids (kept for the raw-event
    retention only; metering's ledger keeps them for good)."""

    def __init__(self, usage_engine: Engine) -> None:
        self.engine = usage_engine

    def deliveries(self, org_id: int | None, start: date, end: date) -> Iterable[Delivery]:
        t = usage_events.c
        with self.engine.connect() as conn:
            day = _day_of(conn, t.occurred_at).label("day")
            query = sa.select(day, t.org_id, t.app_id, t.endpoint, t.post_ids).where(
                t.occurred_at >= day_start(start),
                t.occurred_at < day_start(end),
                t.post_ids.is_not(None),
                t.org_id.is_not(None),
            )
            if org_id is not None:
                query = query.where(t.org_id == org_id)
            sets: dict[tuple[int, int, date, DeliveryKind], BitMap64] = {}
            result = conn.execution_options(yield_per=10_000).execute(query)
            for r in result:
                kind: DeliveryKind = "lookup" if r.endpoint in LOOKUP_ENDPOINTS else "found"
                key = (int(r.org_id), int(r.app_id or 0), _as_date(r.day), kind)
                bitmap = sets.get(key)
                if bitmap is None:
                    bitmap = sets[key] = BitMap64()
                bitmap.update(unpack_post_ids(r.post_ids))
        return [Delivery(o, a, d, k, b) for (o, a, d, k), b in sorted(sets.items())]

    def requests_delivering(
        self, org_id: int, post_id: int, start: datetime, end: datetime, limit: int = 5
    ) -> list[tuple[str, datetime]]:
        t = usage_events.c
        query = (
            sa.select(t.request_id, t.occurred_at, t.post_ids)
            .where(
                t.org_id == org_id,
                t.occurred_at >= start,
                t.occurred_at < end,
                t.post_ids.is_not(None),
            )
            .order_by(t.occurred_at)
        )
        found: list[tuple[str, datetime]] = []
        with self.engine.connect() as conn:
            for r in conn.execution_options(yield_per=10_000).execute(query):
                if post_id in unpack_post_ids(r.post_ids):
                    found.append((r.request_id, utc(r.occurred_at)))
                    if len(found) >= limit:
                        break
        return found

"""Metering operations for the CLI and the admin API: usage by organisation and app name,
retention of raw events."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.errors import InvalidInput, NotFound
from tollhouse.metering.ids import uuid7_floor
from tollhouse.metering.models import usage_events
from tollhouse.metering.queries import GroupBy, UsageReport, usage


def _access_tables() -> tuple[sa.Table, sa.Table] | None:
    try:
        from tollhouse.access.models import apps, organisations
    except ImportError:  # the access domain is optional for metering's own tests
        return None
    return organisations, apps


def resolve_org(conn: Connection, org: str) -> tuple[int, str]:
    """(id, name) of the organisation named `org` (or with numeric id `org`)."""
    tables = _access_tables()
    if tables is None:
        if org.isdigit():
            return int(org), org
        raise NotFound(f"no organisation {org!r}")
    organisations, _ = tables
    o = organisations.c
    row = conn.execute(sa.select(o.id, o.name).where(o.name == org)).first()
    if row is None and org.isdigit():
        row = conn.execute(sa.select(o.id, o.name).where(o.id == int(org))).first()
    if row is None:
        raise NotFound(f"no organisation {org!r}")
    return int(row.id), str(row.name)


def org_app_names(conn: Connection, org_id: int) -> dict[int, str]:
    """{app id: name} of the organisation's apps."""
    tables = _access_tables()
    if tables is None:
        return {}
    _, apps = tables
    rows = conn.execute(sa.select(apps.c.id, apps.c.name).where(apps.c.org_id == org_id))
    return {int(r.id): str(r.name) for r in rows}


def resolve_apps(conn: Connection, org_id: int, names: Sequence[str]) -> list[int]:
    """Ids of the organisation's apps named `names`. An app of another organisation is
    reported as not found, exactly like one that does not exist."""
    own = org_app_names(conn, org_id)
    by_name = {name: app_id for app_id, name in own.items()}
    ids = []
    for name in names:
        if name in by_name:
            ids.append(by_name[name])
        elif name.isdigit() and ((not own and _access_tables() is None) or int(name) in own):
            ids.append(int(name))
        else:
            raise NotFound(f"organisation has no app {name!r}")
    return ids


def usage_report(
    engine: Engine,
    org: str,
    start: date,
    end: date,
    by: GroupBy | None = None,
    apps: Sequence[str] = (),
    usage_engine: Engine | None = None,
) -> UsageReport:
    """Usage of organisation `org` (a name) over the UTC days [start, end). `engine` holds the
    licensees and the posts, `usage_engine` (default: the same) the usage tables."""
    if end <= start:
        raise InvalidInput("`to` must be after `from` (the period is [from, to))")
    with engine.connect() as conn:
        org_id, _ = resolve_org(conn, org)
        app_ids = resolve_apps(conn, org_id, apps) if apps else None
        names = org_app_names(conn, org_id)
        if usage_engine is None or usage_engine is engine:
            return usage(conn, org_id, start, end, by=by, app_ids=app_ids, app_names=names)
        with usage_engine.connect() as usage_conn:
            return usage(
                usage_conn,
                org_id,
                start,
                end,
                by=by,
                app_ids=app_ids,
                app_names=names,
                corpus=conn,
            )


def prune_raw_events(engine: Engine, retention_days: int, now_ms: int | None = None) -> int:
    """Delete raw events older than `retention_days`; rollups and sketches stay. Returns how
    many were deleted. Request ids are UUIDv7, so "older than" is a primary-key range."""
    if retention_days < 1:
        raise InvalidInput("retention must be at least one day")
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    cutoff = uuid7_floor(now_ms - retention_days * 86_400_000)
    with engine.begin() as conn:
        result = conn.execute(sa.delete(usage_events).where(usage_events.c.request_id < cutoff))
        return int(result.rowcount or 0)

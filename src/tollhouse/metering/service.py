"""Metering operations for the CLI and the admin API: usage by organisation and app name,
retention of raw events."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.errors import InvalidInput, NotFound
from tollhouse.metering.ids import uuid7_floor
from tollhouse.metering.models import usage_events
from tollhouse.metering.queries import GroupBy, UsageReport, usage


class Licensees(Protocol):
    """The names a usage report reads from the licensees' directory (access implements it as
    tollhouse.access.licensee_names.LicenseeNames); metering never imports access."""

    def org(self, conn: Connection, org: str) -> tuple[int, str]:
        """(id, name) of the organisation named `org` (or with numeric id `org`); NotFound if
        there is none."""
        ...

    def app_names(self, conn: Connection, org_id: int) -> dict[int, str]:
        """{app id: name} of the organisation's apps."""
        ...


def resolve_apps(
    licensees: Licensees, conn: Connection, org_id: int, names: Sequence[str]
) -> list[int]:
    """Ids of the organisation's apps named `names` (or with those numeric ids). An app of
    another organisation is reported as not found, exactly like one that does not exist."""
    own = licensees.app_names(conn, org_id)
    by_name = {name: app_id for app_id, name in own.items()}
    ids = []
    for name in names:
        if name in by_name:
            ids.append(by_name[name])
        elif name.isdigit() and int(name) in own:
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
    *,
    licensees: Licensees,
) -> UsageReport:
    """Usage of organisation `org` (a name) over the UTC days [start, end). `engine` holds the
    licensees and the posts, `usage_engine` (default: the same) the usage tables; `licensees`
    turns the organisation's and its apps' names into ids and back."""
    if end <= start:
        raise InvalidInput("`to` must be after `from` (the period is [from, to))")
    with engine.connect() as conn:
        org_id, _ = licensees.org(conn, org)
        app_ids = resolve_apps(licensees, conn, org_id, apps) if apps else None
        names = licensees.app_names(conn, org_id)
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

"""The findings register: storing candidates under their natural key, reading findings back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.access.models import apps, organisations
from tollhouse.compliance.findings.errors import UnknownFinding
from tollhouse.compliance.findings.finding import Finding, Status
from tollhouse.compliance.findings.models import findings
from tollhouse.compliance.findings.sql_sources import utc
from tollhouse.errors import InvalidInput

_T = findings.c


def _select() -> sa.Select[Any]:
    return sa.select(
        findings,
        organisations.c.name.label("org_name"),
        apps.c.name.label("app_name"),
    ).select_from(
        findings.join(organisations, organisations.c.id == _T.org_id).outerjoin(
            apps, apps.c.id == _T.app_id
        )
    )


def finding_of(row: Any) -> Finding:
    return Finding(
        id=int(row.id),
        org_id=int(row.org_id),
        org=row.org_name,
        app_id=None if row.app_id is None else int(row.app_id),
        app=row.app_name,
        key=row.key_id,
        rule=row.rule,
        clause=row.clause,
        agreement_version=row.agreement_version,
        severity=row.severity,
        grade=row.grade,
        period_start=utc(row.period_start),
        period_end=utc(row.period_end),
        evidence=row.evidence,
        status=row.status,
        status_reason=row.status_reason,
        status_actor=row.status_actor,
        status_at=None if row.status_at is None else utc(row.status_at),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        natural_key=row.natural_key,
    )


def get(conn: Connection, finding_id: int) -> Finding:
    row = conn.execute(_select().where(_T.id == finding_id)).first()
    if row is None:
        raise UnknownFinding(f"no finding {finding_id}")
    return finding_of(row)


def parse_id(value: str) -> int:
    if not value.isdigit() or int(value) >= 2**63:
        raise InvalidInput(f"finding id must be a number, not {value!r}")
    return int(value)


def list_findings(
    engine: Engine,
    org: str | None = None,
    rule: str | None = None,
    status: str | None = None,
    limit: int = 500,
) -> list[Finding]:
    """Findings, newest period first, filtered by organisation name, rule and status."""
    if status is not None and status not in {s.value for s in Status}:
        raise InvalidInput(f"status must be one of {', '.join(s.value for s in Status)}")
    query = _select().order_by(_T.period_start.desc(), _T.id.desc()).limit(max(1, limit))
    if org is not None:
        query = query.where(organisations.c.name == org)
    if rule is not None:
        query = query.where(_T.rule == rule)
    if status is not None:
        query = query.where(_T.status == status)
    with engine.connect() as conn:
        return [finding_of(r) for r in conn.execute(query)]


def show(engine: Engine, finding_id: int) -> Finding:
    with engine.connect() as conn:
        return get(conn, finding_id)


def existing(
    conn: Connection,
    org_ids: Sequence[int],
    rules: Sequence[str],
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """{natural key: row} of the findings an evaluation of this scope re-decides."""
    query = sa.select(findings).where(
        _T.org_id.in_(list(org_ids)),
        _T.rule.in_(list(rules)),
        _T.period_start >= start,
        _T.period_start < end,
    )
    return {r.natural_key: r for r in conn.execute(query)}

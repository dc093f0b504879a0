"""Findings operations for the CLI and the admin API: wiring the SQL sources, evaluating,
listing, moving findings through their lifecycle, planting canaries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.access.models import admin_audit, organisations
from tollhouse.compliance.findings import lifecycle, register
from tollhouse.compliance.findings.config import RulesConfig, load_rules
from tollhouse.compliance.findings.context import Sources
from tollhouse.compliance.findings.evaluate import EvaluationResult, evaluate
from tollhouse.compliance.findings.finding import Finding
from tollhouse.compliance.findings.models import canaries
from tollhouse.compliance.findings.sources import NoObligations, Obligations
from tollhouse.compliance.findings.sql_sources import RawEventDeliveries, SqlLicensees, SqlUsage
from tollhouse.errors import Conflict, InvalidInput, NotFound
from tollhouse.settings import Settings


def sql_sources(
    engine: Engine, usage_engine: Engine, obligations: Obligations | None = None
) -> Sources:
    """Sources over the main database (licensees) and the usage tables' database."""
    return Sources(
        licensees=SqlLicensees(engine),
        usage=SqlUsage(usage_engine),
        deliveries=RawEventDeliveries(usage_engine),
        obligations=obligations or NoObligations(),
    )


def rules_config(settings: Settings) -> RulesConfig:
    return load_rules(settings.compliance_rules_file, settings.asn_database)


def parse_day(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        raise InvalidInput(f"{option} must be a date like 2026-01-31, not {value!r}") from None


def run_evaluation(
    engine: Engine,
    usage_engine: Engine,
    settings: Settings,
    actor: str,
    orgs: Sequence[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    rules: Sequence[str] | None = None,
    dry_run: bool = False,
) -> EvaluationResult:
    return evaluate(
        engine,
        sql_sources(engine, usage_engine),
        rules_config(settings),
        actor,
        orgs=orgs or None,
        start=parse_day(start, "--from"),
        end=parse_day(end, "--to"),
        only_rules=rules or None,
        dry_run=dry_run,
    )


def list_findings(
    engine: Engine, org: str | None = None, rule: str | None = None, status: str | None = None
) -> list[Finding]:
    return register.list_findings(engine, org, rule, status)


def show_finding(engine: Engine, finding_id: str) -> Finding:
    return register.show(engine, register.parse_id(finding_id))


def move_finding(engine: Engine, finding_id: str, action: str, reason: str, actor: str) -> Finding:
    return lifecycle.transition(engine, register.parse_id(finding_id), action, reason, actor)


def plant_canary(engine: Engine, post_id: int, org: str, note: str, actor: str) -> dict[str, str]:
    """Register `post_id` (a synthetic post in the corpus) as the canary of organisation `org`:
    served to it only, so any other holder got it from that one."""
    if not 0 < post_id < 2**63:
        raise InvalidInput("a canary's post id must be a positive 64-bit number")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(organisations.c.id, organisations.c.name).where(organisations.c.name == org)
        ).first()
        if row is None:
            raise NotFound(f"no organisation {org!r}")
        if conn.execute(sa.select(canaries.c.post_id).where(canaries.c.post_id == post_id)).first():
            raise Conflict(f"post {post_id} is already a canary")
        conn.execute(canaries.insert().values(post_id=post_id, org_id=row.id, planted_at=now,
                                              note=note.strip()))  # fmt: skip
        after = {"post_id": str(post_id), "org": row.name, "note": note.strip()}
        conn.execute(
            admin_audit.insert().values(
                at=now, actor=actor, action="canary.plant", target_type="canary",
                target=str(post_id), before=None, after=after,
            )
        )  # fmt: skip
    return after

"""`tollhouse compliance evaluate`: run the rules over a period and update the register.

Idempotent: each candidate has a natural key (unique in the table); running again over the same
data updates nothing, over changed data updates the finding in place, and a finding in the
evaluated scope that the rules no longer produce is marked superseded (never deleted). The
scope is every organisation named (all by default), every rule run, and findings whose period
starts in [start, end). Incremental: without `start`, an organisation is evaluated from where
the last run over it ended, less the longest look-back a rule has (30 days), from the first of
that month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.access.models import admin_audit
from tollhouse.compliance.findings import register
from tollhouse.compliance.findings.clauses import judge
from tollhouse.compliance.findings.config import RulesConfig
from tollhouse.compliance.findings.context import EvaluationContext, Sources
from tollhouse.compliance.findings.finding import Candidate, Status
from tollhouse.compliance.findings.models import evaluations, findings
from tollhouse.compliance.findings.rules import RULES, Rule
from tollhouse.compliance.findings.sql_sources import utc
from tollhouse.errors import InvalidInput

LOOK_BACK = timedelta(days=30)


@dataclass
class EvaluationResult:
    start: datetime
    end: datetime
    orgs: list[str]
    rules: list[str]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)  # dry runs only

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "period_start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "period_end": self.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "orgs": self.orgs,
            "rules": self.rules,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "superseded": self.superseded,
            "by_rule": self.by_rule,
        }
        if self.candidates:
            out["findings"] = self.candidates
        return out


def _rules(only: Sequence[str] | None) -> list[Rule]:
    if not only:
        return list(RULES)
    known = {r.RULE: r for r in RULES}
    unknown = [r for r in only if r not in known]
    if unknown:
        raise InvalidInput(f"unknown rule {unknown[0]!r}; rules: {', '.join(sorted(known))}")
    return [known[r] for r in only]


def _default_start(engine: Engine, org_ids: list[int], end: datetime) -> datetime:
    with engine.connect() as conn:
        last = conn.execute(
            sa.select(evaluations.c.orgs, evaluations.c.period_end).order_by(
                evaluations.c.id.desc()
            )
        ).all()
    ends = []
    for org_id in org_ids:
        ran = [utc(r.period_end) for r in last if not r.orgs or org_id in r.orgs]
        if not ran:
            # Never evaluated: the raw-event retention, from the first of its month.
            return (end - timedelta(days=400)).replace(
                day=1, hour=0, minute=0, second=0, microsecond=0
            )
        ends.append(max(ran))
    # From the first of that month: month-long findings are re-decided whole, never from half
    # a month's data.
    return (min(ends) - LOOK_BACK).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def evaluate(
    engine: Engine,
    sources: Sources,
    config: RulesConfig,
    actor: str,
    orgs: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    only_rules: Sequence[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> EvaluationResult:
    now = now or datetime.now(UTC)
    end = end or datetime.combine(now.date() + timedelta(days=1), time(), UTC)
    rules = _rules(only_rules)
    all_orgs = sources.licensees.orgs(None)
    in_scope = sources.licensees.orgs(list(orgs)) if orgs else all_orgs
    scope_ids = [o.id for o in in_scope]
    start = start or _default_start(engine, scope_ids, end)
    if end <= start:
        raise InvalidInput("`to` must be after `from` (the period is [from, to))")
    ctx = EvaluationContext(in_scope, all_orgs, start, end, sources, config, now)
    by_id = {o.id: o for o in in_scope}
    result = EvaluationResult(start, end, [o.name for o in in_scope], [r.RULE for r in rules])
    produced: dict[str, tuple[Candidate, dict[str, Any]]] = {}
    for rule in rules:
        for c in rule.evaluate(ctx):
            org = by_id.get(c.org_id)
            if org is None or not (start <= c.period_start < end):
                continue
            judged = judge(c, org, config)
            evidence = dict(c.evidence)
            evidence.setdefault("command", _command(c, org.name))
            produced[c.natural_key] = (
                c,
                {
                    "org_id": c.org_id,
                    "app_id": c.app_id,
                    "key_id": c.key_id,
                    "rule": c.rule,
                    "clause": judged.clause,
                    "agreement_version": judged.version,
                    "severity": c.severity.value,
                    "grade": judged.grade.value,
                    "period_start": c.period_start,
                    "period_end": c.period_end,
                    "evidence": evidence,
                },
            )
    result.by_rule = dict(Counter(c.rule for c, _ in produced.values()))
    if dry_run:
        result.candidates = [
            {**_jsonable(v), "org": by_id[c.org_id].name, "natural_key": k}
            for k, (c, v) in sorted(produced.items())
        ]
        return result
    _store(engine, result, produced, scope_ids, actor, now)
    return result


def _command(c: Candidate, org: str) -> str:
    last = c.period_end - timedelta(microseconds=1)
    return (
        f"tollhouse compliance evaluate --org '{org}' --rule {c.rule}"
        f" --from {c.period_start.date().isoformat()}"
        f" --to {(last.date() + timedelta(days=1)).isoformat()} --dry-run --json"
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else v
        for k, v in values.items()
    }


def _same(row: Any, values: dict[str, Any]) -> bool:
    for key, value in values.items():
        stored = getattr(row, key)
        if isinstance(value, datetime):
            stored = utc(stored)
        if stored != value:
            return False
    return True


def _store(
    engine: Engine,
    result: EvaluationResult,
    produced: dict[str, tuple[Candidate, dict[str, Any]]],
    scope_ids: list[int],
    actor: str,
    now: datetime,
) -> None:
    with engine.begin() as conn:
        old = register.existing(conn, scope_ids, result.rules, result.start, result.end)
        inserts = []
        superseded_ids = []
        for key, (_, values) in produced.items():
            row = old.get(key)
            if row is None:
                inserts.append(
                    {**values, "natural_key": key, "status": Status.OPEN.value,
                     "created_at": now, "updated_at": now}
                )  # fmt: skip
                continue
            if _same(row, values) and row.status != Status.SUPERSEDED.value:
                result.unchanged += 1
                continue
            change: dict[str, Any] = {**values, "updated_at": now}
            if row.status == Status.SUPERSEDED.value:
                # It holds again: back to open, and the reason it was superseded is cleared.
                change.update(status=Status.OPEN.value, status_reason=None, status_at=now,
                              status_actor=actor)  # fmt: skip
            conn.execute(findings.update().where(findings.c.id == row.id).values(**change))
            result.updated += 1
        if inserts:
            conn.execute(findings.insert(), inserts)
            result.created = len(inserts)
        for key, row in old.items():
            # Only open questions are withdrawn; a resolved or dismissed one stays as decided.
            if key in produced or row.status not in (Status.OPEN.value, Status.ACKNOWLEDGED.value):
                continue
            superseded_ids.append(int(row.id))
            conn.execute(
                findings.update()
                .where(findings.c.id == row.id)
                .values(
                    status=Status.SUPERSEDED.value,
                    status_reason=f"no longer found by the evaluation of {now:%Y-%m-%dT%H:%M:%SZ}"
                    f" (was {row.status})",
                    status_actor=actor,
                    status_at=now,
                    updated_at=now,
                )
            )
        result.superseded = len(superseded_ids)
        summary = {**result.to_dict(), "superseded_ids": [str(i) for i in superseded_ids]}
        conn.execute(
            evaluations.insert().values(
                at=now, actor=actor, orgs=scope_ids, period_start=result.start,
                period_end=result.end, summary=summary,
            )
        )  # fmt: skip
        conn.execute(
            admin_audit.insert().values(
                at=now, actor=actor, action="findings.evaluate", target_type="findings",
                target=",".join(result.orgs)[:200] or "all", before=None, after=summary,
            )
        )  # fmt: skip

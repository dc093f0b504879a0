"""Evaluation: findings for the seed's shape (eight apps, six without a use case), idempotent
re-runs, supersession when the data changes, the lifecycle in the audit trail, and judging use
under the agreement version in force at the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.compliance.findings.world import DAY0, LONG_AGO, Org, World, event
from tollhouse.access.agreements import AgreementDraft, AgreementTerms, default_agreement
from tollhouse.access.models import admin_audit, agreement_acceptances, agreement_versions
from tollhouse.compliance.findings import lifecycle
from tollhouse.compliance.findings.errors import InvalidTransition
from tollhouse.metering.models import usage_events

APPS = [f"Seed App {i}" for i in range(8)]


def _seed(world: World) -> None:
    lic = world.org("Seed Corp", APPS[:2])
    for name in APPS[2:]:
        view = world.service.create_app("Seed Corp", name, "tests")  # no use case declared
        lic.apps[name] = view.id
        lic.keys[name] = world.service.create_key(name, actor="tests").id
    world.record(
        [
            event(lic, app, DAY0 + timedelta(hours=h), post_ids=[h + 1])
            for app in APPS
            for h in range(3)
        ]
    )


def test_eight_apps_six_without_a_use_case_give_six_findings(world: World) -> None:
    _seed(world)
    result = world.evaluate()
    found = world.findings(rule="use_case.undeclared")
    assert result.created == len(result.by_rule and found) + sum(
        n for r, n in result.by_rule.items() if r != "use_case.undeclared"
    )
    assert sorted(str(f.app) for f in found) == APPS[2:]
    for f in found:
        assert f.grade == "confirmed" and f.status == "open" and f.org == "Seed Corp"
        assert f.clause == "2026-01 §1"
        assert f.evidence["counts"] == {"requests": 3, "posts": 3}
        assert f.period_start == DAY0 and f.period_end == DAY0 + timedelta(days=1)
        assert (
            "tollhouse compliance evaluate --org 'Seed Corp' --rule use_case.undeclared"
            in (f.evidence["command"])
        )


def test_re_evaluation_is_idempotent(world: World) -> None:
    _seed(world)
    first = world.evaluate()
    ids = {f.id for f in world.findings()}
    again = world.evaluate()
    assert again.created == 0 and again.updated == 0 and again.superseded == 0
    assert again.unchanged == first.created
    assert {f.id for f in world.findings()} == ids


def test_changed_data_updates_in_place_and_what_no_longer_holds_is_superseded(
    world: World,
) -> None:
    _seed(world)
    world.evaluate()
    before = {f.app: f for f in world.findings(rule="use_case.undeclared")}
    lic_id = before[APPS[2]].org_id
    # More use of one app: the same finding, new counts.
    apps = {f.app: f.app_id for f in before.values()}
    more = event(_org_stub(world, lic_id, APPS[2], apps[APPS[2]]), APPS[2], DAY0, post_ids=[9])
    world.record([more])
    # Another app's events go (a correction): its finding no longer holds.
    with world.usage_engine.begin() as conn:
        conn.execute(sa.delete(usage_events).where(usage_events.c.app_id == apps[APPS[3]]))
        conn.execute(
            sa.text("DELETE FROM usage_rollups_daily WHERE app_id = :a"), {"a": apps[APPS[3]]}
        )
    result = world.evaluate()
    assert result.updated == 1 and result.superseded == 1 and result.created == 0
    after = {f.app: f for f in world.findings(rule="use_case.undeclared")}
    assert after[APPS[2]].id == before[APPS[2]].id
    assert after[APPS[2]].evidence["counts"]["requests"] == 4
    gone = after[APPS[3]]
    assert gone.id == before[APPS[3]].id and gone.status == "superseded"
    assert gone.status_reason and "no longer found" in gone.status_reason
    with world.engine.connect() as conn:
        audit = list(
            conn.execute(sa.select(admin_audit).where(admin_audit.c.action == "findings.evaluate"))
        )
    assert len(audit) == 2 and audit[-1].after["superseded_ids"] == [str(gone.id)]


def _org_stub(world: World, org_id: int, app: str, app_id: int | None) -> Org:
    assert app_id is not None
    key = next(k.id for k in world.service.list_keys(app))
    return Org(org_id, "Seed Corp", {app: app_id}, {app: key}, {})


def test_lifecycle_open_ack_resolve_and_dismiss_with_reason_and_actor(world: World) -> None:
    _seed(world)
    world.evaluate()
    first, second, *_ = world.findings(rule="use_case.undeclared")
    acked = lifecycle.transition(world.engine, first.id, "ack", "asked the licensee", "alice")
    assert (acked.status, acked.status_reason, acked.status_actor) == (
        "acknowledged", "asked the licensee", "alice",
    )  # fmt: skip
    resolved = lifecycle.transition(world.engine, first.id, "resolve", "use case filed", "bob")
    assert resolved.status == "resolved"
    with pytest.raises(InvalidTransition):
        lifecycle.transition(world.engine, first.id, "ack", "again", "alice")
    dismissed = lifecycle.transition(world.engine, second.id, "dismiss", "internal app", "carol")
    assert dismissed.status == "dismissed"
    with pytest.raises(InvalidTransition):
        lifecycle.transition(world.engine, second.id, "resolve", "x", "carol")
    # A re-evaluation keeps the operator's decisions.
    world.evaluate()
    statuses = {f.id: f.status for f in world.findings()}
    assert statuses[first.id] == "resolved" and statuses[second.id] == "dismissed"
    with world.engine.connect() as conn:
        trail = [
            (r.action, r.actor, r.target, r.after["status"])
            for r in conn.execute(
                sa.select(admin_audit)
                .where(admin_audit.c.target_type == "finding")
                .order_by(admin_audit.c.id)
            )
        ]
    assert trail == [
        ("finding.ack", "alice", str(first.id), "acknowledged"),
        ("finding.resolve", "bob", str(first.id), "resolved"),
        ("finding.dismiss", "carol", str(second.id), "dismissed"),
    ]


def test_a_prohibition_a_later_version_adds_makes_earlier_use_an_indicator(world: World) -> None:
    old_terms = default_agreement().terms.model_dump()
    old_terms["prohibited_uses"] = ["sensitive_attribute_inference"]  # no surveillance yet
    with world.engine.begin() as conn:
        conn.execute(agreement_versions.update().values(version="2025-01", terms=old_terms))
    lic = world.org("Watchers", ["watch"])
    world.service.publish_agreement(
        AgreementDraft(
            "2026-06", "text", AgreementTerms.model_validate(default_agreement().terms.model_dump())
        ),
        actor="tests",
    )
    world.service.accept_agreement("Watchers", "Test Runner", actor="tests")
    later = datetime(2026, 5, 1, tzinfo=UTC)
    with world.engine.begin() as conn:
        conn.execute(
            agreement_versions.update()
            .where(agreement_versions.c.version == "2025-01")
            .values(published_at=LONG_AGO)
        )
        conn.execute(
            agreement_versions.update()
            .where(agreement_versions.c.version == "2026-06")
            .values(published_at=later)
        )
        newest = conn.execute(sa.select(sa.func.max(agreement_acceptances.c.id))).scalar_one()
        conn.execute(
            agreement_acceptances.update()
            .where(agreement_acceptances.c.id == newest)
            .values(accepted_at=later)
        )
    protest = "query=protest%20march%20downtown"
    world.record(
        [
            event(lic, "watch", DAY0, "/2/tweets/search/recent", query_string=protest),
            event(
                lic,
                "watch",
                later + timedelta(days=3),
                "/2/tweets/search/recent",
                query_string=protest,
            ),
        ]
    )
    world.evaluate(only_rules=["surveillance.indicator"])
    found = {f.period_start.month: f for f in world.findings(rule="surveillance.indicator")}
    assert found[3].grade == "indicator"
    assert found[3].clause == "2025-01: not a term of this version"
    assert found[3].agreement_version == "2025-01"
    assert found[5].clause == "2026-06 §2" and found[5].agreement_version == "2026-06"
    assert found[5].evidence["signals"]["sensitive_terms"] == ["march", "protest"]


def test_dry_run_reproduces_the_figures_and_stores_nothing(world: World) -> None:
    _seed(world)
    stored = world.evaluate()
    f = world.findings(rule="use_case.undeclared")[0]
    dry = world.evaluate(
        orgs=["Seed Corp"], only_rules=["use_case.undeclared"], dry_run=True,
        start=f.period_start, end=f.period_end,
    )  # fmt: skip
    again = next(c for c in dry.candidates if c["app_id"] == f.app_id)
    assert again["evidence"] == f.evidence and again["grade"] == f.grade
    assert stored.created == len(world.findings())


def test_without_from_an_evaluation_starts_where_the_last_one_ended(world: World) -> None:
    _seed(world)
    end = datetime(2026, 4, 1, tzinfo=UTC)
    first = world.evaluate(start=None, end=end)
    assert first.start == datetime(2025, 2, 1, tzinfo=UTC)  # 400 days back, from the 1st
    assert first.created == 6
    second = world.evaluate(start=None, end=end)
    # The last run ended on 1 April: 30 days back is 2 March, from the first of March.
    assert second.start == datetime(2026, 3, 1, tzinfo=UTC)
    assert (second.created, second.superseded, second.unchanged) == (0, 0, 6)

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.access.agreements import AgreementDraft, default_agreement
from tollhouse.access.errors import DuplicateName, NoAgreement, TooManyApps, UnknownName
from tollhouse.access.models import access_version, admin_audit, apps, organisations
from tollhouse.access.plans import default_plans
from tollhouse.access.service import AccessService, onboard
from tollhouse.errors import InvalidInput


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(admin_audit)).scalar_one())


def version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(access_version.c.version)).scalar_one())


def test_onboarding_end_to_end(service: AccessService) -> None:
    done = onboard(service, "Acme", "pro", ["acme-one", "acme-two"], actor="op")
    org = service.show_org("Acme")
    assert org.plan == "pro" and org.status == "active" and org.agreement_accepted
    assert [a.name for a in org.apps] == ["acme-one", "acme-two"]
    assert {k.id for k in org.keys} == {k.id for k in done.keys}
    assert org.acceptances[0].version == default_agreement().version
    assert org.acceptances[0].accepted_by == "op"


def test_every_change_is_audited_with_before_and_after(service: AccessService) -> None:
    service.create_org("Acme", "basic", "alice")
    service.suspend_org("Acme", "unpaid", "bob")
    trail = service.audit_trail(target="Acme")
    assert [e.action for e in trail] == ["org.suspend", "org.create"]
    suspend = trail[0]
    assert suspend.actor == "bob"
    assert suspend.before["status"] == "active" and suspend.after["status"] == "suspended"
    assert suspend.after["status_reason"] == "unpaid"
    assert trail[1].before is None and trail[1].after["plan"] == "basic"


def test_every_change_bumps_the_access_version(service: AccessService, engine: Engine) -> None:
    before = version(engine)
    service.create_org("Acme", "basic", "op")
    service.suspend_org("Acme", "x", "op")
    assert version(engine) == before + 2


def test_key_tokens_are_never_in_the_audit_trail(service: AccessService) -> None:
    done = onboard(service, "Acme", "pro", ["acme-one"])
    rotated = service.rotate_key(done.keys[0].id, "op")
    text = repr([e.to_dict() for e in service.audit_trail(limit=1000)])
    for token in (done.keys[0].token, rotated.token):
        assert token not in text
        assert token[len("th_live_") + 10 :] not in text  # not even the secret part


def test_unknown_names_are_refused(service: AccessService) -> None:
    with pytest.raises(UnknownName, match="no plan named 'gold'"):
        service.create_org("Acme", "gold", "op")
    with pytest.raises(UnknownName, match="no organisation named 'Nope'"):
        service.create_app("Nope", "app", "op")
    with pytest.raises(UnknownName, match="no app named 'nope'"):
        service.create_key("nope", "op")
    with pytest.raises(UnknownName, match="no key"):
        service.revoke_key("AAAAAAAAAA", "op")
    with pytest.raises(UnknownName, match="no key"):
        service.revoke_key("'; drop table", "op")
    with pytest.raises(UnknownName, match="no end user"):
        service.approve_end_user(999, "op")


def test_duplicates_are_refused_and_nothing_is_written(
    service: AccessService, engine: Engine
) -> None:
    service.create_org("Acme", "pro", "op")
    service.create_app("Acme", "acme-app", "op")
    service.add_end_user("Acme", "City Council", "government", "GB", "op")
    count = audit_count(engine)
    with pytest.raises(DuplicateName):
        service.create_org("Acme", "basic", "op")
    with pytest.raises(DuplicateName):
        service.create_org("  Acme ", "basic", "op")
    with pytest.raises(DuplicateName):
        service.create_app("Acme", "acme-app", "op")
    with pytest.raises(DuplicateName):
        service.add_end_user("Acme", "City Council", "commercial", "FR", "op")
    with pytest.raises(DuplicateName):
        service.publish_agreement(default_agreement(), "op")
    assert audit_count(engine) == count


@pytest.mark.parametrize(
    ("sector", "country", "message"),
    [("military", "GB", "sector"), ("government", "GBR", "country"), ("academic", "1A", "country")],
)
def test_invalid_end_users_are_refused(
    service: AccessService, sector: str, country: str, message: str
) -> None:
    service.create_org("Acme", "pro", "op")
    with pytest.raises(InvalidInput, match=message):
        service.add_end_user("Acme", "Someone", sector, country, "op")
    assert service.list_end_users("Acme") == []


def test_end_user_approval(service: AccessService) -> None:
    service.create_org("Acme", "pro", "op")
    declared = service.add_end_user("Acme", "Ministry", "Government", "de", "op")
    assert declared.government and not declared.approved and declared.country == "DE"
    approved = service.approve_end_user(declared.id, "carol")
    assert approved.approved and approved.approved_by == "carol"
    with pytest.raises(InvalidInput, match="already approved"):
        service.approve_end_user(declared.id, "carol")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "-leading", "tab\tname", "new\nline"])
def test_bad_names_are_refused(service: AccessService, name: str) -> None:
    with pytest.raises(InvalidInput, match="name"):
        service.create_org(name, "pro", "op")


def test_billing_day_must_be_1_to_28(service: AccessService) -> None:
    for day in (0, 29, 31):
        with pytest.raises(InvalidInput, match="billing day"):
            service.create_org("Acme", "pro", "op", billing_day=day)
    assert service.list_orgs() == []


def test_app_limit_of_the_plan(service: AccessService, engine: Engine) -> None:
    service.create_org("Acme", "basic", "op")  # basic allows 2 apps
    service.create_app("Acme", "one", "op")
    service.create_app("Acme", "two", "op")
    with pytest.raises(TooManyApps, match="allows"):
        service.create_app("Acme", "three", "op")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(apps)).scalar_one() == 2


def test_moving_to_a_plan_with_fewer_apps_is_refused(
    service: AccessService, engine: Engine
) -> None:
    service.create_org("Acme", "pro", "op")
    for name in ("one", "two", "three"):
        service.create_app("Acme", name, "op")
    count = audit_count(engine)
    with pytest.raises(TooManyApps, match="has 3 apps"):
        service.set_org_plan("Acme", "basic", "op")
    assert service.show_org("Acme").plan == "pro"
    assert audit_count(engine) == count


def test_reloading_a_plan_book_that_would_strand_apps_changes_nothing(
    service: AccessService, engine: Engine
) -> None:
    service.create_org("Acme", "pro", "op")
    for name in ("one", "two", "three"):
        service.create_app("Acme", name, "op")
    book = {p.name: p for p in default_plans()}
    cheaper_basic = dataclasses.replace(book["basic"], monthly_fee=book["basic"].monthly_fee - 1)
    smaller_pro = dataclasses.replace(book["pro"], max_apps=2)
    with pytest.raises(TooManyApps, match="nothing was loaded"):
        service.load_plans([cheaper_basic, smaller_pro], "op")
    assert service.get_plan("basic") == book["basic"]
    assert service.get_plan("pro") == book["pro"]


def test_load_plans_reports_only_changed_plans(service: AccessService) -> None:
    book = default_plans()
    assert service.load_plans(book, "op") == []
    cheaper = dataclasses.replace(book[1], monthly_fee=book[1].monthly_fee / 2)
    assert service.load_plans([cheaper], "op") == [cheaper.name]
    assert service.get_plan(cheaper.name).monthly_fee == cheaper.monthly_fee


def test_unknown_use_cases_are_refused_and_the_vocabulary_extends(
    service: AccessService,
) -> None:
    service.create_org("Acme", "pro", "op")
    with pytest.raises(InvalidInput, match="unknown use case"):
        service.create_app("Acme", "app", "op", ["crystal_ball"])
    service.add_use_case("crystal_ball", "Predict the future.", "op")
    app = service.create_app("Acme", "app", "op", ["crystal_ball", "display"], "forecasts")
    assert app.use_cases == ("crystal_ball", "display")
    with pytest.raises(InvalidInput, match="use case"):
        service.add_use_case("Bad Name", "", "op")


def test_acceptance_needs_a_published_agreement(engine: Engine) -> None:
    svc = AccessService(engine)
    svc.load_plans(default_plans(), "op")
    svc.create_org("Acme", "pro", "op")
    with pytest.raises(NoAgreement):
        svc.accept_agreement("Acme", "Jane", "op")
    svc.publish_agreement(default_agreement(), "op")
    assert svc.accept_agreement("Acme", "Jane", "op").accepted_by == "Jane"
    assert svc.show_org("Acme").agreement_accepted
    # A new version must be accepted again.
    newer = AgreementDraft("2027-01", "v2", default_agreement().terms)
    svc.publish_agreement(newer, "op")
    assert not svc.show_org("Acme").agreement_accepted


def test_suspend_resume_terminate(service: AccessService) -> None:
    service.create_org("Acme", "pro", "op")
    with pytest.raises(InvalidInput, match="reason"):
        service.suspend_org("Acme", "  ", "op")
    assert service.suspend_org("Acme", "late payment", "op").status == "suspended"
    assert service.resume_org("Acme", "op").status == "active"
    assert service.terminate_org("Acme", "breach", "op").status == "terminated"
    with pytest.raises(InvalidInput, match="terminated"):
        service.resume_org("Acme", "op")


def test_rotation_and_revocation(service: AccessService) -> None:
    done = onboard(service, "Acme", "pro", ["acme-app"])
    old = done.keys[0]
    new = service.rotate_key(old.id, "op", grace=timedelta(hours=1))
    assert new.replaces == old.id and new.token != old.token
    statuses = {k.id: k.status for k in service.list_keys("acme-app")}
    assert statuses == {old.id: "rotating", new.id: "active"}
    with pytest.raises(InvalidInput, match="already rotated"):
        service.rotate_key(old.id, "op")
    with pytest.raises(InvalidInput, match="grace"):
        service.rotate_key(new.id, "op", grace=timedelta(days=31))
    assert service.revoke_key(new.id, "op").status == "revoked"
    with pytest.raises(InvalidInput, match="already revoked"):
        service.revoke_key(new.id, "op")
    with pytest.raises(InvalidInput, match="revoked"):
        service.rotate_key(new.id, "op")


def test_org_names_are_stored_trimmed(service: AccessService, engine: Engine) -> None:
    service.create_org("  Acme Ltd  ", "pro", "op")
    with engine.connect() as conn:
        assert conn.execute(sa.select(organisations.c.name)).scalar_one() == "Acme Ltd"
    assert service.show_org(" Acme Ltd").name == "Acme Ltd"


def test_the_audit_trail_is_append_only_in_the_database(
    service: AccessService, engine: Engine
) -> None:
    service.create_org("Acme", "pro", "op")
    count = audit_count(engine)
    for statement in (sa.update(admin_audit).values(actor="someone else"), sa.delete(admin_audit)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    assert audit_count(engine) == count
    assert {e.actor for e in service.audit_trail()} == {"tests", "op"}

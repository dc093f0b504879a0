"""The billing admin API: invoices, payments, credits, runs and back-billing under /admin/v1/,
refusals as X Problems."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.admin.test_access import ADMIN_TOKEN, Admin
from tests.billing.conftest import event, utc
from tollhouse.access.service import AccessService
from tollhouse.api.app import create_app
from tollhouse.metering.sql_store import record_events
from tollhouse.settings import load_settings


@pytest.fixture
def admin(database_url: str) -> Iterator[Admin]:
    app = create_app(load_settings(database_url=database_url, admin_token=ADMIN_TOKEN))
    AccessService(app.state.tollhouse.engine).install_defaults("tests")
    with TestClient(app) as client:
        yield Admin(client)


def test_a_billing_period_through_the_admin_api(admin: Admin) -> None:
    org = admin.post("/orgs", {"name": "Acme", "plan": "enterprise"}).json()["data"]
    state = admin.client.app.state.tollhouse  # type: ignore[attr-defined]
    record_events(state.usage_engine, [event(org["id"], utc(2026, 3, 3), posts=50_002_000)])
    from tollhouse.billing.organisations import AccessOrganisations
    from tollhouse.billing.service import BillingService
    from tollhouse.billing.usage import RollupUsage

    BillingService(
        state.engine,
        RollupUsage(state.usage_engine),
        AccessOrganisations(AccessService(state.engine)),
    ).start("Acme", utc(2026, 3, 1), "tests")

    run = admin.post("/billing/runs", {"as_of": "2026-04-03T00:00:00Z"})
    assert run.status_code == 200, run.text
    [inv] = admin.get("/invoices", org="Acme").json()["data"]
    assert (
        inv["status"] == "overdue" and inv["number"] == 1
    )  # due in May, now is later and inv["total"] == "42001.00"
    pdf = admin.get(f"/invoices/{inv['id']}", format="pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:4] == b"%PDF"

    float_amount = admin.post("/payments", {"invoice_id": inv["id"], "amount": 42001.0})
    assert float_amount.status_code == 400
    negative = admin.post("/payments", {"invoice_id": inv["id"], "amount": "-1"})
    assert negative.status_code == 400 and negative.json()["type"].endswith("invalid-request")
    paid = admin.post(
        "/payments", {"invoice_id": inv["id"], "amount": "42001.00", "reference": "wire-9"}
    )
    assert paid.status_code == 201 and paid.json()["data"]["invoice_status"] == "paid"

    grant = admin.post("/credits", {"org": "Acme", "amount": "100", "priority": 2})
    assert grant.status_code == 201
    assert admin.get("/credits", org="Acme").json()["data"]["balance"] == "100"
    unknown = admin.post("/credits", {"org": "Acme", "amount": "1", "currency": "QQQ"})
    assert unknown.status_code == 400

    bb = admin.get("/backbill", org="Acme", **{"from": "2026-03-01", "to": "2026-04-01"})
    assert bb.status_code == 200 and bb.json()["data"]["underpayment"] == "0.00"

    voided = admin.post(f"/invoices/{inv['id']}/void", {"reason": "test"})
    assert voided.json()["data"]["status"] == "void"
    again = admin.post(f"/invoices/{inv['id']}/void", {"reason": "test"})
    assert again.status_code == 409
    assert admin.get("/invoices/424242").status_code == 404
    assert admin.client.get("/admin/v1/invoices").status_code == 401


def test_pay_per_use_refused_without_credit_until_a_grant(admin: Admin) -> None:
    assert admin.post("/orgs", {"name": "Prepaid", "plan": "pay_per_use"}).status_code == 201
    admin.post("/orgs/Prepaid/accept-agreement", {"accepted_by": "Jane"})
    admin.post("/apps", {"org": "Prepaid", "name": "prepaid-app", "use_cases": ["display"]})
    token = admin.post("/apps/prepaid-app/keys").json()["data"]["token"]
    auth = {"Authorization": f"Bearer {token}"}
    refused = admin.client.get("/2/users/by/username/nobody", headers=auth)
    assert refused.status_code == 402, refused.text
    assert refused.json()["title"] == "CreditsDepleted"
    assert admin.post("/credits", {"org": "Prepaid", "amount": "1.00"}).status_code == 201
    served = admin.client.get("/2/users/by/username/nobody", headers=auth)
    assert served.status_code not in (401, 402, 403), served.text

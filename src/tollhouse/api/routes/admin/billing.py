"""Admin API for billing under /admin/v1/: invoices, payments, credits, runs and back-billing,
the same operations as the CLI. Amounts travel as decimal strings; a JSON number is refused
(it may already have lost digits as a float)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field
from starlette.responses import Response

from tollhouse.api.problems import answer
from tollhouse.api.routes.admin.auth import access_service, require_operator
from tollhouse.api.routes.admin.schemas import Body
from tollhouse.api.state import app_state
from tollhouse.billing.organisations import AccessOrganisations
from tollhouse.billing.render import render
from tollhouse.billing.service import BillingService
from tollhouse.billing.usage import RollupUsage

# Invoice ids are 64-bit: a larger one is a 400, not an overflow in the database.
InvoiceId = Annotated[int, Path(ge=1, le=(1 << 63) - 1)]

router = APIRouter(prefix="/admin/v1", tags=["admin", "billing"])
Actor = Depends(require_operator)

_MEDIA = {
    "json": "application/json",
    "csv": "text/csv",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


def billing_service(request: Request) -> BillingService:
    state = app_state(request)
    return BillingService(
        state.engine,
        RollupUsage(state.usage_engine),
        AccessOrganisations(access_service(request)),
        balance_sink=state.limits.balances,
    )


Service = Depends(billing_service)


class RunRequest(Body):
    org: str | None = Field(None, min_length=1, max_length=100)
    as_of: datetime | None = None


class VoidRequest(Body):
    reason: str = Field(min_length=1, max_length=2000)


class PaymentRequest(Body):
    invoice_id: int = Field(ge=1, le=(1 << 63) - 1)
    amount: str = Field(min_length=1, max_length=40)
    at: datetime | None = None
    reference: str | None = Field(None, max_length=200)


class GrantRequest(Body):
    org: str = Field(min_length=1, max_length=100)
    amount: str = Field(min_length=1, max_length=40)
    priority: int = Field(10, ge=0, le=1000)
    expires_at: datetime | None = None
    currency: str = Field("USD", min_length=3, max_length=3)


@router.post("/billing/runs")
def billing_run(body: RunRequest, actor: str = Actor, svc: BillingService = Service) -> Any:
    return {"data": answer(lambda: svc.run(body.as_of, body.org, actor)).to_dict()}


@router.get("/invoices")
def list_invoices(
    org: str | None = Query(None, max_length=100),
    status: str | None = Query(None, max_length=16),
    _: str = Actor,
    svc: BillingService = Service,
) -> Any:
    return {"data": [v.to_dict() for v in answer(lambda: svc.invoices(org, status))]}


@router.get("/invoices/{invoice_id}")
def show_invoice(
    invoice_id: InvoiceId,
    format: Literal["json", "csv", "html", "pdf"] | None = Query(None),
    _: str = Actor,
    svc: BillingService = Service,
) -> Any:
    invoice = answer(lambda: svc.show(invoice_id))
    if format is None:
        return {"data": invoice.to_dict()}
    return Response(answer(lambda: render(invoice, format)), media_type=_MEDIA[format])


@router.post("/invoices/{invoice_id}/finalize")
def finalize_invoice(
    invoice_id: InvoiceId, actor: str = Actor, svc: BillingService = Service
) -> Any:
    return {"data": answer(lambda: svc.finalize(invoice_id, actor)).to_dict()}


@router.post("/invoices/{invoice_id}/void")
def void_invoice(
    invoice_id: InvoiceId, body: VoidRequest, actor: str = Actor, svc: BillingService = Service
) -> Any:
    return {"data": answer(lambda: svc.void(invoice_id, body.reason, actor)).to_dict()}


@router.post("/payments", status_code=201)
def record_payment(body: PaymentRequest, actor: str = Actor, svc: BillingService = Service) -> Any:
    payment = answer(
        lambda: svc.record_payment(body.invoice_id, body.amount, actor, body.at, body.reference)
    )
    return {"data": payment.to_dict()}


@router.post("/credits", status_code=201)
def grant_credits(body: GrantRequest, actor: str = Actor, svc: BillingService = Service) -> Any:
    grant = answer(
        lambda: svc.grant(
            body.org, body.amount, actor, body.priority, body.expires_at, body.currency.upper()
        )
    )
    return {"data": grant.to_dict()}


@router.get("/credits")
def credit_balance(
    org: str = Query(..., min_length=1, max_length=100),
    _: str = Actor,
    svc: BillingService = Service,
) -> Any:
    return {"data": answer(lambda: svc.balance(org)).to_dict()}


@router.get("/backbill")
def backbill(
    org: str = Query(..., min_length=1, max_length=100),
    from_: date = Query(..., alias="from"),
    to: date = Query(...),
    at_plan: str | None = Query(None, max_length=40),
    _: str = Actor,
    svc: BillingService = Service,
) -> Any:
    return {"data": answer(lambda: svc.backbill(org, from_, to, at_plan)).to_dict()}

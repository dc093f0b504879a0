"""Admin API routes: the same operations as the CLI, JSON in and out, every change audited.

Handlers are plain `def`s: FastAPI runs them in its thread pool, so their database work never
blocks the event loop that serves the data API.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query

from tollhouse.access.agreements import AgreementDraft, parse_terms
from tollhouse.access.plans import parse_plan_book
from tollhouse.access.service import AccessService
from tollhouse.api.problems import answer
from tollhouse.api.routes.admin import schemas
from tollhouse.api.routes.admin.auth import access_service, require_operator
from tollhouse.errors import InvalidInput
from tollhouse.ids import Id64

router = APIRouter(prefix="/admin/v1", tags=["admin"])

Actor = Depends(require_operator)
Service = Depends(access_service)


# ---- plans, agreement, use cases ----


@router.get("/plans")
def list_plans(_: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": [p.to_dict() for p in answer(svc.list_plans)]}


@router.put("/plans")
def load_plans(
    body: schemas.PlanBook, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    changed = answer(lambda: svc.load_plans(parse_plan_book(body.toml), actor))
    return {"data": {"changed": changed}}


@router.get("/agreement")
def current_agreement(_: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    current = answer(svc.current_agreement)
    return {"data": None if current is None else current.to_dict()}


@router.post("/agreements", status_code=201)
def publish_agreement(
    body: schemas.AgreementPublish, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    def run() -> Any:
        terms = parse_terms(body.terms)
        return svc.publish_agreement(AgreementDraft(body.version, body.text, terms), actor)

    return {"data": answer(run).to_dict()}


@router.get("/use-cases")
def list_use_cases(_: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": answer(svc.list_use_cases)}


@router.post("/use-cases", status_code=201)
def add_use_case(
    body: schemas.UseCaseCreate, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    answer(lambda: svc.add_use_case(body.name, body.description, actor))
    return {"data": {"name": body.name, "description": body.description}}


# ---- organisations ----


@router.post("/orgs", status_code=201)
def create_org(
    body: schemas.OrgCreate, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    view = answer(lambda: svc.create_org(body.name, body.plan, actor, body.billing_day, body.contacts))  # fmt: skip  # noqa: E501
    return {"data": view.to_dict()}


@router.get("/orgs")
def list_orgs(_: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": [o.to_dict() for o in answer(svc.list_orgs)]}


@router.get("/orgs/{name}")
def show_org(name: str, _: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": answer(lambda: svc.show_org(name)).to_dict(detail=True)}


@router.patch("/orgs/{name}")
def update_org(
    name: str, body: schemas.OrgUpdate, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    def run() -> Any:
        if body.plan is None and body.billing_day is None:
            raise InvalidInput("give plan and/or billing_day to change")
        view = None
        if body.plan is not None:
            view = svc.set_org_plan(name, body.plan, actor)
        if body.billing_day is not None:
            view = svc.set_billing_day(name, body.billing_day, actor)
        return view

    return {"data": answer(run).to_dict()}


@router.post("/orgs/{name}/suspend")
def suspend_org(
    name: str, body: schemas.Reason, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    return {"data": answer(lambda: svc.suspend_org(name, body.reason, actor)).to_dict()}


@router.post("/orgs/{name}/terminate")
def terminate_org(
    name: str, body: schemas.Reason, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    return {"data": answer(lambda: svc.terminate_org(name, body.reason, actor)).to_dict()}


@router.post("/orgs/{name}/resume")
def resume_org(name: str, actor: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": answer(lambda: svc.resume_org(name, actor)).to_dict()}


@router.post("/orgs/{name}/accept-agreement", status_code=201)
def accept_agreement(
    name: str, body: schemas.Acceptance, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    return {"data": answer(lambda: svc.accept_agreement(name, body.accepted_by, actor)).to_dict()}


# ---- apps and keys ----


# Named for the OpenAPI operation id it has always had; the function is not the ASGI factory.
@router.post("/apps", status_code=201, name="create_app")
def add_app(
    body: schemas.AppCreate, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    view = answer(
        lambda: svc.create_app(body.org, body.name, actor, body.use_cases, body.use_case_text)
    )
    return {"data": view.to_dict()}


@router.get("/apps")
def list_apps(
    org: str = Query(..., min_length=1), _: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    return {"data": [a.to_dict() for a in answer(lambda: svc.list_apps(org))]}


@router.post("/apps/{name}/suspend")
def suspend_app(name: str, actor: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": answer(lambda: svc.suspend_app(name, actor)).to_dict()}


@router.post("/apps/{name}/resume")
def resume_app(name: str, actor: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": answer(lambda: svc.resume_app(name, actor)).to_dict()}


@router.post("/apps/{name}/keys", status_code=201)
def create_key(name: str, actor: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    """The only response that ever carries the token."""
    return {"data": answer(lambda: svc.create_key(name, actor)).to_dict()}


@router.get("/apps/{name}/keys")
def list_keys(name: str, _: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": [k.to_dict() for k in answer(lambda: svc.list_keys(name))]}


@router.post("/keys/{key_id}/revoke")
def revoke_key(key_id: str, actor: str = Actor, svc: AccessService = Service) -> dict[str, Any]:
    return {"data": answer(lambda: svc.revoke_key(key_id, actor)).to_dict()}


@router.post("/keys/{key_id}/rotate", status_code=201)
def rotate_key(
    key_id: str,
    body: schemas.KeyRotate | None = None,
    actor: str = Actor,
    svc: AccessService = Service,
) -> dict[str, Any]:
    grace = timedelta(seconds=(body or schemas.KeyRotate()).grace_seconds)
    return {"data": answer(lambda: svc.rotate_key(key_id, actor, grace)).to_dict()}


# ---- end users ----


@router.post("/endusers", status_code=201)
def add_end_user(
    body: schemas.EndUserCreate, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    view = answer(lambda: svc.add_end_user(body.org, body.name, body.sector, body.country, actor))
    return {"data": view.to_dict()}


@router.get("/endusers")
def list_end_users(
    org: str = Query(..., min_length=1), _: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    return {"data": [e.to_dict() for e in answer(lambda: svc.list_end_users(org))]}


@router.post("/endusers/{end_user_id}/approve")
def approve_end_user(
    end_user_id: Id64, actor: str = Actor, svc: AccessService = Service
) -> dict[str, Any]:
    return {"data": answer(lambda: svc.approve_end_user(end_user_id, actor)).to_dict()}


# ---- audit trail ----


@router.get("/audit")
def audit_trail(
    limit: int = Query(100, ge=1, le=1000),
    target: str | None = Query(None, max_length=200),
    _: str = Actor,
    svc: AccessService = Service,
) -> dict[str, Any]:
    return {"data": [e.to_dict() for e in answer(lambda: svc.audit_trail(limit, target))]}

"""`/admin/v1/findings`: the findings register over HTTP (as `tollhouse findings` and
`tollhouse compliance evaluate`). Operator token only; every change is in the audit trail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from tollhouse.api.problems import answer
from tollhouse.api.routes.admin.auth import require_operator
from tollhouse.api.state import app_state
from tollhouse.compliance.findings import service

router = APIRouter(prefix="/admin/v1", tags=["admin"])

Actor = Depends(require_operator)


class Evaluate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    orgs: list[str] = Field(default_factory=list, max_length=10_000)
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    rules: list[str] = Field(default_factory=list, max_length=100)
    dry_run: bool = False


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class Canary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    post_id: str = Field(pattern=r"^[0-9]{1,19}$")
    org: str = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=2000)


@router.get("/findings")
def list_findings(
    request: Request,
    org: str | None = Query(None, max_length=100),
    rule: str | None = Query(None, max_length=60),
    status: str | None = Query(None, max_length=16),
    _: str = Actor,
) -> dict[str, Any]:
    engine = app_state(request).engine
    found = answer(lambda: service.list_findings(engine, org, rule, status))
    return {"data": [f.to_dict() for f in found], "meta": {"result_count": len(found)}}


@router.post("/findings/evaluate")
def evaluate(request: Request, body: Evaluate, actor: str = Actor) -> dict[str, Any]:
    state = app_state(request)
    result = answer(
        lambda: service.run_evaluation(
            state.engine, state.usage_engine, state.settings, actor, body.orgs, body.from_,
            body.to, body.rules, body.dry_run,
        )
    )  # fmt: skip
    return {"data": result.to_dict()}


@router.get("/findings/{finding_id}")
def show_finding(request: Request, finding_id: str, _: str = Actor) -> dict[str, Any]:
    engine = app_state(request).engine
    return {"data": answer(lambda: service.show_finding(engine, finding_id)).to_dict()}


def _move(request: Request, finding_id: str, action: str, body: Move, actor: str) -> dict[str, Any]:
    engine = app_state(request).engine
    moved = answer(lambda: service.move_finding(engine, finding_id, action, body.reason, actor))
    return {"data": moved.to_dict()}


@router.post("/findings/{finding_id}/ack")
def ack(request: Request, finding_id: str, body: Move, actor: str = Actor) -> dict[str, Any]:
    return _move(request, finding_id, "ack", body, actor)


@router.post("/findings/{finding_id}/resolve")
def resolve(request: Request, finding_id: str, body: Move, actor: str = Actor) -> dict[str, Any]:
    return _move(request, finding_id, "resolve", body, actor)


@router.post("/findings/{finding_id}/dismiss")
def dismiss(request: Request, finding_id: str, body: Move, actor: str = Actor) -> dict[str, Any]:
    return _move(request, finding_id, "dismiss", body, actor)


@router.post("/canaries", status_code=201)
def plant(request: Request, body: Canary, actor: str = Actor) -> dict[str, Any]:
    engine = app_state(request).engine
    planted = answer(
        lambda: service.plant_canary(engine, int(body.post_id), body.org, body.note, actor)
    )
    return {"data": planted}

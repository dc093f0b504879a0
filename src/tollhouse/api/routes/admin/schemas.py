"""Request bodies of the admin API (validated once, here; the service gets typed values)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrgCreate(Body):
    name: str = Field(min_length=1, max_length=100)
    plan: str = Field(min_length=1, max_length=40)
    billing_day: int = Field(1, ge=1, le=28)
    contacts: list[str] = Field(default_factory=list, max_length=20)


class OrgUpdate(Body):
    plan: str | None = Field(None, min_length=1, max_length=40)
    billing_day: int | None = Field(None, ge=1, le=28)


class Reason(Body):
    reason: str = Field(min_length=1, max_length=2000)


class Acceptance(Body):
    accepted_by: str = Field(min_length=1, max_length=200)


class AppCreate(Body):
    org: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    use_cases: list[str] = Field(default_factory=list, max_length=20)
    use_case_text: str = Field("", max_length=2000)


class UseCaseCreate(Body):
    name: str = Field(min_length=2, max_length=60)
    description: str = Field("", max_length=2000)


class KeyRotate(Body):
    grace_seconds: int = Field(86400, ge=0, le=30 * 86400)


class EndUserCreate(Body):
    org: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    sector: str = Field(min_length=1, max_length=20)
    country: str = Field(min_length=2, max_length=2)


class PlanBook(Body):
    toml: str = Field(min_length=1, max_length=1_000_000)


class AgreementPublish(Body):
    version: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=200_000)
    terms: dict[str, Any]

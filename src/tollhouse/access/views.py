"""What access operations return: frozen views of organisations, apps, keys, end users,
agreements and audit entries, each JSON-ready through `.to_dict()`. Tokens appear only in
`KeyCreated`, the one-time answer of creating or rotating a key."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tollhouse.access.agreements import AgreementTerms
from tollhouse.access.models import Sector


def now() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class KeyView:
    id: str
    app: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    replaced_by: str | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None:
            expires = datetime.fromisoformat(self.expires_at)
            return "expired" if expires <= now() else "rotating"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


@dataclass(frozen=True, slots=True)
class KeyCreated:
    """A new key. `token` is shown once; nothing else ever holds it."""

    id: str
    app: str
    token: str
    replaces: str | None = None
    old_key_expires_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "app": self.app, "token": self.token}
        if self.replaces is not None:
            out["replaces"] = self.replaces
            out["old_key_expires_at"] = self.old_key_expires_at
        return out


@dataclass(frozen=True, slots=True)
class AppView:
    id: int
    name: str
    org: str
    status: str
    use_cases: tuple[str, ...]
    use_case_text: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["use_cases"] = list(self.use_cases)
        return out


@dataclass(frozen=True, slots=True)
class EndUserView:
    id: int
    org: str
    name: str
    sector: str
    country: str
    approved: bool
    approved_at: str | None
    approved_by: str | None
    created_at: str

    @property
    def government(self) -> bool:
        return self.sector == Sector.GOVERNMENT

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "government": self.government}


@dataclass(frozen=True, slots=True)
class Acceptance:
    version: str
    accepted_by: str
    accepted_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OrgView:
    id: int
    name: str
    plan: str
    status: str
    status_reason: str | None
    billing_day: int
    contacts: tuple[str, ...]
    created_at: str
    agreement_current: str | None = None
    agreement_accepted: bool = False
    acceptances: tuple[Acceptance, ...] = ()
    apps: tuple[AppView, ...] = ()
    keys: tuple[KeyView, ...] = ()
    end_users: tuple[EndUserView, ...] = ()

    def to_dict(self, detail: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "plan": self.plan,
            "status": self.status,
            "status_reason": self.status_reason,
            "billing_day": self.billing_day,
            "contacts": list(self.contacts),
            "created_at": self.created_at,
            "agreement_current": self.agreement_current,
            "agreement_accepted": self.agreement_accepted,
        }
        if detail:
            out["acceptances"] = [a.to_dict() for a in self.acceptances]
            out["apps"] = [a.to_dict() for a in self.apps]
            out["keys"] = [k.to_dict() for k in self.keys]
            out["end_users"] = [e.to_dict() for e in self.end_users]
        return out


@dataclass(frozen=True, slots=True)
class AgreementView:
    id: int
    version: str
    text: str
    terms: AgreementTerms
    published_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "text": self.text,
            "terms": self.terms.model_dump(mode="json"),
            "published_at": self.published_at,
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    target_type: str
    target: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def app_view(row: sa.RowMapping, org_name: str) -> AppView:
    return AppView(
        id=row["id"],
        name=row["name"],
        org=org_name,
        status=row["status"],
        use_cases=tuple(row["use_cases"] or ()),
        use_case_text=row["use_case_text"],
        created_at=iso(row["created_at"]) or "",
    )


def key_view(row: sa.RowMapping, app_name: str) -> KeyView:
    return KeyView(
        id=row["id"],
        app=app_name,
        created_at=iso(row["created_at"]) or "",
        expires_at=iso(aware(row["expires_at"])),
        revoked_at=iso(aware(row["revoked_at"])),
        replaced_by=row["replaced_by"],
    )


def end_user_view(row: sa.RowMapping, org_name: str) -> EndUserView:
    return EndUserView(
        id=row["id"],
        org=org_name,
        name=row["name"],
        sector=row["sector"],
        country=row["country"],
        approved=bool(row["approved"]),
        approved_at=iso(row["approved_at"]),
        approved_by=row["approved_by"],
        created_at=iso(row["created_at"]) or "",
    )

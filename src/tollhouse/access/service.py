"""Access operations behind one object: the facade the CLI, the admin routes and other domains'
tests hold, delegating to one service per aggregate.

Each aggregate's operations live in their own module (`plan_service`, `agreement_service`,
`org_service`, `app_service` with use cases, `key_service`, `end_user_service`, `audit_trail`);
every change runs through `access.changes` (one transaction with its audit entry and the
`access_version` bump). Tokens are returned once by `create_key`/`rotate_key` and are never
stored, logged or put in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine

from tollhouse.access.agreement_service import AgreementService
from tollhouse.access.agreements import AgreementDraft, default_agreement
from tollhouse.access.app_service import AppService
from tollhouse.access.audit_trail import AuditTrail
from tollhouse.access.changes import Changes
from tollhouse.access.end_user_service import EndUserService
from tollhouse.access.key_service import DEFAULT_GRACE, KeyService
from tollhouse.access.lookups import current_agreement_id
from tollhouse.access.onboarding import Onboarded, onboard
from tollhouse.access.org_service import OrgService
from tollhouse.access.plan_service import PlanService, has_plans
from tollhouse.access.plans import Plan, default_plans
from tollhouse.access.views import (
    Acceptance,
    AgreementView,
    AppView,
    AuditEntry,
    EndUserView,
    KeyCreated,
    KeyView,
    OrgView,
)

__all__ = [
    "Acceptance",
    "AccessService",
    "AgreementView",
    "AppView",
    "AuditEntry",
    "EndUserView",
    "KeyCreated",
    "KeyView",
    "Onboarded",
    "OrgView",
    "onboard",
]


@dataclass
class AccessService:
    """The access operations over one database. `on_change` callbacks run after each commit
    (flush this process's key cache, publish a Redis notice for the others)."""

    engine: Engine
    on_change: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        changes = Changes(self.engine, self.on_change)
        self.plans = PlanService(changes)
        self.agreements = AgreementService(changes)
        self.orgs = OrgService(changes)
        self.apps = AppService(changes)
        self.keys = KeyService(changes)
        self.end_users = EndUserService(changes)
        self.audit = AuditTrail(self.engine)

    def list_plans(self) -> list[Plan]:
        return self.plans.list_plans()

    def get_plan(self, name: str) -> Plan:
        return self.plans.get_plan(name)

    def load_plans(self, book: Sequence[Plan], actor: str) -> list[str]:
        return self.plans.load_plans(book, actor)

    def publish_agreement(self, draft: AgreementDraft, actor: str) -> AgreementView:
        return self.agreements.publish_agreement(draft, actor)

    def current_agreement(self) -> AgreementView | None:
        return self.agreements.current_agreement()

    def accept_agreement(self, org: str, accepted_by: str, actor: str) -> Acceptance:
        return self.agreements.accept_agreement(org, accepted_by, actor)

    def create_org(
        self, name: str, plan: str, actor: str, billing_day: int = 1, contacts: Iterable[str] = ()
    ) -> OrgView:
        return self.orgs.create_org(name, plan, actor, billing_day, contacts)

    def list_orgs(self) -> list[OrgView]:
        return self.orgs.list_orgs()

    def show_org(self, name: str) -> OrgView:
        return self.orgs.show_org(name)

    def suspend_org(self, name: str, reason: str, actor: str) -> OrgView:
        return self.orgs.suspend_org(name, reason, actor)

    def terminate_org(self, name: str, reason: str, actor: str) -> OrgView:
        return self.orgs.terminate_org(name, reason, actor)

    def resume_org(self, name: str, actor: str) -> OrgView:
        return self.orgs.resume_org(name, actor)

    def set_org_plan(self, name: str, plan: str, actor: str) -> OrgView:
        return self.orgs.set_org_plan(name, plan, actor)

    def set_billing_day(self, name: str, day: int, actor: str) -> OrgView:
        return self.orgs.set_billing_day(name, day, actor)

    def list_use_cases(self) -> dict[str, str]:
        return self.apps.list_use_cases()

    def add_use_case(self, name: str, description: str, actor: str) -> None:
        return self.apps.add_use_case(name, description, actor)

    def create_app(
        self,
        org: str,
        name: str,
        actor: str,
        use_case_names: Sequence[str] = (),
        use_case_text: str = "",
    ) -> AppView:
        return self.apps.create_app(org, name, actor, use_case_names, use_case_text)

    def list_apps(self, org: str) -> list[AppView]:
        return self.apps.list_apps(org)

    def suspend_app(self, name: str, actor: str) -> AppView:
        return self.apps.suspend_app(name, actor)

    def resume_app(self, name: str, actor: str) -> AppView:
        return self.apps.resume_app(name, actor)

    def create_key(self, app: str, actor: str) -> KeyCreated:
        return self.keys.create_key(app, actor)

    def revoke_key(self, key_id: str, actor: str) -> KeyView:
        return self.keys.revoke_key(key_id, actor)

    def rotate_key(self, key_id: str, actor: str, grace: timedelta = DEFAULT_GRACE) -> KeyCreated:
        return self.keys.rotate_key(key_id, actor, grace)

    def list_keys(self, app: str) -> list[KeyView]:
        return self.keys.list_keys(app)

    def add_end_user(
        self, org: str, name: str, sector: str, country: str, actor: str
    ) -> EndUserView:
        return self.end_users.add_end_user(org, name, sector, country, actor)

    def approve_end_user(self, end_user_id: int, actor: str) -> EndUserView:
        return self.end_users.approve_end_user(end_user_id, actor)

    def list_end_users(self, org: str) -> list[EndUserView]:
        return self.end_users.list_end_users(org)

    def audit_trail(self, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        return self.audit.audit_trail(limit, target)

    def install_defaults(self, actor: str) -> None:
        """Load the shipped plans and publish the shipped agreement where none exist yet."""
        with self.engine.connect() as conn:
            plans_loaded = has_plans(conn)
            has_agreement = current_agreement_id(conn) is not None
        if not plans_loaded:
            self.load_plans(default_plans(), actor)
        if not has_agreement:
            self.publish_agreement(default_agreement(), actor)

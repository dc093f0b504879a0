"""What billing reads of access: organisations (id, name, plan, billing day, since when) and the
one change it asks of access, moving an organisation to the plan its subscription says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from tollhouse.access.service import AccessService


@dataclass(frozen=True, slots=True)
class OrgRef:
    id: int
    name: str
    plan: str
    billing_day: int
    created_at: datetime


class Organisations(Protocol):
    def by_name(self, name: str) -> OrgRef:
        """The organisation called `name` (NotFound otherwise)."""
        ...

    def all(self) -> list[OrgRef]:
        """Every organisation."""
        ...

    def set_plan(self, name: str, plan: str, actor: str) -> None:
        """Tell access the organisation is now on `plan` (what it allows)."""
        ...


def _instant(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@dataclass
class AccessOrganisations:
    """`Organisations` answered by the access service."""

    access: AccessService

    def by_name(self, name: str) -> OrgRef:
        o = self.access.show_org(name)
        return OrgRef(o.id, o.name, o.plan, o.billing_day, _instant(o.created_at))

    def all(self) -> list[OrgRef]:
        return [
            OrgRef(o.id, o.name, o.plan, o.billing_day, _instant(o.created_at))
            for o in self.access.list_orgs()
        ]

    def set_plan(self, name: str, plan: str, actor: str) -> None:
        self.access.set_org_plan(name, plan, actor)

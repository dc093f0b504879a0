"""Organisations (licensees) as an operator manages them: creating, listing, showing, suspending,
terminating, resuming, changing plan and billing day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy import Connection

from tollhouse.access.changes import Changes, audit
from tollhouse.access.errors import DuplicateName, TooManyApps
from tollhouse.access.lookups import (
    current_agreement_id,
    org_app_views,
    org_end_user_views,
    org_row,
)
from tollhouse.access.models import (
    OrgStatus,
    agreement_acceptances,
    agreement_versions,
    api_keys,
    apps,
    organisations,
)
from tollhouse.access.names import check_name
from tollhouse.access.plan_service import plan_named
from tollhouse.access.views import Acceptance, OrgView, iso, key_view, now
from tollhouse.errors import InvalidInput


def org_view(conn: Connection, row: sa.RowMapping, detail: bool) -> OrgView:
    """The organisation, with its acceptances, apps, keys and end users when `detail`."""
    current = current_agreement_id(conn)
    acc_rows = conn.execute(
        sa.select(
            agreement_versions.c.id,
            agreement_versions.c.version,
            agreement_acceptances.c.accepted_by,
            agreement_acceptances.c.accepted_at,
        )
        .select_from(
            agreement_acceptances.join(
                agreement_versions,
                agreement_versions.c.id == agreement_acceptances.c.agreement_id,
            )
        )
        .where(agreement_acceptances.c.org_id == row["id"])
        .order_by(agreement_acceptances.c.id)
    ).all()
    accepted = current is not None and any(r.id == current[0] for r in acc_rows)
    view = OrgView(
        id=row["id"],
        name=row["name"],
        plan=row["plan_name"],
        status=row["status"],
        status_reason=row["status_reason"],
        billing_day=row["billing_day"],
        contacts=tuple(row["contacts"] or ()),
        created_at=iso(row["created_at"]) or "",
        agreement_current=None if current is None else current[1],
        agreement_accepted=accepted,
    )
    if not detail:
        return view
    app_views = org_app_views(conn, row["id"], row["name"])
    app_names = {a.id: a.name for a in app_views}
    key_rows = conn.execute(
        sa.select(api_keys)
        .where(api_keys.c.app_id.in_(list(app_names) or [-1]))
        .order_by(api_keys.c.created_at)
    ).mappings()
    return replace(
        view,
        acceptances=tuple(
            Acceptance(r.version, r.accepted_by, iso(r.accepted_at) or "") for r in acc_rows
        ),
        apps=tuple(app_views),
        keys=tuple(key_view(k, app_names[k["app_id"]]) for k in key_rows),
        end_users=tuple(org_end_user_views(conn, row["id"], row["name"])),
    )


@dataclass
class OrgService:
    changes: Changes

    def create_org(
        self,
        name: str,
        plan: str,
        actor: str,
        billing_day: int = 1,
        contacts: Iterable[str] = (),
    ) -> OrgView:
        name = check_name("organisation", name)
        if not 1 <= billing_day <= 28:
            raise InvalidInput(f"billing day must be 1-28, not {billing_day}")
        contact_list = [c.strip() for c in contacts if c.strip()]
        if any(len(c) > 200 for c in contact_list):
            raise InvalidInput("a contact must be at most 200 characters")

        def change(conn: Connection) -> OrgView:
            the_plan = plan_named(conn, plan)
            taken = sa.select(organisations.c.id).where(organisations.c.name == name)
            if conn.execute(taken).first():
                raise DuplicateName(f"an organisation named {name!r} already exists")
            at = now()
            conn.execute(
                organisations.insert().values(
                    name=name, plan_name=the_plan.name, status=OrgStatus.ACTIVE.value,
                    status_reason=None, billing_day=billing_day, contacts=contact_list,
                    created_at=at, updated_at=at,
                )
            )  # fmt: skip
            view = org_view(conn, org_row(conn, name), detail=False)
            audit(conn, actor, "org.create", "organisation", name, None, view.to_dict())
            return view

        return self.changes.write(change)

    def list_orgs(self) -> list[OrgView]:
        with self.changes.engine.connect() as conn:
            rows = conn.execute(sa.select(organisations).order_by(organisations.c.name)).mappings()
            return [org_view(conn, r, detail=False) for r in rows.all()]

    def show_org(self, name: str) -> OrgView:
        with self.changes.engine.connect() as conn:
            return org_view(conn, org_row(conn, name), detail=True)

    def _set_org(self, name: str, actor: str, action: str, **values: str | int | None) -> OrgView:
        def change(conn: Connection) -> OrgView:
            row = org_row(conn, name)
            before = org_view(conn, row, detail=False).to_dict()
            if "plan_name" in values:
                plan = plan_named(conn, str(values["plan_name"]))
                values["plan_name"] = plan.name
                count = conn.execute(
                    sa.select(sa.func.count()).select_from(apps).where(apps.c.org_id == row["id"])
                ).scalar_one()
                if count > plan.max_apps:
                    raise TooManyApps(
                        f"organisation {row['name']!r} has {count} apps; plan {plan.name!r} "
                        f"allows {plan.max_apps}. Remove apps first"
                    )
            conn.execute(
                organisations.update()
                .where(organisations.c.id == row["id"])
                .values(updated_at=now(), **values)
            )
            view = org_view(conn, org_row(conn, row["name"]), detail=False)
            audit(conn, actor, action, "organisation", row["name"], before, view.to_dict())
            return view

        return self.changes.write(change)

    def suspend_org(self, name: str, reason: str, actor: str) -> OrgView:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("a suspension needs a reason")
        return self._set_org(
            name, actor, "org.suspend", status=OrgStatus.SUSPENDED.value, status_reason=reason
        )

    def terminate_org(self, name: str, reason: str, actor: str) -> OrgView:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("a termination needs a reason")
        return self._set_org(
            name, actor, "org.terminate", status=OrgStatus.TERMINATED.value, status_reason=reason
        )

    def resume_org(self, name: str, actor: str) -> OrgView:
        with self.changes.engine.connect() as conn:
            if org_row(conn, name)["status"] == OrgStatus.TERMINATED:
                raise InvalidInput(f"organisation {name!r} is terminated and cannot be resumed")
        return self._set_org(
            name, actor, "org.resume", status=OrgStatus.ACTIVE.value, status_reason=None
        )

    def set_org_plan(self, name: str, plan: str, actor: str) -> OrgView:
        return self._set_org(name, actor, "org.set_plan", plan_name=plan)

    def set_billing_day(self, name: str, day: int, actor: str) -> OrgView:
        if not 1 <= day <= 28:
            raise InvalidInput(f"billing day must be 1-28, not {day}")
        return self._set_org(name, actor, "org.set_billing_day", billing_day=day)

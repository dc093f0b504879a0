"""Apps and the use-case vocabulary they declare, as an operator manages them: adding use cases,
creating apps within the plan's limit, listing, suspending and resuming apps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from tollhouse.access.changes import Changes, audit
from tollhouse.access.errors import DuplicateName, TooManyApps
from tollhouse.access.lookups import app_row, org_app_views, org_row
from tollhouse.access.models import AppStatus, apps, organisations, use_cases
from tollhouse.access.names import check_name
from tollhouse.access.plan_service import plan_named
from tollhouse.access.views import AppView, app_view, now
from tollhouse.errors import InvalidInput

_USE_CASE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


@dataclass
class AppService:
    changes: Changes

    def list_use_cases(self) -> dict[str, str]:
        with self.changes.engine.connect() as conn:
            rows = conn.execute(sa.select(use_cases).order_by(use_cases.c.name)).all()
        return {r.name: r.description for r in rows}

    def add_use_case(self, name: str, description: str, actor: str) -> None:
        """Extend the use-case vocabulary."""
        if not _USE_CASE.match(name):
            raise InvalidInput(
                f"use case {name!r} must be 2-60 lower-case letters, digits or _, "
                "starting with a letter"
            )

        def change(conn: Connection) -> None:
            if conn.execute(sa.select(use_cases.c.name).where(use_cases.c.name == name)).first():
                raise DuplicateName(f"use case {name!r} already exists")
            conn.execute(use_cases.insert().values(name=name, description=description.strip()))
            after = {"description": description}
            audit(conn, actor, "use_case.add", "use_case", name, None, after)

        self.changes.write(change)

    def create_app(
        self,
        org: str,
        name: str,
        actor: str,
        use_case_names: Sequence[str] = (),
        use_case_text: str = "",
    ) -> AppView:
        name = check_name("app", name)
        if len(use_case_text) > 2000:
            raise InvalidInput("the use case description must be at most 2000 characters")
        wanted = sorted({u.strip() for u in use_case_names if u.strip()})

        def change(conn: Connection) -> AppView:
            the_org = org_row(conn, org)
            known = set(conn.execute(sa.select(use_cases.c.name)).scalars())
            unknown = [u for u in wanted if u not in known]
            if unknown:
                raise InvalidInput(
                    f"unknown use case(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
                )
            if conn.execute(sa.select(apps.c.id).where(apps.c.name == name)).first():
                raise DuplicateName(f"an app named {name!r} already exists")
            plan = plan_named(conn, the_org["plan_name"])
            count = conn.execute(
                sa.select(sa.func.count()).select_from(apps).where(apps.c.org_id == the_org["id"])
            ).scalar_one()
            if count >= plan.max_apps:
                raise TooManyApps(
                    f"organisation {the_org['name']!r} already has {count} app(s), the most its "
                    f"plan {plan.name!r} allows"
                )
            conn.execute(
                apps.insert().values(
                    org_id=the_org["id"], name=name, use_cases=wanted,
                    use_case_text=use_case_text.strip(), status=AppStatus.ACTIVE.value,
                    created_at=now(),
                )
            )  # fmt: skip
            view = app_view(app_row(conn, name), the_org["name"])
            audit(conn, actor, "app.create", "app", name, None, view.to_dict())
            return view

        return self.changes.write(change)

    def list_apps(self, org: str) -> list[AppView]:
        with self.changes.engine.connect() as conn:
            row = org_row(conn, org)
            return org_app_views(conn, row["id"], row["name"])

    def _set_app_status(self, name: str, status: AppStatus, actor: str) -> AppView:
        def change(conn: Connection) -> AppView:
            row = app_row(conn, name)
            org_name = conn.execute(
                sa.select(organisations.c.name).where(organisations.c.id == row["org_id"])
            ).scalar_one()
            before = app_view(row, org_name).to_dict()
            conn.execute(apps.update().where(apps.c.id == row["id"]).values(status=status.value))
            view = app_view(app_row(conn, name), org_name)
            action = f"app.{status.value}"
            audit(conn, actor, action, "app", row["name"], before, view.to_dict())
            return view

        return self.changes.write(change)

    def suspend_app(self, name: str, actor: str) -> AppView:
        return self._set_app_status(name, AppStatus.SUSPENDED, actor)

    def resume_app(self, name: str, actor: str) -> AppView:
        return self._set_app_status(name, AppStatus.ACTIVE, actor)

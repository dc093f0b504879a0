"""End users (who a licensee's app serves) as an operator manages them: declaring, approving,
listing."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from tollhouse.access.changes import Changes, audit
from tollhouse.access.errors import DuplicateName
from tollhouse.access.lookups import end_user_by_id, org_end_user_views, org_row
from tollhouse.access.models import Sector, end_users
from tollhouse.access.names import check_name
from tollhouse.access.views import EndUserView, now
from tollhouse.errors import InvalidInput

_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass
class EndUserService:
    changes: Changes

    def add_end_user(
        self, org: str, name: str, sector: str, country: str, actor: str
    ) -> EndUserView:
        name = check_name("end user", name)
        try:
            the_sector = Sector(sector.strip().lower())
        except ValueError:
            raise InvalidInput(
                f"sector {sector!r} is not one of {', '.join(s.value for s in Sector)}"
            ) from None
        cc = country.strip().upper()
        if not _COUNTRY.match(cc):
            raise InvalidInput(f"country {country!r} must be an ISO 3166 two-letter code")

        def change(conn: Connection) -> EndUserView:
            the_org = org_row(conn, org)
            if conn.execute(
                sa.select(end_users.c.id)
                .where(end_users.c.org_id == the_org["id"])
                .where(end_users.c.name == name)
            ).first():
                raise DuplicateName(f"{the_org['name']!r} already declared an end user {name!r}")
            new_id = conn.execute(
                end_users.insert().values(
                    org_id=the_org["id"], name=name, sector=the_sector.value, country=cc,
                    approved=False, approved_at=None, approved_by=None, created_at=now(),
                )
            ).inserted_primary_key  # fmt: skip
            assert new_id is not None
            view = end_user_by_id(conn, int(new_id[0]))
            audit(conn, actor, "end_user.add", "end_user", str(view.id), None, view.to_dict())
            return view

        return self.changes.write(change)

    def approve_end_user(self, end_user_id: int, actor: str) -> EndUserView:
        def change(conn: Connection) -> EndUserView:
            before = end_user_by_id(conn, end_user_id)
            if before.approved:
                raise InvalidInput(f"end user {end_user_id} is already approved")
            conn.execute(
                end_users.update()
                .where(end_users.c.id == end_user_id)
                .values(approved=True, approved_at=now(), approved_by=actor)
            )
            view = end_user_by_id(conn, end_user_id)
            audit(
                conn, actor, "end_user.approve", "end_user", str(end_user_id),
                before.to_dict(), view.to_dict(),
            )  # fmt: skip
            return view

        return self.changes.write(change)

    def list_end_users(self, org: str) -> list[EndUserView]:
        with self.changes.engine.connect() as conn:
            row = org_row(conn, org)
            return org_end_user_views(conn, row["id"], row["name"])

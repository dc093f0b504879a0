"""Organisation and app names for readers that hold ids (metering's usage reports): the
`tollhouse.metering.service.Licensees` Protocol over access's tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.access.models import apps, organisations
from tollhouse.errors import NotFound


class LicenseeNames:
    """Names of organisations and apps, read on the caller's connection."""

    def org(self, conn: Connection, org: str) -> tuple[int, str]:
        """(id, name) of the organisation named `org` (or with numeric id `org`)."""
        o = organisations.c
        row = conn.execute(sa.select(o.id, o.name).where(o.name == org)).first()
        if row is None and org.isdigit():
            row = conn.execute(sa.select(o.id, o.name).where(o.id == int(org))).first()
        if row is None:
            raise NotFound(f"no organisation {org!r}")
        return int(row.id), str(row.name)

    def app_names(self, conn: Connection, org_id: int) -> dict[int, str]:
        """{app id: name} of the organisation's apps."""
        rows = conn.execute(sa.select(apps.c.id, apps.c.name).where(apps.c.org_id == org_id))
        return {int(r.id): str(r.name) for r in rows}

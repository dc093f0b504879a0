"""Matching the `X-End-User` names licensees send against their declared end users.

The declared end users are access's table; metering reads the three columns it needs through a
declaration of its own (`sa.table`), as the SQL store reads any table by its schema, and never
imports access. The table's shape is fixed by migration 0002 (access).
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_declared = sa.table("end_users", sa.column("id"), sa.column("org_id"), sa.column("name"))


def resolve(
    conn: Connection, names: Collection[tuple[int | None, str]]
) -> dict[tuple[int | None, str], int]:
    """{(org_id, name): end user id} for the names that organisation declared."""
    orgs = {org for org, _ in names if org is not None}
    t = _declared.c
    rows = conn.execute(sa.select(t.org_id, t.name, t.id).where(t.org_id.in_(orgs)))
    wanted = set(names)
    return {(r.org_id, r.name): r.id for r in rows if (r.org_id, r.name) in wanted}

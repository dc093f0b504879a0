"""Matching the `X-End-User` names licensees send against their declared end users."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.engine import Connection


def resolve(
    conn: Connection, names: Collection[tuple[int | None, str]]
) -> dict[tuple[int | None, str], int]:
    """{(org_id, name): end user id} for the names that organisation declared."""
    try:
        from tollhouse.access import models as access_models
    except ImportError:
        return {}
    table = getattr(access_models, "end_users", None)
    if table is None:
        return {}
    import sqlalchemy as sa

    orgs = {org for org, _ in names if org is not None}
    rows = conn.execute(
        sa.select(table.c.org_id, table.c.name, table.c.id).where(table.c.org_id.in_(orgs))
    )
    wanted = set(names)
    return {(r.org_id, r.name): r.id for r in rows if (r.org_id, r.name) in wanted}

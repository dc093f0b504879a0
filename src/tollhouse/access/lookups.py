"""Reading one access row by its name or id, refusing with UnknownName when there is none.

Shared by the per-aggregate services (an app names its organisation, a key its app), inside the
caller's connection or transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from tollhouse.access import keys as tokens
from tollhouse.access.errors import UnknownName
from tollhouse.access.models import agreement_versions, api_keys, apps, end_users, organisations
from tollhouse.access.views import AppView, EndUserView, app_view, end_user_view


def org_row(conn: Connection, name: str) -> sa.RowMapping:
    row = (
        conn.execute(sa.select(organisations).where(organisations.c.name == name.strip()))
        .mappings()
        .first()
    )
    if row is None:
        raise UnknownName(f"no organisation named {name!r}")
    return row


def app_row(conn: Connection, name: str) -> sa.RowMapping:
    row = conn.execute(sa.select(apps).where(apps.c.name == name.strip())).mappings().first()
    if row is None:
        raise UnknownName(f"no app named {name!r}")
    return row


def key_row(conn: Connection, key_id: str) -> sa.RowMapping:
    if not tokens.looks_like_key_id(key_id):
        raise UnknownName(f"no key with id {key_id!r} (key ids are 10 letters/digits)")
    row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
    if row is None:
        raise UnknownName(f"no key with id {key_id!r}")
    return row


def current_agreement_id(conn: Connection) -> tuple[int, str] | None:
    """The current agreement version's (id, version), or None before the first is published."""
    row = conn.execute(
        sa.select(agreement_versions.c.id, agreement_versions.c.version)
        .order_by(agreement_versions.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.id, row.version)


def org_app_views(conn: Connection, org_id: int, org_name: str) -> list[AppView]:
    rows = conn.execute(sa.select(apps).where(apps.c.org_id == org_id).order_by(apps.c.id))
    return [app_view(r, org_name) for r in rows.mappings()]


def org_end_user_views(conn: Connection, org_id: int, org_name: str) -> list[EndUserView]:
    rows = conn.execute(
        sa.select(end_users).where(end_users.c.org_id == org_id).order_by(end_users.c.id)
    )
    return [end_user_view(r, org_name) for r in rows.mappings()]


def end_user_by_id(conn: Connection, end_user_id: int) -> EndUserView:
    row = (
        conn.execute(
            sa.select(end_users, organisations.c.name.label("org_name"))
            .select_from(end_users.join(organisations, organisations.c.id == end_users.c.org_id))
            .where(end_users.c.id == end_user_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise UnknownName(f"no end user with id {end_user_id}")
    return end_user_view(row, row["org_name"])

"""Posts and users by id or username: the servable ones, and for each other key *why* it is not
returned, so that the API can give X's error objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Connection,
    String,
    select,
)

from tollhouse.corpus.models import ContentState, posts, users
from tollhouse.corpus.projections import N_POST_COLUMNS, POST_COLUMNS, USER_COLUMNS, Record
from tollhouse.corpus.statements import STATEMENTS, in_list, list_values
from tollhouse.corpus.visibility import ACTIVE, visible

Missing = Literal["not-found", "protected", "unavailable"]


def _classify_post(post_state: str, author_state: str | None, protected: bool | None) -> Missing:
    if post_state == ContentState.DELETED.value or author_state == ContentState.DELETED.value:
        return "not-found"
    if post_state != ACTIVE or (author_state is not None and author_state != ACTIVE):
        return "unavailable"
    return "protected" if protected else "not-found"


def lookup_posts(
    conn: Connection, ids: Sequence[int]
) -> tuple[dict[int, Record], dict[int, Missing]]:
    """Posts by id: the visible ones, and for each other id why it is not returned."""
    if not ids:
        return {}, {}
    columns = POST_COLUMNS[conn.dialect.name]

    def build() -> Any:
        return (
            select(*columns, posts.c.state, users.c.state, users.c.protected)
            .select_from(posts.outerjoin(users, users.c.id == posts.c.author_id))
            .where(in_list(posts.c.id, len(ids), BigInteger))
        )

    found: dict[int, Record] = {}
    missing: dict[int, Missing] = {}
    width = N_POST_COLUMNS
    for row in STATEMENTS.run(conn, ("lookup_posts", len(ids)), build, list_values(ids)):
        post_state, author_state, protected = row[width], row[width + 1], row[width + 2]
        if post_state == ACTIVE and author_state in (ACTIVE, None) and not protected:
            found[row[0]] = row
        else:
            missing[row[0]] = _classify_post(post_state, author_state, protected)
    for post_id in ids:
        if post_id not in found and post_id not in missing:
            missing[post_id] = "not-found"
    return found, missing


def visible_posts_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, Record]:
    """The visible posts among `ids` (for `includes.tweets`)."""
    if not ids:
        return {}
    columns = POST_COLUMNS[conn.dialect.name]

    def build() -> Any:
        return select(*columns).where(in_list(posts.c.id, len(ids), BigInteger), visible())

    rows = STATEMENTS.run(conn, ("visible_posts", len(ids)), build, list_values(ids))
    return {row[0]: row for row in rows}


def _classify_user(row: Record) -> Missing | None:
    state = row[-1]
    if state == ACTIVE:
        return None
    return "not-found" if state == ContentState.DELETED.value else "unavailable"


def lookup_users(
    conn: Connection, ids: Sequence[int] = (), usernames: Sequence[str] = ()
) -> tuple[list[Record], dict[int | str, Missing]]:
    """Users by id or by username (case-insensitive): the servable ones and why others are not.

    Protected users are returned (their profile is public; their posts are not). Missing keys
    are the requested ids, or the requested usernames as given.
    """
    columns = USER_COLUMNS[conn.dialect.name]
    if ids:
        n = len(ids)

        def by_ids() -> Any:
            return select(*columns).where(in_list(users.c.id, n, BigInteger))

        rows = STATEMENTS.run(conn, ("users", n), by_ids, list_values(ids))
        by_key: dict[int | str, Record] = {row[0]: row for row in rows}
        keys: list[int | str] = list(ids)
    else:
        lowered = [u.lower() for u in usernames]
        m = len(lowered)

        def by_names() -> Any:
            return select(*columns).where(in_list(users.c.username_lower, m, String))

        found_rows = STATEMENTS.run(conn, ("users_named", m), by_names, list_values(lowered))
        rows_by_lower = {row[1].lower(): row for row in found_rows}
        by_key = {u: rows_by_lower[u.lower()] for u in usernames if u.lower() in rows_by_lower}
        keys = list(usernames)
    found: list[Record] = []
    missing: dict[int | str, Missing] = {}
    for key in keys:
        row = by_key.get(key)
        reason = "not-found" if row is None else _classify_user(row)
        if reason is None and row is not None:
            found.append(row)
        else:
            missing[key] = reason or "not-found"
    return found, missing


def users_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, Record]:
    """Servable (active) users among `ids`, for `includes.users`."""
    if not ids:
        return {}
    columns = USER_COLUMNS[conn.dialect.name]

    def build() -> Any:
        return select(*columns).where(
            in_list(users.c.id, len(ids), BigInteger), users.c.state == ACTIVE
        )

    rows = STATEMENTS.run(conn, ("users_by_id", len(ids)), build, list_values(ids))
    return {row[0]: row for row in rows}


def users_by_username(conn: Connection, usernames: Sequence[str]) -> dict[str, Record]:
    """Servable users among `usernames`, keyed by lower-cased username."""
    if not usernames:
        return {}
    lowered = list({u.lower() for u in usernames})
    columns = USER_COLUMNS[conn.dialect.name]
    n = len(lowered)

    def build() -> Any:
        return select(*columns).where(
            in_list(users.c.username_lower, n, String), users.c.state == ACTIVE
        )

    rows = STATEMENTS.run(conn, ("active_users_named", n), build, list_values(lowered))
    return {row[1].lower(): row for row in rows}

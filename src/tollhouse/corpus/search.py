"""Searches, timelines and counts: pages of plain rows inside half-open id windows.

Every post query is a range scan on the primary key (time bounds are id bounds, see
`corpus.ids`) ordered by id, newest first, and carries the visibility filter: deleted or
withheld posts and posts of deleted, suspended, withheld or protected users are never returned.
Lookups by id are in `corpus.lookups`.

Statements run under a deadline (`corpus.deadline.bounded`) so that no query can hang a server
thread.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    String,
    bindparam,
    func,
    literal,
    select,
)

from tollhouse.corpus.ids import X_EPOCH_MS
from tollhouse.corpus.models import post_facets, posts
from tollhouse.corpus.projections import POST_COLUMNS, Record
from tollhouse.corpus.statements import STATEMENTS
from tollhouse.corpus.visibility import ACTIVE, visible

Direction = Literal["next", "previous"]


@dataclass(frozen=True, slots=True)
class Window:
    """Half-open id bounds [lowest, highest) and the page to return inside them.

    `after_id`/`direction` come from a pagination token: `next` continues below `after_id`
    (older), `previous` above it (newer). Rows always come back newest first.
    """

    lowest: int
    highest: int
    limit: int
    direction: Direction = "next"
    after_id: int | None = None


_LOWEST = bindparam("lowest", 0, type_=BigInteger)
_HIGHEST = bindparam("highest", 0, type_=BigInteger)
_ROWS = bindparam("rows", 1, type_=Integer)


def _bounds(window: Window) -> dict[str, Any]:
    lowest, highest = window.lowest, window.highest
    if window.after_id is not None:
        if window.direction == "next":
            highest = min(highest, window.after_id)
        else:
            lowest = max(lowest, window.after_id + 1)
    return {"lowest": lowest, "highest": highest, "rows": window.limit + 1}


def _backwards(window: Window) -> bool:
    return window.direction == "previous" and window.after_id is not None


def _page(
    conn: Connection,
    key: Hashable | None,
    stmt: Callable[[], Any],
    window: Window,
    id_column: Any,
    values: dict[str, Any] | None = None,
) -> list[Record]:
    backwards = _backwards(window)

    def build() -> Any:
        order = id_column.asc() if backwards else id_column.desc()
        return stmt().where(id_column >= _LOWEST, id_column < _HIGHEST).order_by(order).limit(_ROWS)

    full_key = None if key is None else (key, backwards)
    rows = STATEMENTS.run(conn, full_key, build, {**_bounds(window), **(values or {})})
    if backwards:
        # One extra row tells whether there is a page beyond; keep the newest `limit` closest
        # to the token, newest first.
        return rows[::-1] if len(rows) <= window.limit else rows[window.limit :: -1]
    return rows


def search_posts(
    conn: Connection,
    where: ColumnElement[bool] | Callable[[], ColumnElement[bool]],
    window: Window,
    key: Hashable | None = None,
) -> list[Record]:
    """Visible posts matching `where` inside the window, newest first, up to limit + 1 rows
    (the extra row only signals that another page exists).

    `key` identifies `where` (e.g. the query's syntax tree) so its SQL is compiled only once;
    `where` may then be a function building the condition, called only on the first use.
    """
    columns = POST_COLUMNS[conn.dialect.name]

    def condition() -> ColumnElement[bool]:
        return where() if callable(where) else where

    return _page(
        conn,
        None if key is None else ("search", key),
        lambda: select(*columns).where(condition(), visible()),
        window,
        posts.c.id,
    )


_AUTHOR = bindparam("author", 0, type_=BigInteger)
_MENTIONED = bindparam("mentioned", "", type_=String)
_BOUND = bindparam("bound", 0, type_=BigInteger)


def _authored(exclude: frozenset[str]) -> list[ColumnElement[bool]]:
    """An author's timeline: their active posts, without the excluded kinds."""
    conditions = [posts.c.author_id == _AUTHOR, posts.c.state == ACTIVE]
    if "replies" in exclude:
        conditions.append(posts.c.replied_to_id.is_(None))
    if "retweets" in exclude:
        conditions.append(posts.c.retweeted_id.is_(None))
    return conditions


def user_posts(
    conn: Connection, author_id: int, window: Window, exclude: frozenset[str] = frozenset()
) -> list[Record]:
    """An author's active posts (timeline), newest first, up to limit + 1 rows.

    The caller checks that the author may be served (`lookup_users`): repeating that check per
    row as `visible()` does would make PostgreSQL misjudge the anti-join and sort every post of
    a prolific author instead of walking the (author_id, id) index backwards.
    """
    columns = POST_COLUMNS[conn.dialect.name]

    def stmt() -> Any:
        return select(*columns).where(*_authored(exclude))

    key = ("timeline", tuple(sorted(exclude)))
    return _page(conn, key, stmt, window, posts.c.id, {"author": author_id})


def _mentioning() -> Any:
    return post_facets.join(posts, posts.c.id == post_facets.c.post_id)


def _mention_conditions() -> list[ColumnElement[bool]]:
    return [post_facets.c.kind == "m", post_facets.c.value == _MENTIONED, visible()]


def mention_posts(conn: Connection, username: str, window: Window) -> list[Record]:
    """Visible posts mentioning `username`, newest first, up to limit + 1 rows (a range scan
    of the mention facets)."""
    columns = POST_COLUMNS[conn.dialect.name]

    def stmt() -> Any:
        return select(*columns).select_from(_mentioning()).where(*_mention_conditions())

    values = {"mentioned": username.lower()}
    return _page(conn, ("mentions",), stmt, window, post_facets.c.post_id, values)


def _count_from(
    conn: Connection, key: Hashable, inner: Callable[[], Any], values: dict[str, Any]
) -> int:
    """count(*) of at most `cap` rows of `inner`: ordered by id and limited inside, so that
    the scan walks the id index and stops there (unordered, PostgreSQL may prefer a bitmap scan
    that fetches every match first)."""

    def build() -> Any:
        return select(func.count()).select_from(inner().limit(_ROWS).subquery())

    rows = STATEMENTS.run(conn, key, build, values)
    return int(rows[0][0])


def user_posts_from(
    conn: Connection, author_id: int, bound: int, cap: int, exclude: frozenset[str] = frozenset()
) -> int:
    """How many posts of the author's timeline have an id >= `bound`, counting at most `cap`
    (an index range scan of at most `cap` entries)."""

    def inner() -> Any:
        return (
            select(literal(1))
            .where(*_authored(exclude), posts.c.id >= _BOUND)
            .order_by(posts.c.id.asc())
        )

    key = ("timeline_depth", tuple(sorted(exclude)))
    return _count_from(conn, key, inner, {"author": author_id, "bound": bound, "rows": cap})


def mention_posts_from(conn: Connection, username: str, bound: int, cap: int) -> int:
    """How many visible posts mentioning `username` have an id >= `bound`, counting at most
    `cap`."""

    def inner() -> Any:
        return (
            select(literal(1))
            .select_from(_mentioning())
            .where(*_mention_conditions(), post_facets.c.post_id >= _BOUND)
            .order_by(post_facets.c.post_id.asc())
        )

    values = {"mentioned": username.lower(), "bound": bound, "rows": cap}
    return _count_from(conn, ("mentions_depth",), inner, values)


def count_posts(
    conn: Connection, where: ColumnElement[bool], lowest: int, highest: int, bucket_ms: int
) -> dict[int, int]:
    """Visible matching posts in [lowest, highest) per time bucket.

    Keys are bucket starts in epoch milliseconds (buckets aligned to multiples of `bucket_ms`
    since the Unix epoch); the bucket is computed from the id, so no date functions run.
    """
    bucket = ((posts.c.id // 4194304 + X_EPOCH_MS) // bucket_ms).label("bucket")
    stmt = (
        select(bucket, func.count())
        .where(where, visible(), posts.c.id >= lowest, posts.c.id < highest)
        .group_by(bucket)
    )
    return {int(b) * bucket_ms: int(n) for b, n in conn.execute(stmt)}

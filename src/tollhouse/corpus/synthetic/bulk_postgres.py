"""Writing a batch on PostgreSQL with `COPY … FROM STDIN`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tollhouse.corpus.synthetic.bulk_rows import (
    FACET_COLUMNS,
    POST_COLUMNS,
    USER_COLUMNS,
    USER_ID,
    BatchResult,
    PostBatch,
    id_range,
    new_posts,
    placeholders,
)


def write_postgres(conn: Any, batch: PostBatch) -> BatchResult:
    import psycopg

    try:
        with conn.cursor() as cur:
            new_users = 0
            if batch.users:
                ids = [u[USER_ID] for u in batch.users]
                cur.execute("SELECT count(*) FROM users WHERE id = ANY(%s)", (ids,))
                present = cur.fetchone()[0]
                cur.executemany(
                    f"INSERT INTO users ({', '.join(USER_COLUMNS)}) "
                    f"VALUES ({placeholders(len(USER_COLUMNS), '%s')}) ON CONFLICT DO NOTHING",
                    batch.users,
                )
                cur.execute("SELECT count(*) FROM users WHERE id = ANY(%s)", (ids,))
                new_users = cur.fetchone()[0] - present
            rows, facets = batch.posts, batch.facets
            if rows:
                low, high = id_range(rows)
                # Lock out concurrent writers of the same ids for the check-then-COPY below.
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('tollhouse.corpus.bulk'))")
                cur.execute("SELECT id FROM posts WHERE id BETWEEN %s AND %s", (low, high))
                rows, facets = new_posts({r[0] for r in cur.fetchall()}, batch)
                try:
                    with conn.transaction():  # savepoint: fall back if someone else won a race
                        _copy(cur, "posts", POST_COLUMNS, rows)
                except psycopg.errors.UniqueViolation:
                    cur.executemany(
                        f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) "
                        f"VALUES ({placeholders(len(POST_COLUMNS), '%s')}) "
                        "ON CONFLICT DO NOTHING",
                        rows,
                    )
                if facets:
                    _copy_facets(conn, cur, facets)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return BatchResult(posts=len(rows), users=new_users)


def _copy(cur: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_facets(conn: Any, cur: Any, facets: Sequence[tuple[str, str, int]]) -> None:
    # A post's facets are distinct and its id is new, so plain COPY cannot conflict; the
    # savepoint only guards against a concurrent writer of the same post.
    import psycopg

    try:
        with conn.transaction():
            _copy(cur, "post_facets", FACET_COLUMNS, facets)
    except psycopg.errors.UniqueViolation:
        cur.executemany(
            "INSERT INTO post_facets (kind, value, post_id) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            facets,
        )

"""The corpus write paths: `corpus.store` (SQLAlchemy, used by importers and ingest) and
`corpus.bulk` (raw driver, used by the generator) must write identical rows, both idempotently,
and keep the full-text index in step (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from tollhouse.corpus.models import post_facets, posts, users
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import entities_of, facet_rows, insert_posts, insert_users
from tollhouse.corpus.synthetic.bulk import write_batch
from tollhouse.corpus.synthetic.bulk_rows import (
    POST_COLUMNS,
    USER_COLUMNS,
    BatchResult,
    PostBatch,
    encoding_for,
    post_values,
    user_values,
)

WHEN = datetime(2026, 10, 1, 12, 0, 0, 123456, tzinfo=UTC)


def sample_users(offset: int = 0) -> list[UserRecord]:
    return [
        UserRecord(id=10 + offset, username=f"Ada{offset}", created_at=WHEN, verified=True),
        UserRecord(
            id=11 + offset,
            username=f"bob_{offset}",
            created_at=WHEN,
            name="Bob B",
            description="héllo",
            location="Paris",
            url="https://bob.example.com",
            followers_count=12,
            protected=True,
        ),
    ]


def sample_posts(offset: int = 0) -> list[PostRecord]:
    base = 1_900_000_000_000_000_000 + offset
    return [
        PostRecord(id=base, author_id=10, text="Plain words, nothing else!", created_at=WHEN),
        PostRecord(
            id=base + 1,
            author_id=11,
            text="@ada0 Lovely #Tea at https://t.co/x $ACME 今日は",
            created_at=WHEN,
            lang="en",
            conversation_id=base,
            in_reply_to_user_id=10,
            replied_to_id=base,
            hashtags=("Tea",),
            mentions=("ada0",),
            urls=("https://t.co/x",),
            cashtags=("ACME",),
            like_count=5,
            impression_count=1_000,
            possibly_sensitive=True,
            source="Twitter Web App",
        ),
        PostRecord(
            id=base + 2,
            author_id=10,
            text="RT @bob_0: quoted",
            created_at=WHEN,
            retweeted_id=base + 1,
            entities={"mentions": [{"start": 3, "end": 9, "username": "bob_0"}]},
            mentions=("bob_0",),
        ),
    ]


def test_store_inserts_are_idempotent(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_users(conn, sample_users())
        insert_posts(conn, sample_posts())
    with engine.connect() as conn:
        before = conn.execute(select(posts).order_by(posts.c.id)).all()
        facets_before = conn.execute(select(func.count()).select_from(post_facets)).scalar_one()
    with engine.begin() as conn:
        insert_users(conn, sample_users())
        insert_posts(conn, sample_posts())
    with engine.connect() as conn:
        assert conn.execute(select(posts).order_by(posts.c.id)).all() == before
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 2
        after = conn.execute(select(func.count()).select_from(post_facets)).scalar_one()
        assert after == facets_before == 5


def test_entities_are_derived_with_indices_into_the_text() -> None:
    post = sample_posts()[1]
    entities = entities_of(post)
    assert entities is not None
    for key, prefix, field in (
        ("hashtags", "#", "tag"),
        ("mentions", "@", "username"),
        ("cashtags", "$", "tag"),
    ):
        (item,) = entities[key]
        assert post.text[item["start"] : item["end"]].lower() == (prefix + item[field]).lower()
    (url,) = entities["urls"]
    assert post.text[url["start"] : url["end"]] == url["url"]
    assert entities_of(sample_posts()[0]) is None
    assert entities_of(sample_posts()[2]) == sample_posts()[2].entities


def test_facets_are_distinct_and_lower_case() -> None:
    post = PostRecord(
        id=1,
        author_id=1,
        text="#A #a @X",
        created_at=WHEN,
        hashtags=("A", "a"),
        mentions=("X",),
    )
    assert facet_rows(post) == [
        {"kind": "h", "value": "a", "post_id": 1},
        {"kind": "m", "value": "x", "post_id": 1},
    ]


def _raw_rows(engine: Engine, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows as stored, including SQLite's storage class of each value."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            cols = ", ".join(f"{c}, typeof({c})" for c in columns)
        else:
            cols = ", ".join(columns)
        return [tuple(r) for r in conn.execute(text(f"SELECT {cols} FROM {table} ORDER BY id"))]


def _comparable(row: tuple[Any, ...], columns: tuple[str, ...], sqlite: bool) -> list[Any]:
    out = []
    step = 2 if sqlite else 1
    for k, name in enumerate(columns):
        value = row[k * step]
        if sqlite and name in ("entities", "withheld", "tokens") and value is not None:
            value = orjson.loads(value)  # same JSON; SQLAlchemy's json.dumps adds spaces
        if name in ("id", "conversation_id", "replied_to_id", "retweeted_id", "username"):
            continue  # differ between the two copies on purpose
        if name == "username_lower":
            continue
        out.append(value)
        if sqlite:
            out.append(row[k * step + 1])
    return out


def test_bulk_rows_equal_store_rows(engine: Engine) -> None:
    encoding = encoding_for(engine)
    with engine.begin() as conn:
        insert_users(conn, sample_users(0))
        insert_posts(conn, sample_posts(0))
    batch = PostBatch(
        posts=[post_values(p, encoding) for p in sample_posts(100)],
        facets=[
            (f["kind"], f["value"], f["post_id"]) for p in sample_posts(100) for f in facet_rows(p)
        ],
        users=[user_values(u, encoding) for u in sample_users(100)],
    )
    result = write_batch(engine, batch)
    assert (result.posts, result.users) == (3, 2)

    sqlite = engine.dialect.name == "sqlite"
    post_rows = _raw_rows(engine, "posts", POST_COLUMNS)
    assert len(post_rows) == 6
    for store_row, bulk_row in zip(post_rows[:3], post_rows[3:], strict=True):
        assert _comparable(store_row, POST_COLUMNS, sqlite) == _comparable(
            bulk_row, POST_COLUMNS, sqlite
        )
    user_rows = _raw_rows(engine, "users", USER_COLUMNS)
    for store_row, bulk_row in zip(user_rows[:2], user_rows[2:], strict=True):
        assert _comparable(store_row, USER_COLUMNS, sqlite) == _comparable(
            bulk_row, USER_COLUMNS, sqlite
        )
    with engine.connect() as conn:
        facets = conn.execute(select(post_facets.c.kind, post_facets.c.value)).all()
        assert sorted(facets[: len(facets) // 2]) == sorted(facets[len(facets) // 2 :])
        stored = conn.execute(select(posts.c.created_at).limit(1)).scalar_one()
        assert stored.replace(tzinfo=UTC) == WHEN
    _assert_index_finds(engine, "lovely", 2)
    _assert_index_finds(engine, "今日は", 2)


def _assert_index_finds(engine: Engine, word: str, expected: int) -> None:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            stmt = text("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH :w")
            found = conn.execute(stmt, {"w": f'"{word}"'}).scalar_one()
        else:
            stmt = text("SELECT count(*) FROM posts WHERE tokens @> ARRAY[:w]::text[]")
            found = conn.execute(stmt, {"w": word}).scalar_one()
    assert found == expected


def test_bulk_write_skips_present_ids_and_keeps_the_index_consistent(engine: Engine) -> None:
    encoding = encoding_for(engine)
    batch = PostBatch(
        posts=[post_values(p, encoding) for p in sample_posts()],
        facets=[
            (f["kind"], f["value"], f["post_id"]) for p in sample_posts() for f in facet_rows(p)
        ],
        users=[user_values(u, encoding) for u in sample_users()],
    )
    assert write_batch(engine, batch).posts == 3
    # A replay, and a batch mixing one new post with present ones, write only what is new.
    assert write_batch(engine, batch) == BatchResult(posts=0, users=0)
    extra = sample_posts(50)[0]
    mixed = PostBatch(
        posts=[*batch.posts, post_values(extra, encoding)],
        facets=batch.facets,
        users=[],
    )
    assert write_batch(engine, mixed).posts == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == 4
        assert conn.execute(select(func.count()).select_from(post_facets)).scalar_one() == 5
    _assert_index_finds(engine, "plain", 2)
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)")
            )


def test_failed_bulk_batch_leaves_nothing_behind(sqlite_engine: Engine) -> None:
    encoding = encoding_for(sqlite_engine)
    good = post_values(sample_posts()[0], encoding)
    broken = list(post_values(sample_posts()[1], encoding))
    broken[POST_COLUMNS.index("text")] = None  # NOT NULL
    batch = PostBatch(posts=[good, tuple(broken)], facets=[], users=[])
    with pytest.raises(Exception, match="NOT NULL"):
        write_batch(sqlite_engine, batch)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == 0
        triggers = conn.execute(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'posts_fts_ai'")
        ).scalar_one()
        assert triggers == 1
    # Writes through the store still reach the index (the trigger is really back).
    with sqlite_engine.begin() as conn:
        insert_posts(conn, sample_posts()[:1])
    _assert_index_finds(sqlite_engine, "plain", 1)


def test_bulk_writes_checkpoint_in_64_mb_steps_and_restore_the_setting(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """During a bulk batch the WAL is checkpointed every 64 MB whatever the page size (16 KB
    for a new database: 4 096 pages, not the 16 384 that let it grow to 256 MB), and the
    connection goes back to the pool with its own setting (SQLite's 1 000 pages)."""
    from tollhouse.corpus.synthetic import bulk_sqlite, bulk_staged
    from tollhouse.corpus.synthetic.generator import generate_corpus

    seen: list[tuple[int, int]] = []

    def spying(real: Any) -> Any:
        def spy(conn: Any, *args: Any) -> Any:
            (pages,) = conn.execute("PRAGMA wal_autocheckpoint").fetchone()
            (size,) = conn.execute("PRAGMA main.page_size").fetchone()
            seen.append((pages, size))
            return real(conn, *args)

        return spy

    monkeypatch.setattr(
        bulk_sqlite, "_write_sqlite_transaction", spying(bulk_sqlite._write_sqlite_transaction)
    )
    monkeypatch.setattr(
        bulk_staged, "_write_staged_transaction", spying(bulk_staged._write_staged_transaction)
    )
    encoding = encoding_for(sqlite_engine)
    write_batch(sqlite_engine, PostBatch([post_values(sample_posts()[0], encoding)], [], []))
    generate_corpus(sqlite_engine, 300, 30, seed=2, progress=False)  # staged batches
    assert len(seen) > 2
    assert set(seen) == {((64 << 20) // 16_384, 16_384)}
    raw = sqlite_engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
    finally:
        raw.close()


def test_staged_batches_full_or_short_write_what_write_batch_writes(tmp_path: Any) -> None:
    """`write_staged` takes staged posts with every column or without the constant ones
    (`STAGED_POST_COLUMNS`, supplied from `POST_CONSTANTS`): same rows, same storage classes."""
    from tollhouse.corpus.synthetic.bulk_rows import STAGED_POST_COLUMNS, RowEncoding
    from tollhouse.corpus.synthetic.bulk_staged import stage_batch, write_staged
    from tollhouse.db import create_engine
    from tollhouse.migrations.runner import upgrade

    encoding = RowEncoding(postgres=False)
    rows = [post_values(p, encoding) for p in sample_posts()]
    user_rows = [user_values(u, encoding) for u in sample_users()]
    facets = [(f["kind"], f["value"], f["post_id"]) for p in sample_posts() for f in facet_rows(p)]
    width = len(STAGED_POST_COLUMNS)
    dumps = []
    for name, batch in (
        ("plain", None),
        ("full", PostBatch(rows, facets, user_rows)),
        ("short", PostBatch([r[:width] for r in rows], facets, user_rows)),
    ):
        engine = create_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        if batch is None:
            write_batch(engine, PostBatch(rows, facets, user_rows))
        else:
            assert write_staged(engine, stage_batch(batch)) == BatchResult(
                len(rows), len(user_rows)
            )
        with engine.connect() as conn:
            typed = ", ".join(f"{c}, typeof({c})" for c in POST_COLUMNS)
            dumps.append(conn.execute(text(f"SELECT {typed} FROM posts ORDER BY id")).all())
        engine.dispose()
    assert dumps[0] == dumps[1] == dumps[2]
    assert len(dumps[0]) == len(rows)


def test_bulk_columns_cover_the_tables() -> None:
    assert set(POST_COLUMNS) == {c.name for c in posts.columns}
    assert set(USER_COLUMNS) == {c.name for c in users.columns}

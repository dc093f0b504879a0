"""The synthetic corpus: determinism, shape, ids, threads, entities, and the search index after
a bulk load, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tollhouse.cli.main import app
from tollhouse.corpus.ids import X_EPOCH_MS, created_at_of, snowflake
from tollhouse.corpus.models import post_facets, posts, users
from tollhouse.corpus.records import PostRecord
from tollhouse.corpus.store import facet_rows, post_row
from tollhouse.corpus.synthetic.bulk_rows import POST_COLUMNS, RowEncoding
from tollhouse.corpus.synthetic.generator import CorpusSpec, generate_corpus, iter_batches
from tollhouse.corpus.text import search_text, tokenize
from tollhouse.db import create_engine
from tollhouse.errors import InvalidInput
from tollhouse.migrations.runner import upgrade

END = datetime(2026, 11, 1, tzinfo=UTC)
COL = {name: i for i, name in enumerate(POST_COLUMNS)}


def corpus_rows(
    posts_n: int, users_n: int, seed: int, postgres: bool = False
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[str, str, int]]]:
    spec = CorpusSpec.create(posts_n, users_n, seed, end=END)
    post_rows: list[tuple[Any, ...]] = []
    user_rows: list[tuple[Any, ...]] = []
    facets: list[tuple[str, str, int]] = []
    for batch in iter_batches(spec, RowEncoding(postgres=postgres), batch_size=4_000):
        post_rows += batch.posts
        user_rows += batch.users
        facets += batch.facets
    return post_rows, user_rows, facets


@pytest.fixture(scope="module")
def sample() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[str, str, int]]]:
    """A 30 k-post corpus generated in memory (no database), for shape checks."""
    return corpus_rows(30_000, 3_000, seed=7)


def test_same_seed_and_arguments_give_identical_rows() -> None:
    first = corpus_rows(3_000, 300, seed=11)
    assert corpus_rows(3_000, 300, seed=11) == first
    other_posts, _, _ = corpus_rows(3_000, 300, seed=12)
    assert [r[COL["text"]] for r in other_posts] != [r[COL["text"]] for r in first[0]]


def test_ids_are_unique_time_ordered_snowflakes_inside_the_window(sample: Any) -> None:
    post_rows, user_rows, _ = sample
    ids = [r[0] for r in post_rows]
    assert len(set(ids)) == len(ids) == 30_000
    assert ids == sorted(ids)
    start_ms = int((END - timedelta(days=30)).timestamp() * 1000)
    for row in post_rows[::997]:
        created = datetime.fromisoformat(row[COL["created_at"]]).replace(tzinfo=UTC)
        assert END - timedelta(days=30) <= created < END
        assert created_at_of(row[0]) == created
        assert snowflake(created, worker=7, sequence=row[0] & 0xFFF) == row[0]
    assert min(r[0] >> 22 for r in post_rows) + X_EPOCH_MS >= start_ms
    user_ids = [u[0] for u in user_rows]
    assert len(set(user_ids)) == len(user_ids) == 3_000
    assert len({u[2] for u in user_rows}) == 3_000  # usernames unique, case-insensitively


def test_shape_languages_zipf_cycles_and_flags(sample: Any) -> None:
    post_rows, user_rows, _ = sample
    langs = Counter(r[COL["lang"]] for r in post_rows)
    assert len(langs) >= 6
    assert langs.most_common(1)[0][0] == "en"

    per_author = Counter(r[COL["author_id"]] for r in post_rows)
    top = per_author.most_common(1)[0][1]
    assert top >= 20 * statistics.median(per_author.values())

    # English writers live around UTC-5: their evening (18-22 h local) is far busier than
    # their night (2-6 h local).
    local_hours = Counter(
        (datetime.fromisoformat(r[COL["created_at"]]).hour - 5) % 24
        for r in post_rows
        if r[COL["lang"]] == "en"
    )
    evening = sum(local_hours[h] for h in range(18, 23))
    night = sum(local_hours[h] for h in range(2, 7))
    assert evening > 3 * night

    assert any(u[9] for u in user_rows) and any(u[10] for u in user_rows)  # verified, protected
    likes = [r[COL["like_count"]] for r in post_rows]
    assert max(likes) > 20 * statistics.mean(likes)
    kinds = Counter(
        "reply"
        if r[COL["replied_to_id"]]
        else "retweet"
        if r[COL["retweeted_id"]]
        else "quote"
        if r[COL["quoted_id"]]
        else "original"
        for r in post_rows
    )
    assert all(kinds[k] > 1_000 for k in ("reply", "retweet", "quote", "original"))
    for flag in ("has_links", "has_mentions", "has_hashtags"):
        assert 0.05 < sum(r[COL[flag]] for r in post_rows) / len(post_rows) < 0.6


def test_threads_reference_earlier_existing_posts(sample: Any) -> None:
    post_rows, user_rows, _ = sample
    by_id = {r[0]: r for r in post_rows}
    username = {u[0]: u[1] for u in user_rows}
    for row in post_rows:
        if row[COL["replied_to_id"]]:
            parent = by_id[row[COL["replied_to_id"]]]
            assert parent[0] < row[0]
            assert row[COL["in_reply_to_user_id"]] == parent[COL["author_id"]]
            assert row[COL["conversation_id"]] == parent[COL["conversation_id"]]
            assert row[COL["text"]].startswith(f"@{username[parent[COL['author_id']]]} ")
            assert by_id[row[COL["conversation_id"]]][COL["replied_to_id"]] is None  # the root
        elif row[COL["retweeted_id"]]:
            original = by_id[row[COL["retweeted_id"]]]
            assert original[0] < row[0] and original[COL["retweeted_id"]] is None
            author = username[original[COL["author_id"]]]
            assert row[COL["text"]] == f"RT @{author}: {original[COL['text']]}"
            assert row[COL["conversation_id"]] == row[0]
        elif row[COL["quoted_id"]]:
            assert by_id[row[COL["quoted_id"]]][0] < row[0]
            assert row[COL["conversation_id"]] == row[0]
        else:
            assert row[COL["conversation_id"]] == row[0]
            assert row[COL["in_reply_to_user_id"]] is None


def test_entities_point_into_the_text_and_match_the_store(sample: Any) -> None:
    post_rows, user_rows, facets = sample
    usernames = {u[1] for u in user_rows}
    facets_by_post: dict[int, set[tuple[str, str]]] = {}
    for kind, value, post_id in facets:
        facets_by_post.setdefault(post_id, set()).add((kind, value))
    for row in post_rows[:5_000]:
        body = row[COL["text"]]
        record = _record(row)
        entities = record.entities or {}
        for m in entities.get("mentions", []):
            assert body[m["start"] : m["end"]] == "@" + m["username"]
            assert m["username"] in usernames
        for h in entities.get("hashtags", []):
            assert body[h["start"] : h["end"]] == "#" + h["tag"]
        for c in entities.get("cashtags", []):
            assert body[c["start"] : c["end"]] == "$" + c["tag"]
        for u in entities.get("urls", []):
            assert body[u["start"] : u["end"]] == u["url"]
        # The generator's fast path writes what the store would write for the same record.
        expected = post_row(record, postgres=False)
        for name in ("search_text", "has_links", "has_mentions", "has_hashtags"):
            assert row[COL[name]] == expected[name], name
        assert facets_by_post.get(row[0], set()) == {
            (f["kind"], f["value"]) for f in facet_rows(record)
        }


def test_search_text_is_the_tokenised_text_in_every_language(sample: Any) -> None:
    """The generator composes search text from pre-tokenised pieces (corpus.token_pieces)
    instead of tokenising each post: it must equal tokenising the post's text."""
    post_rows, _, _ = sample
    for row in post_rows:
        assert row[COL["search_text"]] == search_text(tokenize(row[COL["text"]])), row[0]
    assert {r[COL["lang"]] for r in post_rows} >= {"en", "ja", "hi", "ar"}
    pg_rows, _, _ = corpus_rows(4_000, 400, seed=7, postgres=True)
    for row in pg_rows:  # PostgreSQL also stores the tokens as an array
        assert row[COL["tokens"]] == tokenize(row[COL["text"]])
        assert row[COL["search_text"]] == search_text(row[COL["tokens"]])


# SHA-256 of the rows `corpus_rows(20_000, 2_000, seed=5)` gives (users, posts, facets in
# order, each row's repr), with SQLite's and PostgreSQL's encodings. Same seed and arguments
# must give the same corpus across versions, not only within one run: demos, benchmarks and
# bug reports name a corpus by its arguments, and speed work on the generator must not change
# it by accident. A change meant to alter the corpus updates these and says why.
CORPUS_DIGESTS = {
    False: "01e8572201bef59ec58f45036a85372b4bef7b544bfa966592239c08882f7d10",
    True: "ee3e734e7e794ffb0dc739dbb00a198f5276042f953b2cbcc77085aeaff01dbd",
}


@pytest.mark.parametrize("postgres", [False, True], ids=["sqlite", "postgresql"])
def test_a_seed_gives_the_same_corpus_as_before(postgres: bool) -> None:
    post_rows, user_rows, facets = corpus_rows(20_000, 2_000, seed=5, postgres=postgres)
    digest = hashlib.sha256()
    for rows in (user_rows, post_rows, facets):
        for row in rows:
            digest.update(repr(row).encode())
    assert digest.hexdigest() == CORPUS_DIGESTS[postgres]


def test_short_rows_are_the_full_rows_without_the_constant_columns() -> None:
    """The generator's rows for staging leave out the columns of `POST_CONSTANTS`; the full
    rows hold exactly those values there (what `write_staged` supplies)."""
    from tollhouse.corpus.synthetic.bulk_rows import POST_CONSTANTS, STAGED_POST_COLUMNS
    from tollhouse.corpus.synthetic.generator import post_batches
    from tollhouse.corpus.synthetic.posts import PostMaker
    from tollhouse.corpus.synthetic.users import build_population

    spec = CorpusSpec.create(6_000, 600, 9, end=END)
    encoding = RowEncoding(postgres=False)
    pop = build_population(spec, encoding)

    def rows(short: bool) -> list[tuple[Any, ...]]:
        maker = PostMaker(spec, pop, encoding)
        return [
            r for b in post_batches(spec, maker, 1_000, ramp=True, short=short) for r in b.posts
        ]

    full, short = rows(False), rows(True)
    width = len(STAGED_POST_COLUMNS)
    assert [r[:width] for r in full] == short
    assert {r[width:] for r in full} == {tuple(POST_CONSTANTS.values())}
    assert sum(r[COL["retweeted_id"]] is not None for r in short) > 0  # retweets among them
    with pytest.raises(ValueError, match="SQLite"):
        maker = PostMaker(spec, pop, RowEncoding(postgres=True))
        next(post_batches(spec, maker, 1_000, short=True))


def test_clock_strings_name_every_second_of_the_day() -> None:
    from tollhouse.corpus.synthetic.bulk_rows import clock_strings

    expected = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
    assert clock_strings() == expected


def _record(row: tuple[Any, ...]) -> PostRecord:
    entities = orjson.loads(row[COL["entities"]]) if row[COL["entities"]] != "null" else None
    ents = entities or {}
    return PostRecord(
        id=row[0],
        author_id=row[COL["author_id"]],
        text=row[COL["text"]],
        created_at=datetime.fromisoformat(row[COL["created_at"]]).replace(tzinfo=UTC),
        lang=row[COL["lang"]],
        hashtags=tuple(h["tag"] for h in ents.get("hashtags", [])),
        cashtags=tuple(c["tag"] for c in ents.get("cashtags", [])),
        mentions=tuple(m["username"] for m in ents.get("mentions", [])),
        urls=tuple(u["expanded_url"] for u in ents.get("urls", [])),
        entities=entities,
    )


def test_spec_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidInput, match="before"):
        CorpusSpec.create(10, 10, start=END, end=END)
    with pytest.raises(InvalidInput, match="authors"):
        CorpusSpec.create(10, 0)
    with pytest.raises(InvalidInput, match="2010"):
        CorpusSpec.create(10, 10, start=datetime(2009, 1, 1, tzinfo=UTC), end=END)
    spec = CorpusSpec.create(10, 10)
    assert spec.end - spec.start == timedelta(days=30)
    assert abs((spec.end - datetime.now(UTC)).total_seconds()) < 60


# --- into a database (SQLite and PostgreSQL) -------------------------------------------------


def test_generate_into_database_is_deterministic_and_idempotent(engine: Engine) -> None:
    stats = generate_corpus(engine, 4_000, 400, seed=5, end=END, progress=False, batch_size=1_500)
    assert (stats.posts_written, stats.users_written) == (4_000, 400)
    expected, expected_users, expected_facets = corpus_rows(
        4_000, 400, seed=5, postgres=engine.dialect.name == "postgresql"
    )
    with engine.connect() as conn:
        stored = conn.execute(select(posts.c.id, posts.c.text).order_by(posts.c.id)).all()
        assert [tuple(r) for r in stored] == [(r[0], r[COL["text"]]) for r in expected]
        n_facets = conn.execute(select(func.count()).select_from(post_facets)).scalar_one()
        assert n_facets == len(set(expected_facets))
        # Every author and every mentioned user exists.
        missing_authors = conn.execute(
            select(func.count())
            .select_from(posts)
            .where(posts.c.author_id.not_in(select(users.c.id)))
        ).scalar_one()
        assert missing_authors == 0
        missing_mentions = conn.execute(
            select(func.count())
            .select_from(post_facets)
            .where(post_facets.c.kind == "m")
            .where(post_facets.c.value.not_in(select(users.c.username_lower)))
        ).scalar_one()
        assert missing_mentions == 0
        snapshot = conn.execute(select(posts).order_by(posts.c.id)).all()

    again = generate_corpus(engine, 4_000, 400, seed=5, end=END, progress=False)
    assert (again.posts_written, again.users_written) == (0, 0)
    with engine.connect() as conn:
        assert conn.execute(select(posts).order_by(posts.c.id)).all() == snapshot
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == len(
            expected_users
        )


def test_a_second_corpus_with_another_seed_keeps_usernames_unique(engine: Engine) -> None:
    generate_corpus(engine, 1_000, 600, seed=1, end=END, progress=False)
    generate_corpus(engine, 1_000, 600, seed=2, end=END, progress=False)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar_one() == 1_200
        assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == 2_000
        orphans = conn.execute(
            select(func.count())
            .select_from(posts)
            .where(posts.c.author_id.not_in(select(users.c.id)))
        ).scalar_one()
        assert orphans == 0


def test_search_index_agrees_with_search_text_after_bulk_load(engine: Engine) -> None:
    generate_corpus(engine, 3_000, 300, seed=9, end=END, progress=False)
    words = ["the", "de", "today", "fútbol", "今日", "amor", "news", "https"]
    with engine.connect() as conn:
        for word in words:
            by_like = set(
                conn.execute(
                    select(posts.c.id).where(posts.c.search_text.like(f"% {word} %"))
                ).scalars()
            )
            if engine.dialect.name == "postgresql":
                stmt = text("SELECT id FROM posts WHERE tokens @> ARRAY[:w]::text[]")
            else:
                stmt = text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :w")
                word = '"' + word + '"'
            by_index = set(conn.execute(stmt, {"w": word}).scalars())
            assert by_index == by_like, word
        assert (
            sum(
                1
                for w in words
                if conn.execute(
                    select(func.count()).where(posts.c.search_text.like(f"% {w} %"))
                ).scalar_one()
            )
            >= 6
        )
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # the FTS trigger is back for everyone else's writes
            trigger = conn.execute(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'posts_fts_ai'")
            ).scalar_one()
            assert trigger == 1
            check = "INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)"
            conn.execute(text(check))


# --- the command ---------------------------------------------------------------------------


def migrated(url: str) -> str:
    """`url` after `tollhouse db upgrade`: the corpus commands do not migrate by themselves."""
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_cli_generate(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    args = ["corpus", "generate", "--posts", "500", "--users", "50", "--seed", "4"]
    window = ["--start", "2026-10-01T00:00:00", "--end", "2026-10-08T00:00:00+00:00"]
    result = runner.invoke(app, [*args, *window, "--database-url", url, "-q"])
    assert result.exit_code == 0, result.output
    assert "500 new" in result.output.replace(",", "")
    again = runner.invoke(app, [*args, *window, "--database-url", url, "-q"])
    assert again.exit_code == 0 and "(0 new)" in again.output

    bad = runner.invoke(app, [*args, "--start", "yesterday", "--database-url", url])
    assert bad.exit_code != 0
    assert "--start" in bad.output
    empty = runner.invoke(app, [*args, *window[:2], "--end", "2026-09-01", "--database-url", url])
    assert empty.exit_code != 0
    assert "before" in empty.output


def test_console_script_generates_and_closes_the_database(tmp_path: Path) -> None:
    # The installed `tollhouse` command goes through `cli.main.main`, which keeps the garbage
    # collector off the batch group's imports and off everything at exit: the corpus must be
    # written in full and the database closed (WAL checkpointed into the file and removed).
    path = tmp_path / "script.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    window = ["--start", "2026-10-01T00:00:00", "--end", "2026-10-08T00:00:00+00:00"]
    sizes = ["--posts", "600", "--users", "60", "--seed", "4"]
    where = ["--database-url", migrated(f"sqlite:///{path}"), "-q"]
    done = subprocess.run(
        [sys.executable, "-m", "tollhouse.cli.main", "corpus", "generate", *sizes, *window, *where],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "600 new" in done.stdout.replace(",", "")
    assert not Path(f"{path}-wal").exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (600,)
        assert conn.execute("SELECT count(*) FROM posts_fts").fetchone() == (600,)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (60,)


def test_dense_windows_and_tiny_populations_still_give_unique_ordered_ids() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    spec = CorpusSpec.create(3_000, 1, seed=3, start=start, end=start + timedelta(milliseconds=5))
    rows = [r for b in iter_batches(spec, RowEncoding(postgres=False)) for r in b.posts]
    ids = [r[0] for r in rows]
    assert ids == sorted(set(ids)) and len(ids) == 3_000
    assert len({r[COL["author_id"]] for r in rows}) == 1
    assert all(created_at_of(i) < start + timedelta(milliseconds=5) for i in ids)
    with pytest.raises(InvalidInput, match="too short"):
        CorpusSpec.create(10_000, 1, start=start, end=start + timedelta(milliseconds=5))


@pytest.mark.parametrize("self_staged", [0.0, 0.5, 1.0])
def test_staged_generation_writes_the_rows_a_plain_batch_write_writes(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, self_staged: float
) -> None:
    """generate_corpus on SQLite (generating and staging in child processes, `INSERT … SELECT`
    from the staged copy) stores row for row what write_batch stores for the same batches,
    users and facets included, whichever share of the batches the generating process stages
    itself. (PostgreSQL takes rows straight from the generating child; the determinism test
    above covers it.)"""
    from tollhouse.corpus.synthetic import generator
    from tollhouse.corpus.synthetic.bulk import write_batch
    from tollhouse.db import create_engine
    from tollhouse.migrations.runner import upgrade

    monkeypatch.setattr(generator, "_self_staged_share", lambda: self_staged)  # forked along
    engine = sqlite_engine
    generate_corpus(engine, 3_000, 300, seed=4, end=END, progress=False, batch_size=700)
    reference = create_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    upgrade(reference)
    spec = CorpusSpec.create(3_000, 300, 4, end=END)
    for batch in iter_batches(spec, RowEncoding(postgres=False), batch_size=1_000):
        write_batch(reference, batch)
    for table, key in ((posts, posts.c.id), (users, users.c.id), (post_facets, None)):
        order = [key] if key is not None else list(post_facets.c)
        with engine.connect() as conn, reference.connect() as ref:
            ours = conn.execute(select(table).order_by(*order)).all()
            theirs = ref.execute(select(table).order_by(*order)).all()
        assert ours == theirs, table.name
        assert len(ours) > 0
    with engine.connect() as conn:  # raw storage classes too (not only as SQLAlchemy reads them)
        raw = "SELECT typeof(created_at), typeof(entities), typeof(possibly_sensitive) FROM posts"
        with reference.connect() as ref:
            assert set(conn.execute(text(raw)).all()) == set(ref.execute(text(raw)).all())
    reference.dispose()


def test_upgrade_is_deferred_on_a_new_database_and_first_on_an_existing_one(
    tmp_path: Path,
) -> None:
    """`upgrade` migrates a new database while generation starts (no username can be taken
    there), and an existing one before its usernames are checked: a second corpus with
    another seed renames its users whose names the first one took."""
    from tollhouse.corpus.synthetic.users import build_population
    from tollhouse.db import create_engine
    from tollhouse.migrations.runner import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'new.db'}")
    calls: list[bool] = []

    def migrating() -> None:
        with engine.connect() as conn:  # whether the database had tables when called
            tables = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar_one()
            calls.append(tables > 0)
        upgrade(engine)

    def generate(seed: int) -> tuple[int, int]:
        stats = generate_corpus(
            engine, 3_000, 300, seed=seed, end=END, progress=False, upgrade=migrating
        )
        return stats.posts_written, stats.users_written

    try:
        assert generate(3) == (3_000, 300)
        assert calls == [False]
        with engine.connect() as conn:
            taken = {name.lower() for name in conn.execute(select(users.c.username)).scalars()}
        assert generate(4) == (3_000, 300)
        assert calls == [False, True]
        drawn = build_population(CorpusSpec.create(3_000, 300, 4, end=END), RowEncoding(False))
        clashing = [i for i, name in enumerate(drawn.usernames) if name.lower() in taken]
        assert clashing  # seeds 3 and 4 draw some of the same names for 300 users
        with engine.connect() as conn:
            stored: dict[int, str] = {
                row.id: row.username for row in conn.execute(select(users.c.id, users.c.username))
            }
            assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == 6_000
            conn.execute(
                text("INSERT INTO posts_fts(posts_fts, rank) VALUES ('integrity-check', 1)")
            )
        assert len(stored) == 600
        for i in clashing:
            assert stored[drawn.ids[i]] != drawn.usernames[i]
    finally:
        engine.dispose()


def test_a_failure_in_the_generating_process_is_raised_to_the_caller(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tollhouse.corpus.synthetic import posts as synthetic_posts

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("generator broke")

    monkeypatch.setattr(synthetic_posts.PostMaker, "batches", broken)  # inherited by the fork
    with pytest.raises(RuntimeError, match="generator broke"):
        generate_corpus(sqlite_engine, 500, 50, seed=1, end=END, progress=False)
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == 0

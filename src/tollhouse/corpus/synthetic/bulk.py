"""Bulk writing of posts, facets and users with the raw database driver.

`corpus.store` is the general write path (SQLAlchemy Core, FTS kept by triggers). For millions
of generated rows it is too slow, so the generator writes pre-encoded tuples here instead.
Measured on the 2-core build machine (SQLite 3.40; see bench/generate.py and bench/RESULTS.md):

* 200 k simple rows, quiet machine: raw `sqlite3.executemany` through the FTS trigger 20 k
  rows/s; with the trigger dropped inside the batch's transaction and the FTS rows inserted by
  a second statement 65 k/s; trigger dropped for the whole load and the index rebuilt at the end
  71 k/s, but a rebuild re-reads every post already in the table, so it loses on any non-empty
  corpus. We take the per-batch path.
* Generated rows, CPU per post: posts 8.6 µs, FTS 4.2 µs, facets 3.2 µs, commit 3.9 µs (2.1 µs
  with the larger WAL checkpoints below), about 20 µs in all; plain SQLAlchemy executemany of
  the same rows costs ~110 µs.
* Multi-row VALUES statements rather than executemany, so that writing overlaps generation
  (see `_insert_many_rows`). Passing a batch as one JSON parameter (`json_each`) would overlap
  too, but SQLite re-parses the row for every column: three times the CPU.
* PostgreSQL: `COPY … FROM STDIN` (psycopg) instead of INSERT.
* The generator no longer binds rows on the writing connection at all: a child process stages
  each batch in an in-memory SQLite database (`stage_batch`) and the writer copies it with
  `INSERT … SELECT` (`write_staged`): 10 µs of writer CPU per post instead of ≈ 20. The
  multi-row path below remains for `write_batch` (the threaded fallback, other callers).
  Staging binds booleans and NULLs through adapters (`bind_flags_and_nulls_fast`).

The rows written are exactly the rows `corpus.store` would write for the same records (the tests
compare them), including its encoding quirks: JSON `null` for absent JSON values, timestamps as
SQLAlchemy's SQLite DateTime text.

Writes stay idempotent: ids already present are skipped (checked under the write lock), so a
batch replayed after a crash or a second run with the same seed changes nothing.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from tollhouse.corpus.synthetic.bulk_postgres import write_postgres
from tollhouse.corpus.synthetic.bulk_rows import BatchResult, PostBatch
from tollhouse.corpus.synthetic.bulk_sqlite import write_sqlite


def write_batch(engine: Engine, batch: PostBatch) -> BatchResult:
    """Write one batch in one transaction, skipping posts and users already present."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if engine.dialect.name == "postgresql":
            return write_postgres(driver, batch)
        return write_sqlite(driver, batch)
    finally:
        raw.close()

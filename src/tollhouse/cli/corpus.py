"""`tollhouse corpus generate|import`: fill the corpus.

Like every command but `tollhouse db upgrade`, they need a migrated database and do not migrate
one themselves: `db upgrade` is the one way a database becomes usable (it also loads the shipped
price book and agreement), and a mistyped `--database-url` must not quietly become a new one.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from tollhouse.cli.output import console, err_console, fail, open_engine
from tollhouse.cli.schema_state import require_migrated
from tollhouse.corpus.synthetic.generator import DEFAULT_BATCH, generate_corpus
from tollhouse.errors import TollhouseError

app = typer.Typer(
    help="Posts and users: generate a synthetic corpus or import X v2 JSON.",
    no_args_is_help=True,
)

DATABASE_URL = typer.Option(None, "--database-url", help="Overrides TOLLHOUSE_DATABASE_URL.")
# Errors listed individually before the summary says "and N more".
_SHOWN_ERRORS = 50


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not an ISO 8601 date/time: {value!r}")


@app.command()
def generate(
    posts: int = typer.Option(100_000, "--posts", min=0, help="Posts to generate."),
    users: int = typer.Option(10_000, "--users", min=0, help="Users (authors) to generate."),
    seed: int = typer.Option(0, "--seed", help="Same seed and arguments, same corpus."),
    start: str | None = typer.Option(None, "--start", help="Window start (ISO, UTC if naive)."),
    end: str | None = typer.Option(None, "--end", help="Window end, exclusive (default: now)."),
    batch_size: int = typer.Option(
        DEFAULT_BATCH, "--batch-size", min=1, help="Posts per transaction."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Generate a deterministic synthetic corpus (default window: the last 30 days)."""
    engine = open_engine(database_url)
    try:
        require_migrated(engine)
        stats = generate_corpus(
            engine,
            posts=posts,
            users=users,
            seed=seed,
            start=_moment(start, "--start"),
            end=_moment(end, "--end"),
            progress=not quiet,
            batch_size=batch_size,
        )
    except TollhouseError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    spec = stats.spec
    console.print(
        f"generated {spec.posts:,} posts ({stats.posts_written:,} new) by {spec.users:,} users "
        f"({stats.users_written:,} new), [{spec.start.isoformat()}, {spec.end.isoformat()}), "
        f"seed {spec.seed}, in {stats.seconds:.1f} s ({stats.posts_per_second:,.0f} posts/s)",
        soft_wrap=True,
    )


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="X API v2 JSON or JSONL (e.g. twarc2 output)."),
    database_url: str | None = DATABASE_URL,
) -> None:
    """Import X API v2 posts and users; idempotent, bad lines are reported and skipped."""
    if not file.is_file():
        fail(f"no such file: {file}")
    # Imported here, not with the group: `corpus generate` starts without them (≈ 20 ms).
    from rich.markup import escape

    from tollhouse.corpus.importer import import_file

    engine = open_engine(database_url)
    try:
        require_migrated(engine)
        summary = import_file(engine, file)
    finally:
        engine.dispose()
    for error in summary.errors[:_SHOWN_ERRORS]:
        err_console.print(
            f"[yellow]{summary.unit} {error.number}:[/yellow] {escape(error.reason)}",
            soft_wrap=True,
            markup=True,
            highlight=False,
        )
    if summary.skipped > _SHOWN_ERRORS:
        err_console.print(f"… and {summary.skipped - _SHOWN_ERRORS} more skipped")
    console.print(
        f"{summary.units:,} {summary.unit}s read: {summary.posts_imported:,} posts and "
        f"{summary.users_imported:,} users imported (of {summary.posts_read:,} posts and "
        f"{summary.users_read:,} users read), {summary.skipped:,} skipped",
        soft_wrap=True,
    )
    if not summary.readable:
        fail("nothing could be read from the file")

"""`tollhouse corpus replay`: re-publish stored posts as live traffic on the stream bus."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import typer

from tollhouse.cli.output import console, fail, open_engine, settings
from tollhouse.streams.bus import bus_from_url
from tollhouse.streams.replay import ReplayResult, replay


def register(corpus: typer.Typer) -> None:
    """Add `replay` to the `corpus` command group."""
    corpus.command("replay")(replay_command)


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not an ISO 8601 date/time: {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replay_command(
    rate: float = typer.Option(..., "--rate", min=0.001, help="Posts per second."),
    start: str | None = typer.Option(None, "--from", help="First creation time (ISO 8601)."),
    end: str | None = typer.Option(None, "--to", help="End creation time, exclusive."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Stop after this many posts."),
    database_url: str | None = typer.Option(None, "--database-url"),
) -> None:
    """Publish stored posts created in [--from, --to) to every connected stream, in id order,
    at --rate posts/s. Needs the servers' shared bus (TOLLHOUSE_BUS_URL=redis://…)."""
    bus_url = settings().bus_url
    if bus_url.startswith("memory://"):
        fail(
            "replay publishes on the stream bus, and a memory:// bus lives inside one server "
            "process: set TOLLHOUSE_BUS_URL to the redis://… URL the servers use"
        )
    lo, hi = _moment(start, "--from"), _moment(end, "--to")
    if lo is not None and hi is not None and lo >= hi:
        fail("--from must be before --to")
    engine = open_engine(database_url)

    async def run() -> ReplayResult:
        bus, _slots = bus_from_url(bus_url)
        try:
            return await replay(engine, bus, rate, lo, hi, limit)
        finally:
            await bus.close()

    try:
        result = asyncio.run(run())
    finally:
        engine.dispose()
    achieved = result.published / result.seconds if result.seconds > 0 else 0.0
    console.print(
        f"published {result.published} posts in {result.seconds:.1f} s ({achieved:.0f}/s)"
    )

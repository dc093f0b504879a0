"""`tollhouse serve`: the API under an ASGI server, one worker process per core it is given."""

from __future__ import annotations

import os
from enum import StrEnum

import typer


class AsgiServer(StrEnum):
    uvicorn = "uvicorn"
    granian = "granian"


def register(app: typer.Typer) -> None:
    app.command()(serve)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. under taskset or a cgroup)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(
        1, help="Worker processes; 0 = one per core this process may use (its CPU affinity)."
    ),
    server: AsgiServer = typer.Option(AsgiServer.uvicorn, help="ASGI server."),
) -> None:
    """Serve the API (uvicorn with uvloop + httptools, or granian)."""
    _check_before_serving()
    count = workers if workers > 0 else available_cores()
    if server is AsgiServer.granian:
        _granian(host, port, count)
        return
    import uvicorn

    uvicorn.run(
        "tollhouse.api.asgi:app",
        host=host,
        port=port,
        workers=count,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        # Open streams never finish on their own: give them 5 s to be told, then stop.
        timeout_graceful_shutdown=5,
    )


def _check_before_serving() -> None:
    """Refuse in one line what the workers would refuse with a traceback each: bad settings
    (a weak admin token in production) and a database that has not been migrated."""
    from tollhouse.cli.output import open_engine, open_usage_engine, settings
    from tollhouse.cli.schema_state import require_migrated

    settings()
    engine = open_engine()
    usage = open_usage_engine(engine)
    try:
        require_migrated(engine, usage)
    finally:
        if usage is not engine:
            usage.dispose()
        engine.dispose()


def _granian(host: str, port: int, workers: int) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    Granian(
        "tollhouse.api.asgi:app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        log_access=False,
    ).serve()

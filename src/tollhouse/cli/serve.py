"""`tollhouse serve` and `tollhouse demo`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="Worker processes (one per core you give it)."),
) -> None:
    """Serve the API with uvicorn (uvloop + httptools)."""
    import uvicorn

    uvicorn.run(
        "tollhouse.api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )

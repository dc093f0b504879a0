"""`tollhouse keys …`: app bearer tokens (shown once, stored hashed)."""

from __future__ import annotations

from datetime import timedelta

import typer

from tollhouse.access.service import KeyCreated
from tollhouse.cli.access_service import JSON_OPTION, actor, run, service
from tollhouse.cli.output import emit, say, table

app = typer.Typer(help="App keys (bearer tokens).", no_args_is_help=True)


def _show_token(created: KeyCreated) -> None:
    say(f"key {created.id} for app {created.app}")
    if created.replaces:
        say(f"replaces {created.replaces}, which works until {created.old_key_expires_at}")
    say("token (shown once; store it now, it cannot be shown again):")
    # Printed bare (no markup/wrapping) so it can be copied or piped.
    say(created.token)


@app.command()
def create(app_name: str = typer.Option(..., "--app"), as_json: bool = JSON_OPTION) -> None:
    """Create a key for an app and print its token once."""
    created = run(lambda: service().create_key(app_name, actor()), as_json)
    emit({"id": created.id, "token": created.token}, as_json, lambda: _show_token(created))


@app.command()
def revoke(key_id: str, as_json: bool = JSON_OPTION) -> None:
    """Revoke a key: it stops working everywhere within a second."""
    view = run(lambda: service().revoke_key(key_id, actor()), as_json)
    emit(view.to_dict(), as_json, lambda: say(f"key {view.id} revoked"))


@app.command()
def rotate(
    key_id: str,
    grace_hours: float = typer.Option(24.0, "--grace-hours", min=0, max=720),
    as_json: bool = JSON_OPTION,
) -> None:
    """Mint a replacement key; the old one keeps working for the grace period."""
    grace = timedelta(hours=grace_hours)
    created = run(lambda: service().rotate_key(key_id, actor(), grace), as_json)
    emit(created.to_dict(), as_json, lambda: _show_token(created))


@app.command("list")
def list_(app_name: str = typer.Option(..., "--app"), as_json: bool = JSON_OPTION) -> None:
    """Keys of an app (ids and status; tokens are never shown again)."""
    views = run(lambda: service().list_keys(app_name), as_json)
    emit(
        [v.to_dict() for v in views],
        as_json,
        lambda: table(
            f"keys of {app_name}",
            ["id", "status", "created", "expires", "revoked"],
            [(v.id, v.status, v.created_at, v.expires_at, v.revoked_at) for v in views],
        ),
    )

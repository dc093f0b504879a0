"""`tollhouse receipts`: sign checkpoints now, print the verifier keys licensees pin."""

from __future__ import annotations

import typer
from sqlalchemy.engine import Engine

from tollhouse.cli.output import console, fail, open_engine, open_usage_engine, print_json, settings
from tollhouse.errors import TollhouseError

app = typer.Typer(help="Usage receipts: signed checkpoints of each organisation's usage log.")


def _org_id(engine: Engine, org: str) -> int:
    from tollhouse.access.licensee_names import LicenseeNames

    with engine.connect() as conn:
        return LicenseeNames().org(conn, org)[0]


@app.command()
def checkpoint(
    org: str | None = typer.Option(None, "--org", help="Only this organisation (name or id)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Close the days that are due and sign every log with new leaves, now."""
    from tollhouse.cli.access_service import actor
    from tollhouse.receipts.service import run_round

    engine = open_engine()
    usage = open_usage_engine(engine)
    try:
        orgs = [_org_id(engine, org)] if org is not None else None
        heads = run_round(settings(), engine, usage, orgs=orgs, force=True)
        _audit(engine, actor(), org, [h.as_dict() for h in heads])
    except TollhouseError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
        if usage is not engine:
            usage.dispose()
    if as_json:
        print_json([h.as_dict() for h in heads])
        return
    if not heads:
        console.print("no log has new leaves", markup=False)
    for h in heads:
        console.print(
            f"{h.origin}  size {h.size:,}  signed {h.signed_at.isoformat()}", markup=False
        )


def _audit(engine: Engine, who: str, org: str | None, heads: list[dict[str, object]]) -> None:
    from tollhouse.access.changes import audit

    after = [{k: h[k] for k in ("origin", "size", "root")} for h in heads]
    with engine.begin() as conn:
        audit(conn, who, "receipts.checkpoint", "usage_log", org or "*", None, after)


@app.command()
def key(
    org: str | None = typer.Option(
        None, "--org", help="The organisation's log (default: the operator log)."
    ),
    new: bool = typer.Option(False, "--new", help="Print a fresh signing key for settings."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print the verifier key of a log (what the licensee passes to `tollhouse-verify --key`)."""
    from tollhouse.receipts.models import OPERATOR_LOG
    from tollhouse.receipts.signing import LogSigner, new_seed

    if new:
        seed = new_seed()
        if as_json:
            print_json({"receipts_signing_key": seed})
        else:
            console.print(f"TOLLHOUSE_RECEIPTS_SIGNING_KEY={seed}", markup=False)
        return
    try:
        signer = LogSigner.from_settings(settings())
        if org is None:
            org_id = OPERATOR_LOG
        else:
            engine = open_engine()
            try:
                org_id = _org_id(engine, org)
            finally:
                engine.dispose()
    except TollhouseError as exc:
        fail(str(exc))
    verifier = signer.verifier(org_id)
    if as_json:
        print_json({"origin": signer.origin(org_id), "org_id": org_id, "vkey": str(verifier)})
    else:
        console.print(str(verifier), markup=False, soft_wrap=True)

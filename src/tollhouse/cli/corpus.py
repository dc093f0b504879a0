"""`tollhouse corpus generate|import`: fill the corpus."""

from __future__ import annotations

import typer

app = typer.Typer(help="Posts and users: generate a synthetic corpus or import X v2 JSON.")

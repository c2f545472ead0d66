"""``mastery params show|validate|activate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import DatabaseOption, out

app = typer.Typer(help="Show, validate and activate algorithm params.", no_args_is_help=True)
ParamsFile = Annotated[Path, typer.Argument(help="Params JSON file.")]


@app.command("show")
def show(database_url: DatabaseOption = None) -> None:
    """Print the active params as JSON."""
    from pipeline import api

    active = api.show_params(database_url)
    out.print(json.dumps(json.loads(active.params.canonical_json()), indent=2), markup=False)
    out.print(f"params_id {active.params_id} checksum {active.checksum}")


@app.command("validate")
def validate(file: ParamsFile) -> None:
    """Check a params JSON file; exit non-zero naming every problem."""
    from pipeline import api

    out.print(f"valid; checksum {api.read_params_file(file).checksum()}")


@app.command("activate")
def activate(file: ParamsFile, database_url: DatabaseOption = None) -> None:
    """Store a params file (if new) and make it the one active row."""
    from pipeline import api

    out.print(f"active params {api.activate_params(database_url, file)}")

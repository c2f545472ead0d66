"""``mastery params show|validate|activate``.

``params show`` prints exactly the JSON that ``validate`` and ``activate`` accept (the id and
checksum are a note on stderr), so ``mastery params show > p.json`` round-trips; ``--json``
prints one object ``{"params_id", "checksum", "params"}`` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import DatabaseOption, JsonOption, note, out, print_result_json, say

app = typer.Typer(help="Show, validate and activate algorithm params.", no_args_is_help=True)
ParamsFile = Annotated[Path, typer.Argument(metavar="FILE", help="Params JSON file.")]


@app.command("show")
def show(as_json: JsonOption = False, database_url: DatabaseOption = None) -> None:
    """Print the active params as JSON (the file that validate and activate accept)."""
    from pipeline import api
    from pipeline.contracts.params import params_document

    active = api.show_params(database_url)
    if as_json:
        print_result_json(
            {
                "params_id": active.params_id,
                "checksum": active.checksum,
                "params": active.params.to_json_obj(),
            }
        )
        return
    say(params_document(active.params))
    note(f"params_id {active.params_id} checksum {active.checksum}")


@app.command("validate")
def validate(file: ParamsFile, as_json: JsonOption = False) -> None:
    """Check a params JSON file; exit non-zero naming every problem."""
    from pipeline import api

    checksum = api.read_params_file(file).checksum()
    if as_json:
        print_result_json({"valid": True, "checksum": checksum})
    else:
        out.print(f"valid; checksum {checksum}")


@app.command("activate")
def activate(
    file: ParamsFile, as_json: JsonOption = False, database_url: DatabaseOption = None
) -> None:
    """Store a params file (if new) and make it the one active row."""
    from pipeline import api

    params_id = api.activate_params(database_url, file)
    if as_json:
        print_result_json(
            {"params_id": params_id, "checksum": api.read_params_file(file).checksum()}
        )
    else:
        out.print(f"active params {params_id}")

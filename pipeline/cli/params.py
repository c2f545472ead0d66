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
AlgoOption = Annotated[
    str,
    typer.Option("--algo", metavar="VERSION", help="The algorithm the params are for: v0 or v1."),
]
ShowAlgoOption = Annotated[
    str | None,
    typer.Option(
        "--algo",
        metavar="VERSION",
        help="Show v0's or v1's params (default: the active algorithm's).",
    ),
]


@app.command("show")
def show(
    as_json: JsonOption = False, database_url: DatabaseOption = None, algo: ShowAlgoOption = None
) -> None:
    """Print the active params as JSON (the file that validate and activate accept)."""
    from pipeline import api
    from pipeline.contracts.params import params_document

    active = api.show_params(database_url, algo)
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
def validate(file: ParamsFile, as_json: JsonOption = False, algo: AlgoOption = "v0") -> None:
    """Check a params JSON file; exit non-zero naming every problem."""
    from pipeline import api

    checksum = api.read_params_file(file, algo).checksum()
    if as_json:
        print_result_json({"valid": True, "checksum": checksum})
    else:
        out.print(f"valid; checksum {checksum}")


@app.command("activate")
def activate(
    file: ParamsFile,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
    algo: AlgoOption = "v0",
    yes: Annotated[
        bool, typer.Option("--yes", help="Publish even when weak flags flip (schedulers).")
    ] = False,
) -> None:
    """Store a params file (if new) and make it the one active row (of every algorithm).

    First prints (on stderr) what it is about to publish: the diff of the stored rows against
    the new params, as of the stored rows' as_of; when a weak flag flips it asks, or needs
    ``--yes`` without a terminal."""
    from pipeline import api

    _confirm_publish(database_url, api.read_params_file(file, algo), algo, yes=yes)
    params_id = api.activate_params(database_url, file, algo)
    if as_json:
        print_result_json(
            {"params_id": params_id, "checksum": api.read_params_file(file, algo).checksum()}
        )
    else:
        out.print(f"active params {params_id}")


def _confirm_publish(database_url: str | None, params: object, algo: str, *, yes: bool) -> None:
    """The diff summary of what activation publishes; flips need --yes or a "y" at a terminal."""
    import sys

    from pipeline import api
    from pipeline.contracts.errors import MasteryError
    from pipeline.reports.diff import any_flip, diff_rows, diff_summary, summary_lines

    preview = api.publish_preview(database_url, params, algo)
    if preview is None:
        return
    summary = diff_summary(diff_rows(preview.old, preview.new))
    for line in summary_lines(summary):
        note(line)
    if not any_flip(summary) or yes:
        return
    flips = summary["flipped_to_weak"] + summary["flipped_from_weak"]
    if not sys.stdin.isatty():
        raise MasteryError(f"{flips} weak flag(s) would flip: pass --yes to activate")
    typer.confirm(f"{flips} weak flag(s) would flip; activate?", abort=True, err=True)

"""``mastery``: a thin command line over :mod:`pipeline.api`; user errors print one line.

Each command group is a module of its own; every command imports the API inside its body, so
``mastery --help`` loads no dataframe or database library.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from pipeline.cli import admin, params, report, run
from pipeline.contracts.errors import MasteryError

app = typer.Typer(
    help="Mastery pipeline: compute per-student, per-theme mastery in bulk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
app.command()(admin.init)
app.command()(admin.generate)
app.command()(run.recompute)
app.command("export-attempts")(run.export_attempts)
app.command()(admin.runs)
app.add_typer(params.app, name="params")
app.add_typer(report.app, name="report")
app.command("import-assistments")(admin.import_assistments)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 1."""
    try:
        app(standalone_mode=True)
    except MasteryError as exc:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {exc}", markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()

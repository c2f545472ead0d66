"""``mastery``: a thin command line over :mod:`pipeline.api`; user errors print one line.

Each command group is a module of its own; every command imports the API inside its body, so
``mastery --help`` loads no dataframe or database library.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from pipeline.cli import admin, backtest, diff, exclusions, follow, history, params, report, run
from pipeline.contracts.errors import Interrupted, MasteryError

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
"""``-h`` and ``--help`` on every command (sub-commands inherit the setting)."""

INTERRUPTED_EXIT = 130

app = typer.Typer(
    help="Mastery pipeline: compute per-student, per-theme mastery in bulk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings=HELP_OPTIONS,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        Console(highlight=False).print(f"mastery {version('mastery-pipeline')}", markup=False)
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            envvar="MASTERY_LOG_FORMAT",
            metavar="text|json",
            help="Off a terminal, one stderr line per run stage: text, or one JSON object each.",
        ),
    ] = "text",
) -> None:
    """Mastery pipeline: compute per-student, per-theme mastery in bulk."""
    from pipeline.cli import progress

    progress.set_log_format(log_format)


app.command()(admin.init)
app.command()(admin.generate)
app.command()(run.recompute)
app.command("export-attempts")(run.export_attempts)
app.command()(admin.runs)
app.command()(backtest.backtest)
app.add_typer(params.app, name="params")
app.add_typer(report.app, name="report")
app.command("import-assistments")(admin.import_assistments)
app.command()(exclusions.exclude)
app.command()(exclusions.include)
app.command()(exclusions.exclusions)
app.command()(diff.diff)
app.command()(history.history)
app.command()(follow.follow)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 1; SIGINT and SIGTERM
    end a run FAILED with one line and exit 130 or 143 (typer's own handling would exit 130
    for both, silently, so it runs in non-standalone mode and the exits are ours)."""
    from pipeline.run import signals

    signals.install()
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = app(standalone_mode=False)
    except MasteryError as exc:
        stderr.print(f"error: {exc}", markup=False)
        sys.exit(getattr(exc, "exit_code", 1))
    except typer.TyperException as exc:  # usage errors: click's own message and exit code
        exc.show()  # type: ignore[attr-defined]
        sys.exit(getattr(exc, "exit_code", 2))
    if code == INTERRUPTED_EXIT:  # typer's answer to a KeyboardInterrupt outside a run
        interrupt = Interrupted(signals.last() or "SIGINT")
        stderr.print(f"error: {interrupt}", markup=False)
        sys.exit(interrupt.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

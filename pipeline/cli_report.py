"""``mastery report ...`` and ``mastery import-assistments``: thin commands over the Python API.

``report_app`` is registered in :mod:`pipeline.cli` as the ``report`` group; the import command
is a plain function registered there as ``import-assistments``. Errors are ``MasteryError`` and
become one line in ``pipeline.cli.main``.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

report_app = typer.Typer(help="Reports over the stored mastery rows.", no_args_is_help=True)
DatabaseOption = Annotated[  # shared by every command that opens a store (pipeline.cli too)
    str | None,
    typer.Option(
        "--database-url",
        envvar="MASTERY_DATABASE_URL",
        show_envvar=True,
        help="postgresql://... or duckdb:///path.duckdb (default duckdb:///mastery.duckdb).",
        show_default=False,
    ),
]


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


@report_app.command("weak-themes")
def weak_themes(
    user: Annotated[
        str | None, typer.Option(help="Student UUID; without it, the cohort view per theme.")
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Scores below this are marked.")
    ] = 0.7,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="table, csv, json or html.")
    ] = ReportFormat.table,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of stdout.")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """A student's weakest scored themes, or per theme across the cohort, weakest first."""
    from pipeline.report import weak_themes as build
    from pipeline.report_render import emit

    report = build(database_url, user_id=user, threshold=threshold)
    width = None if sys.stdout.isatty() else 160
    console = Console(highlight=False, soft_wrap=fmt.value != "table", width=width)
    emit(report, fmt.value, output, console)


def import_assistments_command(
    path: Annotated[
        Path, typer.Argument(help="Folder with preprocessed_data_test.csv (ASSISTments 2017).")
    ],
    database_url: DatabaseOption = None,
) -> None:
    """Load the ASSISTments 2017 subset into empty source tables (see pipeline.assistments)."""
    from pipeline.assistments import import_assistments

    loaded = import_assistments(database_url, path)
    Console(highlight=False).print(", ".join(f"{t} {n:,}" for t, n in loaded.items()))

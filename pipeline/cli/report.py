"""``mastery report ...``: reports over the stored mastery rows."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.cli.common import DatabaseOption

app = typer.Typer(help="Reports over the stored mastery rows.", no_args_is_help=True)


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


@app.command("weak-themes")
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
    from pipeline import api
    from pipeline.reports.render import emit

    report = api.weak_themes(database_url, user_id=user, threshold=threshold)
    width = None if sys.stdout.isatty() else 160
    console = Console(highlight=False, soft_wrap=fmt.value != "table", width=width)
    emit(report, fmt.value, output, console)

"""``mastery report ...``: reports over the stored mastery rows."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.cli.common import DatabaseOption, note

app = typer.Typer(help="Reports over the stored mastery rows.", no_args_is_help=True)


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


class Label(StrEnum):
    email = "email"
    id = "id"


@app.command("weak-themes")
def weak_themes(
    user: Annotated[
        str | None,
        typer.Option(
            metavar="UUID|EMAIL", help="Student id or email; without it, the cohort view."
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, metavar="SCORE", help="Scores below this are weak."),
    ] = 0.7,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", metavar="FORMAT", help="table, csv, json or html."),
    ] = ReportFormat.table,
    label: Annotated[
        Label, typer.Option(metavar="LABEL", help="Name students by email or id.")
    ] = Label.email,
    output: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write to this file instead of stdout."),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """A student's themes by state (weak first), or per theme across the cohort, weakest first."""
    from pipeline import api
    from pipeline.reports.data import warnings_of
    from pipeline.reports.render import emit

    report = api.weak_themes(database_url, user_id=user, threshold=threshold, label=label.value)
    width = None if sys.stdout.isatty() else 160
    console = Console(highlight=False, soft_wrap=fmt.value != "table", width=width)
    emit(report, fmt.value, output, console)
    if fmt is ReportFormat.csv:  # the other formats carry their warnings inside
        for warning in warnings_of(report):
            note(f"warning: {warning}")


class GrowthFormat(StrEnum):
    html = "html"
    json = "json"


@app.command("growth")
def growth(
    history: Annotated[
        Path,
        typer.Option(metavar="FILE.parquet", help="A `mastery history` output file."),
    ],
    user: Annotated[
        str | None, typer.Option(metavar="UUID", help="A student's themes over time.")
    ] = None,
    theme: Annotated[
        list[int] | None,
        typer.Option(metavar="ID", help="A theme's distribution over time (repeatable)."),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, metavar="SCORE", help="Scores below this are weak."),
    ] = 0.7,
    fmt: Annotated[
        GrowthFormat, typer.Option("--format", metavar="FORMAT", help="html or json.")
    ] = GrowthFormat.html,
    output: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write to this file instead of stdout."),
    ] = None,
) -> None:
    """Mastery over time from a history file: a student's themes, a theme's spread."""
    from pipeline.contracts.errors import MasteryError
    from pipeline.reports.data import parse_threshold
    from pipeline.reports.growth import growth_report, read_history, render_growth

    report = growth_report(
        read_history(history),
        parse_threshold(threshold),
        user_id=user,
        theme_ids=theme or (),
    )
    text = render_growth(report, fmt.value)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MasteryError(f"cannot write {output}: {exc.strerror or exc}") from None
    note(f"wrote {output}")

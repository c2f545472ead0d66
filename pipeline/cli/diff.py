"""``mastery diff``: what a candidate (params or algorithm) or a later run changes, row by row."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import (
    DatabaseOption,
    JsonOption,
    instant_option,
    note,
    parse_as_of,
    say,
)
from pipeline.contracts.errors import MasteryError


class DiffFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"


def diff(
    params: Annotated[
        Path | None, typer.Option("--params", metavar="FILE", help="Candidate params file.")
    ] = None,
    algo: Annotated[
        str | None, typer.Option("--algo", metavar="VERSION", help="Candidate algorithm.")
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option("--run", metavar="ID", help="Two stored runs, old then new (give twice)."),
    ] = None,
    as_of: Annotated[
        str | None,
        instant_option("ISO 8601 instant (default: the stored rows' as_of).", metavar="DATE"),
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, metavar="SCORE", help="Scores below are weak.")
    ] = 0.7,
    fmt: Annotated[
        DiffFormat, typer.Option("--format", metavar="FORMAT", help="table, csv, json or html.")
    ] = DiffFormat.table,
    output: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Write to this file instead of stdout.")
    ] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Old and new score per student and theme, weak flags that flip, and why (a dry run)."""
    from pipeline import api
    from pipeline.reports.diff import diff_rows, diff_summary, render_diff

    limit = Decimal(str(threshold))
    runs = run or []
    if runs and (params or algo or as_of):
        raise MasteryError("--run compares two stored runs: without --params, --algo, --as-of")
    if runs and len(runs) != 2:
        raise MasteryError("give --run twice: the old run, then the new one")
    if runs:
        sides = api.diff_runs(database_url, runs[0], runs[1])
    elif params is None and algo is None:
        raise MasteryError("give --params FILE, --algo VERSION, or --run A --run B")
    else:
        candidate = api.read_params_file(params) if params else None
        when = parse_as_of(as_of)
        sides = api.diff_candidate(database_url, params=candidate, algorithm=algo, as_of=when)
    rows = diff_rows(sides.old, sides.new, limit)
    text = render_diff(rows, diff_summary(rows), "json" if as_json else fmt.value)
    when_text = sides.as_of.isoformat() if sides.as_of else "?"
    note(f"{sides.old_label} → {sides.new_label}, as of {when_text}")
    if output:
        output.write_text(text + "\n", "utf-8")
        note(f"wrote {output}")
    else:
        say(text)

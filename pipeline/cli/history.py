"""``mastery history``: the active algorithm's scores as of each date, to a Parquet file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import (
    DatabaseOption,
    JsonOption,
    instant_option,
    out,
    parse_as_of,
    print_result_json,
)
from pipeline.contracts.errors import MasteryError


def history(
    every: Annotated[str, typer.Option(metavar="DURATION", help="Step: 7d, 12h, 2w.")],
    start: Annotated[str, instant_option("First as_of (ISO 8601).", "--from", metavar="DATE")],
    output: Annotated[Path, typer.Option(metavar="FILE.parquet", help="Where the rows go.")],
    end: Annotated[
        str | None, instant_option("Last as_of (default now).", "--to", metavar="DATE")
    ] = None,
    user: Annotated[
        list[str] | None, typer.Option(metavar="UUID", help="Only this user (repeatable).")
    ] = None,
    theme: Annotated[
        list[int] | None, typer.Option(metavar="ID", help="Only this theme (repeatable).")
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1, metavar="N", help="User partitions, v0 only (default: by the window's answers)."
        ),
    ] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Scores as of every date from --from to --to, one extract and one pass (nothing stored)."""
    from pipeline import api

    first = parse_as_of(start, "--from")
    if first is None:
        raise MasteryError("--from is required")
    last = parse_as_of(end, "--to") or datetime.now(UTC)
    dates = api.history_dates(first, last, api.parse_every(every))
    result = api.history(
        database_url,
        dates,
        scope=api.Scope.checked(tuple(user or ()), tuple(theme or ())),
        output=output,
        partitions=partitions,
    )
    summary = {
        "dates": len(result.dates),
        "first": result.dates[0].isoformat(),
        "last": result.dates[-1].isoformat(),
        "rows": result.row_count,
        "partitions": result.partitions,
        "excluded_attempts": result.excluded_attempts,
        "stage_seconds": result.stage_seconds,
        "output": str(output),
    }
    if as_json:
        print_result_json(summary)
    else:
        out.print(
            f"{summary['rows']} rows over {summary['dates']} dates "
            f"({summary['first']} .. {summary['last']}) written to {output}",
            markup=False,
        )

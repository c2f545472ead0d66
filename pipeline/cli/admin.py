"""``mastery init``, ``generate``, ``runs`` and ``import-assistments``."""

from __future__ import annotations

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
    result_console,
    say,
)


def init(
    database_url: DatabaseOption = None,
    grant_to: Annotated[
        str | None,
        typer.Option(
            "--grant-to",
            metavar="ROLE",
            help="Postgres: grant this existing role exactly what recompute runs need.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create the tables and indexes that are absent and seed the algorithm registry."""
    from pipeline import api

    report = api.init_database(database_url, grant_to=grant_to)
    if as_json:
        print_result_json(
            {
                "created": list(report.created),
                "existing": list(report.existing),
                "params_id": report.params_id,
                "params_checksum": report.params_checksum,
                "granted": list(report.granted),
            }
        )
        return
    out.print(f"created: {', '.join(report.created) or 'none (all tables existed)'}")
    out.print(f"active params {report.params_id} (checksum {report.params_checksum[:12]})")
    if grant_to is not None:
        out.print(f"granted to {grant_to}: {'; '.join(report.granted)}", markup=False)


def generate(
    users: Annotated[int, typer.Option(min=1, metavar="N", help="Students to create.")] = 1000,
    themes: Annotated[
        int, typer.Option(min=1, metavar="N", help="Themes to spread over blocks.")
    ] = 60,
    days: Annotated[
        int, typer.Option(min=1, metavar="N", help="Days of activity before now.")
    ] = 90,
    seed: Annotated[int, typer.Option(metavar="N", help="Same seed and --as-of, same cohort.")] = 7,
    as_of: Annotated[str | None, instant_option("The cohort's 'now' (default: now, UTC).")] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Bulk-load a realistic synthetic cohort into the (empty) source tables."""
    from pipeline import api
    from pipeline.cli.progress import RowProgress
    from pipeline.tools.generate import CohortSpec, estimate_attempts

    spec = CohortSpec(users=users, themes=themes, days=days, seed=seed, as_of=parse_as_of(as_of))
    with RowProgress(total_attempts=estimate_attempts(spec)) as progress:
        loaded = api.generate_cohort_into(database_url, spec, on_rows=progress.advance)
    if as_json:
        print_result_json(dict(loaded))
    else:
        out.print(", ".join(f"{table} {rows:,}" for table, rows in loaded.items()))


def runs(
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="How many recent runs.")] = 20,
    run: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Show this run in full (its id or first characters)."),
    ] = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Recent runs: status, trigger, times, as_of, scope, algorithm, params, rows."""
    from pipeline import api
    from pipeline.reports.runs import run_detail_lines, run_records, runs_table

    records = run_records(api.list_runs(database_url, limit, run_id=run))
    if as_json:
        print_result_json(records[0] if run else records)
    elif run:
        for line in run_detail_lines(records[0]):
            say(line)
    else:
        result_console().print(runs_table(records) if records else "no runs yet", markup=False)


def import_assistments(
    path: Annotated[
        Path, typer.Argument(help="Folder with preprocessed_data_test.csv (ASSISTments 2017).")
    ],
    database_url: DatabaseOption = None,
) -> None:
    """Load the ASSISTments 2017 subset into empty source tables."""
    from pipeline import api

    loaded = api.import_assistments(database_url, path)
    out.print(", ".join(f"{t} {n:,}" for t, n in loaded.items()))

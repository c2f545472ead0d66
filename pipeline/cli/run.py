"""``mastery recompute`` and ``mastery export-attempts``: one logged run, or a lake export."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli.common import (
    DatabaseOption,
    JsonOption,
    instant_option,
    out,
    parse_as_of,
    print_json,
)
from pipeline.contracts.errors import MasteryError

if TYPE_CHECKING:
    from pipeline.api import RunSummary

UserOption = Annotated[
    list[str] | None, typer.Option(metavar="UUID", help="Only this user (repeatable).")
]
AsOfOption = Annotated[str | None, instant_option("ISO 8601 instant (default now, UTC).")]


class Engine(StrEnum):
    polars = "polars"
    spark = "spark"


class WriteMode(StrEnum):
    auto = "auto"
    merge = "merge"
    rebuild = "rebuild"


def recompute(
    as_of: AsOfOption = None,
    user: UserOption = None,
    theme: Annotated[
        list[int] | None, typer.Option(metavar="ID", help="Only this theme (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Compute but write nothing to the database.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Also write the rows to this Parquet file.")
    ] = None,
    trigger: Annotated[
        str, typer.Option(metavar="NAME", help="cli, schedule, api, notebook or test.")
    ] = "cli",
    wait: Annotated[
        bool, typer.Option(help="Wait for a running recompute instead of refusing.")
    ] = False,
    as_json: JsonOption = False,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Split users into N hash partitions to bound memory "
            "(default 1; with --engine spark, the user buckets, default 8).",
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            metavar="ENGINE", help="polars: this process; spark: Spark workers, same kernel."
        ),
    ] = Engine.polars,
    spark_master: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="Spark master URL (default: spark-submit's, else local[*])."
        ),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY=VALUE", help="A Spark setting, as spark-submit --conf (repeatable)."
        ),
    ] = None,
    spark_work_dir: Annotated[
        str | None,
        typer.Option(
            metavar="DIR", help="Folder for Spark's input and output; shared storage on a cluster."
        ),
    ] = None,
    write_mode: Annotated[
        WriteMode,
        typer.Option(
            metavar="MODE",
            help="merge: upsert row by row; rebuild (Postgres): build the table anew beside "
            "the old one and swap it in (a merge if the swap lock is not had); auto: rebuild "
            "whole-cohort runs on Postgres.",
        ),
    ] = WriteMode.auto,
    algo: Annotated[
        str | None,
        typer.Option(
            "--algo",
            metavar="VERSION",
            help="v0 or v1 (default: the active algorithm; another one only with --dry-run).",
        ),
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            help="Recompute only the users whose rows can have changed since the last run "
            "(a full run when that cannot be vouched for; the summary says which)."
        ),
    ] = False,
    allow_mass_change: Annotated[
        bool,
        typer.Option(
            help="Write although the run looks like a mistake (as_of in the future or a year "
            "before the newest submission, or most rows of its scope turned stale)."
        ),
    ] = False,
    lock_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            metavar="SECONDS",
            help="Seconds each request for a lock on user_theme_mastery may wait (a few tries).",
        ),
    ] = 2.0,
    max_wait: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            metavar="SECONDS",
            help="Bound the whole run: give up (FAILED) after this many seconds.",
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Recompute mastery for everyone (or a scope) under one logged run."""
    from pipeline import api
    from pipeline.cli.progress import StageProgress, log_finished
    from pipeline.contracts.params import dumps

    moment = parse_as_of(as_of) or datetime.now(UTC)
    spec = api.RunSpec.of(moment, users=user or (), themes=theme or ())
    if algo is not None:
        spec = replace(spec, algorithm=algo)
    spark = api.SparkOptions(spark_master, _settings(spark_conf or []), spark_work_dir)
    with StageProgress(enabled=not as_json) as progress:
        options = api.RunOptions(
            dry_run=dry_run,
            output=output,
            trigger=trigger,
            wait=wait,
            partitions=partitions,
            engine=engine.value,
            spark=spark,
            write_mode=write_mode.value,
            allow_mass_change=allow_mass_change,
            lock_timeout=lock_timeout,
            max_wait=max_wait,
            progress=progress.stage,
        )
        if incremental:
            result = api.recompute_incremental(database_url, spec, options)
            summary = result.summary
        else:
            summary = api.recompute(database_url, spec, options)
    log_finished(summary.run_id, summary.records_upserted, summary.stage_seconds)
    if as_json:
        print_json(dumps(result.as_json() if incremental else summary.as_json()))
    else:
        _print_summary(summary)
        if incremental:
            report = result.incremental
            out.print(
                f"incremental: {report.mode} ({report.reason or 'nothing changed'}); "
                f"candidates {report.candidates:,}, recomputed {report.recomputed:,}, "
                f"changed {report.changed:,}",
                markup=False,
            )


def export_attempts(
    output: Annotated[
        Path, typer.Option(metavar="DIR", help="An empty or new folder to write into.")
    ],
    buckets: Annotated[
        int, typer.Option(min=1, metavar="N", help="User buckets: Parquet folders user_bucket=K/.")
    ] = 16,
    as_of: AsOfOption = None,
    lookback_days: Annotated[
        int | None,
        typer.Option(min=1, metavar="DAYS", help="Window length (default: the active params')."),
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Land the window's raw attempts as Parquet by user bucket, for a lake or for Spark."""
    from pipeline import api
    from pipeline.contracts.params import dumps

    report = api.export_attempts(
        database_url,
        output=output,
        as_of=parse_as_of(as_of),
        lookback_days=lookback_days,
        buckets=buckets,
        user_ids=user or (),
    )
    if as_json:
        print_json(dumps(report.as_json()))
        return
    out.print(
        f"exported {report.attempt_rows:,} attempts in {report.buckets} Parquet buckets "
        f"(user_bucket=K/) to {report.directory} in {report.seconds:.1f} s"
    )


def _settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise MasteryError(f"--spark-conf {pair!r} is not KEY=VALUE")
        settings[key.strip()] = value.strip()
    return settings


def _print_summary(summary: RunSummary) -> None:
    out.print(f"run {summary.run_id or 'dry run (nothing written)'}", markup=False)
    verb = "would upsert" if summary.dry_run else "rows upserted"
    out.print(
        f"users {summary.users:,}  themes {summary.themes_computed:,}  "
        f"{verb} {summary.records_upserted:,}  "
        f"stale refreshed {summary.stale_rows_refreshed:,}  "
        f"insufficient {summary.insufficient_rows:,}"
    )
    issues = {k: v for k, v in summary.data_quality.items() if v}
    out.print("data quality: " + (", ".join(f"{k} {v:,}" for k, v in issues.items()) or "clean"))
    out.print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in summary.stage_seconds.items()))

"""``mastery``: a thin command line over the Python API; user errors print one line."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline import admin, job
from pipeline.batch import STAGES
from pipeline.cli_report import DatabaseOption, import_assistments_command, report_app
from pipeline.errors import MasteryError
from pipeline.params import dumps


class Engine(StrEnum):
    polars = "polars"
    spark = "spark"


class WriteMode(StrEnum):
    auto = "auto"
    merge = "merge"
    rebuild = "rebuild"


class ExportFormat(StrEnum):
    parquet = "parquet"


class ExportPartitioning(StrEnum):
    user_bucket = "user_bucket"


app = typer.Typer(
    help="Mastery v0 pipeline: compute per-student, per-theme mastery in bulk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
params_app = typer.Typer(help="Show, validate and activate algorithm params.", no_args_is_help=True)
app.add_typer(params_app, name="params")
app.add_typer(report_app, name="report")
app.command("import-assistments")(import_assistments_command)
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


@app.command()
def init(database_url: DatabaseOption = None) -> None:
    """Create the tables and indexes that are absent and seed the algorithm registry."""
    report = admin.init_database(database_url)
    created = ", ".join(report.created) or "none (all tables existed)"
    out.print(f"created: {created}")
    out.print(f"active params {report.params_id} (checksum {report.params_checksum[:12]})")


@app.command()
def generate(
    users: Annotated[int, typer.Option(min=1, help="Students to create.")] = 1000,
    themes: Annotated[int, typer.Option(min=1, help="Themes to spread over blocks.")] = 60,
    days: Annotated[int, typer.Option(min=1, help="Days of activity before now.")] = 90,
    seed: Annotated[int, typer.Option(help="Same seed and --as-of, same cohort.")] = 7,
    as_of: Annotated[
        str | None, typer.Option(help="The cohort's 'now', ISO 8601 (default: now, UTC).")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Bulk-load a realistic synthetic cohort into the (empty) source tables."""
    from pipeline.generate import CohortSpec, estimate_attempts
    from pipeline.progress import RowProgress

    moment = _parse_as_of(as_of) if as_of else None
    spec = CohortSpec(users=users, themes=themes, days=days, seed=seed, as_of=moment)
    with RowProgress(total_attempts=estimate_attempts(spec)) as progress:
        loaded = admin.generate_cohort_into(database_url, spec, on_rows=progress.advance)
    out.print(", ".join(f"{table} {rows:,}" for table, rows in loaded.items()))


@app.command()
def recompute(
    as_of: Annotated[str | None, typer.Option(help="ISO 8601 instant (default now, UTC).")] = None,
    user: Annotated[list[str] | None, typer.Option(help="Only this user (repeatable).")] = None,
    theme: Annotated[list[int] | None, typer.Option(help="Only this theme (repeatable).")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Compute but write nothing to the database.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option(help="Also write the rows to this Parquet file.")
    ] = None,
    trigger: Annotated[str, typer.Option(help="cli, schedule, api, notebook or test.")] = "cli",
    wait: Annotated[
        bool, typer.Option(help="Wait for a running recompute instead of refusing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Split users into N hash partitions to bound memory "
            "(default 1; with --engine spark, the user buckets, default 8).",
        ),
    ] = None,
    engine: Annotated[
        Engine, typer.Option(help="polars: this process; spark: Spark workers, same kernel.")
    ] = Engine.polars,
    spark_master: Annotated[
        str | None,
        typer.Option(help="Spark master URL (default: spark-submit's, else local[*])."),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option(help="A Spark setting KEY=VALUE, as spark-submit --conf (repeatable)."),
    ] = None,
    spark_work_dir: Annotated[
        str | None,
        typer.Option(help="Folder for Spark's input and output; shared storage on a cluster."),
    ] = None,
    write_mode: Annotated[
        WriteMode,
        typer.Option(
            help="merge: upsert row by row; rebuild (Postgres): rewrite the table in bulk, "
            "readers wait for the commit; auto: rebuild whole-cohort runs on Postgres."
        ),
    ] = WriteMode.auto,
    database_url: DatabaseOption = None,
) -> None:
    """Recompute mastery for everyone (or a scope) under one logged run."""
    from pipeline.progress import StageProgress
    from pipeline.spark import SparkOptions

    moment = _parse_as_of(as_of) if as_of else None
    spark = SparkOptions(spark_master, _settings(spark_conf or []), spark_work_dir)
    with StageProgress(enabled=not as_json) as progress:
        summary = job.recompute(
            database_url,
            as_of=moment,
            user_ids=user or (),
            theme_ids=theme or (),
            dry_run=dry_run,
            output=output,
            trigger=trigger,
            wait=wait,
            partitions=partitions,
            progress=progress.stage,
            engine=engine.value,
            spark=spark,
            write_mode=write_mode.value,
        )
    if as_json:
        out.print(dumps(summary), markup=False)
        return
    _print_summary(summary)


@app.command("export-attempts")
def export_attempts(
    output: Annotated[Path, typer.Option(help="An empty or new folder to write into.")],
    file_format: Annotated[
        ExportFormat, typer.Option("--format", help="File format of the export.")
    ] = ExportFormat.parquet,
    partition_by: Annotated[
        ExportPartitioning,
        typer.Option(help="Hive-style folders per user bucket (user_bucket=K/)."),
    ] = ExportPartitioning.user_bucket,
    buckets: Annotated[int, typer.Option(min=1, help="How many user buckets.")] = 16,
    as_of: Annotated[str | None, typer.Option(help="ISO 8601 instant (default now, UTC).")] = None,
    lookback_days: Annotated[
        int | None, typer.Option(min=1, help="Window length (default: the active params').")
    ] = None,
    user: Annotated[list[str] | None, typer.Option(help="Only this user (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Land the window's raw attempts as Parquet by user bucket, for a lake or for Spark."""
    from pipeline.export import export_attempts as export

    report = export(
        database_url,
        output=output,
        as_of=_parse_as_of(as_of) if as_of else None,
        lookback_days=lookback_days,
        buckets=buckets,
        user_ids=user or (),
    )
    if as_json:
        out.print(dumps(report.as_json()), markup=False)
        return
    out.print(
        f"exported {report.attempt_rows:,} attempts in {report.buckets} "
        f"{file_format.value} buckets ({partition_by.value}=K/) to {report.directory} "
        f"in {report.seconds:.1f} s"
    )


@app.command()
def runs(
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """Recent runs with status, duration and counts."""
    frame = admin.list_runs(database_url, limit)
    table = Table("run", "status", "trigger", "started (UTC)", "seconds", "rows", "users")
    table.add_column("stage seconds / error", overflow="fold")
    table.columns[0].no_wrap = True
    for row in frame.iter_rows(named=True):
        stages = json.loads(row["stage_seconds"] or "null") or {}
        ordered = sorted(stages.items(), key=lambda kv: _stage_rank(kv[0]))
        detail = row["error_message"] or "  ".join(f"{k} {v:.1f}" for k, v in ordered)
        table.add_row(
            row["id"],
            row["status"],
            row["trigger"] or "",
            f"{row['started_at']:%Y-%m-%d %H:%M:%S}",
            "" if row["seconds"] is None else f"{row['seconds']:.1f}",
            "" if row["records_upserted"] is None else f"{row['records_upserted']:,}",
            "" if row["users"] is None else f"{row['users']:,}",
            detail,
        )
    out.print(table if frame.height else "no runs yet")


@params_app.command("show")
def params_show(database_url: DatabaseOption = None) -> None:
    """Print the active params as JSON."""
    active = admin.show_params(database_url)
    out.print(json.dumps(json.loads(active.params.canonical_json()), indent=2), markup=False)
    out.print(f"params_id {active.params_id} checksum {active.checksum}")


@params_app.command("validate")
def params_validate(
    file: Annotated[Path, typer.Argument(help="Params JSON file.")],
) -> None:
    """Check a params JSON file; exit non-zero naming every problem."""
    params = admin.read_params_file(file)
    out.print(f"valid; checksum {params.checksum()}")


@params_app.command("activate")
def params_activate(
    file: Annotated[Path, typer.Argument(help="Params JSON file.")],
    database_url: DatabaseOption = None,
) -> None:
    """Store a params file (if new) and make it the one active row."""
    params_id = admin.activate_params(database_url, file)
    out.print(f"active params {params_id}")


def _settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise MasteryError(f"--spark-conf {pair!r} is not KEY=VALUE")
        settings[key.strip()] = value.strip()
    return settings


def _stage_rank(stage: str) -> int:
    """Stages in the order a run goes through them (jsonb stores keys in its own order)."""
    return STAGES.index(stage) if stage in STAGES else len(STAGES)


def _parse_as_of(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise MasteryError(f"--as-of {text!r} is not an ISO 8601 instant") from None


def _print_summary(summary: dict[str, Any]) -> None:
    run = summary.get("run_id") or "dry run (nothing written)"
    out.print(f"run {run}")
    verb = "would upsert" if summary.get("dry_run") else "rows upserted"
    out.print(
        f"users {summary['users']:,}  themes {summary['themes_computed']:,}  "
        f"{verb} {summary['records_upserted']:,}  "
        f"stale refreshed {summary['stale_rows_refreshed']:,}  "
        f"insufficient {summary['insufficient_rows']:,}"
    )
    issues = {k: v for k, v in summary["data_quality"].items() if v}
    out.print("data quality: " + (", ".join(f"{k} {v:,}" for k, v in issues.items()) or "clean"))
    out.print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["stage_seconds"].items()))


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

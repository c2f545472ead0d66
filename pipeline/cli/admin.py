"""``mastery init``, ``generate``, ``runs`` and ``import-assistments``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.common import DatabaseOption, out, parse_as_of

STAGE_ORDER = ("extract", "spark", "validate_input", "compute", "validate_output", "load")


def init(database_url: DatabaseOption = None) -> None:
    """Create the tables and indexes that are absent and seed the algorithm registry."""
    from pipeline import api

    report = api.init_database(database_url)
    out.print(f"created: {', '.join(report.created) or 'none (all tables existed)'}")
    out.print(f"active params {report.params_id} (checksum {report.params_checksum[:12]})")


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
    from pipeline import api
    from pipeline.cli.progress import RowProgress
    from pipeline.tools.generate import CohortSpec, estimate_attempts

    spec = CohortSpec(users=users, themes=themes, days=days, seed=seed, as_of=parse_as_of(as_of))
    with RowProgress(total_attempts=estimate_attempts(spec)) as progress:
        loaded = api.generate_cohort_into(database_url, spec, on_rows=progress.advance)
    out.print(", ".join(f"{table} {rows:,}" for table, rows in loaded.items()))


def runs(
    limit: Annotated[int, typer.Option(min=1, help="How many recent runs.")] = 20,
    database_url: DatabaseOption = None,
) -> None:
    """Recent runs with status, duration and counts."""
    from pipeline import api

    frame = api.list_runs(database_url, limit)
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


def _stage_rank(stage: str) -> int:
    """Stages in the order a run goes through them (jsonb stores keys in its own order)."""
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)

"""Load: the frame that goes to the staging table, and the Parquet form of a run's output."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope
from pipeline.kernel.scoring import insufficient_breakdown


def stale_rows(
    rows: pl.DataFrame, existing: pl.DataFrame, scope: Scope, params: Params
) -> pl.DataFrame:
    """Existing in-scope rows with no attempt in the window: the zero-attempt result (SPEC §4).

    ``year``/``block_id`` stay as stored, so they are null here and the refresh leaves them.
    """
    keys = existing.select(pl.col("user_id").cast(pl.String), pl.col("theme_id").cast(pl.Int32))
    if scope.theme_ids:
        keys = keys.filter(pl.col("theme_id").is_in(list(scope.theme_ids)))
    gone = keys.join(rows.select("user_id", "theme_id"), on=["user_id", "theme_id"], how="anti")
    return gone.select(
        "user_id",
        "theme_id",
        year=pl.lit(None, pl.Int32),
        block_id=pl.lit(None, pl.Int32),
        attempts_total=pl.lit(0, pl.Int32),
        correct_total=pl.lit(0, pl.Int32),
        accuracy_pct=pl.lit(0).cast(pl.Decimal(5, 2)),
        mastery_score=pl.lit(0).cast(pl.Decimal(6, 4)),
        last_attempt_at=pl.lit(None, pl.Datetime("us", "UTC")),
        breakdown_json=insufficient_breakdown(params, pl.lit(0)),
    )


def stage_frame(
    rows: pl.DataFrame, existing: pl.DataFrame, scope: Scope, params: Params
) -> pl.DataFrame:
    """Computed rows plus stale rows, flagged, sorted by key: what one run writes."""
    computed = rows.with_columns(stale=pl.lit(False))
    stale = stale_rows(rows, existing, scope, params).with_columns(stale=pl.lit(True))
    return pl.concat([computed, stale.select(computed.columns)]).sort("user_id", "theme_id")


def check_output_path(path: str | Path) -> Path:
    """Refuse a Parquet target in a missing directory before any work starts."""
    target = Path(path)
    if not target.parent.exists():
        raise MasteryError(f"cannot write {target}: directory {target.parent} does not exist")
    return target


def write_parquet(stage: pl.DataFrame, path: str | Path) -> None:
    """The rows a run writes (``stale`` marks refreshed rows), for analysts and what-ifs."""
    stage.write_parquet(check_output_path(path))

"""Load: the frame that goes to the staging table, and the Parquet form of a run's output."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope
from pipeline.kernel import stale_rows


def stage_frame(
    rows: pl.DataFrame, existing: pl.DataFrame, scope: Scope, params: Params
) -> pl.DataFrame:
    """Computed rows plus stale rows, flagged, sorted by key: what one run writes."""
    computed = rows.with_columns(stale=pl.lit(False))
    stale = stale_rows(rows, existing, params, scope.theme_ids).with_columns(stale=pl.lit(True))
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

"""Frozen-tag resolution (SPEC §4): per field, the question version's value, else the snapshot's.

Snapshot JSON is parsed once per distinct text by the in-memory DuckDB engine, whose JSON type
functions tell a JSON integer from a digit string; the SQL is one file shared by both stores.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.contracts.frames import RAW_ATTEMPT_SCHEMA
from pipeline.io.sqlfiles import load_sql

TAG_FIELDS = ("year", "block_id", "theme_id", "difficulty")
PARSED_SNAPSHOT_SCHEMA = pl.Schema(
    {
        "snapshot_json": pl.String,
        "snap_year": pl.Int32,
        "snap_block_id": pl.Int32,
        "snap_theme_id": pl.Int32,
        "snap_difficulty": pl.String,
        "snapshot_malformed": pl.Boolean,
    }
)


def parse_snapshots(snapshots: pl.Series) -> pl.DataFrame:
    """Tags of each distinct snapshot text; non-objects count as ``{}`` and are flagged."""
    distinct = pl.DataFrame(
        {"snapshot_json": snapshots.drop_nulls().unique()}, schema={"snapshot_json": pl.String}
    )
    if distinct.is_empty():
        return pl.DataFrame(schema=PARSED_SNAPSHOT_SCHEMA)
    with duckdb.connect(":memory:") as engine:
        engine.execute(load_sql("engine", "snapshot_macros"))
        engine.register("snapshots", distinct.to_arrow())
        parsed = pl.DataFrame(
            pl.from_arrow(engine.sql(load_sql("engine", "parse_snapshots")).to_arrow_table())
        )
    return parsed.cast(PARSED_SNAPSHOT_SCHEMA)


def resolve_frozen_tags(raw: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Resolved attempts (the kernel's input) with a ``snapshot_malformed`` flag per attempt."""
    frame = raw.lazy().select(pl.col(n).cast(t) for n, t in RAW_ATTEMPT_SCHEMA.items())
    snapshots = frame.select("snapshot_json").unique().collect().to_series()
    parsed = parse_snapshots(snapshots).lazy()
    return frame.join(parsed, on="snapshot_json", how="left", nulls_equal=False).select(
        "user_id",
        "session_id",
        "question_id",
        *(pl.coalesce(f"qv_{name}", f"snap_{name}").alias(name) for name in TAG_FIELDS),
        "is_correct",
        "answered_at",
        "submitted_at",
        pl.col("snapshot_malformed").fill_null(False),
    )

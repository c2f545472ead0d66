"""Every frame that crosses a layer, as a Polars schema derived from its Pandera model.

The Pandera models in ``schemas/`` (installed as ``pipeline.schemas``) are the one definition
of each frame's columns and dtypes; the Polars schemas below are read off them, so the two
cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import polars as pl

# ``pipeline.schemas`` is the top-level ``schemas/`` directory mapped in by setuptools'
# package-dir, an import hook mypy cannot follow (the ignore tolerates a config that can).
from pipeline.schemas.attempts import (  # type: ignore[import-not-found, unused-ignore]
    RawAttempts,
    ResolvedAttempts,
)
from pipeline.schemas.mastery import MasteryRows  # type: ignore[import-not-found, unused-ignore]

UTC_MICROS = pl.Datetime("us", "UTC")
KEYS = ("user_id", "theme_id")


def polars_schema(model: Any) -> pl.Schema:
    """The required columns of a Pandera model, in order, as Polars dtypes."""
    columns = model.to_schema().columns.items()
    return pl.Schema({name: column.dtype.type for name, column in columns if column.required})


RAW_ATTEMPT_SCHEMA = polars_schema(RawAttempts)
"""What the extract reads: attempts in the window, tags not yet resolved."""

ATTEMPT_SCHEMA = polars_schema(ResolvedAttempts)
"""The kernel's input: one row per attempt, frozen tags resolved (SPEC §4)."""

OUTPUT_SCHEMA = polars_schema(MasteryRows)
"""The kernel's output: one row per (user_id, theme_id), the computed columns of SPEC §3."""
OUTPUT_COLUMNS = tuple(OUTPUT_SCHEMA.names())

STAGE_SCHEMA = pl.Schema([*OUTPUT_SCHEMA.items(), ("stale", pl.Boolean())])
"""What a run stages and merges: the output columns plus the stale-row flag."""

DATA_QUALITY_KEYS = (
    "null_theme_dropped",
    "answered_after_as_of",
    "null_answered_at",
    "null_is_correct",
    "unknown_difficulty",
    "no_block_rows_skipped",
    "dangling_theme_rows_skipped",
    "dangling_block_rows_skipped",
    "themes_under_two_blocks",
)
"""The kernel's data-quality counts, in the order summaries list them."""

EXTRACT_QUALITY_KEYS = (
    "malformed_snapshots",
    "out_of_range_timestamps",
    "duplicate_answers_dropped",
)
"""Counts the extract adds (tag resolution, ``pipeline.io.tags.screen_attempts``) before the
kernel sees the attempts."""

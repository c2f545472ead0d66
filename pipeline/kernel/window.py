"""SPEC §4 *Attempts*: which input rows are attempts of this run, and what the dropped ones count.

Each function takes a frame (or nothing) and returns a frame or an expression; none reads a
clock, a file or the rows' order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from pipeline.contracts.frames import ATTEMPT_SCHEMA
from pipeline.contracts.params import Params


def typed_attempts(attempts: pl.LazyFrame) -> pl.LazyFrame:
    """The kernel's input columns in ATTEMPT_SCHEMA's dtypes; extra columns are ignored."""
    return attempts.select(pl.col(name).cast(dtype) for name, dtype in ATTEMPT_SCHEMA.items())


def attempts_in_window(attempts: pl.LazyFrame, params: Params, as_of: datetime) -> pl.LazyFrame:
    """Rows whose session was submitted in ``[as_of - lookback_days, as_of]``: the rest are not
    attempts at all, so none of their problems is counted either."""
    start = as_of - timedelta(days=params.lookback_days)
    return attempts.filter(pl.col("submitted_at").is_between(start, as_of, closed="both"))


def answered_after(as_of: datetime) -> pl.Expr:
    """Answers after ``as_of`` are excluded; a null ``answered_at`` is not after it."""
    return (pl.col("answered_at") > as_of).fill_null(False)


def is_kept(as_of: datetime) -> pl.Expr:
    """An attempt in the window is kept unless answered after ``as_of`` or its theme is null."""
    return pl.col("theme_id").is_not_null() & ~answered_after(as_of)


def kept_attempts(in_window: pl.LazyFrame, as_of: datetime) -> pl.LazyFrame:
    """The attempts the aggregates are computed over."""
    return in_window.filter(is_kept(as_of))


def normalized_difficulty() -> pl.Expr:
    """Difficulty compared case-insensitively after trimming (``" Hard"`` is ``hard``)."""
    return pl.col("difficulty").str.strip_chars().str.to_lowercase()


def attempt_quality_counts(
    in_window: pl.LazyFrame, params: Params, as_of: datetime
) -> pl.LazyFrame:
    """One row: the attempt-level data-quality counts.

    An answer after ``as_of`` counts only as that (never also as a null theme); the null
    ``answered_at``/``is_correct`` and unknown difficulty counts are over the kept attempts.
    """
    after, kept = answered_after(as_of), is_kept(as_of)
    difficulty = pl.col("difficulty")
    unknown = difficulty.is_not_null() & ~normalized_difficulty().is_in(
        list(params.difficulty_weights)
    )
    return in_window.select(
        null_theme_dropped=(pl.col("theme_id").is_null() & ~after).sum(),
        answered_after_as_of=after.sum(),
        null_answered_at=(kept & pl.col("answered_at").is_null()).sum(),
        null_is_correct=(kept & pl.col("is_correct").is_null()).sum(),
        unknown_difficulty=(kept & unknown).sum(),
    )


def theme_blocks(kept: pl.LazyFrame) -> pl.LazyFrame:
    """Distinct (theme_id, block_id) pairs of the kept attempts that have a block.

    Returned beside the rows so that partitioned runs can count themes under two blocks
    across partitions.
    """
    pairs = kept.filter(pl.col("block_id").is_not_null()).select("theme_id", "block_id")
    return pairs.unique().sort("theme_id", "block_id")


def themes_under_two_blocks(theme_blocks: pl.DataFrame) -> int:
    """Distinct themes whose attempts carry two or more distinct blocks (all users pooled)."""
    per_theme = theme_blocks.unique().group_by("theme_id").len()
    return per_theme.filter(pl.col("len") > 1).height

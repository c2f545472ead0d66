"""Mastery v0 (SPEC §4) as of many instants in one vectorized pass: ``mastery history``.

Each attempt is replicated once per date whose window holds it (a range join of the attempts
with the dates, ``as_of - lookback ≤ submitted_at ≤ as_of``), and the v0 chain then runs
grouped by ``(as_of, user_id, theme_id)``. The steps that read the scalar ``as_of`` of
pipeline/kernel/{window,aggregates}.py have a per-date variant here reading an ``as_of``
column (same rules, written once more for a column); the steps that do not read it (tag
checks, row identity, contributions, score, breakdown) are the kernel's own. tests/
test_history.py proves the result equal, row for row, to one dry run per date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import polars as pl

from pipeline.contracts.frames import KEYS, OUTPUT_SCHEMA
from pipeline.contracts.params import Params
from pipeline.contracts.scope import utc
from pipeline.kernel.aggregates import (
    aggregates_by,
    identified_rows,
    with_known_tags,
)
from pipeline.kernel.breakdown import breakdown_json
from pipeline.kernel.cohort import output_rows
from pipeline.kernel.scoring import (
    bucket_contributions,
    mastery_score,
)
from pipeline.kernel.window import typed_attempts

AS_OF = "as_of"
UTC_US = pl.Datetime("us", "UTC")
HISTORY_SCHEMA = pl.Schema({AS_OF: UTC_US, **OUTPUT_SCHEMA})
HISTORY_KEYS = (AS_OF, *KEYS)


def dates_frame(dates: Sequence[datetime], params: Params) -> pl.LazyFrame:
    """One row per date: ``as_of`` and its window's start."""
    instants = sorted({utc(date) for date in dates})
    return pl.LazyFrame(
        {
            AS_OF: instants,
            "window_start": [d - timedelta(days=params.lookback_days) for d in instants],
        },
        schema={AS_OF: UTC_US, "window_start": UTC_US},
    )


def attempts_in_windows(
    attempts: pl.LazyFrame, params: Params, dates: Sequence[datetime]
) -> pl.LazyFrame:
    """:func:`pipeline.kernel.window.attempts_in_window` per date: each attempt once per date
    whose ``[as_of - lookback_days, as_of]`` holds its ``submitted_at``, with that ``as_of``."""
    joined = attempts.join_where(
        dates_frame(dates, params),
        pl.col("submitted_at") >= pl.col("window_start"),
        pl.col("submitted_at") <= pl.col(AS_OF),
    )
    return joined.drop("window_start")


def kept_per_date(in_windows: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`pipeline.kernel.window.kept_attempts` against each row's ``as_of`` column."""
    after = (pl.col("answered_at") > pl.col(AS_OF)).fill_null(False)
    return in_windows.filter(pl.col("theme_id").is_not_null() & ~after)


def bucket_sums_per_date(params: Params) -> list[pl.Expr]:
    """:func:`pipeline.kernel.aggregates.bucket_sums` with each bucket's cutoff taken from the
    ``as_of`` column (``answered_at ≥ as_of - days``; a null answer is in no bucket)."""
    correct = pl.col("is_correct").fill_null(False)
    sums = []
    for i, bucket in enumerate(params.recency_buckets):
        cutoff = pl.col(AS_OF) - pl.duration(days=bucket.days)
        inside = (pl.col("answered_at") >= cutoff).fill_null(False)
        sums += [
            inside.sum().alias(f"attempts_{i}"),
            (inside & correct).sum().alias(f"correct_{i}"),
        ]
        if params.use_difficulty:
            weight = pl.when(inside).then(pl.col("difficulty_weight")).otherwise(0)
            sums += [
                weight.sum().alias(f"weight_{i}"),
                pl.when(correct).then(weight).otherwise(0).sum().alias(f"weighted_correct_{i}"),
            ]
    return sums


def aggregates_per_date(kept: pl.LazyFrame, params: Params) -> pl.LazyFrame:
    """:func:`pipeline.kernel.aggregates.theme_aggregates` grouped by ``as_of`` too."""
    return aggregates_by(kept, params, HISTORY_KEYS, bucket_sums_per_date(params))


def history_rows(scored: pl.LazyFrame) -> pl.LazyFrame:
    """:func:`pipeline.kernel.cohort.output_rows` with ``as_of`` first (HISTORY_SCHEMA)."""
    return output_rows(scored, HISTORY_SCHEMA, HISTORY_KEYS)


def compute_history(
    attempts: pl.LazyFrame,
    params: Params,
    dates: Sequence[datetime],
    themes: pl.LazyFrame | None = None,
    blocks: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """The v0 rows of every date in ``dates`` (HISTORY_SCHEMA, by as_of, user, theme): equal,
    date by date, to :func:`pipeline.kernel.compute_cohort` ``(attempts, params, date, ...)``.
    """
    if not dates:
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    kept = kept_per_date(attempts_in_windows(typed_attempts(attempts), params, dates))
    tagged = with_known_tags(aggregates_per_date(kept, params), themes, blocks)
    scored = mastery_score(bucket_contributions(identified_rows(tagged), params), params)
    return history_rows(breakdown_json(scored, params)).collect()

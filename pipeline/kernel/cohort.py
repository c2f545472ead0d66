"""Mastery v0 (SPEC §4) for a cohort: the chain of pure steps, read top to bottom.

typed_attempts → attempts_in_window → kept_attempts → theme_aggregates → with_known_tags →
identified_rows → bucket_contributions → mastery_score → breakdown_json → output_rows, with
the data-quality counts beside. LazyFrame in, DataFrame out; no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from pipeline.contracts.frames import DATA_QUALITY_KEYS, KEYS, OUTPUT_SCHEMA
from pipeline.contracts.params import Params
from pipeline.contracts.scope import utc
from pipeline.kernel.aggregates import (
    identified_rows,
    row_quality_counts,
    theme_aggregates,
    with_known_tags,
)
from pipeline.kernel.breakdown import breakdown_json
from pipeline.kernel.scoring import (
    PCT_PLACES,
    SCORE_PLACES,
    accuracy_pct_units,
    bucket_contributions,
    decimal_from_units,
    mastery_score,
)
from pipeline.kernel.window import (
    attempt_quality_counts,
    attempts_in_window,
    kept_attempts,
    theme_blocks,
    themes_under_two_blocks,
    typed_attempts,
)


@dataclass(frozen=True)
class CohortResult:
    """Mastery rows plus one count per kind of data-quality issue met on the way.

    ``theme_blocks`` (distinct theme/block pairs of the kept attempts) lets partitioned runs
    count themes under two blocks across partitions.
    """

    rows: pl.DataFrame
    data_quality: dict[str, int] = field(default_factory=dict)
    theme_blocks: pl.DataFrame = field(default_factory=pl.DataFrame)


def compute_mastery(attempts: pl.LazyFrame, params: Params, as_of: datetime) -> pl.DataFrame:
    """Mastery rows for every (user, theme) in ``attempts`` (see :func:`compute_cohort`)."""
    return compute_cohort(attempts, params, as_of).rows


def compute_cohort(
    attempts: pl.LazyFrame,
    params: Params,
    as_of: datetime,
    themes: pl.LazyFrame | None = None,
    blocks: pl.LazyFrame | None = None,
) -> CohortResult:
    """Score resolved attempts (ATTEMPT_SCHEMA); ``themes``/``blocks`` (frames with an ``id``
    column, when given) skip rows whose tags no longer exist. A naive ``as_of`` is UTC."""
    as_of = utc(as_of)
    in_window = attempts_in_window(typed_attempts(attempts), params, as_of)
    kept = kept_attempts(in_window, as_of)
    tagged = with_known_tags(theme_aggregates(kept, params, as_of), themes, blocks)
    counts, pairs, groups = pl.collect_all(
        [attempt_quality_counts(in_window, params, as_of), theme_blocks(kept), tagged]
    )
    quality = {name: int(value) for name, value in counts.row(0, named=True).items()}
    quality |= row_quality_counts(groups)
    quality["themes_under_two_blocks"] = themes_under_two_blocks(pairs)
    rows = mastery_rows(identified_rows(groups.lazy()), params).collect()
    return CohortResult(rows, {name: quality[name] for name in DATA_QUALITY_KEYS}, pairs)


def mastery_rows(aggregates: pl.LazyFrame, params: Params) -> pl.LazyFrame:
    """The scored output rows of identified aggregates, sorted by (user_id, theme_id)."""
    scored = mastery_score(bucket_contributions(aggregates, params), params)
    return output_rows(breakdown_json(scored, params))


def output_rows(
    scored: pl.LazyFrame, schema: pl.Schema = OUTPUT_SCHEMA, keys: Sequence[str] = KEYS
) -> pl.LazyFrame:
    """``schema``'s columns in order, in its dtypes, sorted by ``keys``; a null year defaults
    to 1 (the history's schema adds ``as_of``, read as it is)."""
    attempts, correct = pl.col("attempts_total"), pl.col("correct_total")
    derived = {
        "year": pl.col("year").fill_null(1),
        "accuracy_pct": decimal_from_units(accuracy_pct_units(correct, attempts), PCT_PLACES),
        "mastery_score": decimal_from_units(pl.col("score"), SCORE_PLACES),
    }
    typed = [
        derived.get(name, pl.col(name)).cast(dtype).alias(name) for name, dtype in schema.items()
    ]
    return scored.select(typed).sort(keys)

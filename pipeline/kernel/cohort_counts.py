"""The whole cohort's earlier answers, counted once, for a replay one partition at a time.

The base rate, the theme's and the question's rates (v1's and the baselines') count *every*
student's answers before each answer, so a partition of students cannot count them alone. They
are counted once over the narrow answers of all partitions (question, theme, instant, right),
per (keys, instant): the answers (and right ones) of the same keys strictly before that
instant, by the same ``History.count`` as an unpartitioned replay;
each partition then reads its rows' counts by (keys, instant). Counts are integers: the same
numbers whatever the partitioning.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipeline.kernel.replay import COHORT_KEYS, TIME, History, prepared

CohortCounts = dict[str, pl.DataFrame]
"""Per name of :data:`COHORT_KEYS`: (key columns, answered_at, ``<name>_n``, ``<name>_c``),
one row per distinct (keys, instant)."""

_COLUMNS = {"question": "question_id"}  # the replay's code keys, as columns shared by partitions


def narrow(attempts: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """What the cohort counts need of one partition: its answered rows with a theme, their
    question (categorical: compact), theme, instant and 0/1 outcome."""
    rows = prepared(attempts).filter(pl.col(TIME).is_not_null())
    return rows.select(pl.col("question_id").cast(pl.Categorical), "theme_id", TIME, "correct")


def cohort_counts(parts: Iterable[pl.DataFrame]) -> CohortCounts:
    """The counts of :func:`narrow` partitions taken together."""
    rows = pl.concat(list(parts), how="vertical")
    question = pl.col("question_id").to_physical().cast(pl.UInt32)
    history = History(rows.with_columns(question=question))
    out = {}
    for name, keys in COHORT_KEYS.items():
        columns = [_COLUMNS.get(k, k) for k in keys]
        sums = history.count(keys, name)
        table = pl.concat([history.rows.select(*columns, TIME), sums], how="horizontal")
        out[name] = table.unique([*columns, TIME], keep="any")  # equal within (keys, instant)
    return out


def attach(rows: pl.DataFrame, counts: CohortCounts) -> pl.DataFrame:
    """``<name>_n`` / ``<name>_c`` of every name, aligned with a partition's answered ``rows``."""
    keyed = rows.select(pl.col("question_id").cast(pl.Categorical), "theme_id", TIME)
    for name, keys in COHORT_KEYS.items():
        columns = [_COLUMNS.get(k, k) for k in keys]
        keyed = keyed.join(counts[name], on=[*columns, TIME], how="left", maintain_order="left")
    return keyed.select(f"{name}_{x}" for name in COHORT_KEYS for x in ("n", "c"))

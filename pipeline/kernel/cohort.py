"""Mastery v0 (SPEC §4) for a whole cohort at once: LazyFrame in, DataFrame out, no I/O, no clock.

Every number is computed on integers (counts, weights scaled by a power of ten) and rounded
once, half away from zero, on the exact rational value; nothing passes through a float.

The steps (``python -m benchmarks.bench_kernel --stages`` times each): a survey of the
attempts (data-quality counts, difficulty spellings, theme/block pairs, users, theme range);
the identity's value ranges (pipeline/identity.py); the grouping — on the dense (user, theme)
grid (pipeline/dense.py) when the cohort fills it, which yields the rows in output order, else
one streaming group-by and a sort (pipeline/hashed.py) — with the
packed counters of pipeline/counters.py; the output columns, with breakdown text built for
scored rows only (pipeline/scoring.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import polars as pl

from pipeline.contracts.frames import ATTEMPT_SCHEMA, DATA_QUALITY_KEYS
from pipeline.contracts.params import Params
from pipeline.contracts.scope import utc
from pipeline.kernel.counters import (
    CounterLayout,
    counters,
    difficulty_weight,
    normalized_difficulty,
)
from pipeline.kernel.dense import Grid, fits, grid, group_on_grid, identity_key
from pipeline.kernel.hashed import GroupPlan, Users, group_attempts, in_output_order
from pipeline.kernel.identity import ValueRanges, identity_plan, value_ranges
from pipeline.kernel.scoring import output_rows


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


Grouping = Literal["auto", "grid", "hash"]


def with_user_codes(attempts: pl.DataFrame) -> pl.DataFrame:
    """``user_id`` as a Categorical of its own, the other columns shared.

    The kernel reads the user ids in several passes; as codes, each id is hashed once, here
    (in parallel), instead of once per pass.
    """
    codes = (
        attempts.lazy()
        .select(pl.col("user_id").cast(pl.Categorical(pl.Categories.random())))
        .collect(engine="streaming")
        .to_series()
    )
    return attempts.with_columns(codes)


def compute_cohort(
    attempts: pl.LazyFrame,
    params: Params,
    as_of: datetime,
    themes: pl.LazyFrame | None = None,
    blocks: pl.LazyFrame | None = None,
    *,
    grouping: Grouping = "auto",
) -> CohortResult:
    """Score resolved attempts; ``themes``/``blocks`` (when given) drop rows with dangling tags.

    ``user_id`` may arrive as String, Categorical or Enum. ``grouping``: ``"auto"`` groups on
    the dense (user, theme) grid of pipeline/dense.py when it is no larger than the attempts,
    else by hash; ``"grid"`` whenever a grid can be built, ``"hash"`` always. All give the
    same result.
    """
    as_of = utc(as_of)
    source, users = typed_source(attempts)
    windowed = source.filter(in_lookback_window(params, as_of))
    kept = windowed.filter(pl.col("theme_id").is_not_null() & ~answered_after(as_of))
    survey = survey_attempts(windowed, kept, params, as_of, users=grouping != "hash")
    lookback = timedelta(days=params.lookback_days)
    ranges = value_ranges(kept)
    if params.use_difficulty:  # once per row, not once per bucket
        kept = kept.with_columns(difficulty_weight=difficulty_weight(params, survey.spellings))
    per_attempt = counters(params, as_of)
    buckets = len(params.recency_buckets)
    window_start = as_of - lookback
    on_grid = (
        None if grouping == "hash" else _grid(survey, ranges, window_start, lookback, grouping)
    )
    if on_grid is not None:
        key = None if ranges is None else identity_key(ranges, window_start, lookback)
        groups = _grouped(
            lambda layout: group_on_grid(
                kept, on_grid, per_attempt, layout, key,
                every_attempt_has_block=survey.kept_without_block == 0,
            ),
            survey.kept_rows,
            buckets,
        )  # fmt: skip
    else:
        identity = identity_plan(ranges, window_start, lookback)
        if survey.kept_without_block == 0 and identity.latest_answered is not None:
            last_attempt = identity.latest_answered  # every attempt has a block: one max fewer
        else:
            last_attempt = pl.col("answered_at").max()
        plan = GroupPlan(identity, users, last_attempt)
        groups = _grouped(
            lambda layout: group_attempts(kept, per_attempt, plan=plan, layout=layout),
            survey.kept_rows,
            buckets,
        )
    tagged = with_known_tags(groups.lazy(), themes, blocks).collect()
    del groups  # each step's input goes as soon as its output exists: peak memory
    row_counts = tagged_counts(tagged)
    scored = tagged.lazy().filter(
        pl.col("block_id").is_not_null() & pl.col("theme_known") & pl.col("block_known")
    )
    del tagged
    if on_grid is not None:  # the grid's slots are already in output order
        ordered = scored.drop("theme_known", "block_known").collect()
    else:
        ordered = in_output_order(scored, users)
    del scored  # it holds the tagged groups
    rows = output_rows(ordered, params)
    quality = {**survey.counts, **row_counts}
    quality["themes_under_two_blocks"] = themes_under_two_blocks(survey.theme_blocks)
    return CohortResult(
        rows=rows,
        data_quality={k: quality[k] for k in DATA_QUALITY_KEYS},
        theme_blocks=survey.theme_blocks,
    )


def _grid(
    survey: Survey,
    ranges: ValueRanges | None,
    window_start: datetime,
    lookback: timedelta,
    grouping: Grouping,
) -> Grid | None:
    if ranges is not None and not fits(ranges, window_start, lookback):
        return None
    limit = survey.kept_rows if grouping == "auto" else None
    return grid(survey.users, *survey.theme_range, limit=limit)


def _grouped(
    group: Callable[[CounterLayout], pl.DataFrame], rows: int, buckets: int
) -> pl.DataFrame:
    """Group with the cheap counter layout; again with the exact one if a counter wrapped."""
    layout = CounterLayout.for_rows(rows, buckets)
    groups = group(layout)
    if layout.overflowed(groups, rows):
        groups = group(CounterLayout.exact(rows, buckets))
    return groups


# collect_all would otherwise cache the subplan its queries share (the filtered attempts, every
# column) in memory: twice the time of scanning the input once per query.
NO_SHARED_SCAN = pl.QueryOptFlags(comm_subplan_elim=False)


def typed_source(attempts: pl.LazyFrame) -> tuple[pl.LazyFrame, Users]:
    """The kernel's columns in the kernel's dtypes; a categorical ``user_id`` is kept as is."""
    user_dtype = attempts.collect_schema().get("user_id")
    if not isinstance(user_dtype, pl.Categorical | pl.Enum):
        user_dtype = pl.Categorical(pl.Categories.random())
    columns = [
        pl.col(name) if name == "user_id" else pl.col(name).cast(dtype)
        for name, dtype in ATTEMPT_SCHEMA.items()
        if name != "session_id"
    ]
    users = Users(user_dtype, pl.Series("keepalive", [], dtype=user_dtype))
    return attempts.select(columns), users


@dataclass(frozen=True)
class Survey:
    """What one pass over the attempts tells before the group-by."""

    counts: dict[str, int]
    kept_rows: int
    kept_without_block: int
    theme_blocks: pl.DataFrame
    spellings: pl.Series  # the distinct non-null raw difficulties of the kept attempts
    users: pl.Series  # the distinct user ids of the kept attempts
    theme_range: tuple[int | None, int | None]


def survey_attempts(
    windowed: pl.LazyFrame,
    kept: pl.LazyFrame,
    params: Params,
    as_of: datetime,
    *,
    users: bool = True,
) -> Survey:
    """Attempt-level data-quality counts, distinct difficulty spellings, theme/block pairs and
    (when ``users``, for the grid) the distinct user ids."""
    after = answered_after(as_of)
    keep = pl.col("theme_id").is_not_null() & ~after
    counts_lf = windowed.select(
        answered_after_as_of=after.sum(),
        null_theme_dropped=(pl.col("theme_id").is_null() & ~after).sum(),
        null_answered_at=(keep & pl.col("answered_at").is_null()).sum(),
        null_is_correct=(keep & pl.col("is_correct").is_null()).sum(),
        kept_rows=keep.sum(),
        kept_without_block=(keep & pl.col("block_id").is_null()).sum(),
        theme_min=pl.col("theme_id").filter(keep).min(),
        theme_max=pl.col("theme_id").filter(keep).max(),
    )
    spellings_lf = kept.group_by("difficulty").len()
    theme_blocks_lf = (
        kept.filter(pl.col("block_id").is_not_null()).select("theme_id", "block_id").unique()
    )
    users_lf = kept.select(pl.col("user_id").unique()) if users else kept.select("user_id").head(0)
    counts, spellings, theme_blocks, user_ids = pl.collect_all(
        [counts_lf, spellings_lf, theme_blocks_lf, users_lf],
        engine="streaming",
        optimizations=NO_SHARED_SCAN,
    )
    values = counts.row(0, named=True)
    theme_range = values.pop("theme_min"), values.pop("theme_max")
    values = {k: int(v) for k, v in values.items()}
    known = list(params.difficulty_weights)
    unknown = spellings.filter(
        pl.col("difficulty").is_not_null() & ~normalized_difficulty().is_in(known)
    )["len"].sum()
    values["unknown_difficulty"] = int(unknown)
    kept_rows, without_block = values.pop("kept_rows"), values.pop("kept_without_block")
    raw = spellings["difficulty"].drop_nulls()
    return Survey(
        values, kept_rows, without_block, theme_blocks, raw, user_ids.to_series(), theme_range
    )


def tagged_counts(tagged: pl.DataFrame) -> dict[str, int]:
    has_block = pl.col("block_id").is_not_null()
    counts = tagged.select(
        no_block_rows_skipped=(~has_block).sum(),
        dangling_theme_rows_skipped=(has_block & ~pl.col("theme_known")).sum(),
        dangling_block_rows_skipped=(
            has_block & pl.col("theme_known") & ~pl.col("block_known")
        ).sum(),
    )
    return {k: int(v) for k, v in counts.row(0, named=True).items()}


def themes_under_two_blocks(theme_blocks: pl.DataFrame) -> int:
    """Distinct themes whose attempts carry two or more distinct blocks."""
    per_theme = theme_blocks.unique().group_by("theme_id").len()
    return per_theme.filter(pl.col("len") > 1).height


def in_lookback_window(params: Params, as_of: datetime) -> pl.Expr:
    start = as_of - timedelta(days=params.lookback_days)
    return pl.col("submitted_at").is_between(pl.lit(start), pl.lit(as_of), closed="both")


def answered_after(as_of: datetime) -> pl.Expr:
    """Answers after ``as_of`` are excluded; a null ``answered_at`` is not after it."""
    return (pl.col("answered_at") > pl.lit(as_of)).fill_null(False)


def with_known_tags(
    groups: pl.LazyFrame, themes: pl.LazyFrame | None, blocks: pl.LazyFrame | None
) -> pl.LazyFrame:
    """Flag ``theme_known``/``block_known``: the tag is in themes/blocks (true if not given)."""
    flags = {}
    for column, table, flag in (
        ("theme_id", themes, "theme_known"),
        ("block_id", blocks, "block_known"),
    ):
        if table is None:
            flags[flag] = pl.lit(True)
            continue
        ids = table.select(pl.col("id").cast(pl.Int32)).unique().collect().to_series()
        flags[flag] = pl.col(column).is_in(ids).fill_null(False)
    return groups.with_columns(**flags)

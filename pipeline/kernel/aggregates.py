"""SPEC §4 *Aggregates* and *Row identity*: one plain group-by per (user_id, theme_id).

Counts stay integers; difficulty weights become integers scaled by ``10**difficulty_places``
so that the weighted sums are exact too (the scale cancels in every ratio).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import polars as pl

from pipeline.contracts.frames import KEYS
from pipeline.contracts.params import Params
from pipeline.kernel.window import normalized_difficulty

# Latest first by these, the larger winning; block and year last so that even duplicated input
# rows give one answer whatever their order.
LATEST_BY = ("answered_at", "submitted_at", "question_id", "session_id", "block_id", "year")


def decimal_places(value: Decimal) -> int:
    """Digits after the point a decimal needs: 0.50 -> 1, 1.10 -> 1, 3 -> 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def difficulty_units(params: Params) -> tuple[dict[str, int], int]:
    """Each named weight as an integer scaled by 10**places, and the unit of weight 1.0."""
    places = max((decimal_places(w) for w in params.difficulty_weights.values()), default=0)
    scale = 10**places
    return {name: int(w * scale) for name, w in params.difficulty_weights.items()}, scale


def difficulty_weight(params: Params) -> pl.Expr:
    """The attempt's weight in integer units; 1.0 when the difficulty is null or unknown."""
    units, one = difficulty_units(params)
    return normalized_difficulty().replace_strict(units, default=one, return_dtype=pl.Int64)


def in_bucket(as_of: datetime, days: int) -> pl.Expr:
    """Answered at or after ``as_of - days`` (buckets are cumulative); a null answer is in none."""
    return (pl.col("answered_at") >= as_of - timedelta(days=days)).fill_null(False)


def bucket_sums(params: Params, as_of: datetime) -> list[pl.Expr]:
    """Per bucket i: ``attempts_i``, ``correct_i`` and, with difficulty, the weighted sums
    ``weight_i`` (Σ w) and ``weighted_correct_i`` (Σ w·correct)."""
    correct = pl.col("is_correct").fill_null(False)
    sums = []
    for i, bucket in enumerate(params.recency_buckets):
        inside = in_bucket(as_of, bucket.days)
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


def latest_block_attempt() -> pl.Expr:
    """Year and block of the group's latest attempt that has a block (a struct; its block is
    null when no attempt has one): attempts with a block sort last, then by LATEST_BY with
    nulls first."""
    order = [pl.col("block_id").is_not_null(), *(pl.col(name) for name in LATEST_BY)]
    return pl.struct("year", "block_id").sort_by(order, nulls_last=False).last()


def theme_aggregates(kept: pl.LazyFrame, params: Params, as_of: datetime) -> pl.LazyFrame:
    """Per (user_id, theme_id): attempts_total, correct_total, last_attempt_at, the buckets'
    sums, and the identity's year and block_id (block null: no attempt had one)."""
    if params.use_difficulty:
        kept = kept.with_columns(difficulty_weight=difficulty_weight(params))
    grouped = kept.group_by(KEYS).agg(
        pl.len().alias("attempts_total"),
        pl.col("is_correct").fill_null(False).sum().alias("correct_total"),
        pl.col("answered_at").max().alias("last_attempt_at"),
        latest_block_attempt().alias("identity"),
        *bucket_sums(params, as_of),
    )
    return grouped.with_columns(
        year=pl.col("identity").struct.field("year"),
        block_id=pl.col("identity").struct.field("block_id"),
    ).drop("identity")


def with_known_tags(
    aggregates: pl.LazyFrame, themes: pl.LazyFrame | None, blocks: pl.LazyFrame | None
) -> pl.LazyFrame:
    """Flags ``theme_known``/``block_known``: the tag exists in themes/blocks (true when the
    table is not given; false for a null tag)."""
    for column, table, flag in (
        ("theme_id", themes, "theme_known"),
        ("block_id", blocks, "block_known"),
    ):
        if table is None:
            aggregates = aggregates.with_columns(pl.lit(True).alias(flag))
            continue
        ids = table.select(pl.col("id").cast(pl.Int32).alias(column)).unique()
        known = ids.with_columns(pl.lit(True).alias(flag))
        aggregates = aggregates.join(known, on=column, how="left").with_columns(
            pl.col(flag).fill_null(False)
        )
    return aggregates


def row_quality_counts(tagged: pl.DataFrame) -> dict[str, int]:
    """Rows skipped: first for having no block, then a dangling theme, then a dangling block."""
    has_block = pl.col("block_id").is_not_null()
    theme_known, block_known = pl.col("theme_known"), pl.col("block_known")
    counts = tagged.select(
        no_block_rows_skipped=(~has_block).sum(),
        dangling_theme_rows_skipped=(has_block & ~theme_known).sum(),
        dangling_block_rows_skipped=(has_block & theme_known & ~block_known).sum(),
    )
    return {name: int(value) for name, value in counts.row(0, named=True).items()}


def identified_rows(tagged: pl.LazyFrame) -> pl.LazyFrame:
    """The rows that are output: a block, and theme and block both known."""
    keep = pl.col("block_id").is_not_null() & pl.col("theme_known") & pl.col("block_known")
    return tagged.filter(keep).drop("theme_known", "block_known")

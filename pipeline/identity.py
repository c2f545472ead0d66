"""Row identity (SPEC §4): a row's year and block come from the user's latest attempt of the
theme that has a block — latest by ``answered_at`` (nulls first), then ``submitted_at``, then
``question_id``.

Sorting inside every group is exact but slow (a sort per group). When the values fit, each
attempt's rank is instead packed into one Int128 — answered, submitted, question rank, then
the block (or the year) in the low bits — so two plain ``max`` aggregations find the latest
attempt's block and year, exactly. ``identity_plan`` picks the packed form when the bits fit
and the per-group sort otherwise; both give the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

INT128_VALUE_BITS = 126  # stay clear of the sign bit after a shift
LATEST_FIRST = ("answered_at", "submitted_at", "question_id")
_HAS_BLOCK = pl.col("block_id").is_not_null()


@dataclass(frozen=True)
class IdentityPlan:
    """Expressions before the group-by, inside it, and after it that yield ``year``/``block_id``.

    ``latest_answered`` (when the plan can tell) is the latest ``answered_at`` of the group's
    attempts that have a block, decoded after the group-by like ``decoded``.
    """

    per_row: dict[str, pl.Expr]
    aggregates: list[pl.Expr]
    decoded: dict[str, pl.Expr]
    latest_answered: pl.Expr | None = None


def identity_plan(
    ranges: ValueRanges | None, window_start: datetime, lookback: timedelta
) -> IdentityPlan:
    """The packed plan when its bit budget fits ``ranges`` (see :func:`value_ranges`), else the
    per-group sort."""
    if ranges is not None:
        plan = _packed_plan(ranges, window_start, lookback)
        if plan is not None:
            return plan
    return sorted_plan()


def sorted_plan() -> IdentityPlan:
    latest = pl.struct("year", "block_id").sort_by([_HAS_BLOCK, *LATEST_FIRST], nulls_last=False)
    return IdentityPlan(
        per_row={},
        aggregates=[latest.last().alias("identity")],
        decoded={
            "year": pl.col("identity").struct.field("year"),
            "block_id": pl.col("identity").struct.field("block_id"),
        },
    )


@dataclass(frozen=True)
class ValueRanges:
    answered_min: int
    answered_max: int
    block_min: int
    block_max: int
    year_min: int
    year_max: int
    questions: pl.Series


def value_ranges(kept: pl.LazyFrame) -> ValueRanges | None:
    """Value ranges of the attempts that carry a block (the only ones an identity comes from)."""
    with_block = kept.filter(_HAS_BLOCK)
    ranges, questions = pl.collect_all(
        [
            with_block.select(
                answered_min=pl.col("answered_at").dt.epoch("us").min(),
                answered_max=pl.col("answered_at").dt.epoch("us").max(),
                block_min=pl.col("block_id").min(),
                block_max=pl.col("block_id").max(),
                year_min=pl.col("year").min(),
                year_max=pl.col("year").max(),
            ),
            with_block.select(pl.col("question_id").unique().sort()),
        ],
        engine="streaming",
        optimizations=pl.QueryOptFlags(comm_subplan_elim=False),  # no cached copy of with_block
    )
    values = ranges.row(0, named=True)
    if values["block_min"] is None:
        return None
    return ValueRanges(
        answered_min=values["answered_min"] if values["answered_min"] is not None else 0,
        answered_max=values["answered_max"] if values["answered_max"] is not None else 0,
        block_min=values["block_min"],
        block_max=values["block_max"],
        year_min=values["year_min"] if values["year_min"] is not None else 0,
        year_max=values["year_max"] if values["year_max"] is not None else 0,
        questions=questions.to_series(),
    )


def _packed_plan(
    stats: ValueRanges, window_start: datetime, lookback: timedelta
) -> IdentityPlan | None:
    answered_bits = (stats.answered_max - stats.answered_min + 1).bit_length()
    submitted_bits = (lookback // timedelta(microseconds=1)).bit_length()
    question_bits = max(len(stats.questions) - 1, 1).bit_length()
    block_bits = (stats.block_max - stats.block_min).bit_length() or 1
    year_bits = (stats.year_max - stats.year_min + 1).bit_length()
    prefix_bits = answered_bits + submitted_bits + question_bits
    if prefix_bits + max(block_bits, year_bits) > INT128_VALUE_BITS:
        return None
    window_start_us = int(window_start.timestamp() * 1_000_000)
    answered = (
        pl.when(pl.col("answered_at").is_null())
        .then(0)
        .otherwise(pl.col("answered_at").dt.epoch("us") - stats.answered_min + 1)
        .cast(pl.Int128)
    )
    submitted = (pl.col("submitted_at").dt.epoch("us") - window_start_us).cast(pl.Int128)
    question = (
        pl.col("question_id").cast(pl.Enum(stats.questions), strict=False).to_physical()
    ).cast(pl.Int128)
    prefix = _shift(_shift(answered, submitted_bits) + submitted, question_bits) + question
    block = (pl.col("block_id") - stats.block_min).cast(pl.Int128)
    year = (pl.col("year") - stats.year_min + 1).fill_null(0).cast(pl.Int128)
    return IdentityPlan(
        per_row={
            "latest_block": pl.when(_HAS_BLOCK).then(_shift(prefix, block_bits) + block),
            "latest_year": pl.when(_HAS_BLOCK).then(_shift(prefix, year_bits) + year),
        },
        aggregates=[pl.col("latest_block").max(), pl.col("latest_year").max()],
        latest_answered=_latest_answered(
            pl.col("latest_block"), submitted_bits + question_bits + block_bits, stats.answered_min
        ),
        decoded={
            "block_id": (pl.col("latest_block") % 2**block_bits + stats.block_min).cast(pl.Int32),
            "year": pl.when(pl.col("latest_year") % 2**year_bits == 0)
            .then(None)
            .otherwise(pl.col("latest_year") % 2**year_bits + stats.year_min - 1)
            .cast(pl.Int32),
        },
    )


def _latest_answered(packed: pl.Expr, low_bits: int, answered_min: int) -> pl.Expr:
    """The answered part of a packed maximum: 0 is a null answered_at, else offset + 1."""
    offset = _unshift(packed, low_bits).cast(pl.Int64)
    return (
        pl.when(offset > 0)
        .then(offset - 1 + answered_min)
        .otherwise(None)
        .cast(pl.Datetime("us", "UTC"))
    )


def _unshift(value: pl.Expr, bits: int) -> pl.Expr:
    """``value >> bits`` for a non-negative Int128, as divisions by powers of two."""
    while bits > 0:
        step = min(bits, 62)
        value = value // pl.lit(2**step, dtype=pl.Int64).cast(pl.Int128)
        bits -= step
    return value


def _shift(value: pl.Expr, bits: int) -> pl.Expr:
    """``value << bits`` on Int128, as multiplications by powers of two that fit a literal."""
    while bits > 0:
        step = min(bits, 62)
        value = value * pl.lit(2**step, dtype=pl.Int64).cast(pl.Int128)
        bits -= step
    return value

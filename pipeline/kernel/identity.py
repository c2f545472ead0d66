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


@dataclass(frozen=True)
class KeyPart:
    """One part of an attempt's key: a non-negative integer of at most ``bits`` bits."""

    value: pl.Expr
    bits: int


def latest_key(ranges: ValueRanges, window_start: datetime, lookback: timedelta) -> list[KeyPart]:
    """SPEC §4's order, most significant first: answered (0 when null: first), submitted, then
    the question's rank among the sorted ids (0 when null)."""
    window_start_us = int(window_start.timestamp() * 1_000_000)
    question = pl.col("question_id").cast(pl.Enum(ranges.questions), strict=False)
    return [
        KeyPart(
            (pl.col("answered_at").dt.epoch("us") - ranges.answered_min + 1).fill_null(0),
            (ranges.answered_max - ranges.answered_min + 1).bit_length(),
        ),
        KeyPart(
            pl.col("submitted_at").dt.epoch("us") - window_start_us,
            (lookback // timedelta(microseconds=1)).bit_length(),
        ),
        KeyPart((question.to_physical() + 1).fill_null(0), len(ranges.questions).bit_length()),
    ]


def tag_parts(ranges: ValueRanges) -> tuple[KeyPart, KeyPart]:
    """The block's and the year's offsets (year 0 when null), for attempts with a block."""
    return (
        KeyPart(
            pl.col("block_id") - ranges.block_min,
            (ranges.block_max - ranges.block_min).bit_length() or 1,
        ),
        KeyPart(
            (pl.col("year") - ranges.year_min + 1).fill_null(0),
            (ranges.year_max - ranges.year_min + 1).bit_length(),
        ),
    )


def _packed_plan(
    stats: ValueRanges, window_start: datetime, lookback: timedelta
) -> IdentityPlan | None:
    parts = latest_key(stats, window_start, lookback)
    block, year = tag_parts(stats)
    if sum(part.bits for part in parts) + max(block.bits, year.bits) > INT128_VALUE_BITS:
        return None
    prefix = parts[0].value.cast(pl.Int128)
    for part in parts[1:]:
        prefix = _shift(prefix, part.bits) + part.value.cast(pl.Int128)
    return IdentityPlan(
        per_row={
            "latest_block": pl.when(_HAS_BLOCK).then(
                _shift(prefix, block.bits) + block.value.cast(pl.Int128)
            ),
            "latest_year": pl.when(_HAS_BLOCK).then(
                _shift(prefix, year.bits) + year.value.cast(pl.Int128)
            ),
        },
        aggregates=[pl.col("latest_block").max(), pl.col("latest_year").max()],
        latest_answered=_latest_answered(
            pl.col("latest_block"),
            sum(part.bits for part in parts[1:]) + block.bits,
            stats.answered_min,
        ),
        decoded={
            "block_id": (pl.col("latest_block") % 2**block.bits + stats.block_min).cast(pl.Int32),
            "year": pl.when(pl.col("latest_year") % 2**year.bits == 0)
            .then(None)
            .otherwise(pl.col("latest_year") % 2**year.bits + stats.year_min - 1)
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

"""Mastery v0 (SPEC §4) for a whole cohort at once: LazyFrame in, DataFrame out, no I/O, no clock.

Every number is computed on integers (counts, weights scaled by a power of ten) and rounded
once, half away from zero, on the exact rational value; nothing passes through a float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

from pipeline.identity import identity_plan
from pipeline.params import Bucket, Params, plain_decimal

KEYS = ("user_id", "theme_id")
SCORE_SCALE = 10_000  # mastery_score, contributions and bucket accuracies: 4 decimals
PCT_SCALE = 100  # accuracy_pct: 2 decimals
OUTPUT_COLUMNS = (
    "user_id",
    "theme_id",
    "year",
    "block_id",
    "attempts_total",
    "correct_total",
    "accuracy_pct",
    "mastery_score",
    "last_attempt_at",
    "breakdown_json",
)
UTC_MICROS = pl.Datetime("us", "UTC")
ATTEMPT_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "user_id": pl.String,
        "session_id": pl.String,
        "question_id": pl.String,
        "year": pl.Int32,
        "block_id": pl.Int32,
        "theme_id": pl.Int32,
        "difficulty": pl.String,
        "is_correct": pl.Boolean,
        "answered_at": UTC_MICROS,
        "submitted_at": UTC_MICROS,
    }
)
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
    """Score resolved attempts; ``themes``/``blocks`` (when given) drop rows with dangling tags."""
    as_of = utc(as_of)
    windowed = (
        attempts.select(pl.col(name).cast(dtype) for name, dtype in ATTEMPT_SCHEMA.items())
        .filter(in_lookback_window(params, as_of))
        .with_columns(difficulty=normalized_difficulty())
    )
    kept = windowed.filter(pl.col("theme_id").is_not_null() & ~answered_after(as_of))
    lookback = timedelta(days=params.lookback_days)
    identity = identity_plan(kept, as_of - lookback, lookback)
    groups = (
        kept.with_columns(
            correct=pl.col("is_correct").fill_null(False).cast(pl.Int64),
            bucket_code=bucket_code(params, as_of),
            difficulty_weight=difficulty_weight(params),
            **identity.per_row,
        )
        .group_by(KEYS)
        .agg(*group_aggregates(params), *identity.aggregates)
        .with_columns(**identity.decoded)
    )
    tagged = with_known_tags(groups, themes, blocks)
    known = tagged.filter(
        pl.col("block_id").is_not_null() & pl.col("theme_known") & pl.col("block_known")
    ).with_columns(pl.col("year").fill_null(1))
    rows_lf = known.with_columns(**scored_columns(params)).select(OUTPUT_COLUMNS).sort(KEYS)
    counts_lf = data_quality_counts(windowed, kept, tagged, params=params, as_of=as_of)
    theme_blocks_lf = (
        kept.filter(pl.col("block_id").is_not_null()).select("theme_id", "block_id").unique()
    )
    rows, counts, theme_blocks = pl.collect_all(
        [rows_lf, counts_lf, theme_blocks_lf], engine="in-memory"
    )
    quality = {k: int(v) for k, v in counts.row(0, named=True).items()}
    quality["themes_under_two_blocks"] = themes_under_two_blocks(theme_blocks)
    return CohortResult(
        rows=rows,
        data_quality={k: quality[k] for k in DATA_QUALITY_KEYS},
        theme_blocks=theme_blocks,
    )


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


def normalized_difficulty() -> pl.Expr:
    return pl.col("difficulty").str.strip_chars().str.to_lowercase()


def bucket_code(params: Params, as_of: datetime) -> pl.Expr:
    """Index of the narrowest bucket holding the attempt; len(buckets) when in none."""
    code = pl.lit(len(params.recency_buckets), dtype=pl.Int8)
    for index, bucket in reversed(list(enumerate(params.recency_buckets))):
        cutoff = as_of - timedelta(days=bucket.days)
        code = (
            pl.when(pl.col("answered_at") >= pl.lit(cutoff))
            .then(pl.lit(index, pl.Int8))
            .otherwise(code)
        )
    return code


def difficulty_weight(params: Params) -> pl.Expr:
    """Difficulty weight as an integer scaled by 10**difficulty_decimals; 1.0 when unknown."""
    scale = 10 ** difficulty_decimals(params)
    mapping = {name: int(w * scale) for name, w in params.difficulty_weights.items()}
    return pl.col("difficulty").replace_strict(mapping, default=scale, return_dtype=pl.Int64)


def group_aggregates(params: Params) -> list[pl.Expr]:
    """Per (user, theme): totals and per-bucket-code counts (plain sums: the fast path)."""
    exprs = [
        pl.len().cast(pl.Int64).alias("attempts_total"),
        pl.col("correct").sum().alias("correct_total"),
        pl.col("answered_at").max().alias("last_attempt_at"),
    ]
    for code in range(len(params.recency_buckets)):
        in_code = (pl.col("bucket_code") == code).cast(pl.Int64)
        exprs += [
            in_code.sum().alias(f"n_{code}"),
            (in_code * pl.col("correct")).sum().alias(f"c_{code}"),
        ]
        if params.use_difficulty:
            weight = in_code * pl.col("difficulty_weight")
            exprs += [
                weight.sum().alias(f"w_{code}"),
                (weight * pl.col("correct")).sum().alias(f"wc_{code}"),
            ]
    return exprs


def scored_columns(params: Params) -> dict[str, pl.Expr]:
    """Final columns from the group aggregates; buckets are cumulative over bucket codes."""
    buckets = params.recency_buckets
    attempts = [_cumulative("n", b) for b in range(len(buckets))]
    correct = [_cumulative("c", b) for b in range(len(buckets))]
    if params.use_difficulty:
        numerators = [_cumulative("wc", b) for b in range(len(buckets))]
        denominators = [_cumulative("w", b) for b in range(len(buckets))]
    else:
        numerators, denominators = correct, attempts
    accuracies = [
        _ratio_rounded(p, q, SCORE_SCALE) for p, q in zip(numerators, denominators, strict=True)
    ]
    contributions = [
        _weighted_ratio_rounded(p, q, bucket.weight)
        for p, q, bucket in zip(numerators, denominators, buckets, strict=True)
    ]
    insufficient = pl.col("attempts_total") < params.min_attempts
    score = pl.when(insufficient).then(0).otherwise(pl.sum_horizontal(contributions))
    bucket_json = [
        bucket_breakdown(bucket, n, c, a, k)
        for bucket, n, c, a, k in zip(
            buckets, attempts, correct, accuracies, contributions, strict=True
        )
    ]
    scored_json = pl.concat_str(
        pl.lit('{"total_attempts":'),
        pl.col("attempts_total").cast(pl.String),
        pl.lit(',"buckets":{'),
        pl.concat_str(bucket_json, separator=","),
        pl.lit('},"mastery_score":'),
        decimal_text(score),
        pl.lit(f',"use_difficulty":{str(params.use_difficulty).lower()}}}'),
    )
    insufficient_json = insufficient_breakdown(params, pl.col("attempts_total"))
    return {
        "accuracy_pct": _as_decimal(
            _ratio_rounded(pl.col("correct_total"), pl.col("attempts_total"), 100 * PCT_SCALE),
            PCT_SCALE,
            5,
        ),
        "mastery_score": _as_decimal(score, SCORE_SCALE, 6),
        "breakdown_json": pl.when(insufficient).then(insufficient_json).otherwise(scored_json),
        "attempts_total": pl.col("attempts_total").cast(pl.Int32),
        "correct_total": pl.col("correct_total").cast(pl.Int32),
    }


def insufficient_breakdown(params: Params, attempts: pl.Expr) -> pl.Expr:
    """``{"reason":"insufficient_attempts","required":5,"actual":4}``."""
    return pl.concat_str(
        pl.lit(f'{{"reason":"insufficient_attempts","required":{params.min_attempts},"actual":'),
        attempts.cast(pl.String),
        pl.lit("}"),
    )


def bucket_breakdown(
    bucket: Bucket, attempts: pl.Expr, correct: pl.Expr, accuracy: pl.Expr, contribution: pl.Expr
) -> pl.Expr:
    """``"7d":{"attempts":3,"correct":2,"accuracy":0.6667,"weight":0.5,"contribution":0.3333}``."""
    return pl.concat_str(
        pl.lit(f'"{bucket.label}":{{"attempts":'),
        attempts.cast(pl.String),
        pl.lit(',"correct":'),
        correct.cast(pl.String),
        pl.lit(',"accuracy":'),
        decimal_text(accuracy),
        pl.lit(f',"weight":{plain_decimal(bucket.weight)},"contribution":'),
        decimal_text(contribution),
        pl.lit("}"),
    )


def decimal_text(units: pl.Expr) -> pl.Expr:
    """``units / 10_000`` in [0, 1] as the shortest plain decimal: 8000 -> '0.8', 10000 -> '1'.

    Looked up in a table of all 10,001 texts: a gather is far cheaper than formatting per row.
    """
    return pl.lit(_UNIT_TEXTS).gather(units)


def _unit_text(units: int) -> str:
    whole, fraction = divmod(units, SCORE_SCALE)
    return f"{whole}.{fraction:04d}".rstrip("0") if fraction else str(whole)


_UNIT_TEXTS = pl.Series("unit_text", [_unit_text(u) for u in range(SCORE_SCALE + 1)])


def difficulty_decimals(params: Params) -> int:
    return max((_decimals(w) for w in params.difficulty_weights.values()), default=0)


def with_known_tags(
    groups: pl.LazyFrame, themes: pl.LazyFrame | None, blocks: pl.LazyFrame | None
) -> pl.LazyFrame:
    """Flag ``theme_known``/``block_known``: the tag is in themes/blocks (true if not given)."""
    for column, table, flag in (
        ("theme_id", themes, "theme_known"),
        ("block_id", blocks, "block_known"),
    ):
        if table is None:
            groups = groups.with_columns(pl.lit(True).alias(flag))
            continue
        ids = table.select(pl.col("id").cast(pl.Int32).alias(column)).unique()
        groups = groups.join(ids.with_columns(pl.lit(True).alias(flag)), on=column, how="left")
        groups = groups.with_columns(pl.col(flag).fill_null(False))
    return groups


def data_quality_counts(
    windowed: pl.LazyFrame,
    kept: pl.LazyFrame,
    tagged: pl.LazyFrame,
    *,
    params: Params,
    as_of: datetime,
) -> pl.LazyFrame:
    """One row holding every data-quality count (SPEC §7: counted, never fatal)."""
    per_attempt = windowed.select(
        answered_after_as_of=answered_after(as_of).sum(),
        null_theme_dropped=(pl.col("theme_id").is_null() & ~answered_after(as_of)).sum(),
    )
    per_kept = kept.select(
        null_answered_at=pl.col("answered_at").is_null().sum(),
        null_is_correct=pl.col("is_correct").is_null().sum(),
        unknown_difficulty=(
            pl.col("difficulty").is_not_null()
            & ~pl.col("difficulty").is_in(list(params.difficulty_weights))
        ).sum(),
    )
    has_block = pl.col("block_id").is_not_null()
    per_row = tagged.select(
        no_block_rows_skipped=(~has_block).sum(),
        dangling_theme_rows_skipped=(has_block & ~pl.col("theme_known")).sum(),
        dangling_block_rows_skipped=(
            has_block & pl.col("theme_known") & ~pl.col("block_known")
        ).sum(),
    )
    return (
        per_attempt.join(per_kept, how="cross")
        .join(per_row, how="cross")
        .select(pl.all().cast(pl.Int64))
    )


def _cumulative(prefix: str, upto: int) -> pl.Expr:
    return pl.sum_horizontal(pl.col(f"{prefix}_{code}") for code in range(upto + 1))


def _ratio_rounded(numerator: pl.Expr, denominator: pl.Expr, scale: int) -> pl.Expr:
    """round(numerator / denominator, log10(scale)) half up, in units of 1/scale; 0 if empty."""
    rounded = (2 * scale * numerator + denominator) // (2 * denominator)
    return pl.when(denominator > 0).then(rounded).otherwise(0)


def _weighted_ratio_rounded(numerator: pl.Expr, denominator: pl.Expr, weight: Decimal) -> pl.Expr:
    """round(numerator / denominator * weight, 4) on exact integers (Int128: no overflow)."""
    places = _decimals(weight)
    weight_units = int(weight * 10**places)
    num = numerator.cast(pl.Int128) * (2 * SCORE_SCALE * weight_units)
    den = denominator.cast(pl.Int128) * 10**places
    rounded = ((num + den) // (2 * den)).cast(pl.Int64)
    return pl.when(denominator > 0).then(rounded).otherwise(0)


def _as_decimal(units: pl.Expr, scale: int, precision: int) -> pl.Expr:
    digits = len(str(scale)) - 1
    exact = pl.Decimal(38, digits)
    return (units.cast(exact) / pl.lit(scale).cast(exact)).cast(pl.Decimal(precision, digits))


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def utc(moment: datetime) -> datetime:
    """Naive timestamps are UTC (SPEC §4)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

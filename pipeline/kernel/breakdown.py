"""SPEC §4 ``breakdown_json``: the text, keys in the SPEC's order, numbers plain (0.24, 1, 0).

Built with vectorized string expressions from the integer units of pipeline/kernel/scoring.py,
so the digits are exactly the rounded values.
"""

from __future__ import annotations

import polars as pl

from pipeline.contracts.params import Bucket, Params, plain_decimal
from pipeline.kernel.scoring import SCORE_PLACES, is_insufficient


def decimal_text(units: pl.Expr) -> pl.Expr:
    """``units / 10,000`` (units >= 0) as the shortest plain decimal: 2400 -> '0.24',
    10000 -> '1', 0 -> '0'."""
    scale = 10**SCORE_PLACES
    whole = (units // scale).cast(pl.String)
    fraction = units % scale
    digits = fraction.cast(pl.String).str.zfill(SCORE_PLACES).str.strip_chars_end("0")
    return pl.when(fraction == 0).then(whole).otherwise(pl.concat_str(whole, pl.lit("."), digits))


def insufficient_breakdown(params: Params, attempts: pl.Expr) -> pl.Expr:
    """``{"reason":"insufficient_attempts","required":5,"actual":4}``."""
    return pl.concat_str(
        pl.lit(f'{{"reason":"insufficient_attempts","required":{params.min_attempts},"actual":'),
        attempts.cast(pl.String),
        pl.lit("}"),
    )


def bucket_text(bucket: Bucket, index: int) -> pl.Expr:
    """``"7d":{"attempts":3,"correct":2,"accuracy":0.6667,"weight":0.5,"contribution":0.3333}``;
    ``correct`` stays the raw count, also with difficulty weights."""
    return pl.concat_str(
        pl.lit(f'"{bucket.label}":{{"attempts":'),
        pl.col(f"attempts_{index}").cast(pl.String),
        pl.lit(',"correct":'),
        pl.col(f"correct_{index}").cast(pl.String),
        pl.lit(',"accuracy":'),
        decimal_text(pl.col(f"accuracy_{index}")),
        pl.lit(f',"weight":{plain_decimal(bucket.weight)},"contribution":'),
        decimal_text(pl.col(f"contribution_{index}")),
        pl.lit("}"),
    )


def scored_breakdown(params: Params) -> pl.Expr:
    """The breakdown of a row with at least ``min_attempts`` attempts."""
    buckets = [bucket_text(bucket, i) for i, bucket in enumerate(params.recency_buckets)]
    return pl.concat_str(
        pl.lit('{"total_attempts":'),
        pl.col("attempts_total").cast(pl.String),
        pl.lit(',"buckets":{'),
        pl.concat_str(buckets, separator=","),
        pl.lit('},"mastery_score":'),
        decimal_text(pl.col("score")),
        pl.lit(f',"use_difficulty":{str(params.use_difficulty).lower()}}}'),
    )


def breakdown_json(scored: pl.LazyFrame, params: Params) -> pl.LazyFrame:
    """Adds ``breakdown_json``: the insufficient-attempts reason, or the scored breakdown."""
    insufficient = insufficient_breakdown(params, pl.col("attempts_total"))
    text = pl.when(is_insufficient(params)).then(insufficient).otherwise(scored_breakdown(params))
    return scored.with_columns(breakdown_json=text)

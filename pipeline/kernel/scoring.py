"""SPEC §4 *Score*: bucket accuracies, contributions and the score, rounded exactly.

Every value is an integer count of units (1/10,000 for the score, its contributions and the
bucket accuracies; 1/100 for accuracy_pct), rounded once, half away from zero, on the exact
rational value, in Int128 integer arithmetic: nothing passes through a float, and no decimal is
ever divided (Polars rounds decimal division half to even).
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from pipeline.contracts.params import Params
from pipeline.kernel.aggregates import decimal_places

SCORE_PLACES = 4  # mastery_score, contributions, bucket accuracies
PCT_PLACES = 2  # accuracy_pct


def rounded_ratio(numerator: pl.Expr, denominator: pl.Expr, places: int) -> pl.Expr:
    """round(numerator / denominator, places) in units of 10**-places; 0 when the denominator
    is 0. For values >= 0, half away from zero is floor(x + 1/2) = (2·n·s + d) // (2·d)."""
    n, d = numerator.cast(pl.Int128), denominator.cast(pl.Int128)
    rounded = (2 * 10**places * n + d) // (2 * d)
    return pl.when(d > 0).then(rounded).otherwise(0).cast(pl.Int64)


def rounded_weighted_ratio(numerator: pl.Expr, denominator: pl.Expr, weight: Decimal) -> pl.Expr:
    """round(numerator / denominator · weight, 4) in 1/10,000 units, with the weight as the
    exact decimal written in the params (``weight_units / 10**places``)."""
    places = decimal_places(weight)
    weight_units = int(weight.scaleb(places))
    n, d = numerator.cast(pl.Int128), denominator.cast(pl.Int128)
    return rounded_ratio(n * weight_units, d * 10**places, SCORE_PLACES)


def accuracy_terms(params: Params, index: int) -> tuple[pl.Expr, pl.Expr]:
    """Bucket ``index``'s accuracy as numerator and denominator: correct / attempts, or with
    difficulty Σ w·correct / Σ w."""
    if params.use_difficulty:
        return pl.col(f"weighted_correct_{index}"), pl.col(f"weight_{index}")
    return pl.col(f"correct_{index}"), pl.col(f"attempts_{index}")


def bucket_contributions(aggregates: pl.LazyFrame, params: Params) -> pl.LazyFrame:
    """Adds per bucket i ``accuracy_i`` = round(a_b, 4) and ``contribution_i`` =
    round(a_b · weight_b, 4), both from the exact a_b (never the rounded accuracy)."""
    columns = {}
    for i, bucket in enumerate(params.recency_buckets):
        numerator, denominator = accuracy_terms(params, i)
        columns[f"accuracy_{i}"] = rounded_ratio(numerator, denominator, SCORE_PLACES)
        columns[f"contribution_{i}"] = rounded_weighted_ratio(numerator, denominator, bucket.weight)
    return aggregates.with_columns(**columns)


def is_insufficient(params: Params) -> pl.Expr:
    return pl.col("attempts_total") < params.min_attempts


def mastery_score(contributions: pl.LazyFrame, params: Params) -> pl.LazyFrame:
    """Adds ``score``: the sum of the contributions (already exact in 1/10,000 units, so
    rounding it to 4 places changes nothing); 0 below ``min_attempts``."""
    total = pl.sum_horizontal(
        pl.col(f"contribution_{i}") for i in range(len(params.recency_buckets))
    )
    return contributions.with_columns(
        score=pl.when(is_insufficient(params)).then(0).otherwise(total)
    )


def accuracy_pct_units(correct: pl.Expr, attempts: pl.Expr) -> pl.Expr:
    """round(100 · correct / attempts, 2) in 1/100 units; 0 when there are no attempts."""
    return rounded_ratio(100 * correct.cast(pl.Int128), attempts, PCT_PLACES)


def decimal_from_units(units: pl.Expr, places: int) -> pl.Expr:
    """``units · 10**-places`` as a decimal with ``places`` places: an integer decimal times an
    exact decimal literal, which Polars multiplies exactly (scales add up)."""
    return units.cast(pl.Decimal(38, 0)) * pl.lit(Decimal(1).scaleb(-places))

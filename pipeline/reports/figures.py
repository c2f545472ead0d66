"""Exact cohort figures from a histogram of stored scores (no row-level data needed).

The histogram has one row per ``(key, mastery_units, evidence)`` with its count ``n``; scores
are integer units of 0.0001. Means, medians and shares are computed on integers and rounded
once, half away from zero (SPEC §4); the spread (quartiles, for the chart) is read from the
same counts, so the cost does not grow with the cohort.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

import polars as pl

SCORE_SCALE = 10_000
SCORED = ("scored", "stale")
"""Evidence kinds whose score counts in means and medians (see pipeline/reports/states.py)."""


def threshold_units(threshold: Decimal) -> int:
    """Scores are whole units of 0.0001, so ``units < ceil(threshold * 10000)`` is exact."""
    return int((threshold * SCORE_SCALE).to_integral_value(rounding=ROUND_CEILING))


def _scored(histogram: pl.DataFrame, key: str) -> pl.DataFrame:
    """Scored rows sorted by score within ``key``, with the rows before each value and in all."""
    return (
        histogram.filter(pl.col("evidence").is_in(SCORED))
        .group_by(key, "mastery_units")
        .agg(pl.col("n").sum())
        .sort(key, "mastery_units")
        .with_columns(
            before=pl.col("n").cum_sum().over(key) - pl.col("n"),
            total=pl.col("n").sum().over(key),
        )
    )


def _value_at(scored: pl.DataFrame, key: str, position: pl.Expr, name: str) -> pl.DataFrame:
    """Per ``key``, the score at 0-based ``position`` of its sorted scores, as column ``name``."""
    covers = (pl.col("before") <= pl.col("k")) & (pl.col("k") < pl.col("before") + pl.col("n"))
    return (
        scored.with_columns(k=position)
        .filter(covers)
        .select(key, pl.col("mastery_units").alias(name))
    )


def summarize(histogram: pl.DataFrame, key: str, threshold: Decimal) -> pl.DataFrame:
    """Exact figures and state counts per ``key``, weakest (lowest mean) first.

    mean = round(Σ units / scored), median = round(middle value or mean of the two middle
    values), share = round(1000 · below / scored) tenths of a percent: integers, one rounding
    half away from zero (all values are non-negative, so ``(2p + q) // 2q``). Scored rows
    include the ones not practised lately (their capped score is their stored score);
    ``rows_weak`` counts only the practised ones below the threshold.
    """
    scored = _scored(histogram, key)
    below = pl.col("mastery_units") < threshold_units(threshold)
    low = _value_at(scored, key, (pl.col("total") - 1) // 2, "low")
    high = _value_at(scored, key, pl.col("total") // 2, "high")
    medians = low.join(high, on=key).select(key, half_sum=pl.col("low") + pl.col("high"))
    figures = scored.group_by(key).agg(
        rows_scored=pl.col("n").sum(),
        unit_sum=(pl.col("mastery_units") * pl.col("n")).sum(),
        rows_below_threshold=pl.col("n").filter(below).sum(),
    )
    evidence = pl.col("evidence")
    states = histogram.group_by(key).agg(
        rows_weak=pl.col("n").filter((evidence == "scored") & below).sum(),
        rows_not_practised_lately=pl.col("n").filter(evidence == "stale").sum(),
        rows_insufficient=pl.col("n").filter(~evidence.is_in(SCORED)).sum(),
    )
    count = pl.col("rows_scored")
    counts = ("rows_scored", "rows_below_threshold")
    return (
        states.join(figures, on=key, how="left")
        .join(medians, on=key, how="left")
        .with_columns(
            pl.col(*counts).fill_null(0),
            mean_units=_rounded_ratio(pl.col("unit_sum"), count),
            median_units=_rounded_ratio(pl.col("half_sum"), pl.lit(2)),
            share_tenths=_rounded_ratio(1000 * pl.col("rows_below_threshold"), count),
        )
        .sort(pl.col("mean_units"), key, nulls_last=True)
        .select(
            key,
            pl.col("rows_scored").cast(pl.Int64),
            mean_mastery=units_to_decimal(pl.col("mean_units"), 4, 6),
            median_mastery=units_to_decimal(pl.col("median_units"), 4, 6),
            rows_below_threshold=pl.col("rows_below_threshold").cast(pl.Int64),
            share_below_threshold_pct=units_to_decimal(pl.col("share_tenths"), 1, 4),
            rows_weak=pl.col("rows_weak").cast(pl.Int64),
            rows_not_practised_lately=pl.col("rows_not_practised_lately").cast(pl.Int64),
            rows_insufficient=pl.col("rows_insufficient").cast(pl.Int64),
        )
    )


QUANTILES = {"min": (0, 1), "p25": (1, 4), "median": (1, 2), "p75": (3, 4), "max": (1, 1)}


def spread(histogram: pl.DataFrame, key: str) -> pl.DataFrame:
    """Per ``key``: min, quartiles, median and max of the scored rows as floats in [0, 1]
    (linear interpolation between the two nearest ranks, as numpy's default), for charts."""
    scored = _scored(histogram, key)
    out = scored.select(key).unique()
    for name, (num, den) in QUANTILES.items():
        at = (pl.col("total") - 1) * num  # position = at / den, between floor and ceil
        lo = _value_at(scored, key, at // den, "lo")
        hi = _value_at(scored, key, (at + den - 1) // den, "hi")
        fraction = scored.group_by(key).agg(f=((pl.col("total").first() - 1) * num % den) / den)
        value = (
            lo.join(hi, on=key)
            .join(fraction, on=key)
            .select(key, (pl.col("lo") + (pl.col("hi") - pl.col("lo")) * pl.col("f")).alias(name))
        )
        out = out.join(value, on=key, how="left")
    return out.with_columns((pl.col(*QUANTILES) / SCORE_SCALE).cast(pl.Float64)).sort(key)


def _rounded_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """round(p / q) half away from zero for p >= 0, q > 0; null when q is 0 or null."""
    rounded = (2 * numerator + denominator) // (2 * denominator)
    return pl.when(denominator > 0).then(rounded).otherwise(None)


def units_to_decimal(units: pl.Expr, places: int, precision: int) -> pl.Expr:
    """Non-negative integer units of ``10**-places`` as an exact Decimal (via its text)."""
    scale = 10**places
    text = pl.format("{}.{}", units // scale, (units % scale).cast(pl.String).str.zfill(places))
    return text.cast(pl.Decimal(precision, places))

"""v0's replay (issue 16): SPEC §4 literally at every target's ``as_of``, in one event sweep per
(user, theme) (:mod:`pipeline.kernel.replay` says what "just before answering" means)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from pipeline.contracts.params import Params
from pipeline.kernel.aggregates import difficulty_weight
from pipeline.kernel.replay import MICROSECOND, TIME, History, Period
from pipeline.kernel.scoring import SCORE_PLACES, decimal_from_units, rounded_weighted_ratio


def _v0_measures(params: Params) -> list[str]:
    names = ["total"]
    for i in range(len(params.recency_buckets)):
        names += [f"att_{i}", f"cor_{i}"]
        if params.use_difficulty:
            names += [f"w_{i}", f"wc_{i}"]
    return names


def _v0_events(frame: pl.DataFrame, params: Params) -> pl.LazyFrame:
    """Every attempt j is in v0's count at ``as_of`` = X exactly while
    ``max(submitted_j, answered_j) <= X <= submitted_j + lookback`` (submitted in the window,
    not answered after X), and in bucket b while also ``X <= answered_j + days_b``: one
    interval of X per measure. An interval [lo, hi] becomes +1 at lo and -1 at hi + 1 µs."""
    lookback = timedelta(days=params.lookback_days)
    weight = difficulty_weight(params)  # the kernel's integer units (aggregates)
    lo = pl.max_horizontal("submitted_at", TIME)
    hi = pl.col("submitted_at") + lookback
    base = frame.lazy().select(
        "user", "theme_id", "correct", lo=lo, hi=hi, answered=pl.col(TIME), w=weight
    )
    base = base.filter(pl.col("lo") <= pl.col("hi"))
    bucket_hi = {
        i: pl.when(pl.col("answered").is_not_null()).then(
            pl.min_horizontal("hi", pl.col("answered") + timedelta(days=b.days))
        )
        for i, b in enumerate(params.recency_buckets)
    }
    inside = {i: (pl.col("lo") <= end).fill_null(False) for i, end in bucket_hi.items()}

    def deltas(i: int, sign: int) -> dict[str, pl.Expr]:
        on = inside[i].cast(pl.Int64) * sign
        out = {f"att_{i}": on, f"cor_{i}": on * pl.col("correct")}
        if params.use_difficulty:
            out |= {f"w_{i}": on * pl.col("w"), f"wc_{i}": on * pl.col("w") * pl.col("correct")}
        return out

    starts = base.select(
        "user",
        "theme_id",
        time=pl.col("lo"),
        total=pl.lit(1, pl.Int64),
        **{k: v for i in bucket_hi for k, v in deltas(i, 1).items()},
    )
    ends = [
        base.select("user", "theme_id", time=pl.col("hi") + MICROSECOND, total=pl.lit(-1, pl.Int64))
    ]
    for i, end in bucket_hi.items():
        ends.append(
            base.filter(inside[i]).select(
                "user", "theme_id", time=end + MICROSECOND, **deltas(i, -1)
            )
        )
    return pl.concat([starts, *ends], how="diagonal")


def replay_v0(history: History, period: Period, params: Params) -> pl.DataFrame:
    """Per target (``row``): ``v0_attempts`` (what v0 counts at its ``as_of``),
    ``v0_insufficient`` (fewer than ``min_attempts``), ``v0_units`` (the score in 1/10,000,
    exactly SPEC §4's rounding; null when insufficient) and ``v0`` (the same as a float).

    One sweep: the events of :func:`_v0_events` and one query per target at its ``as_of``,
    sorted by (user, theme, instant, events before queries), then running sums per (user,
    theme) (one running sum, minus its value where the group starts).
    """
    measures = _v0_measures(params)
    frame = history.frame
    queries = (
        frame.lazy()
        .filter(period.contains())
        .select("user", "theme_id", "row", time=pl.col(TIME) - MICROSECOND)
    )
    # an event after the period's end is after every query: it can never count
    events = _v0_events(frame, params).filter(pl.col("time") < period.end)
    group = pl.col("user").cast(pl.Int128) * 2**32 + pl.col("theme_id").cast(pl.Int128) + 2**31
    offset = (pl.col("time") - pl.col("time").min()).dt.total_microseconds().cast(pl.Int128)
    sweep = pl.concat(
        [
            events.with_columns(kind=pl.lit(0, pl.Int128)),
            queries.with_columns(kind=pl.lit(1, pl.Int128)),
        ],
        how="diagonal",
    ).with_columns(pl.col(m).fill_null(0) for m in measures)
    ordered = sweep.with_columns(key=group * pl.lit(2**64, pl.Int128) + offset * 2 + pl.col("kind"))
    ordered = ordered.sort("key").with_columns(group=pl.col("key") // pl.lit(2**64, pl.Int128))
    starts = (pl.col("group") != pl.col("group").shift()).fill_null(True)
    swept = ordered.with_columns(
        (pl.col(m).cum_sum() - pl.when(starts).then(pl.col(m).cum_sum() - pl.col(m)).forward_fill())
        for m in measures
    ).filter(pl.col("kind") == 1)
    counts = swept.select("row", *measures)
    insufficient = pl.col("total") < params.min_attempts
    score = pl.sum_horizontal(
        _v0_contribution(params, i) for i in range(len(params.recency_buckets))
    )
    return (
        counts.select(
            "row",
            v0_attempts=pl.col("total").cast(pl.Int32),
            v0_insufficient=insufficient,
            v0_units=pl.when(insufficient).then(None).otherwise(score).cast(pl.Int64),
        )
        .with_columns(v0=_unit_float(pl.col("v0_units")))
        .collect()
    )


def _unit_float(units: pl.Expr) -> pl.Expr:
    """units / 10,000 as the float nearest the decimal (0.1417, not 1417 · 0.0001)."""
    return decimal_from_units(units, SCORE_PLACES).cast(pl.Float64)


def _v0_contribution(params: Params, i: int) -> pl.Expr:
    """Bucket i's contribution in 1/10,000 units, rounded as the kernel rounds it
    (:func:`~pipeline.kernel.scoring.rounded_weighted_ratio`); 0 for an empty bucket."""
    num, den = (f"wc_{i}", f"w_{i}") if params.use_difficulty else (f"cor_{i}", f"att_{i}")
    return rounded_weighted_ratio(pl.col(num), pl.col(den), params.recency_buckets[i].weight)

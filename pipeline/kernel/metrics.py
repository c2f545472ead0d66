"""How well a prediction of "answered right" did (issue 16): pure Polars, no I/O.

* **AUC**: the chance that a right answer got a higher prediction than a wrong one, from ranks
  (ties get their average rank, so a tie counts one half); null with only one outcome.
* **log loss**: mean of -ln p for right answers and -ln(1 - p) for wrong ones, p clipped to
  [1e-6, 1 - 1e-6] (a prediction of exactly 0 or 1 costs 13.8, not infinity).
* **Brier**: mean of (p - outcome)².
* **ECE** (expected calibration error): over 10 equal-width bins of p, the count-weighted mean
  of |mean prediction - observed rate|. Bin k holds k/10 <= p < (k+1)/10, and p = 1 is in the
  last bin; the edges are compared as written (a v0 score of 0.3 is in bin 3).
* **calibration**: those 10 bins (mean predicted, observed rate, count; the means are null for
  an empty bin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

BINS = 10
CLIP = 1e-6
CALIBRATION_SCHEMA = pl.Schema(
    {
        "bin": pl.Int64,
        "mean_predicted": pl.Float64,
        "observed_rate": pl.Float64,
        "count": pl.Int64,
    }
)


@dataclass(frozen=True)
class Metrics:
    """The scores of one prediction column over the rows where it is not null."""

    attempts_scored: int
    auc: float | None
    log_loss: float | None
    brier: float | None
    ece: float | None
    calibration: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=CALIBRATION_SCHEMA)
    )

    def as_json(self) -> dict[str, Any]:
        return {
            "attempts_scored": self.attempts_scored,
            "auc": self.auc,
            "log_loss": self.log_loss,
            "brier": self.brier,
            "ece": self.ece,
            "calibration": self.calibration.to_dicts(),
        }


def scored_pairs(frame: pl.DataFrame | pl.LazyFrame, prediction: str, outcome: str) -> pl.DataFrame:
    """``p`` (Float64) and ``y`` (0.0/1.0) of the rows with a prediction and an outcome."""
    return (
        frame.lazy()
        .filter(pl.col(prediction).is_not_null() & pl.col(outcome).is_not_null())
        .select(p=pl.col(prediction).cast(pl.Float64), y=pl.col(outcome).cast(pl.Float64))
        .collect()
    )


def auc(pairs: pl.DataFrame) -> float | None:
    """Rank-based ROC AUC (Mann-Whitney), ties averaged; None without both outcomes."""
    sums = pairs.select(
        positives=pl.col("y").sum(),
        count=pl.len(),
        rank_sum=pl.col("p").rank("average").filter(pl.col("y") == 1).sum(),
    ).row(0, named=True)
    positives = float(sums["positives"] or 0)
    negatives = float(sums["count"]) - positives
    if positives == 0 or negatives == 0:
        return None
    rank_sum = float(sums["rank_sum"] or 0)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def log_loss(pairs: pl.DataFrame) -> float | None:
    if pairs.is_empty():
        return None
    p = pl.col("p").clip(CLIP, 1 - CLIP)
    loss = -(pl.col("y") * p.log() + (1 - pl.col("y")) * (1 - p).log())
    return float(pairs.select(loss.mean()).item())


def brier(pairs: pl.DataFrame) -> float | None:
    if pairs.is_empty():
        return None
    return float(pairs.select(((pl.col("p") - pl.col("y")) ** 2).mean()).item())


def bin_index() -> pl.Expr:
    """k with k/10 <= p < (k+1)/10 (p = 1 in the last bin; p outside [0, 1] clipped into it)."""
    edges = [pl.col("p") >= k / BINS for k in range(1, BINS)]
    return pl.sum_horizontal(e.cast(pl.Int64) for e in edges).alias("bin")


def calibration(pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per bin 0..9: ``mean_predicted``, ``observed_rate``, ``count``."""
    filled = (
        pairs.lazy()
        .group_by(bin_index())
        .agg(
            mean_predicted=pl.col("p").mean(),
            observed_rate=pl.col("y").mean(),
            count=pl.len().cast(pl.Int64),
        )
    )
    every = pl.LazyFrame({"bin": list(range(BINS))}, schema={"bin": pl.Int64})
    table = every.join(filled, on="bin", how="left").with_columns(pl.col("count").fill_null(0))
    return table.sort("bin").select(CALIBRATION_SCHEMA.names()).cast(CALIBRATION_SCHEMA).collect()


def ece(table: pl.DataFrame) -> float | None:
    """Expected calibration error of a :func:`calibration` table."""
    total = int(table["count"].sum())
    if total == 0:
        return None
    gap = (pl.col("mean_predicted") - pl.col("observed_rate")).abs() * pl.col("count")
    return float(table.filter(pl.col("count") > 0).select(gap.sum()).item()) / total


def evaluate(
    frame: pl.DataFrame | pl.LazyFrame, prediction: str, outcome: str = "correct"
) -> Metrics:
    """Every metric of ``prediction`` against ``outcome`` (1 = right) where both are set."""
    pairs = scored_pairs(frame, prediction, outcome)
    table = calibration(pairs)
    return Metrics(
        attempts_scored=pairs.height,
        auc=auc(pairs),
        log_loss=log_loss(pairs),
        brier=brier(pairs),
        ece=ece(table),
        calibration=table,
    )

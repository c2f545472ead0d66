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
from itertools import pairwise
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
    """``p`` (Float64) and ``y`` (0.0/1.0) of the rows with a prediction and an outcome,
    sorted by p in one chunk: a float sum over them, or over the right (wrong) answers alone,
    adds the same numbers in the same order (ties are equal values), so the metrics are the
    same digits whatever the order of the rows or their chunks (partitions concatenated)."""
    return (
        frame.lazy()
        .filter(pl.col(prediction).is_not_null() & pl.col(outcome).is_not_null())
        .select(p=pl.col(prediction).cast(pl.Float64), y=pl.col(outcome).cast(pl.Float64))
        .sort("p")
        .collect()
        .rechunk()
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
    return _mean_apart(pairs, -p.log(), -(1 - p).log())


def brier(pairs: pl.DataFrame) -> float | None:
    if pairs.is_empty():
        return None
    return _mean_apart(pairs, (pl.col("p") - 1) ** 2, pl.col("p") ** 2)


def _mean_apart(pairs: pl.DataFrame, right: pl.Expr, wrong: pl.Expr) -> float:
    """The mean of ``right`` over right answers and ``wrong`` over wrong ones, each summed
    apart in p order (so a tie of p never changes the order of the terms)."""
    sums = pairs.select(
        right=right.filter(pl.col("y") == 1).sum(), wrong=wrong.filter(pl.col("y") == 0).sum()
    ).row(0)
    return (float(sums[0]) + float(sums[1])) / pairs.height


def calibration(pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per bin 0..9 (k/10 <= p < (k+1)/10; p = 1, or above, in the last, below 0 in
    the first): ``mean_predicted``, ``observed_rate``, ``count``. The pairs are sorted by p,
    so each bin is a contiguous slice (binary search at the edges) and its means are plain
    sums over it: the same digits from run to run, unlike a parallel group-by's partial sums."""
    edges = pairs["p"].search_sorted(pl.Series([k / BINS for k in range(1, BINS)]), side="left")
    starts = [0, *edges.to_list(), pairs.height]
    bins = [
        pairs.slice(start, end - start).select(
            bin=pl.lit(k, pl.Int64),
            mean_predicted=pl.col("p").mean(),
            observed_rate=pl.col("y").mean(),
            count=pl.len().cast(pl.Int64),
        )
        for k, (start, end) in enumerate(pairwise(starts))
    ]
    return pl.concat(bins).select(CALIBRATION_SCHEMA.names()).cast(CALIBRATION_SCHEMA)


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

"""pipeline.kernel.metrics against scikit-learn (an independent reference, tests only)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from pipeline.kernel.metrics import CLIP, calibration, evaluate, scored_pairs


def frame(p: list[float] | np.ndarray, y: list[int] | np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"p": np.asarray(p, dtype=float), "correct": np.asarray(y, dtype=int)})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("decimals", [None, 1, 2])
def test_metrics_equal_scikit_learn(seed: int, decimals: int | None) -> None:
    """Random predictions, also rounded so that many tie (ties average their ranks)."""
    rng = np.random.default_rng(seed)
    n = 5_000
    p = rng.beta(2, 3, n)
    if decimals is not None:
        p = np.round(p, decimals)
    y = (rng.random(n) < p).astype(int)
    metrics = evaluate(frame(p, y), "p")
    assert metrics.attempts_scored == n
    assert metrics.auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    clipped = np.clip(p, CLIP, 1 - CLIP)
    assert metrics.log_loss == pytest.approx(log_loss(y, clipped), rel=1e-12)
    assert metrics.brier == pytest.approx(brier_score_loss(y, p), rel=1e-12)


@pytest.mark.parametrize("seed", [4, 5])
def test_calibration_and_ece_equal_scikit_learn(seed: int) -> None:
    """Random floats never sit exactly on a bin edge, so sklearn's edges and ours agree."""
    rng = np.random.default_rng(seed)
    p = rng.random(3_000) ** 2
    y = (rng.random(3_000) < p).astype(int)
    table = evaluate(frame(p, y), "p").calibration
    assert table["bin"].to_list() == list(range(10))
    filled = table.filter(pl.col("count") > 0)
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="uniform")
    assert filled["observed_rate"].to_list() == pytest.approx(list(observed), abs=1e-12)
    assert filled["mean_predicted"].to_list() == pytest.approx(list(predicted), abs=1e-12)
    counts, _ = np.histogram(p, bins=np.linspace(0, 1, 11))
    assert table["count"].to_list() == counts.tolist()
    ece = sum(
        c / len(p) * abs(m - o)
        for c, m, o in zip(counts[counts > 0], predicted, observed, strict=True)
    )
    assert evaluate(frame(p, y), "p").ece == pytest.approx(ece, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1, allow_nan=False), st.booleans()), min_size=2, max_size=60
    ).filter(lambda rows: len({y for _, y in rows}) == 2)
)
def test_auc_and_losses_equal_scikit_learn_on_any_sample(rows: list[tuple[float, bool]]) -> None:
    p = np.array([x for x, _ in rows])
    y = np.array([int(b) for _, b in rows])
    metrics = evaluate(frame(p, y), "p")
    assert metrics.auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert metrics.log_loss == pytest.approx(log_loss(y, np.clip(p, CLIP, 1 - CLIP)), rel=1e-9)
    assert metrics.brier == pytest.approx(brier_score_loss(y, p), rel=1e-9, abs=1e-15)


def test_edges_are_compared_as_written() -> None:
    """k/10 <= p < (k+1)/10: a v0 score of 0.3 is in bin 3, 1.0 in bin 9, 0 in bin 0."""
    table = calibration(
        scored_pairs(frame([0.0, 0.1, 0.3, 0.7, 0.9999, 1.0], [0] * 6), "p", "correct")
    )
    counts = dict(zip(table["bin"].to_list(), table["count"].to_list(), strict=True))
    assert counts == {0: 1, 1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 0, 7: 1, 8: 0, 9: 2}
    empty = table.filter(pl.col("count") == 0)
    assert empty["mean_predicted"].is_null().all()
    assert empty["observed_rate"].is_null().all()


def test_certain_and_wrong_costs_the_clip_not_infinity() -> None:
    metrics = evaluate(frame([0.0, 1.0], [1, 0]), "p")
    assert metrics.log_loss == pytest.approx(-math.log(CLIP))
    assert metrics.auc == 0.0
    assert metrics.brier == 1.0


def test_nothing_to_score() -> None:
    empty = evaluate(frame([], []), "p")
    assert (empty.attempts_scored, empty.auc, empty.log_loss, empty.brier, empty.ece) == (
        0,
        None,
        None,
        None,
        None,
    )
    one_class = evaluate(frame([0.2, 0.8], [1, 1]), "p")
    assert one_class.auc is None
    assert one_class.log_loss is not None


def test_null_predictions_are_left_out() -> None:
    """Insufficient evidence is a null prediction: not scored, never counted as 0."""
    data = pl.DataFrame({"p": [0.9, None, 0.2, None], "correct": [1, 0, 0, 1]})
    metrics = evaluate(data, "p")
    assert metrics.attempts_scored == 2
    assert metrics.auc == 1.0
    assert metrics.as_json()["calibration"][2] == {
        "bin": 2,
        "mean_predicted": 0.2,
        "observed_rate": 0.0,
        "count": 1,
    }

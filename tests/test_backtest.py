"""``mastery backtest``: a replay worked by hand, no look-ahead, and the command's output.

The 10-attempt fixture (two students A and B, themes 1 and 2, questions q1..q3, days d0..d7 of
March 2026) is small enough that every replayed value below was worked out on paper from the
definitions in pipeline/kernel/replay.py and pipeline/kernel/v1.py; the v1 estimates are then
recomputed here from those hand-worked counts with plain ``math``.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.cli.backtest import backtest as backtest_command
from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.kernel.replay import Period
from pipeline.run.backtest import Model, backtest_frame, period_of, resolve_models
from tests.reference import attempts_frame
from tests.test_backtest_replay import V0_PARAMS, V1_PARAMS, random_attempts, v0_params

F = Fraction
D0 = datetime(2026, 3, 1, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "assist2017_lpp"


def at(day: int, hour: int, minute: int) -> datetime:
    return D0 + timedelta(days=day, hours=hour, minutes=minute)


# (user, theme, question, answered, session, submitted, correct), numbered #1..#10 in order
FIXTURE = [
    ("A", 1, "q1", at(0, 10, 0), "sA1", at(0, 10, 30), True),
    ("A", 1, "q2", at(0, 10, 5), "sA1", at(0, 10, 30), False),
    ("B", 1, "q1", at(0, 11, 0), "sB1", at(0, 11, 30), False),
    ("A", 2, "q3", at(1, 9, 0), "sA2", at(1, 9, 30), True),
    ("A", 1, "q1", at(1, 9, 10), "sA2", at(1, 9, 30), True),
    ("B", 1, "q2", at(1, 12, 0), "sB2", at(1, 12, 30), True),
    ("A", 1, "q2", at(3, 10, 0), "sA3", at(3, 10, 30), True),
    ("B", 2, "q3", at(3, 10, 0), "sB3", at(3, 10, 30), False),  # same instant as #7
    ("A", 1, "q1", at(7, 10, 0), "sA4", at(7, 10, 30), False),
    ("A", 1, "q2", at(7, 10, 20), "sA4", at(7, 10, 30), True),
]
HAND_V0 = Params.from_mapping(
    {
        "lookback_days": 5,
        "min_attempts": 1,
        "recency_buckets": [{"days": 1, "weight": 0.5}, {"days": 5, "weight": 0.5}],
    }
)
HAND_V1 = ParamsV1.from_mapping(
    {
        "lookback_days": 5,
        "recent_hours": 24,
        "min_attempts": 2,
        "prior_answers": {"question": 1, "theme": 1, "student": 1, "student_theme": 1, "recent": 1},
    }
)
# v0 at answered_at - 1 µs: (attempts it counts, score in 1/10,000 or None = insufficient)
EXPECTED_V0 = [
    (0, None),  # nothing submitted yet
    (0, None),  # sA1 is still open
    (0, None),
    (0, None),  # A has no theme-2 answer
    (2, 5000),  # #1, #2: 1 of 2 in the 1d and the 5d bucket: 0.25 + 0.25
    (1, 0),  # #3 (wrong): out of the 1d bucket, 0 of 1 in the 5d one: scored 0, not missing
    (3, 3333),  # #1, #2, #5: 1d empty, 2 of 3 in 5d: round(2/3 · 0.5, 4)
    (0, None),
    (1, 5000),  # the 5-day window keeps only sA3 (#7): 5d bucket 1 of 1
    (1, 5000),  # sA4 is still open: as #9
]
# baselines: base rate (c+1)/(n+2) of all earlier answers; student and theme (c+b)/(n+1)
EXPECTED_BASELINES = [
    (F(1, 2), F(1, 2), F(1, 2)),
    (F(2, 3), F(5, 6), F(5, 6)),
    (F(1, 2), F(1, 2), F(1, 2)),
    (F(2, 5), F(7, 15), F(2, 5)),
    (F(1, 2), F(5, 8), F(3, 8)),
    (F(4, 7), F(2, 7), F(18, 35)),
    (F(5, 8), F(29, 40), F(29, 48)),
    (F(5, 8), F(13, 24), F(13, 16)),  # #7, answered at the same instant, is not before #8
    (F(3, 5), F(23, 30), F(23, 35)),
    (F(6, 11), F(50, 77), F(25, 44)),
]
# v1: other students' theme rate r and question rate q just before the answer
RATES = [
    (F(1, 2), F(1, 2)),
    (F(1, 2), F(1, 2)),
    (F(1, 2), F(3, 4)),
    (F(1, 3), F(1, 3)),
    (F(1, 6), F(1, 12)),
    (F(2, 3), F(1, 3)),
    (F(1, 2), F(3, 4)),
    (F(5, 6), F(11, 12)),
    (F(7, 15), F(7, 30)),
    (F(7, 15), F(11, 15)),
]
# (answers, credit, penalty) in millionths: student (5 days), student-theme (5 days), 24 hours
NONE = (0, 0, 0)
SUMS = [
    (NONE, NONE, NONE),
    ((1, 500000, 0), (1, 500000, 0), (1, 500000, 0)),
    (NONE, NONE, NONE),
    ((2, 500000, 500000), NONE, (2, 500000, 500000)),
    ((3, 1166667, 500000), (2, 500000, 500000), (3, 1166667, 500000)),
    ((1, 0, 750000), (1, 0, 750000), NONE),
    ((4, 2083334, 500000), (3, 1416667, 500000), NONE),
    ((2, 666667, 750000), NONE, NONE),
    ((1, 250000, 0), (1, 250000, 0), NONE),
    ((2, 250000, 233333), (2, 250000, 233333), (1, 0, 233333)),
]


def fixture_frame() -> pl.DataFrame:
    rows = [
        {
            "user_id": user,
            "session_id": session,
            "question_id": question,
            "year": 1,
            "block_id": 10 + theme,
            "theme_id": theme,
            "difficulty": None,
            "is_correct": correct,
            "answered_at": answered,
            "submitted_at": submitted,
        }
        for user, theme, question, answered, session, submitted, correct in FIXTURE
    ]
    return attempts_frame(rows).collect()


def hand_estimate(rate: F, sums: tuple[tuple[int, int, int], ...]) -> float:
    weights = HAND_V1.weights
    total = float(weights.question) * math.log(float(rate) / (1 - float(rate)))
    for weight, (_, credit, penalty) in zip(
        (weights.student, weights.student_theme, weights.recent), sums, strict=True
    ):
        total += float(weight) * math.log((credit / 1e6 + 1) / (penalty / 1e6 + 1))
    return 1 / (1 + math.exp(-total))


def test_a_replay_worked_by_hand() -> None:
    period = Period(D0, D0 + timedelta(days=8))
    result = backtest_frame(
        fixture_frame(), period, [Model("v0", "v0", HAND_V0), Model("v1", "v1", HAND_V1)]
    )
    rows = result.predictions.sort("answered_at", "user_id").to_dicts()
    assert result.attempts == 10
    for i, row in enumerate(rows):
        attempts, units = EXPECTED_V0[i]
        assert row["v0:evidence"] == attempts, i + 1
        assert row["v0:insufficient"] is (units is None), i + 1
        assert row["v0"] == (None if units is None else units / 10_000), i + 1
        base, student, theme = EXPECTED_BASELINES[i]
        assert row["base_rate"] == pytest.approx(float(base), abs=1e-15), i + 1
        assert row["student_accuracy"] == pytest.approx(float(student), abs=1e-15), i + 1
        assert row["theme_accuracy"] == pytest.approx(float(theme), abs=1e-15), i + 1
        theme_rate, question_rate = RATES[i]
        theme_answers = SUMS[i][1][0]
        assert row["v1:evidence"] == theme_answers, i + 1
        assert row["v1:insufficient"] is (theme_answers < 2), i + 1
        assert row["v1"] == pytest.approx(hand_estimate(question_rate, SUMS[i]), abs=1e-12)
        assert row["v1:theme"] == pytest.approx(hand_estimate(theme_rate, SUMS[i]), abs=1e-12)
    by_name = {m.name: m for m in result.models}
    assert by_name["v0"].metrics.attempts_scored == 5
    assert by_name["v0"].insufficient_evidence == 5
    assert by_name["v1"].metrics.attempts_scored == 10
    assert by_name["v1"].insufficient_evidence == 7
    assert by_name["v1 where v0 scores"].metrics.attempts_scored == 5


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cut=st.floats(0.1, 0.9),
    how=st.sampled_from(["flip", "shuffle", "drop"]),
)
def test_no_look_ahead(seed: int, cut: float, how: str) -> None:
    """Changing, shuffling or dropping the answers given after an instant T changes no
    prediction of an answer given at or before T (input order shuffled too)."""
    rows = random_attempts(seed, sessions=12)
    times = sorted(r["answered_at"] for r in rows if r["answered_at"] is not None)
    cutoff = times[int(cut * (len(times) - 1))]
    later = [
        i for i, r in enumerate(rows) if r["answered_at"] is not None and r["answered_at"] > cutoff
    ]
    rng = random.Random(seed)
    changed = [dict(r) for r in rows]
    if how == "flip":
        for i in later:
            changed[i]["is_correct"] = not changed[i]["is_correct"]
    elif how == "shuffle":
        answers = [changed[i]["is_correct"] for i in later]
        rng.shuffle(answers)
        for i, answer in zip(later, answers, strict=True):
            changed[i]["is_correct"] = answer
    else:
        changed = [r for i, r in enumerate(changed) if i not in set(later[::2])]
    rng.shuffle(changed)

    def early(attempts: list[dict[str, Any]]) -> pl.DataFrame:
        models = [
            Model("v0", "v0", v0_params({**V0_PARAMS, "use_difficulty": True})),
            Model("v1", "v1", ParamsV1.from_mapping(V1_PARAMS)),
        ]
        period = Period(D0 - timedelta(days=30), D0 + timedelta(days=30))
        predictions = backtest_frame(attempts_frame(attempts), period, models).predictions
        return predictions.filter(pl.col("answered_at") <= cutoff).sort("session_id", "question_id")

    before, after = early(rows), early(changed)
    assert before.height > 0
    assert before.equals(after)


def test_insufficient_evidence_is_reported_apart() -> None:
    rows = random_attempts(7, sessions=20)
    models = [Model("v0", "v0", v0_params({**V0_PARAMS, "min_attempts": 3}))]
    period = Period(D0 - timedelta(days=30), D0 + timedelta(days=30))
    result = backtest_frame(attempts_frame(rows), period, models)
    v0 = next(m for m in result.models if m.name == "v0")
    insufficient = result.predictions.filter(pl.col("v0:insufficient"))
    assert insufficient.height == v0.insufficient_evidence > 0
    assert insufficient["v0"].is_null().all()  # never a prediction of 0
    assert v0.metrics.attempts_scored + v0.insufficient_evidence == result.attempts
    assert (result.predictions.filter(~pl.col("v0:insufficient"))["v0:evidence"] >= 3).all()


def test_period_and_model_choices() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert period_of(date(2026, 1, 1), date(2026, 1, 31), now) == Period(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    )
    assert period_of(None, None, now) == Period(now - timedelta(days=90), now)
    with pytest.raises(MasteryError, match="empty period"):
        period_of(date(2026, 2, 1), date(2026, 1, 1), now)
    assert [(m.name, m.algo) for m in resolve_models([], [])] == [("v0", "v0"), ("v1", "v1")]
    assert [m.algo for m in resolve_models(["v1"], [])] == ["v1"]
    with pytest.raises(MasteryError, match="unknown --algo"):
        resolve_models(["v2"], [])


def test_params_files_pair_with_algos(tmp_path: Path) -> None:
    v0_file = tmp_path / "slow.json"
    v0_file.write_text('{"lookback_days": 120, "recency_buckets": [{"days": 120, "weight": 1}]}')
    v1_file = tmp_path / "flat.json"
    v1_file.write_text('{"weights": {"recent": 0}}')
    models = resolve_models([], [v0_file, v1_file])
    assert [(m.name, m.algo) for m in models] == [
        ("v0 (slow.json)", "v0"),
        ("v1 (flat.json)", "v1"),
    ]
    assert isinstance(models[1].params, ParamsV1)
    assert models[1].params.weights.recent == 0
    assert resolve_models(["v1"], [v1_file])[0].name == "v1"
    with pytest.raises(MasteryError, match="2 --params files for 3 --algo"):
        resolve_models(["v0", "v1", "v0"], [v0_file, v1_file])


def cli() -> typer.Typer:
    """``mastery backtest`` as the lead registers it: ``app.command()(backtest.backtest)``."""
    app = typer.Typer()
    app.command()(backtest_command)

    @app.callback()
    def _group() -> None:
        """The command group."""

    return app


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason=f"dataset not found at {DATA}")
def test_cli_on_the_real_subset(duckdb_url: str, tmp_path: Path) -> None:
    from pipeline import init_database
    from pipeline.tools.assistments import import_assistments

    init_database(duckdb_url)
    import_assistments(duckdb_url, DATA)
    runner = CliRunner()
    common = ["backtest", "--from", "2004-09-17", "--to", "2007-05-22"]
    common += ["--database-url", duckdb_url]
    output = tmp_path / "predictions.parquet"
    result = runner.invoke(cli(), [*common, "--format", "json", "--output", str(output)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["period"] == {
        "from": "2004-09-17T00:00:00+00:00",
        "to": "2007-05-23T00:00:00+00:00",
    }
    assert report["attempts"] == 90_586
    names = [m["name"] for m in report["models"]]
    assert names[:3] == ["base rate", "student accuracy", "theme accuracy"]
    assert {"v0", "v1", "v1 theme score", "v1 where v0 scores"} <= set(names)
    keys = {"name", "algo", "params_checksum", "attempts_scored", "auc", "log_loss", "brier"}
    keys |= {"ece", "calibration", "insufficient_evidence"}
    for model in report["models"]:
        assert set(model) == keys
        assert len(model["calibration"]) == 10
        assert set(model["calibration"][0]) == {"bin", "mean_predicted", "observed_rate", "count"}
        assert (model["algo"] is None) == (model["params_checksum"] is None)
    by_name = {m["name"]: m for m in report["models"]}
    v0, v1 = by_name["v0"], by_name["v1"]
    assert v0["algo"] == "v0"
    assert v0["params_checksum"] == Params.from_mapping({}).checksum()
    assert v0["attempts_scored"] + v0["insufficient_evidence"] == 90_586
    assert v1["params_checksum"] == ParamsV1.from_mapping({}).checksum()
    assert v1["attempts_scored"] == 90_586
    # issue 16's targets, time-ordered, nothing fitted on the future
    assert v1["auc"] >= 0.75
    assert v1["log_loss"] <= 0.59
    assert v1["ece"] <= 0.03
    predictions = pl.read_parquet(output)
    assert predictions.height == 90_586
    # read in 3 partitions of students: the same report, to the last digit
    split = runner.invoke(cli(), [*common, "--format", "json", "--partitions", "3"])
    assert split.exit_code == 0, split.output
    assert json.loads(split.output) == report
    assert {"v0", "v0:insufficient", "v1", "v1:theme", "base_rate"} <= set(predictions.columns)

    table = runner.invoke(cli(), [*common, "--algo", "v1"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "v1 theme score" in table.output
    assert "│ v0 " not in table.output
    html = runner.invoke(cli(), [*common, "--format", "html", "--algo", "v1"])
    assert html.exit_code == 0, html.output
    assert html.output.startswith("<!DOCTYPE html>")
    assert "<svg" in html.output
    assert "<script" not in html.output

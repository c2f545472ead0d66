"""A backtest read in partitions of students scores exactly as one read whole (issue 16).

v1's question and theme rates and two baselines count *other* students' earlier answers, so a
partitioned backtest counts them once over every partition (pipeline/kernel/cohort_counts.py)
before replaying each partition: every prediction, and every metric to the last digit, must
be what the whole cohort gives, whatever the number of partitions (some of them empty). The
expected values are the unpartitioned run's; the real-subset test (tests/test_backtest.py)
checks the same through ``mastery backtest --partitions`` on a database.
"""

from __future__ import annotations

import random

import polars as pl
import pytest

from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.kernel.replay import Period
from pipeline.run.backtest import Model, backtest_frame, backtest_partitions
from tests.reference import attempts_frame
from tests.test_backtest_replay import V0_PARAMS, V1_PARAMS, random_attempts, v0_params

MODELS = [
    Model("v0", "v0", v0_params(V0_PARAMS)),
    Model("v1", "v1", ParamsV1.from_mapping(V1_PARAMS)),
    Model("v0 default", "v0", Params.from_mapping({})),
]
KEYS = ["session_id", "question_id"]


def cohort(seed: int) -> pl.DataFrame:
    """A random cohort of up to 7 students (random_attempts' sessions, owners redrawn)."""
    rng = random.Random(seed)
    rows = random_attempts(seed, sessions=40)
    owners: dict[str, str] = {}
    for row in rows:
        owner = owners.setdefault(row["session_id"], f"u{rng.randrange(7)}")
        row["user_id"] = f"00000000-0000-4000-8000-00000000000{owner[1]}"
    return attempts_frame(rows).collect()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("partitions", [2, 3, 5])
def test_partitions_score_as_the_whole_cohort(seed: int, partitions: int) -> None:
    frame = cohort(seed)
    ordered = sorted(frame["answered_at"].drop_nulls().unique().to_list())
    period = Period(ordered[len(ordered) // 3], ordered[-1])  # history before, answers after
    whole = backtest_frame(frame, period, MODELS)
    part = pl.col("user_id").str.slice(-1).cast(pl.Int64) % partitions

    def read(index: int) -> pl.DataFrame:
        return frame.filter(part == index)

    split = backtest_partitions(read, partitions, period, MODELS)
    assert split.attempts == whole.attempts > 0
    assert split.as_json() == whole.as_json()
    assert split.predictions.sort(KEYS).equals(whole.predictions.sort(KEYS))


def test_partitions_without_ids_keep_the_metrics() -> None:
    frame = cohort(11)
    period = Period(frame["answered_at"].min(), frame["answered_at"].max())  # type: ignore[arg-type]
    whole = backtest_frame(frame, period, MODELS)

    def read(index: int) -> pl.DataFrame:
        return frame.filter(pl.col("user_id").str.slice(-1).cast(pl.Int64) % 2 == index)

    split = backtest_partitions(read, 2, period, MODELS, ids=False)
    assert split.as_json() == whole.as_json()
    assert not {"user_id", "session_id", "question_id"} & set(split.predictions.columns)
    assert set(split.predictions.columns) == {
        "correct", "base_rate", "student_accuracy", "theme_accuracy", "v0", "v0:insufficient",
        "v1", "v1:insufficient", "v1:theme", "v0 default", "v0 default:insufficient",
    }  # fmt: skip

"""The replay equals a full computation as of just before each answer.

v0: at ``as_of = answered_at - 1 µs``, the replayed score must be what SPEC §4 gives over the
whole input at that instant, digit for digit: checked against tests/reference.py (exact
``Fraction`` arithmetic, written from the SPEC alone) and against ``compute_cohort``. v1: the
replayed theme score must be what ``compute_cohort_v1`` gives at that instant. Random cohorts
on a minute grid (so answers tie), with sessions submitted late, answers after their
session's submission, null ``answered_at`` / ``is_correct`` / theme, and mixed difficulties.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.kernel import compute_cohort
from pipeline.kernel.replay import History, InstantOrder, Period, group_code
from pipeline.kernel.replay_v0 import replay_v0
from pipeline.kernel.v1 import replay_v1
from pipeline.kernel.v1_rows import compute_cohort_v1
from tests.reference import attempts_frame, reference

START = datetime(2026, 3, 1, tzinfo=UTC)
EVERYTHING = Period(START - timedelta(days=365), START + timedelta(days=365))
V0_PARAMS: dict[str, Any] = {
    "lookback_days": 6,
    "min_attempts": 2,
    "recency_buckets": [
        {"days": 1, "weight": "0.35"},
        {"days": 3, "weight": "0.25"},
        {"days": 6, "weight": "0.3"},
    ],
}
V1_PARAMS: dict[str, Any] = {"lookback_days": 4, "recent_hours": 12, "min_attempts": 2}


def random_attempts(seed: int, sessions: int = 14) -> list[dict[str, Any]]:
    """Attempt dicts (the kernel's input columns) of a small random cohort over ~10 days."""
    rng = random.Random(seed)
    users = [f"00000000-0000-4000-8000-{u:012d}" for u in range(3)]
    rows = []
    for s in range(sessions):
        user = rng.choice(users)
        end = START + timedelta(minutes=rng.randrange(0, 10 * 24 * 60, 7))
        submitted = end + timedelta(minutes=rng.choice([0, 5, 60, 60 * 30]))
        for question in rng.sample(range(8), rng.randint(1, 5)):
            theme = rng.choice([1, 1, 2, 3, None]) if rng.random() < 0.1 else rng.choice([1, 2, 3])
            answered: datetime | None = end - timedelta(minutes=rng.randrange(0, 120, 5))
            if rng.random() < 0.05:
                answered = submitted + timedelta(hours=rng.choice([1, 30]))  # after submission
            elif rng.random() < 0.05:
                answered = None
            rows.append(
                {
                    "user_id": user,
                    "session_id": f"s{s:03d}",
                    "question_id": f"q{question}",
                    "year": 1,
                    "block_id": None if theme is None else 10 + theme,
                    "theme_id": theme,
                    "difficulty": rng.choice(["easy", "medium", " Hard", None, "odd"]),
                    "is_correct": rng.choice([True, True, False, None]),
                    "answered_at": answered,
                    "submitted_at": submitted,
                }
            )
    return rows


def v0_params(raw: dict[str, Any]) -> Params:
    """The reference's raw params (weights as text) as the pipeline's Params."""
    buckets = [{**b, "weight": Decimal(b["weight"])} for b in raw["recency_buckets"]]
    return Params.from_mapping({**raw, "recency_buckets": buckets})


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["answered_at"] is not None and r["theme_id"] is not None]


def replayed(rows: list[dict[str, Any]], v0: Params, v1: ParamsV1) -> pl.DataFrame:
    history = History.of(attempts_frame(rows))
    keyed = history.rows.select("row", "session_id", "question_id")
    return (
        keyed.join(replay_v0(history, EVERYTHING, v0), on="row")
        .join(replay_v1(history, EVERYTHING, v1), on="row")
        .drop("row")
    )


def _one(frame: pl.DataFrame, row: dict[str, Any]) -> dict[str, Any]:
    found = frame.filter(
        (pl.col("session_id") == row["session_id"]) & (pl.col("question_id") == row["question_id"])
    )
    assert found.height == 1
    return found.row(0, named=True)


def _v1_units(value: float) -> int:
    """The kernel's rounding of a float estimate: half away from zero, 4 places."""
    scaled = pl.Series([value]) * 10**4
    return int(scaled.round(0, mode="half_away_from_zero").item())


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("use_difficulty", [False, True])
def test_v0_replay_equals_the_exact_reference_at_each_instant(
    seed: int, use_difficulty: bool
) -> None:
    rows = random_attempts(seed)
    raw = {**V0_PARAMS, "use_difficulty": use_difficulty}
    result = replayed(rows, v0_params(raw), ParamsV1.from_mapping(V1_PARAMS))
    for target in targets(rows):
        as_of = target["answered_at"] - timedelta(microseconds=1)
        expected, _ = reference(rows, raw, as_of)
        mine = [
            r
            for r in expected
            if (r["user_id"], r["theme_id"]) == (target["user_id"], target["theme_id"])
        ]
        got = _one(result, target)
        attempts = mine[0]["attempts_total"] if mine else 0
        assert got["v0_attempts"] == attempts, target
        if attempts < raw["min_attempts"]:
            assert got["v0_insufficient"] is True
            assert got["v0"] is None
            assert got["v0_units"] is None
        else:
            assert got["v0_insufficient"] is False
            assert Decimal(got["v0_units"]).scaleb(-4) == mine[0]["mastery_score"], target
            assert got["v0"] == float(mine[0]["mastery_score"])


@pytest.mark.parametrize("seed", range(3))
def test_v0_replay_equals_compute_cohort_at_each_instant(seed: int) -> None:
    rows = random_attempts(100 + seed)
    params = v0_params({**V0_PARAMS, "use_difficulty": True})
    result = replayed(rows, params, ParamsV1.from_mapping(V1_PARAMS))
    frame = attempts_frame(rows)
    for target in targets(rows)[::2]:
        as_of = target["answered_at"] - timedelta(microseconds=1)
        computed = compute_cohort(frame, params, as_of).rows.filter(
            (pl.col("user_id") == target["user_id"]) & (pl.col("theme_id") == target["theme_id"])
        )
        got = _one(result, target)
        if got["v0_insufficient"]:
            assert computed.is_empty() or computed["attempts_total"][0] < params.min_attempts
        else:
            assert computed["attempts_total"][0] == got["v0_attempts"]
            assert computed["mastery_score"][0] == Decimal(got["v0_units"]).scaleb(-4)


@pytest.mark.parametrize("seed", range(6))
def test_v1_replay_equals_compute_cohort_v1_at_each_instant(seed: int) -> None:
    rows = random_attempts(200 + seed, sessions=18)
    params = ParamsV1.from_mapping(V1_PARAMS)
    result = replayed(rows, v0_params(V0_PARAMS), params)
    frame = attempts_frame(rows)
    for target in targets(rows):
        as_of = target["answered_at"] - timedelta(microseconds=1)
        computed = compute_cohort_v1(frame, params, as_of).filter(
            (pl.col("user_id") == target["user_id"]) & (pl.col("theme_id") == target["theme_id"])
        )
        got = _one(result, target)
        assert 0 < got["v1"] < 1
        assert 0 < got["v1_mastery"] < 1
        if computed.is_empty():  # no answer of the theme in the lookback
            assert got["v1_attempts"] == 0
            assert got["v1_insufficient"]
            continue
        assert computed["attempts_total"][0] == got["v1_attempts"]
        assert computed["mastery_score"][0] == Decimal(_v1_units(got["v1_mastery"])).scaleb(-4)
        state = "not_enough_evidence" if got["v1_insufficient"] else "ok"
        assert f'"state":"{state}"' in computed["breakdown_json"][0]


@pytest.mark.parametrize("span", [7, 2**20], ids=["packed", "too wide to pack"])
def test_a_pairs_group_code_is_equal_exactly_for_equal_pairs(span: int) -> None:
    """Narrow pairs are packed as first · span + second, wide ones ranked: either way one code
    below 2^32 per distinct pair, so the sums keyed by it group the same rows."""
    rng = random.Random(span)
    pairs = [(rng.randrange(span), rng.randrange(span)) for _ in range(500)]
    pairs += [(span - 1, span - 1), (0, 0)]
    rows = pl.DataFrame(pairs, schema={"user": pl.UInt32, "question": pl.UInt32}, orient="row")
    codes = group_code(rows, ("user", "question")).to_list()
    assert max(codes) < 2**32
    by_pair = dict(zip(pairs, codes, strict=True))
    assert len(set(by_pair.values())) == len(by_pair)  # distinct pairs, distinct codes
    assert all(by_pair[pair] == code for pair, code in zip(pairs, codes, strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regrouping_the_instant_order_gives_the_order_by_code_then_instant(seed: int) -> None:
    """One key's ordering regroups the instant order by its code instead of sorting: the same
    order as sorting by (code, instant), ties of one instant in either order."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    codes = [rng.randrange(7) for _ in range(400)]
    times = [start + timedelta(seconds=rng.randrange(50)) for _ in codes]
    by_instant = InstantOrder.of(pl.Series(times, dtype=pl.Datetime("us", "UTC")))
    order = by_instant.by_code(pl.Series(codes, dtype=pl.UInt64)).to_list()
    assert sorted(order) == list(range(len(codes)))  # every row once
    assert [(codes[i], times[i]) for i in order] == sorted(zip(codes, times, strict=True))

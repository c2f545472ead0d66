"""Mastery v0 kernel against SPEC §4, one behaviour per test, with hand-worked expected values.

Expected values are literals worked out by hand in the comments; they are never taken from
tests/reference.py (that module is only used here to build frames with the right dtypes).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.contracts.params import Params
from pipeline.kernel import cohort as kernel
from pipeline.kernel import compute_cohort, compute_mastery, dense
from tests.reference import DATA_QUALITY_KEYS, OUTPUT_SCHEMA, attempts_frame, rows_frame

AS_OF = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
_NOW = object()


@pytest.fixture(autouse=True, params=["grid", "hash"])
def grouping(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every behaviour holds for both ways of grouping (pipeline/dense.py and the hash
    group-by); the grid streams two-row batches so that batches meet."""
    if request.param == "hash":
        monkeypatch.setattr(kernel, "_grid", lambda *args: None)
    else:
        whenever = kernel._grid
        monkeypatch.setattr(kernel, "_grid", lambda *args: whenever(*args[:-1], "grid"))
        monkeypatch.setattr(dense, "BATCH_ROWS", 2)
    return str(request.param)


def att(
    qid: str,
    days_ago: float | None = 1,
    ok: bool | None = True,
    *,
    user: str = "u1",
    session: str = "s1",
    theme: int | None = 100,
    block: int | None = 10,
    year: int | None = 1,
    difficulty: str | None = None,
    answered: datetime | object | None = _NOW,
    submitted: datetime | None = None,
) -> dict[str, Any]:
    """One resolved attempt; answered ``days_ago`` days before AS_OF unless ``answered`` given."""
    if answered is _NOW:
        answered = None if days_ago is None else AS_OF - timedelta(days=days_ago)
    return {
        "user_id": user,
        "session_id": session,
        "question_id": qid,
        "year": year,
        "block_id": block,
        "theme_id": theme,
        "difficulty": difficulty,
        "is_correct": ok,
        "answered_at": answered,
        "submitted_at": submitted or AS_OF - timedelta(hours=1),
    }


def params(**overrides: Any) -> Params:
    return Params.from_mapping(overrides)


def run(
    attempts: list[dict[str, Any]],
    p: Params | None = None,
    as_of: datetime = AS_OF,
    themes: pl.LazyFrame | None = None,
    blocks: pl.LazyFrame | None = None,
) -> tuple[pl.DataFrame, dict[str, int]]:
    res = compute_cohort(
        attempts_frame(attempts), p or params(), as_of, themes=themes, blocks=blocks
    )
    return res.rows, res.data_quality


def dq_with(**counts: int) -> dict[str, int]:
    """All data-quality keys at 0 except the given ones."""
    return {**dict.fromkeys(DATA_QUALITY_KEYS, 0), **counts}


def one_row(rows: pl.DataFrame) -> dict[str, Any]:
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def breakdown(
    total: int,
    buckets: list[tuple[int, int, int, str, str, str]],
    score: str,
    use_difficulty: bool = False,
) -> str:
    """Expected breakdown text from (days, attempts, correct, accuracy, weight, contribution)."""
    parts = ",".join(
        f'"{d}d":{{"attempts":{n},"correct":{c},"accuracy":{a},"weight":{w},"contribution":{x}}}'
        for d, n, c, a, w, x in buckets
    )
    flag = "true" if use_difficulty else "false"
    return (
        f'{{"total_attempts":{total},"buckets":{{{parts}}},'
        f'"mastery_score":{score},"use_difficulty":{flag}}}'
    )


def insufficient(required: int, actual: int) -> str:
    return f'{{"reason":"insufficient_attempts","required":{required},"actual":{actual}}}'


# -----------------------------------------------------------------------------------------------
# the worked example of SPEC §4


def worked_example() -> list[dict[str, Any]]:
    # 7d:  days 1, 2, 3                        -> 3 attempts, 2 correct
    # 30d: + days 10, 20 (both correct)          -> 5 attempts, 4 correct
    # 90d: + days 40..89, 5 of 7 correct         -> 12 attempts, 9 correct
    spec = [
        (1, True), (2, True), (3, False),
        (10, True), (20, True),
        (40, True), (50, True), (60, True), (70, False), (80, False), (85, True), (89, True),
    ]  # fmt: skip
    return [att(f"q{i:02d}", d, ok) for i, (d, ok) in enumerate(spec)]


def test_spec_worked_example_row_and_breakdown() -> None:
    rows, dq = run(worked_example())
    # 7d:  2/3 = 0.666.. -> accuracy 0.6667; 2/3 * 0.5 = 1/3 = 0.33333.. -> 0.3333
    # 30d: 4/5 = 0.8; 0.8 * 0.3 = 0.24
    # 90d: 9/12 = 0.75; 0.75 * 0.2 = 0.15
    # score = 0.3333 + 0.24 + 0.15 = 0.7233; accuracy_pct = 100 * 9 / 12 = 75.00
    expected_breakdown = (
        '{"total_attempts":12,"buckets":{'
        '"7d":{"attempts":3,"correct":2,"accuracy":0.6667,"weight":0.5,"contribution":0.3333},'
        '"30d":{"attempts":5,"correct":4,"accuracy":0.8,"weight":0.3,"contribution":0.24},'
        '"90d":{"attempts":12,"correct":9,"accuracy":0.75,"weight":0.2,"contribution":0.15}},'
        '"mastery_score":0.7233,"use_difficulty":false}'
    )
    expected = rows_frame(
        [
            {
                "user_id": "u1",
                "theme_id": 100,
                "year": 1,
                "block_id": 10,
                "attempts_total": 12,
                "correct_total": 9,
                "accuracy_pct": Decimal("75.00"),
                "mastery_score": Decimal("0.7233"),
                "last_attempt_at": AS_OF - DAY,
                "breakdown_json": expected_breakdown,
            }
        ]
    )
    assert_frame_equal(rows, expected)
    assert dq == dq_with()


def test_output_columns_and_dtypes_in_order() -> None:
    rows, _ = run(worked_example())
    assert rows.schema == OUTPUT_SCHEMA


def test_compute_mastery_returns_the_cohort_rows() -> None:
    frame = attempts_frame(worked_example())
    direct = compute_mastery(frame, params(), AS_OF)
    assert_frame_equal(direct, compute_cohort(frame, params(), AS_OF).rows)


def test_naive_as_of_means_utc() -> None:
    frame = attempts_frame(worked_example())
    naive = compute_mastery(frame, params(), AS_OF.replace(tzinfo=None))
    assert_frame_equal(naive, compute_mastery(frame, params(), AS_OF))


def test_as_of_in_another_time_zone_is_the_same_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    frame = attempts_frame(worked_example())
    shifted = compute_mastery(frame, params(), AS_OF.astimezone(plus_two))
    assert_frame_equal(shifted, compute_mastery(frame, params(), AS_OF))


def test_extra_input_columns_are_ignored() -> None:
    frame = attempts_frame(worked_example()).with_columns(pl.lit("x").alias("extra"))
    rows = compute_mastery(frame, params(), AS_OF)
    assert rows.schema == OUTPUT_SCHEMA
    assert one_row(rows)["mastery_score"] == Decimal("0.7233")


# -----------------------------------------------------------------------------------------------
# min_attempts


def test_insufficient_attempts_scores_zero_with_reason() -> None:
    # 4 attempts < min_attempts 5: score 0; accuracy_pct still 100 * 3 / 4 = 75.00
    rows, _ = run([att("q1"), att("q2"), att("q3"), att("q4", ok=False)])
    row = one_row(rows)
    assert row["attempts_total"] == 4
    assert row["correct_total"] == 3
    assert row["accuracy_pct"] == Decimal("75.00")
    assert row["mastery_score"] == Decimal("0.0000")
    assert row["breakdown_json"] == '{"reason":"insufficient_attempts","required":5,"actual":4}'


def test_exactly_min_attempts_is_scored() -> None:
    # 5 correct attempts on day 1: every bucket 5/5 = 1 -> 0.5 + 0.3 + 0.2 = 1
    rows, _ = run([att(f"q{i}") for i in range(5)])
    row = one_row(rows)
    assert row["mastery_score"] == Decimal("1.0000")
    assert row["breakdown_json"] == breakdown(
        5, [(7, 5, 5, "1", "0.5", "0.5"), (30, 5, 5, "1", "0.3", "0.3"),
            (90, 5, 5, "1", "0.2", "0.2")], "1",
    )  # fmt: skip


def test_custom_min_attempts_in_reason() -> None:
    rows, _ = run([att("q1"), att("q2")], params(min_attempts=3))
    assert one_row(rows)["breakdown_json"] == insufficient(3, 2)


# -----------------------------------------------------------------------------------------------
# buckets and the window


@pytest.mark.parametrize(
    ("answered", "counts", "score"),
    [
        # exactly as_of - 7d is inside the 7d bucket: 1*0.5 + 1*0.3 + 1*0.2 = 1
        (AS_OF - 7 * DAY, (1, 1, 1), "1"),
        # 1 microsecond earlier is only in 30d and 90d: 0 + 0.3 + 0.2 = 0.5
        (AS_OF - 7 * DAY - US, (0, 1, 1), "0.5"),
        (AS_OF - 30 * DAY, (0, 1, 1), "0.5"),
        # 0 + 0 + 0.2
        (AS_OF - 30 * DAY - US, (0, 0, 1), "0.2"),
        (AS_OF - 90 * DAY, (0, 0, 1), "0.2"),
        # answered before every bucket (session submitted inside the window): totals only
        (AS_OF - 90 * DAY - US, (0, 0, 0), "0"),
    ],
    ids=["7d-exact", "7d-minus-1us", "30d-exact", "30d-minus-1us", "90d-exact", "90d-minus-1us"],
)
def test_bucket_boundary_is_inclusive(
    answered: datetime, counts: tuple[int, int, int], score: str
) -> None:
    rows, _ = run([att("q1", answered=answered)], params(min_attempts=1))
    row = one_row(rows)
    assert row["attempts_total"] == 1
    assert row["accuracy_pct"] == Decimal("100.00")
    assert row["mastery_score"] == Decimal(score).quantize(Decimal("0.0001"))
    weights = ("0.5", "0.3", "0.2")
    expected = [
        (d, n, n, "1" if n else "0", w, w if n else "0")
        for d, n, w in zip((7, 30, 90), counts, weights, strict=True)
    ]
    assert row["breakdown_json"] == breakdown(1, expected, score)


def test_empty_7d_bucket_contributes_zero() -> None:
    # 5 attempts 20 days ago, 4 correct: 7d empty -> accuracy 0, contribution 0
    # 30d: 4/5 = 0.8 * 0.3 = 0.24; 90d: 0.8 * 0.2 = 0.16; score 0.4
    attempts = [att(f"q{i}", 20, ok=i != 0) for i in range(5)]
    row = one_row(run(attempts)[0])
    assert row["mastery_score"] == Decimal("0.4000")
    assert row["breakdown_json"] == breakdown(
        5, [(7, 0, 0, "0", "0.5", "0"), (30, 5, 4, "0.8", "0.3", "0.24"),
            (90, 5, 4, "0.8", "0.2", "0.16")], "0.4",
    )  # fmt: skip


def test_answered_before_narrow_buckets_counts_in_totals_only() -> None:
    # buckets 7d/30d only, lookback 90: attempts answered 60 days ago are in no bucket
    # 5 correct on day 1 + 5 wrong on day 60: totals 10/5 -> 50.00; buckets 5/5 -> 0.6 + 0.4 = 1
    p = params(recency_buckets=[{"days": 7, "weight": Decimal("0.6")},
                                {"days": 30, "weight": Decimal("0.4")}])  # fmt: skip
    attempts = [att(f"a{i}", 1) for i in range(5)] + [att(f"b{i}", 60, False) for i in range(5)]
    row = one_row(run(attempts, p)[0])
    assert row["attempts_total"] == 10
    assert row["correct_total"] == 5
    assert row["accuracy_pct"] == Decimal("50.00")
    assert row["mastery_score"] == Decimal("1.0000")
    assert row["breakdown_json"] == breakdown(
        10, [(7, 5, 5, "1", "0.6", "0.6"), (30, 5, 5, "1", "0.4", "0.4")], "1"
    )


@pytest.mark.parametrize(
    ("submitted", "kept"),
    [
        (AS_OF - 90 * DAY, True),
        (AS_OF - 90 * DAY - US, False),
        (AS_OF, True),
        (AS_OF + US, False),
    ],
    ids=["lookback-exact", "lookback-minus-1us", "as-of-exact", "as-of-plus-1us"],
)
def test_lookback_window_on_submitted_at(submitted: datetime, kept: bool) -> None:
    answered = min(submitted, AS_OF) - timedelta(hours=1)
    rows, dq = run([att("q1", answered=answered, submitted=submitted)], params(min_attempts=1))
    assert rows.height == (1 if kept else 0)
    assert dq == dq_with()


def test_sessions_submitted_before_lookback_are_not_attempts() -> None:
    # nothing of an out-of-window session is counted, not even its data-quality problems
    old = AS_OF - 90 * DAY - US
    attempts = [
        att("q1", answered=old - DAY, submitted=old),
        att("q2", answered=old - DAY, submitted=old, ok=None),
        att("q3", answered=None, submitted=old, theme=None),
        att("q4", answered=AS_OF + DAY, submitted=old, difficulty="weird"),
        att("q5", answered=old - DAY, submitted=old, theme=200, block=None),
    ]
    rows, dq = run(attempts)
    assert rows.is_empty()
    assert dq == dq_with()


# -----------------------------------------------------------------------------------------------
# correctness and timestamps


def test_null_is_correct_counts_as_wrong() -> None:
    # T, T, null, null, F on day 1: 2/5 = 0.4 everywhere
    # 0.4 * 0.5 = 0.2, 0.4 * 0.3 = 0.12, 0.4 * 0.2 = 0.08 -> 0.4; accuracy_pct 40.00
    attempts = [att("q1"), att("q2"), att("q3", ok=None), att("q4", ok=None), att("q5", ok=False)]
    rows, dq = run(attempts)
    row = one_row(rows)
    assert (row["attempts_total"], row["correct_total"]) == (5, 2)
    assert row["accuracy_pct"] == Decimal("40.00")
    assert row["mastery_score"] == Decimal("0.4000")
    assert row["breakdown_json"] == breakdown(
        5, [(7, 5, 2, "0.4", "0.5", "0.2"), (30, 5, 2, "0.4", "0.3", "0.12"),
            (90, 5, 2, "0.4", "0.2", "0.08")], "0.4",
    )  # fmt: skip
    assert dq == dq_with(null_is_correct=2)


def test_null_answered_at_counts_in_totals_but_no_bucket() -> None:
    # 4 correct on day 1 + 1 correct with null answered_at: totals 5/5, every bucket 4/4
    attempts = [att(f"q{i}") for i in range(4)] + [att("q9", days_ago=None)]
    rows, dq = run(attempts)
    row = one_row(rows)
    assert (row["attempts_total"], row["correct_total"]) == (5, 5)
    assert row["last_attempt_at"] == AS_OF - DAY
    assert row["breakdown_json"] == breakdown(
        5, [(7, 4, 4, "1", "0.5", "0.5"), (30, 4, 4, "1", "0.3", "0.3"),
            (90, 4, 4, "1", "0.2", "0.2")], "1",
    )  # fmt: skip
    assert dq == dq_with(null_answered_at=1)


def test_all_answered_at_null_gives_null_last_attempt_and_zero_score() -> None:
    # 5 attempts, all null answered_at: scored (5 >= 5) but every bucket empty -> 0
    rows, dq = run([att(f"q{i}", days_ago=None) for i in range(5)])
    row = one_row(rows)
    assert row["last_attempt_at"] is None
    assert row["accuracy_pct"] == Decimal("100.00")
    assert row["mastery_score"] == Decimal("0.0000")
    assert row["breakdown_json"] == breakdown(
        5, [(7, 0, 0, "0", "0.5", "0"), (30, 0, 0, "0", "0.3", "0"),
            (90, 0, 0, "0", "0.2", "0")], "0",
    )  # fmt: skip
    assert dq == dq_with(null_answered_at=5)


def test_last_attempt_at_is_max_answered_at() -> None:
    attempts = [att("q1", 5), att("q2", answered=AS_OF - timedelta(seconds=1)), att("q3", 2)]
    row = one_row(run(attempts)[0])
    assert row["last_attempt_at"] == AS_OF - timedelta(seconds=1)


def test_answers_after_as_of_excluded_and_counted() -> None:
    # answered exactly at as_of is kept; +1us and +1 day are excluded (session submitted before)
    attempts = [
        att("q1", answered=AS_OF),
        *(att(f"q{i}") for i in range(2, 6)),
        att("q6", answered=AS_OF + US, ok=False),
        att("q7", answered=AS_OF + DAY, ok=False),
    ]
    rows, dq = run(attempts)
    row = one_row(rows)
    assert (row["attempts_total"], row["correct_total"]) == (5, 5)
    assert row["last_attempt_at"] == AS_OF
    assert row["mastery_score"] == Decimal("1.0000")
    assert dq == dq_with(answered_after_as_of=2)


# -----------------------------------------------------------------------------------------------
# difficulty


def difficulty_mix() -> list[dict[str, Any]]:
    return [
        att("q1", ok=True, difficulty="easy"),  # w 0.9
        att("q2", ok=False, difficulty="MEDIUM "),  # w 1.0 (case and trailing blank)
        att("q3", ok=True, difficulty="hard"),  # w 1.1
        att("q4", ok=False, difficulty=" Hard"),  # w 1.1 (" Hard" = hard)
        att("q5", ok=True, difficulty=None),  # w 1.0 (null)
        att("q6", ok=False, difficulty="expert"),  # w 1.0 (unknown)
    ]


def test_difficulty_weighted_accuracy() -> None:
    # sum w = 0.9 + 1.0 + 1.1 + 1.1 + 1.0 + 1.0 = 6.1; sum w*correct = 0.9 + 1.1 + 1.0 = 3.0
    # a = 3 / 6.1 = 30/61 = 0.49180.. -> accuracy 0.4918 (all six are in every bucket)
    # 30/61 * 0.5 = 15/61 = 0.245901.. -> 0.2459
    # 30/61 * 0.3 = 9/61  = 0.147540.. -> 0.1475
    # 30/61 * 0.2 = 6/61  = 0.098360.. -> 0.0984
    # score 0.2459 + 0.1475 + 0.0984 = 0.4918; correct stays the raw count 3; pct 3/6 = 50.00
    rows, dq = run(difficulty_mix(), params(use_difficulty=True))
    row = one_row(rows)
    assert (row["attempts_total"], row["correct_total"]) == (6, 3)
    assert row["accuracy_pct"] == Decimal("50.00")
    assert row["mastery_score"] == Decimal("0.4918")
    assert row["breakdown_json"] == breakdown(
        6, [(7, 6, 3, "0.4918", "0.5", "0.2459"), (30, 6, 3, "0.4918", "0.3", "0.1475"),
            (90, 6, 3, "0.4918", "0.2", "0.0984")], "0.4918", use_difficulty=True,
    )  # fmt: skip
    assert dq == dq_with(unknown_difficulty=1)


def test_difficulty_weights_per_bucket() -> None:
    # 7d: hard correct (1.1) + easy wrong (0.9) -> 1.1 / 2.0 = 0.55; 0.55 * 0.5 = 0.275
    # 30d adds (day 20) easy correct, hard wrong, medium wrong:
    #   sum w = 2.0 + 0.9 + 1.1 + 1.0 = 5.0; sum w*c = 1.1 + 0.9 = 2.0 -> 0.4; * 0.3 = 0.12
    # 90d = 30d -> 0.4 * 0.2 = 0.08; score 0.275 + 0.12 + 0.08 = 0.475
    attempts = [
        att("q1", 1, True, difficulty="hard"),
        att("q2", 1, False, difficulty="easy"),
        att("q3", 20, True, difficulty="Easy"),
        att("q4", 20, False, difficulty="HARD"),
        att("q5", 20, False, difficulty="medium"),
    ]
    row = one_row(run(attempts, params(use_difficulty=True))[0])
    assert row["breakdown_json"] == breakdown(
        5, [(7, 2, 1, "0.55", "0.5", "0.275"), (30, 5, 2, "0.4", "0.3", "0.12"),
            (90, 5, 2, "0.4", "0.2", "0.08")], "0.475", use_difficulty=True,
    )  # fmt: skip
    assert row["mastery_score"] == Decimal("0.4750")


def test_difficulty_ignored_without_use_difficulty() -> None:
    # plain 3/6 = 0.5 -> 0.25 + 0.15 + 0.1 = 0.5; unknown difficulty is counted anyway
    rows, dq = run(difficulty_mix())
    row = one_row(rows)
    assert row["mastery_score"] == Decimal("0.5000")
    assert row["breakdown_json"] == breakdown(
        6, [(7, 6, 3, "0.5", "0.5", "0.25"), (30, 6, 3, "0.5", "0.3", "0.15"),
            (90, 6, 3, "0.5", "0.2", "0.1")], "0.5",
    )  # fmt: skip
    assert dq == dq_with(unknown_difficulty=1)


def test_custom_difficulty_weight_keys_are_normalized() -> None:
    # weights {" Hard ": 3}: key is "hard"; "easy"/"medium" are now unknown (w 1)
    # hard correct (3) + easy wrong (1) + medium wrong (1): 3/5 = 0.6 -> single bucket 1.0 -> 0.6
    p = params(
        use_difficulty=True,
        difficulty_weights={" Hard ": Decimal("3")},
        recency_buckets=[{"days": 7, "weight": Decimal("1")}],
    )
    attempts = [
        att("q1", difficulty="HARD"), att("q2", ok=False, difficulty="easy"),
        att("q3", ok=False, difficulty="medium"), att("q4", ok=False, days_ago=30),
        att("q5", ok=False, days_ago=30),
    ]  # fmt: skip
    rows, dq = run(attempts, p)
    row = one_row(rows)
    assert row["breakdown_json"] == breakdown(
        5, [(7, 3, 1, "0.6", "1", "0.6")], "0.6", use_difficulty=True
    )
    assert dq == dq_with(unknown_difficulty=2)


# -----------------------------------------------------------------------------------------------
# rounding: half away from zero on the exact decimal value


def one_bucket(weight: str) -> Params:
    return params(recency_buckets=[{"days": 7, "weight": Decimal(weight)}])


def n_attempts(n: int, correct: int) -> list[dict[str, Any]]:
    return [att(f"q{i:03d}", ok=i < correct) for i in range(n)]


def test_rounding_tie_1_16_times_half() -> None:
    # 1/16 = 0.0625; 0.0625 * 0.5 = 0.03125 -> 0.0313 (half away from zero); pct 6.25
    row = one_row(run(n_attempts(16, 1), one_bucket("0.5"))[0])
    assert row["accuracy_pct"] == Decimal("6.25")
    assert row["mastery_score"] == Decimal("0.0313")
    assert row["breakdown_json"] == breakdown(16, [(7, 16, 1, "0.0625", "0.5", "0.0313")], "0.0313")


def test_rounding_tie_with_default_buckets() -> None:
    # 1/16 * 0.5 = 0.03125 -> 0.0313; 1/16 * 0.3 = 0.01875 -> 0.0188; 1/16 * 0.2 = 0.0125
    # score 0.0313 + 0.0188 + 0.0125 = 0.0626
    row = one_row(run(n_attempts(16, 1))[0])
    assert row["mastery_score"] == Decimal("0.0626")
    assert row["breakdown_json"] == breakdown(
        16, [(7, 16, 1, "0.0625", "0.5", "0.0313"), (30, 16, 1, "0.0625", "0.3", "0.0188"),
             (90, 16, 1, "0.0625", "0.2", "0.0125")], "0.0626",
    )  # fmt: skip


def test_rounding_3_8_times_0_3_stays() -> None:
    # 3/8 = 0.375; 0.375 * 0.3 = 0.1125 exactly (binary floats say 0.11249999..); pct 37.50
    row = one_row(run(n_attempts(8, 3), one_bucket("0.3"))[0])
    assert row["accuracy_pct"] == Decimal("37.50")
    assert row["mastery_score"] == Decimal("0.1125")
    assert row["breakdown_json"] == breakdown(8, [(7, 8, 3, "0.375", "0.3", "0.1125")], "0.1125")


def test_rounding_tie_on_exact_weight_not_float() -> None:
    # 1/8 * 0.35 = 0.04375 exactly -> 0.0438 (the float 0.35 is below 0.35 and would give 0.0437)
    row = one_row(run(n_attempts(8, 1), one_bucket("0.35"))[0])
    assert row["mastery_score"] == Decimal("0.0438")
    assert row["breakdown_json"] == breakdown(8, [(7, 8, 1, "0.125", "0.35", "0.0438")], "0.0438")


def test_rounding_tie_in_bucket_accuracy() -> None:
    # 1/32 = 0.03125 -> accuracy 0.0313; contribution from the exact value:
    # 1/32 * 0.5 = 0.015625 -> 0.0156 (not 0.0313 * 0.5); pct 3.125 -> 3.13
    row = one_row(run(n_attempts(32, 1), one_bucket("0.5"))[0])
    assert row["accuracy_pct"] == Decimal("3.13")
    assert row["mastery_score"] == Decimal("0.0156")
    assert row["breakdown_json"] == breakdown(32, [(7, 32, 1, "0.0313", "0.5", "0.0156")], "0.0156")


def test_weight_written_with_trailing_zeros_is_printed_plain() -> None:
    # weight 0.500 prints as 0.5, weight 1.000 (single bucket) as 1
    row = one_row(run(n_attempts(5, 5), one_bucket("1.000"))[0])
    assert row["breakdown_json"] == breakdown(5, [(7, 5, 5, "1", "1", "1")], "1")
    row = one_row(run(n_attempts(5, 5), one_bucket("0.500"))[0])
    assert row["breakdown_json"] == breakdown(5, [(7, 5, 5, "1", "0.5", "0.5")], "0.5")


def test_zero_weight_bucket() -> None:
    # weight 0 -> contribution 0 whatever the accuracy
    p = params(recency_buckets=[{"days": 7, "weight": Decimal("0")},
                                {"days": 30, "weight": Decimal("0.25")}])  # fmt: skip
    row = one_row(run(n_attempts(5, 5), p)[0])
    assert row["breakdown_json"] == breakdown(
        5, [(7, 5, 5, "1", "0", "0"), (30, 5, 5, "1", "0.25", "0.25")], "0.25"
    )


@pytest.mark.parametrize(
    ("n", "correct", "pct"),
    [
        (3, 2, "66.67"),  # 66.666.. -> 66.67
        (8, 1, "12.50"),  # 12.5
        (3, 1, "33.33"),  # 33.333.. -> 33.33
        (6, 5, "83.33"),  # 83.333.. -> 83.33
        (7, 0, "0.00"),
        (1, 1, "100.00"),
        (7, 3, "42.86"),  # 42.857.. -> 42.86
        (32, 1, "3.13"),  # 3.125 tie -> 3.13
        (800, 1, "0.13"),  # 0.125 tie -> 0.13
    ],
)
def test_accuracy_pct_rounding(n: int, correct: int, pct: str) -> None:
    row = one_row(run(n_attempts(n, correct))[0])
    assert row["accuracy_pct"] == Decimal(pct)
    assert str(row["accuracy_pct"]) == pct


# -----------------------------------------------------------------------------------------------
# row identity: year and block of the latest attempt with a block


def test_block_change_latest_block_wins() -> None:
    attempts = [
        att("q1", 10, block=10, year=1),
        att("q2", 2, block=20, year=2),  # latest attempt with a block -> block 20, year 2
        att("q3", 1, block=None, year=3),  # later, but has no block: ignored
        att("q4", None, block=30, year=4),  # null answered_at sorts first (earliest)
    ]
    row = one_row(run(attempts)[0])
    assert (row["block_id"], row["year"]) == (20, 2)
    assert row["attempts_total"] == 4


def test_block_tie_on_answered_at_broken_by_submitted_at() -> None:
    # same answered_at; s2 submitted later wins, although its question_id sorts first
    same = AS_OF - 2 * DAY
    attempts = [
        att("q9", answered=same, session="s1", submitted=AS_OF - 2 * timedelta(hours=1), block=10),
        att("q1", answered=same, session="s2", submitted=AS_OF - timedelta(hours=1), block=20),
    ]
    for order in (attempts, attempts[::-1]):
        assert one_row(run(order)[0])["block_id"] == 20


def test_block_tie_on_answered_and_submitted_broken_by_question_id() -> None:
    same = AS_OF - 2 * DAY
    attempts = [
        att("q2", answered=same, block=20, year=2),  # "q2" > "q1": wins
        att("q1", answered=same, block=10, year=1),
    ]
    for order in (attempts, attempts[::-1]):
        row = one_row(run(order)[0])
        assert (row["block_id"], row["year"]) == (20, 2)


def test_null_answered_at_sorts_before_any_timestamp() -> None:
    # the null-answered attempt is in a later session but is still the earliest
    attempts = [
        att("q1", days_ago=None, submitted=AS_OF - timedelta(minutes=1), block=30),
        att("q2", answered=AS_OF - 5 * DAY, submitted=AS_OF - 4 * DAY, block=10),
    ]
    assert one_row(run(attempts)[0])["block_id"] == 10


def test_all_answered_null_latest_by_submitted_at() -> None:
    attempts = [
        att("q1", days_ago=None, session="s1", submitted=AS_OF - 3 * DAY, block=10),
        att("q2", days_ago=None, session="s2", submitted=AS_OF - 2 * DAY, block=20),
        att("q3", days_ago=None, session="s3", submitted=AS_OF - 4 * DAY, block=30),
    ]
    assert one_row(run(attempts)[0])["block_id"] == 20


def test_theme_under_two_blocks_gives_one_row_and_is_counted() -> None:
    attempts = [
        att("q1", 5, block=10, user="u1"),
        att("q2", 3, block=20, user="u1"),  # u1's theme 100 moves to block 20
        att("q1", 4, block=10, user="u2", session="s2"),
        att("q5", 4, theme=200, block=10),
    ]
    rows, dq = run(attempts)
    assert rows.select("user_id", "theme_id", "block_id").rows() == [
        ("u1", 100, 20),
        ("u1", 200, 10),
        ("u2", 100, 10),
    ]
    assert dq == dq_with(themes_under_two_blocks=1)


def test_null_year_defaults_to_1() -> None:
    rows, _ = run([att("q1", year=None), att("q2", 1, user="u2", session="s2", year=None)])
    assert rows["year"].to_list() == [1, 1]


def test_year_comes_from_latest_block_attempt_even_if_null() -> None:
    # the latest attempt with a block has a null year -> 1, not the older attempt's 3
    attempts = [att("q1", 5, year=3, block=10), att("q2", 1, year=None, block=20)]
    row = one_row(run(attempts)[0])
    assert (row["block_id"], row["year"]) == (20, 1)


# -----------------------------------------------------------------------------------------------
# dropped and skipped


def test_null_theme_dropped_and_counted() -> None:
    attempts = [att(f"q{i}") for i in range(5)] + [
        att("q8", theme=None, ok=False),
        att("q9", theme=None, days_ago=None, ok=None),
    ]
    rows, dq = run(attempts)
    row = one_row(rows)
    assert (row["attempts_total"], row["correct_total"]) == (5, 5)
    # the dropped attempts are not counted as null_answered_at / null_is_correct
    assert dq == dq_with(null_theme_dropped=2)


def test_theme_without_block_skipped_and_counted() -> None:
    attempts = [
        att("q1", theme=100, block=10),
        att("q2", theme=200, block=None),
        att("q3", 2, theme=200, block=None),
        att("q2", theme=200, block=None, user="u2", session="s2"),
    ]
    rows, dq = run(attempts)
    assert rows.select("user_id", "theme_id").rows() == [("u1", 100)]
    assert dq == dq_with(no_block_rows_skipped=2)


def test_dangling_theme_and_block_skipped_and_counted() -> None:
    themes = pl.LazyFrame({"id": [100, 200], "block_id": [10, 10]}, schema={
        "id": pl.Int32, "block_id": pl.Int32})  # fmt: skip
    blocks = pl.LazyFrame({"id": [10]}, schema={"id": pl.Int32})
    attempts = [
        att("q1", theme=100, block=10),  # fine
        att("q2", theme=200, block=20),  # theme known, block 20 unknown
        att("q3", theme=300, block=10),  # theme 300 unknown
        att("q4", 5, theme=100, block=20, user="u2", session="s2"),  # older, dangling block
        att("q5", 1, theme=100, block=10, user="u2", session="s2"),  # latest block 10: kept
    ]
    rows, dq = run(attempts, themes=themes, blocks=blocks)
    assert rows.select("user_id", "theme_id", "block_id").rows() == [
        ("u1", 100, 10),
        ("u2", 100, 10),
    ]
    assert dq == dq_with(
        dangling_theme_rows_skipped=1, dangling_block_rows_skipped=1, themes_under_two_blocks=1
    )
    # without the frames nothing is dangling
    rows, dq = run(attempts)
    assert rows.height == 4
    assert dq == dq_with(themes_under_two_blocks=1)


# -----------------------------------------------------------------------------------------------
# shape


def test_empty_input_gives_empty_output_with_columns() -> None:
    rows, dq = run([])
    assert_frame_equal(rows, pl.DataFrame(schema=OUTPUT_SCHEMA))
    assert dq == dq_with()
    assert set(dq) == set(DATA_QUALITY_KEYS)
    assert all(type(v) is int for v in dq.values())


def test_only_excluded_input_gives_empty_output() -> None:
    rows, dq = run([att("q1", theme=None), att("q2", answered=AS_OF + DAY)])
    assert_frame_equal(rows, pl.DataFrame(schema=OUTPUT_SCHEMA))
    assert dq == dq_with(null_theme_dropped=1, answered_after_as_of=1)


def test_rows_sorted_by_user_then_theme() -> None:
    attempts = [
        att("q1", user="u2", theme=5),
        att("q2", user="u10", theme=100),
        att("q3", user="u1", theme=100),
        att("q4", user="u1", theme=20),
        att("q5", user="u10", theme=7),
    ]
    rows, _ = run(attempts)
    assert rows.select("user_id", "theme_id").rows() == [
        ("u1", 20), ("u1", 100), ("u10", 7), ("u10", 100), ("u2", 5)
    ]  # fmt: skip


def cohort() -> list[dict[str, Any]]:
    out = worked_example()
    out += [dict(a, user_id="u2", theme_id=200) for a in worked_example()]
    out += difficulty_mix()
    out += [
        att("q1", 3, block=20, user="u3", session="s3", year=2),
        att("q2", 9, block=10, user="u3", session="s3"),
        att("q3", None, block=30, user="u3", session="s3", ok=None),
        att("q4", 40, theme=None, user="u3", session="s3"),
        att("q5", answered=AS_OF + US, user="u3", session="s3"),
        att("q6", 2, theme=300, block=None, user="u3", session="s3"),
    ]
    return out


def test_input_row_order_does_not_matter() -> None:
    base = cohort()
    expected_rows, expected_dq = run(base)
    assert expected_rows.height == 3
    rng = random.Random(20250630)
    for _ in range(5):
        shuffled = base[:]
        rng.shuffle(shuffled)
        rows, dq = run(shuffled)
        assert_frame_equal(rows, expected_rows)
        assert dq == expected_dq


def test_a_group_of_32768_attempts_is_counted_exactly() -> None:
    # 2**15 attempts overflow the kernel's optimistic 15-bit counters, which must notice and
    # count again: 32768 attempts, 16384 correct, all inside 7d -> 50 %, 0.5 in every bucket,
    # score 0.5 * (0.5 + 0.3 + 0.2) = 0.5
    attempts = [att(f"q{i}", 1, ok=i % 2 == 0) for i in range(2**15)]
    row = one_row(run(attempts)[0])
    assert (row["attempts_total"], row["correct_total"]) == (32768, 16384)
    assert (row["accuracy_pct"], row["mastery_score"]) == (Decimal("50.00"), Decimal("0.5000"))

"""SPEC §4 *Aggregates* and *Score*: min_attempts, cumulative recency buckets, null answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.spec.kernel_helpers import (
    AS_OF,
    DAY,
    US,
    att,
    breakdown,
    dq_with,
    insufficient,
    one_row,
    params,
    run,
)

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
# buckets


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


def test_a_group_of_32768_attempts_is_counted_exactly() -> None:
    # 2**15 attempts (more than a 15-bit counter holds): 16384 correct, all inside 7d -> 50 %,
    # 0.5 in every bucket, score 0.5 * (0.5 + 0.3 + 0.2) = 0.5
    attempts = [att(f"q{i}", 1, ok=i % 2 == 0) for i in range(2**15)]
    row = one_row(run(attempts)[0])
    assert (row["attempts_total"], row["correct_total"]) == (32768, 16384)
    assert (row["accuracy_pct"], row["mastery_score"]) == (Decimal("50.00"), Decimal("0.5000"))

"""SPEC §4 *Score* with ``use_difficulty``: Σ w·correct / Σ w, difficulty trimmed and
case-insensitive, weight 1.0 when null or unknown; ``correct`` stays the raw count."""

from __future__ import annotations

from decimal import Decimal

from tests.spec.kernel_helpers import (
    att,
    breakdown,
    difficulty_mix,
    dq_with,
    one_row,
    params,
    run,
)


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


def test_blank_difficulty_is_unknown_with_weight_one() -> None:
    # "" and "  " trim to "": not a named difficulty, so weight 1.0 and counted as unknown
    # hard correct (1.1) + "" wrong (1) + "  " wrong (1): 1.1 / 3.1 = 11/31 = 0.354838.. ->
    # 0.3548; single bucket weight 1 -> contribution 0.3548
    p = params(
        use_difficulty=True, min_attempts=1, recency_buckets=[{"days": 7, "weight": Decimal("1")}]
    )
    attempts = [
        att("q1", difficulty="hard"),
        att("q2", ok=False, difficulty=""),
        att("q3", ok=False, difficulty="  "),
    ]
    rows, dq = run(attempts, p)
    row = one_row(rows)
    assert row["breakdown_json"] == breakdown(
        3, [(7, 3, 1, "0.3548", "1", "0.3548")], "0.3548", use_difficulty=True
    )
    assert dq == dq_with(unknown_difficulty=2)

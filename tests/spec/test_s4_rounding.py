"""SPEC §4 *Score*: every rounding half away from zero on the exact decimal value, once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.spec.kernel_helpers import (
    breakdown,
    n_attempts,
    one_bucket,
    one_row,
    params,
    run,
)


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


def test_weights_finer_than_four_places_round_each_contribution() -> None:
    # weights 0.50005 + 0.49995 = 1; 5/5 correct: 0.50005 -> 0.5001 (tie, away from zero) and
    # 0.49995 -> 0.5 (tie): the score is 1.0001, the sum of the rounded contributions
    p = params(recency_buckets=[{"days": 7, "weight": Decimal("0.50005")},
                                {"days": 30, "weight": Decimal("0.49995")}])  # fmt: skip
    row = one_row(run(n_attempts(5, 5), p)[0])
    assert row["mastery_score"] == Decimal("1.0001")
    assert row["breakdown_json"] == breakdown(
        5, [(7, 5, 5, "1", "0.50005", "0.5001"), (30, 5, 5, "1", "0.49995", "0.5")], "1.0001"
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

"""SPEC §3/§4: the worked example, the output's columns and order, and what does not matter
(input row order, extra columns)."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from pipeline.contracts.frames import OUTPUT_COLUMNS
from pipeline.kernel import compute_cohort, compute_mastery
from tests.reference import DATA_QUALITY_KEYS, OUTPUT_SCHEMA, attempts_frame, rows_frame
from tests.spec.kernel_helpers import (
    AS_OF,
    DAY,
    WORKED_EXAMPLE_BREAKDOWN,
    att,
    cohort,
    dq_with,
    one_row,
    params,
    run,
    worked_example,
)


def test_spec_worked_example_row_and_breakdown() -> None:
    rows, dq = run(worked_example())
    # 7d:  2/3 = 0.666.. -> accuracy 0.6667; 2/3 * 0.5 = 1/3 = 0.33333.. -> 0.3333
    # 30d: 4/5 = 0.8; 0.8 * 0.3 = 0.24
    # 90d: 9/12 = 0.75; 0.75 * 0.2 = 0.15
    # score = 0.3333 + 0.24 + 0.15 = 0.7233; accuracy_pct = 100 * 9 / 12 = 75.00
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
                "breakdown_json": WORKED_EXAMPLE_BREAKDOWN,
            }
        ]
    )
    assert_frame_equal(rows, expected)
    assert dq == dq_with()


def test_output_columns_and_dtypes_in_order() -> None:
    rows, _ = run(worked_example())
    assert rows.schema == OUTPUT_SCHEMA
    assert rows.columns == list(OUTPUT_COLUMNS)


def test_compute_mastery_returns_the_cohort_rows() -> None:
    frame = attempts_frame(worked_example())
    direct = compute_mastery(frame, params(), AS_OF)
    assert_frame_equal(direct, compute_cohort(frame, params(), AS_OF).rows)


def test_extra_input_columns_are_ignored() -> None:
    frame = attempts_frame(worked_example()).with_columns(pl.lit("x").alias("extra"))
    rows = compute_mastery(frame, params(), AS_OF)
    assert rows.schema == OUTPUT_SCHEMA
    assert one_row(rows)["mastery_score"] == Decimal("0.7233")


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


def test_sparse_themes_far_apart_keep_the_order() -> None:
    # few attempts over themes 1..300: rows in (user_id, theme_id) order
    attempts = [
        att("q1", user="c", theme=300),
        att("q2", user="a", theme=1),
        att("q3", user="c", theme=1),
        att("q4", user="b", theme=150),
    ]
    rows, _ = run(attempts, params(min_attempts=1))
    assert rows.select("user_id", "theme_id").rows() == [
        ("a", 1), ("b", 150), ("c", 1), ("c", 300)
    ]  # fmt: skip


def test_theme_blocks_are_the_kept_attempts_distinct_pairs() -> None:
    attempts = [
        att("q1", theme=100, block=10),
        att("q2", theme=100, block=20, user="u2"),
        att("q3", theme=100, block=10, user="u3"),
        att("q4", theme=200, block=None),
        att("q5", theme=300, block=30, answered=AS_OF + DAY),  # after as_of: not kept
    ]
    result = compute_cohort(attempts_frame(attempts), params(), AS_OF)
    assert result.theme_blocks.rows() == [(100, 10), (100, 20)]
    assert result.data_quality["themes_under_two_blocks"] == 1


def test_input_row_order_does_not_matter() -> None:
    base: list[dict[str, Any]] = cohort()
    expected_rows, expected_dq = run(base)
    assert expected_rows.height == 3
    rng = random.Random(20250630)
    for _ in range(5):
        shuffled = base[:]
        rng.shuffle(shuffled)
        rows, dq = run(shuffled)
        assert_frame_equal(rows, expected_rows)
        assert dq == expected_dq

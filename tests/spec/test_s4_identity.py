"""SPEC §4 *Row identity*: year and block of the latest attempt that has a block — latest by
``answered_at`` (nulls first), then ``submitted_at``, ``question_id``, ``session_id``, the larger
winning — and extreme ids, years and blocks taking the same plain path as any other value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.spec.kernel_helpers import (
    AS_OF,
    DAY,
    INT32_MAX,
    INT32_MIN,
    att,
    cohort,
    dq_with,
    one_row,
    run,
)


def both_orders(attempts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [attempts, attempts[::-1]]


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
    for order in both_orders(attempts):
        assert one_row(run(order)[0])["block_id"] == 20


def test_block_tie_on_answered_and_submitted_broken_by_question_id() -> None:
    same = AS_OF - 2 * DAY
    attempts = [
        att("q2", answered=same, block=20, year=2),  # "q2" > "q1": wins
        att("q1", answered=same, block=10, year=1),
    ]
    for order in both_orders(attempts):
        row = one_row(run(order)[0])
        assert (row["block_id"], row["year"]) == (20, 2)


def test_block_tie_on_answered_submitted_and_question_broken_by_session_id() -> None:
    # one question in two sessions submitted at the same instant, answered at the same instant:
    # the larger session_id wins, compared as text ("s9" > "s10"), although "s10" was listed
    # first and its block is larger
    same, submitted = AS_OF - 2 * DAY, AS_OF - timedelta(hours=3)
    attempts = [
        att("q1", answered=same, submitted=submitted, session="s10", block=30, year=3),
        att("q1", answered=same, submitted=submitted, session="s9", block=20, year=2),
    ]
    for order in both_orders(attempts):
        row = one_row(run(order)[0])
        assert (row["block_id"], row["year"], row["attempts_total"]) == (20, 2, 2)


def test_null_answered_at_sorts_before_any_timestamp() -> None:
    # the null-answered attempt is in a later session but is still the earliest
    attempts = [
        att("q1", days_ago=None, submitted=AS_OF - timedelta(minutes=1), block=30),
        att("q2", answered=AS_OF - 5 * DAY, submitted=AS_OF - 4 * DAY, block=10),
    ]
    for order in both_orders(attempts):
        assert one_row(run(order)[0])["block_id"] == 10


def test_all_answered_null_latest_by_submitted_at() -> None:
    attempts = [
        att("q1", days_ago=None, session="s1", submitted=AS_OF - 3 * DAY, block=10),
        att("q2", days_ago=None, session="s2", submitted=AS_OF - 2 * DAY, block=20),
        att("q3", days_ago=None, session="s3", submitted=AS_OF - 4 * DAY, block=30),
    ]
    for order in both_orders(attempts):
        assert one_row(run(order)[0])["block_id"] == 20


def test_latest_block_far_apart_in_time() -> None:
    # answered in 1990, answered an hour ago, answered null: the hour-old attempt is the latest
    attempts = [
        att("q1", answered=datetime(1990, 1, 1, tzinfo=UTC), block=7),
        att("q2", answered=AS_OF - timedelta(hours=1), block=9),
        att("q3", answered=None, block=5),
    ]
    for order in both_orders(attempts):
        assert one_row(run(order)[0])["block_id"] == 9


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
# extreme values: int32 bounds in one row among normal rows change nothing else


@pytest.mark.parametrize("value", [INT32_MIN, INT32_MAX], ids=["int32-min", "int32-max"])
@pytest.mark.parametrize("column", ["theme", "block", "year"])
def test_an_int32_bound_in_one_row_leaves_the_other_rows(column: str, value: int) -> None:
    # u1 gets one more (user, theme) row, theme 999 unless the theme is the extreme value: 5
    # correct attempts on day 1, so score 1; its id, block and year come through unchanged
    expected_rows, expected_dq = run(cohort())
    tags = {"theme": 999, "block": 10, "year": 1} | {column: value}
    extra = [
        att(f"x{i}", theme=tags["theme"], block=tags["block"], year=tags["year"]) for i in range(5)
    ]
    rows, dq = run(cohort() + extra)
    assert dq == expected_dq
    others = rows.filter(rows["theme_id"] != tags["theme"])
    assert_frame_equal(others, expected_rows)
    row = one_row(rows.filter(rows["theme_id"] == tags["theme"]))
    assert (row["user_id"], row["theme_id"], row["block_id"], row["year"]) == (
        "u1", tags["theme"], tags["block"], tags["year"]
    )  # fmt: skip
    assert str(row["mastery_score"]) == "1.0000"


def test_all_int32_bounds_in_one_row_and_as_an_older_block() -> None:
    # theme MIN, block MAX, year MIN for u2; and an older attempt of u1's theme 100 with block
    # MIN and year MAX: not the latest, so u1's row keeps block 10 and year 1 (theme 100 is
    # already under two blocks, so the counts stay)
    expected_rows, expected_dq = run(cohort())
    extra = [
        att("x1", theme=INT32_MIN, block=INT32_MAX, year=INT32_MIN, user="u2", session="s2"),
        att("x2", answered=AS_OF - 95 * DAY, theme=100, block=INT32_MIN, year=INT32_MAX),
    ]
    rows, dq = run(cohort() + extra)
    assert dq == expected_dq
    row = one_row(rows.filter(pl.col("theme_id") == INT32_MIN))
    assert (row["user_id"], row["block_id"], row["year"]) == ("u2", INT32_MAX, INT32_MIN)
    u1_100 = (pl.col("user_id") == "u1") & (pl.col("theme_id") == 100)
    before, after = one_row(expected_rows.filter(u1_100)), one_row(rows.filter(u1_100))
    assert (after["block_id"], after["year"]) == (10, 1)
    assert after["attempts_total"] == before["attempts_total"] + 1
    others = rows.filter(~u1_100 & (pl.col("theme_id") != INT32_MIN))
    assert_frame_equal(others, expected_rows.filter(~u1_100))

"""SPEC §4 and §7: attempts dropped and rows skipped, each counted once as a data-quality issue."""

from __future__ import annotations

import polars as pl

from tests.spec.kernel_helpers import att, dq_with, one_row, run


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


def test_a_row_without_block_is_counted_as_that_even_if_its_theme_dangles() -> None:
    # theme 300 is unknown and has no block: one count, for the missing block
    themes = pl.LazyFrame({"id": [100]}, schema={"id": pl.Int32})
    rows, dq = run([att("q1"), att("q2", theme=300, block=None)], themes=themes)
    assert rows.select("theme_id").rows() == [(100,)]
    assert dq == dq_with(no_block_rows_skipped=1)

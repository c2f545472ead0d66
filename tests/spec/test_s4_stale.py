"""SPEC §4 *Stale rows*: existing keys of the scope without a computed row become the
zero-attempt result (:func:`pipeline.kernel.stale_rows`)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from pipeline.kernel import stale_rows
from tests.reference import OUTPUT_SCHEMA
from tests.spec.kernel_helpers import att, insufficient, params, run, worked_example


def keys(*pairs: tuple[str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"user_id": [u for u, _ in pairs], "theme_id": [t for _, t in pairs]},
        schema={"user_id": pl.String, "theme_id": pl.Int64},
    )


def test_existing_keys_without_a_row_become_the_zero_attempt_result() -> None:
    rows, _ = run(worked_example())  # one row: (u1, 100)
    existing = keys(("u2", 7), ("u1", 100), ("u1", 5))
    stale = stale_rows(rows, existing, params(min_attempts=3))
    assert stale.schema == OUTPUT_SCHEMA
    assert stale.select("user_id", "theme_id").rows() == [("u1", 5), ("u2", 7)]
    row = stale.row(0, named=True)
    assert (row["year"], row["block_id"], row["last_attempt_at"]) == (None, None, None)
    assert (row["attempts_total"], row["correct_total"]) == (0, 0)
    assert (row["accuracy_pct"], row["mastery_score"]) == (Decimal("0.00"), Decimal("0.0000"))
    assert str(row["mastery_score"]) == "0.0000"
    assert row["breakdown_json"] == insufficient(3, 0)


def test_only_the_scope_themes_go_stale() -> None:
    rows, _ = run([att("q1", theme=100)])
    existing = keys(("u1", 100), ("u1", 5), ("u1", 6), ("u2", 6))
    stale = stale_rows(rows, existing, params(), theme_ids=(6, 100))
    assert stale.select("user_id", "theme_id").rows() == [("u1", 6), ("u2", 6)]


def test_no_existing_keys_no_stale_rows() -> None:
    rows, _ = run(worked_example())
    assert stale_rows(rows, keys(), params()).is_empty()

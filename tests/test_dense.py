"""The dense (user, theme) grid of pipeline/dense.py: when the kernel uses it, and its slots.

That its rows equal the reference is held by the spec and property tests, which run both
groupings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from pipeline.contracts.params import Params
from pipeline.kernel import cohort as kernel
from pipeline.kernel import dense
from tests.reference import attempts_frame

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)


def _attempt(user: str, theme: int, question: str = "q1") -> dict[str, Any]:
    return {
        "user_id": user, "session_id": "s", "question_id": question, "year": 1, "block_id": 10,
        "theme_id": theme, "difficulty": None, "is_correct": True,
        "answered_at": AS_OF - timedelta(days=1), "submitted_at": AS_OF - timedelta(days=1),
    }  # fmt: skip


def _grid_runs(attempts: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> int:
    calls = []
    real = dense.group_on_grid

    def counted(*args: Any, **kwargs: Any) -> pl.DataFrame:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kernel, "group_on_grid", counted)
    kernel.compute_cohort(attempts_frame(attempts), Params.from_mapping({}), AS_OF)
    return len(calls)


def test_grid_ranks_users_by_sorted_id_and_offsets_themes() -> None:
    grid = dense.grid(pl.Series(["u2", "u10", "u1"]), 3, 5, limit=None)
    assert grid is not None
    assert grid.names.to_list() == ["u1", "u10", "u2"]  # string order: the output's order
    assert (grid.themes, grid.slots) == (3, 9)
    frame = pl.DataFrame({"user_id": ["u10", "u2", "u1"], "theme_id": [4, 5, 3]})
    # u10 is rank 1, theme 4 is offset 1: 1 * 3 + 1 = 4; u2: 2 * 3 + 2 = 8; u1: 0
    assert frame.select(grid.slot()).to_series().to_list() == [4, 8, 0]


def test_no_grid_larger_than_the_limit() -> None:
    users = pl.Series(["a", "b"])
    assert dense.grid(users, 1, 10, limit=19) is None  # 2 users x 10 themes = 20 slots
    assert dense.grid(users, 1, 10, limit=20) is not None


def test_no_grid_with_a_null_user_or_no_theme() -> None:
    assert dense.grid(pl.Series(["a", None]), 1, 2, limit=None) is None
    assert dense.grid(pl.Series(["a"]), None, None, limit=None) is None


def test_auto_grouping_uses_the_grid_when_attempts_fill_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2 users x 2 themes = 4 slots for 5 attempts
    attempts = [_attempt(u, t) for u in ("a", "b") for t in (1, 2)] + [_attempt("a", 1, "q2")]
    assert _grid_runs(attempts, monkeypatch) == 1


def test_auto_grouping_hashes_a_sparse_cohort(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 users, themes 1..300: 900 slots for 3 attempts
    attempts = [_attempt("a", 1), _attempt("b", 150), _attempt("c", 300)]
    assert _grid_runs(attempts, monkeypatch) == 0


def test_grid_and_hash_agree_on_a_sparse_cohort() -> None:
    attempts = [_attempt("a", 1), _attempt("b", 150), _attempt("c", 300), _attempt("c", 1, "q2")]
    params = Params.from_mapping({"min_attempts": 1})
    grid, hashed = (
        kernel.compute_cohort(attempts_frame(attempts), params, AS_OF, grouping=g)
        for g in ("grid", "hash")
    )
    assert grid.rows.equals(hashed.rows)
    assert grid.rows.select("user_id", "theme_id").rows() == [
        ("a", 1), ("b", 150), ("c", 1), ("c", 300)
    ]  # fmt: skip


def test_categorical_users_find_their_rank_by_code() -> None:
    users = pl.Series(["u2", "u10", "u1"], dtype=pl.Enum(["u2", "x", "u10", "u1"]))
    grid = dense.grid(users, 1, 2, limit=None)
    assert grid is not None
    assert grid.rank_of_code is not None
    # codes u2=0, x=1 (absent), u10=2, u1=3; sorted ids u1 < u10 < u2 -> ranks 2, -, 1, 0
    frame = pl.DataFrame({"user_id": users, "theme_id": [2, 1, 1]})
    assert frame.select(grid.slot()).to_series().to_list() == [2 * 2 + 1, 1 * 2 + 0, 0]

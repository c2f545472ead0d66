"""Row identity: the packed Int128 plan and the per-group sort give the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from polars.testing import assert_frame_equal

from pipeline.contracts.frames import OUTPUT_COLUMNS
from pipeline.contracts.params import Params
from pipeline.kernel import cohort as kernel
from pipeline.kernel import identity
from tests.reference import attempts_frame, reference, rows_frame
from tests.test_kernel_property import cohort, frames

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)


def _attempt(question: str, block: int | None, answered: datetime | None) -> dict[str, Any]:
    return {
        "user_id": "u", "session_id": "s", "question_id": question, "year": 2, "block_id": block,
        "theme_id": 1, "difficulty": None, "is_correct": True, "answered_at": answered,
        "submitted_at": AS_OF - timedelta(days=1),
    }  # fmt: skip


def _plan(attempts: list[dict[str, Any]], lookback_days: int = 90) -> identity.IdentityPlan:
    lookback = timedelta(days=lookback_days)
    ranges = identity.value_ranges(attempts_frame(attempts))
    return identity.identity_plan(ranges, AS_OF - lookback, lookback)


def test_packed_plan_when_the_bits_fit() -> None:
    plan = _plan([_attempt("q1", 10, AS_OF - timedelta(days=2))])
    assert set(plan.per_row) == {"latest_block", "latest_year"}


def test_sorted_plan_when_block_ids_span_the_whole_int32_range() -> None:
    # answered range since year 1: 66 bits; submitted over 3650 days: 49 bits; blocks: 32 bits
    attempts = [
        _attempt("q1", -(2**31), datetime(1, 1, 1, tzinfo=UTC)),
        _attempt("q2", 2**31 - 1, AS_OF - timedelta(days=2)),
    ]
    plan = _plan(attempts, lookback_days=3650)
    assert plan.per_row == {}
    assert [e.meta.output_name() for e in plan.aggregates] == ["identity"]


def test_sorted_plan_when_no_attempt_has_a_block() -> None:
    assert _plan([_attempt("q1", None, AS_OF)]).per_row == {}


def test_both_plans_pick_the_latest_block_far_apart_in_time() -> None:
    attempts = [
        _attempt("q1", 7, datetime(1990, 1, 1, tzinfo=UTC)),
        _attempt("q2", 9, AS_OF - timedelta(hours=1)),
        _attempt("q3", 5, None),
    ]
    rows = kernel.compute_mastery(attempts_frame(attempts), Params.from_mapping({}), AS_OF)
    assert rows["block_id"].to_list() == [9]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(cohort())
def test_sorted_plan_equals_the_reference(case: tuple[Any, ...]) -> None:
    raw, as_of, attempts, theme_ids, block_ids = case
    expected_rows, _ = reference(attempts, raw, as_of, theme_ids, block_ids)
    themes, blocks = frames(theme_ids, block_ids)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernel, "identity_plan", lambda *args, **kw: identity.sorted_plan())
        result = kernel.compute_cohort(
            attempts_frame(attempts),
            Params.from_mapping(raw),
            as_of,
            themes=themes,
            blocks=blocks,
            grouping="hash",  # the grid has its own identity (pipeline/dense.py)
        )
    assert_frame_equal(result.rows, rows_frame(expected_rows))


def test_identity_columns_do_not_leak_into_the_output() -> None:
    rows = kernel.compute_mastery(
        attempts_frame([_attempt("q1", 10, AS_OF)]), Params.from_mapping({}), AS_OF
    )
    assert rows.columns == list(OUTPUT_COLUMNS)
    assert rows.schema["year"] == pl.Int32

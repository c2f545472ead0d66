"""SPEC §4 *Attempts* and *Inputs*: the lookback window on ``submitted_at``, answers after
``as_of``, and ``as_of`` itself (naive means UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from polars.testing import assert_frame_equal

from pipeline.kernel import compute_mastery
from tests.reference import attempts_frame
from tests.spec.kernel_helpers import (
    AS_OF,
    DAY,
    US,
    att,
    cohort,
    dq_with,
    one_row,
    params,
    run,
    worked_example,
)


def test_naive_as_of_means_utc() -> None:
    frame = attempts_frame(worked_example())
    naive = compute_mastery(frame, params(), AS_OF.replace(tzinfo=None))
    assert_frame_equal(naive, compute_mastery(frame, params(), AS_OF))


def test_as_of_in_another_time_zone_is_the_same_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    frame = attempts_frame(worked_example())
    shifted = compute_mastery(frame, params(), AS_OF.astimezone(plus_two))
    assert_frame_equal(shifted, compute_mastery(frame, params(), AS_OF))


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


def test_far_past_and_far_future_timestamps_take_the_plain_path() -> None:
    # theme 997 of u1: answered in year 1 (in no bucket, still counted and the latest answer),
    # answered in 9999 (after as_of: excluded, counted), a session submitted in year 1 (not an
    # attempt at all). The other rows do not move.
    expected_rows, expected_dq = run(cohort())
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    extra = [
        att("x1", answered=first, theme=997, ok=True),
        att("x2", answered=last, theme=997),
        att("x3", answered=first, submitted=first, theme=997),
    ]
    rows, dq = run(cohort() + extra)
    assert_frame_equal(rows.filter(rows["theme_id"] != 997), expected_rows)
    assert dq == {**expected_dq, "answered_after_as_of": expected_dq["answered_after_as_of"] + 1}
    row = one_row(rows.filter(rows["theme_id"] == 997))
    assert (row["attempts_total"], row["correct_total"], row["last_attempt_at"]) == (1, 1, first)
    assert row["mastery_score"] == Decimal("0.0000")

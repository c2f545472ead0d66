"""The in-database fingerprint of `recompute --incremental` (sql/*/fingerprint_users.sql), on
both stores: a change by content makes exactly its user differ, and the boundary count is the
hand-counted one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from pipeline import RunOptions
from pipeline.api import recompute_incremental
from pipeline.io.store import open_store
from pipeline.run.incremental import crossing_edges, read_fingerprints
from tests.cohort import ALICE, AS_OF, BOB, load_small_cohort
from tests.dbutil import execute

OPTIONS = RunOptions(trigger="test", allow_mass_change=True)
DAY = timedelta(days=1)
MS = timedelta(milliseconds=1)


def _id(n: int) -> str:
    return str(uuid.UUID(int=0x10000000_0000_4000_8000_000000000000 + n))


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    return initialized_url


def _fingerprints(url: str, now: datetime = AS_OF, before: datetime = AS_OF) -> dict[str, tuple]:
    with open_store(url) as store:
        found = read_fingerprints(store, now, 90, crossing_edges(before, now, [7, 30, 90]))
    return {row[0]: (row[1], row[2]) for row in found.iter_rows()}


def test_crossing_edges_merge_overlapping_intervals() -> None:
    start = datetime(2026, 1, 31, tzinfo=UTC)
    one_day = crossing_edges(start, start + DAY, [7])
    assert one_day == [
        (start - 7 * DAY - MS).timestamp(),
        (start - 6 * DAY + MS).timestamp(),
        (start - MS).timestamp(),
        (start + DAY + MS).timestamp(),
    ]
    ten_days = crossing_edges(start, start + 10 * DAY, [7, 30])
    assert ten_days == [  # [-30, -20] alone; [-7, +3] and [0, +10] merge
        (start - 30 * DAY - MS).timestamp(),
        (start - 20 * DAY + MS).timestamp(),
        (start - 7 * DAY - MS).timestamp(),
        (start + 10 * DAY + MS).timestamp(),
    ]


def test_unchanged_data_gives_the_same_fingerprints(cohort_url: str) -> None:
    first, second = _fingerprints(cohort_url), _fingerprints(cohort_url)
    assert first == second
    assert set(first) == {ALICE, BOB}  # CAROL has only an ACTIVE session
    assert {crossed for _, crossed in first.values()} == {0}  # as_of did not move


def test_a_question_version_change_is_detected(cohort_url: str) -> None:
    before = _fingerprints(cohort_url)
    # Question 9 is answered by ALICE only (her EXPIRED session, 20 days ago).
    execute(cohort_url, f"UPDATE question_versions SET theme_id = 10 WHERE id = '{_id(109)}'")
    after = _fingerprints(cohort_url)
    assert after[ALICE] != before[ALICE]
    assert after[BOB] == before[BOB]


def test_a_late_answer_with_an_old_timestamp_is_detected(cohort_url: str) -> None:
    before = _fingerprints(cohort_url)
    # Into BOB's session of 40 days ago, answered then: no watermark would see it.
    at = (AS_OF - 40 * DAY).isoformat()
    execute(
        cohort_url,
        f"""INSERT INTO session_questions VALUES ('{_id(900)}', '{_id(202)}', '{_id(6)}',
                '{_id(106)}', 9, NULL);
            INSERT INTO session_answers VALUES ('{_id(901)}', '{_id(202)}', '{_id(6)}', 0, true,
                TIMESTAMPTZ '{at}')""",
    )
    after = _fingerprints(cohort_url)
    assert after[BOB] != before[BOB]
    assert after[ALICE] == before[ALICE]


def test_two_answers_swapping_correctness_are_detected(cohort_url: str) -> None:
    before = _fingerprints(cohort_url)
    # ALICE's session 200: question 0 right, question 2 wrong; swap them (same timestamps).
    execute(
        cohort_url,
        f"""UPDATE session_answers SET is_correct = NOT is_correct
            WHERE session_id = '{_id(200)}' AND question_id IN ('{_id(0)}', '{_id(2)}')""",
    )
    after = _fingerprints(cohort_url)
    assert after[ALICE] != before[ALICE]
    assert after[BOB] == before[BOB]


def test_crossed_counts_answers_past_a_bucket_cutoff(cohort_url: str) -> None:
    # From AS_OF to 6 days later: ALICE's 6 answers of 2 days ago become 8 days old (past the
    # 7-day cutoff); her answers of 20 days (-> 26) and BOB's of 40 (-> 46) cross nothing.
    found = _fingerprints(cohort_url, now=AS_OF + 6 * DAY, before=AS_OF)
    assert {user: crossed for user, (_, crossed) in found.items()} == {ALICE: 6, BOB: 0}


def test_an_unchanged_user_is_not_a_candidate(cohort_url: str) -> None:
    first = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert first.incremental.mode == "full"
    execute(cohort_url, f"UPDATE question_versions SET theme_id = 10 WHERE id = '{_id(109)}'")
    later = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert later.incremental.as_json() | {"reason": ""} == {
        "mode": "incremental",
        "reason": "",
        "candidates": 1,
        "recomputed": 1,
        "changed": 1,
    }
    assert later.summary.users == 1  # ALICE alone: BOB's rows were not recomputed


def test_a_baseline_of_another_method_makes_a_full_run(cohort_url: str) -> None:
    recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    nil = "00000000-0000-0000-0000-000000000000"
    with open_store(cohort_url) as store:
        rows = store.fetch_frame("select_user_fingerprints")
    baseline = rows.filter(pl.col("user_id") == nil)["fingerprint"][0]
    old = baseline.replace('"method": "sql-1"', '"polars": "1.0.0"')
    execute(
        cohort_url,
        f"UPDATE mastery_user_fingerprints SET fingerprint = '{old}' WHERE user_id = '{nil}'",
    )
    again = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert again.incremental.mode == "full"
    assert "another method" in again.incremental.reason

"""The recompute job end to end on a real Postgres and a real DuckDB file (SPEC §4, §5)."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from pipeline import MasteryError, RunOptions, recompute
from tests.cohort import ALICE, AS_OF, BOB, EXPECTED_SCORES, load_small_cohort
from tests.dbutil import execute, mastery_by_key, mastery_rows, runs


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    return initialized_url


def test_rows_equal_hand_worked_scores(cohort_url: str) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    rows = mastery_by_key(cohort_url)
    assert set(rows) == set(EXPECTED_SCORES)
    for key, (score, pct, attempts, correct) in EXPECTED_SCORES.items():
        row = rows[key]
        assert (row["mastery_score"], row["accuracy_pct"]) == (score, pct), key
        assert (row["attempts_total"], row["correct_total"]) == (attempts, correct), key


def test_breakdown_of_a_scored_row(cohort_url: str) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    bucket = {"attempts": 6, "correct": 4, "accuracy": 0.6667}
    assert mastery_by_key(cohort_url)[(ALICE, 10)]["breakdown"] == {
        "total_attempts": 6,
        "buckets": {
            "7d": {**bucket, "weight": 0.5, "contribution": 0.3333},
            "30d": {**bucket, "weight": 0.3, "contribution": 0.2},
            "90d": {**bucket, "weight": 0.2, "contribution": 0.1333},
        },
        "mastery_score": 0.6666,
        "use_difficulty": False,
    }


def test_insufficient_attempts_breakdown(cohort_url: str) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert mastery_by_key(cohort_url)[(ALICE, 11)]["breakdown"] == {
        "reason": "insufficient_attempts",
        "required": 5,
        "actual": 3,
    }


def test_row_identity_comes_from_frozen_tags_not_live_questions(cohort_url: str) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    rows = mastery_by_key(cohort_url)
    assert (rows[(ALICE, 10)]["year"], rows[(ALICE, 10)]["block_id"]) == (1, 1)
    assert (rows[(ALICE, 11)]["year"], rows[(ALICE, 11)]["block_id"]) == (1, 2)


def test_summary_counts_and_ledger_row(cohort_url: str) -> None:
    summary = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert summary.users == 2
    assert summary.themes_computed == 2
    assert summary.records_upserted == 3
    assert summary.insufficient_rows == 1
    assert summary.stale_rows_refreshed == 0
    assert summary.data_quality["null_theme_dropped"] == 1
    assert summary.data_quality["malformed_snapshots"] == 1
    assert {stage for stage in summary.stage_seconds if "." not in stage} == {
        "extract",
        "validate_input",
        "compute",
        "validate_output",
        "load",
    }
    ledger = runs(cohort_url).row(0, named=True)
    assert (ledger["id"], ledger["status"], ledger["trigger"]) == (
        summary.run_id,
        "SUCCESS",
        "test",
    )
    stored = json.loads(ledger["output_summary_json"])
    assert stored["records_upserted"] == 3
    assert stored["data_quality"] == summary.data_quality
    assert json.loads(ledger["input_summary_json"])["as_of"] == AS_OF.isoformat()


def test_rerun_with_same_as_of_keeps_ids_and_values(cohort_url: str) -> None:
    first = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    before = mastery_rows(cohort_url)
    second = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    after = mastery_rows(cohort_url)
    assert first.run_id != second.run_id
    assert set(after["run_id"]) == {second.run_id}
    stable = [c for c in before.columns if c not in ("computed_at", "run_id", "breakdown_json")]
    assert before.select(stable).equals(after.select(stable))
    assert [json.loads(b) for b in before["breakdown_json"]] == [
        json.loads(b) for b in after["breakdown_json"]
    ]


def test_rows_without_attempts_in_window_become_zero_attempt_rows(cohort_url: str) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    later = recompute(
        cohort_url,
        options=RunOptions(allow_mass_change=True, trigger="test"),
        as_of=AS_OF + timedelta(days=200),
    )
    assert later.stale_rows_refreshed == 3
    assert later.records_upserted == 0
    for key, row in mastery_by_key(cohort_url).items():
        assert (row["attempts_total"], row["mastery_score"]) == (0, "0.0000"), key
        assert row["last_attempt_at"] is None
        assert row["breakdown"] == {"reason": "insufficient_attempts", "required": 5, "actual": 0}
    assert mastery_by_key(cohort_url)[(ALICE, 11)]["block_id"] == 2


def test_user_scope_touches_only_that_user(cohort_url: str) -> None:
    full = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    scoped = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF, users=[BOB])
    assert scoped.users == 1
    by_user = dict(mastery_rows(cohort_url).select("user_id", "run_id").iter_rows())
    assert by_user == {ALICE: full.run_id, BOB: scoped.run_id}
    assert runs(cohort_url)["user_id"].to_list() == [None, BOB]


def test_theme_scope_touches_only_that_theme(cohort_url: str) -> None:
    full = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    scoped = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF, themes=[11])
    assert scoped.records_upserted == 1
    run_by_key = {
        (r["user_id"], r["theme_id"]): r["run_id"]
        for r in mastery_rows(cohort_url).iter_rows(named=True)
    }
    assert run_by_key == {
        (ALICE, 10): full.run_id,
        (ALICE, 11): scoped.run_id,
        (BOB, 10): full.run_id,
    }


def test_dry_run_writes_nothing_and_can_write_parquet(cohort_url: str, tmp_path) -> None:
    target = tmp_path / "what-if.parquet"
    summary = recompute(cohort_url, options=RunOptions(dry_run=True, output=target), as_of=AS_OF)
    assert summary.run_id is None
    assert summary.records_upserted == 3
    assert mastery_rows(cohort_url).is_empty()
    assert runs(cohort_url).is_empty()
    written = pl.read_parquet(target)
    assert written.height == 3
    assert written.filter(pl.col("user_id") == BOB)["mastery_score"].cast(pl.String).item() == (
        "0.2000"
    )


def test_empty_cohort_is_a_successful_run_with_zero_rows(initialized_url: str) -> None:
    summary = recompute(initialized_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert (summary.records_upserted, summary.users) == (0, 0)
    assert runs(initialized_url)["status"].to_list() == ["SUCCESS"]


def test_unknown_theme_is_refused_before_a_run_starts(cohort_url: str) -> None:
    with pytest.raises(MasteryError, match="unknown theme 99: not in themes"):
        recompute(cohort_url, as_of=AS_OF, themes=[99])
    assert runs(cohort_url).is_empty()


def test_malformed_user_is_refused(cohort_url: str) -> None:
    with pytest.raises(MasteryError, match="malformed user id 'bob'"):
        recompute(cohort_url, as_of=AS_OF, users=["bob"])


def test_missing_source_table_is_a_clear_error(initialized_url: str) -> None:
    execute(initialized_url, "DROP TABLE session_answers")
    with pytest.raises(MasteryError, match=r"missing table.*session_answers.*mastery init"):
        recompute(initialized_url, as_of=AS_OF)


def test_output_in_a_missing_directory_is_refused_before_the_run(cohort_url: str) -> None:
    with pytest.raises(MasteryError, match=r"folder .*missing.* does not exist"):
        recompute(
            cohort_url, options=RunOptions(output="/nonexistent/missing/rows.parquet"), as_of=AS_OF
        )
    assert runs(cohort_url).is_empty()

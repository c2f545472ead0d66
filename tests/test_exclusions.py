"""Exclusions (SPEC §8, issue 18): evidence set aside is left out by every run, and counted.

Hand-work on tests/cohort.py's small cohort (as_of 2026-11-25, default params):

- question 0 excluded: ALICE theme 10 keeps questions 1-5, 3 of 5 correct: every bucket 0.6 ->
  0.3 + 0.18 + 0.12 = 0.6, accuracy 60.00; BOB theme 10 keeps 4 attempts < 5 -> 0, "actual": 4.
  2 attempts excluded (ALICE's and BOB's answers to question 0; the ACTIVE sessions are none).
- BOB's session 202 excluded: its 6 answers go (5 on theme 10, 1 with a null theme, so
  null_theme_dropped falls to 0); BOB theme 10 turns stale: attempts 0, score 0.
- ALICE's theme 10 excluded: its 6 attempts go; the row turns stale. Theme 11 is untouched.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import api
from pipeline.api import ExclusionTarget, RunOptions, RunSpec, recompute
from pipeline.cli import app
from pipeline.contracts.errors import MasteryError
from pipeline.reports.data import weak_themes
from tests.cohort import ALICE, AS_OF, BOB, EXPECTED_SCORES, _id, load_small_cohort
from tests.dbutil import mastery_by_key

QUESTION_0, BOB_SESSION = _id(0), _id(202)


def scores(url: str) -> dict[tuple[str, int], tuple[str, int]]:
    return {
        key: (row["mastery_score"], row["attempts_total"])
        for key, row in mastery_by_key(url).items()
    }


def baseline() -> dict[tuple[str, int], tuple[str, int]]:
    return {key: (score, attempts) for key, (score, _pct, attempts, _c) in EXPECTED_SCORES.items()}


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    summary = recompute(initialized_url, as_of=AS_OF)
    assert "excluded_attempts" not in summary.data_quality  # no exclusions: the key is absent
    assert scores(initialized_url) == baseline()
    return initialized_url


def test_question_exclusion_changes_scores_as_worked_by_hand(cohort_url: str) -> None:
    api.exclude(cohort_url, ExclusionTarget(question_id=QUESTION_0), reason="typo", by="ann")
    summary = recompute(cohort_url, as_of=AS_OF)
    assert summary.data_quality["excluded_attempts"] == 2
    rows = mastery_by_key(cohort_url)
    assert rows[(ALICE, 10)]["mastery_score"] == "0.6000"
    assert rows[(ALICE, 10)]["accuracy_pct"] == "60.00"
    assert (rows[(ALICE, 10)]["attempts_total"], rows[(ALICE, 10)]["correct_total"]) == (5, 3)
    assert rows[(BOB, 10)]["mastery_score"] == "0.0000"
    assert rows[(BOB, 10)]["breakdown"] == {
        "reason": "insufficient_attempts",
        "required": 5,
        "actual": 4,
    }
    assert rows[(ALICE, 11)]["mastery_score"] == "0.0000"


def test_session_exclusion_leaves_the_session_out(cohort_url: str) -> None:
    api.exclude(cohort_url, ExclusionTarget(session_id=BOB_SESSION), reason="cheat", by="ann")
    summary = recompute(cohort_url, as_of=AS_OF)
    assert summary.data_quality["excluded_attempts"] == 6
    assert summary.data_quality["null_theme_dropped"] == 0
    assert summary.stale_rows_refreshed == 1
    assert scores(cohort_url) == {**baseline(), (BOB, 10): ("0.0000", 0)}


def test_user_theme_exclusion_and_include_restores(cohort_url: str) -> None:
    target = ExclusionTarget(user_id=ALICE, theme_id=10)
    api.exclude(cohort_url, target, reason="sat the test for a friend", by="ann")
    summary = recompute(cohort_url, as_of=AS_OF)
    assert summary.data_quality["excluded_attempts"] == 6
    assert scores(cohort_url) == {**baseline(), (ALICE, 10): ("0.0000", 0)}
    assert api.include(cohort_url, target, by="bob") == 1
    summary = recompute(cohort_url, as_of=AS_OF)
    assert "excluded_attempts" not in summary.data_quality
    assert scores(cohort_url) == baseline()


@pytest.mark.parametrize(
    ("spec", "options"),
    [
        (RunSpec.of(AS_OF, users=[ALICE, BOB]), RunOptions()),
        (RunSpec.of(AS_OF, themes=[10]), RunOptions()),
        (RunSpec.of(AS_OF), RunOptions(partitions=2)),
    ],
    ids=["scoped-users", "scoped-theme", "partitioned"],
)
def test_exclusions_survive_scoped_and_partitioned_runs(
    cohort_url: str, spec: RunSpec, options: RunOptions
) -> None:
    api.exclude(cohort_url, ExclusionTarget(question_id=QUESTION_0), reason="typo", by="ann")
    summary = recompute(cohort_url, spec, options)
    assert summary.data_quality["excluded_attempts"] == 2
    assert scores(cohort_url) == {
        **baseline(),
        (ALICE, 10): ("0.6000", 5),
        (BOB, 10): ("0.0000", 4),
    }


def test_dry_run_leaves_exclusions_out_too(cohort_url: str, tmp_path: Path) -> None:
    import polars as pl

    api.exclude(cohort_url, ExclusionTarget(user_id=ALICE, theme_id=10), reason="r", by="ann")
    out = tmp_path / "rows.parquet"
    summary = recompute(cohort_url, RunSpec(as_of=AS_OF), RunOptions(dry_run=True, output=out))
    assert summary.data_quality["excluded_attempts"] == 6
    row = pl.read_parquet(out).filter(pl.col("user_id") == ALICE, pl.col("theme_id") == 10)
    assert row["attempts_total"].to_list() == [0]
    assert row["mastery_score"].to_list() == [Decimal("0.0000")]


def test_listing_shows_who_when_why_and_the_undo(cohort_url: str) -> None:
    api.exclude(cohort_url, ExclusionTarget(session_id=BOB_SESSION), reason="cheat", by="ann")
    api.include(cohort_url, ExclusionTarget(session_id=BOB_SESSION), by="bob")
    runner = CliRunner()
    args = ["--database-url", cohort_url]
    done = runner.invoke(
        app, ["exclude", "--question", QUESTION_0, "--reason", "typo", "--by", "cid", *args]
    )
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["exclusions", "--json", *args])
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)
    assert [(r["kind"], r["reason"], r["created_by"], r["active"]) for r in records] == [
        ("session", "cheat", "ann", False),
        ("question", "typo", "cid", True),
    ]
    assert records[0]["revoked_by"] == "bob"
    assert records[0]["revoked_at"]
    assert all(r["created_at"] for r in records)
    text = runner.invoke(app, ["exclusions", *args]).stdout
    assert "revoked session" in text
    assert "'cheat' by ann" in text
    assert "revoked by bob" in text
    assert "active  question" in text


def test_student_report_says_evidence_was_excluded(cohort_url: str) -> None:
    api.exclude(cohort_url, ExclusionTarget(question_id=QUESTION_0), reason="typo", by="ann")
    recompute(cohort_url, as_of=AS_OF)
    report = weak_themes(cohort_url, user_id=ALICE)
    assert report.source is not None
    assert f"question {QUESTION_0}: 1 attempt excluded (typo)" in report.source.warnings


def test_bad_targets_are_one_line_errors(cohort_url: str) -> None:
    with pytest.raises(MasteryError, match="exactly one"):
        api.exclude(cohort_url, ExclusionTarget(), reason="r", by="ann")
    with pytest.raises(MasteryError, match="both --user and --theme"):
        api.exclude(cohort_url, ExclusionTarget(user_id=ALICE), reason="r", by="ann")
    with pytest.raises(MasteryError, match="needs a reason"):
        api.exclude(cohort_url, ExclusionTarget(question_id=QUESTION_0), reason=" ", by="a")
    with pytest.raises(MasteryError, match="nothing to include"):
        api.include(cohort_url, ExclusionTarget(question_id=QUESTION_0), by="ann")


def test_spark_run_leaves_exclusions_out(duckdb_url: str, spark: object) -> None:
    """(``spark``: the worker's shared session, which the run reuses.)"""
    api.init_database(duckdb_url)
    load_small_cohort(duckdb_url)
    api.exclude(duckdb_url, ExclusionTarget(question_id=QUESTION_0), reason="typo", by="ann")
    summary = recompute(duckdb_url, RunSpec.of(AS_OF), RunOptions(engine="spark", partitions=2))
    assert summary.data_quality["excluded_attempts"] == 2
    assert scores(duckdb_url) == {
        **baseline(),
        (ALICE, 10): ("0.6000", 5),
        (BOB, 10): ("0.0000", 4),
    }

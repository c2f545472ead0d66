"""The CLI over a real store: commands read back what they wrote (SPEC §6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from tests.cohort import ALICE, AS_OF, load_small_cohort
from tests.dbutil import mastery_by_key, query, runs

runner = CliRunner()


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    return initialized_url


def mastery(*args: str, url: str) -> str:
    result = runner.invoke(app, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_recompute_json_prints_the_summary(cohort_url: str) -> None:
    out = mastery(
        "recompute", "--as-of", AS_OF.isoformat(), "--trigger", "test", "--json", url=cohort_url
    )
    summary = json.loads(out)
    assert (summary["records_upserted"], summary["users"]) == (3, 2)
    assert runs(cohort_url)["id"].to_list() == [summary["run_id"]]


def test_recompute_prints_run_id_and_counts(cohort_url: str) -> None:
    out = mastery("recompute", "--as-of", AS_OF.isoformat(), url=cohort_url)
    run_id = runs(cohort_url)["id"][0]
    assert f"run {run_id}" in out
    assert "rows upserted 3" in out
    assert "null_theme_dropped 1" in out


def test_runs_lists_status_counts_and_stage_seconds(cohort_url: str) -> None:
    mastery("recompute", "--as-of", AS_OF.isoformat(), url=cohort_url)
    out = mastery("runs", "--limit", "5", url=cohort_url)
    run_id = runs(cohort_url)["id"][0]
    assert run_id[:8] in out  # the list shows the id's start; `runs --run` takes it
    assert "SUCCESS" in out
    detail = mastery("runs", "--run", run_id[:8], url=cohort_url)
    assert f"run: {run_id}" in detail
    for stage in ("extract", "validate_input", "compute", "validate_output", "load"):
        assert stage in detail


def test_params_show_prints_the_active_defaults(cohort_url: str) -> None:
    out = mastery("params", "show", url=cohort_url)
    shown = json.loads(out[: out.rindex("}") + 1])
    assert shown["recency_buckets"] == [
        {"days": 7, "weight": 0.5},
        {"days": 30, "weight": 0.3},
        {"days": 90, "weight": 0.2},
    ]
    assert shown["min_attempts"] == 5


def test_activated_params_drive_the_next_run(cohort_url: str, tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(
        '{"lookback_days": 30, "recency_buckets": '
        '[{"days": 7, "weight": 0.6}, {"days": 30, "weight": 0.4}]}'
    )
    mastery("params", "activate", str(params), url=cohort_url)
    mastery("recompute", "--as-of", AS_OF.isoformat(), url=cohort_url)
    rows = mastery_by_key(cohort_url)
    # Alice, theme 10: 4 of 6 in both buckets: round(2/3*0.6, 4) = 0.4, round(2/3*0.4, 4) = 0.2667
    assert rows[(ALICE, 10)]["mastery_score"] == "0.6667"
    # Bob answered 40 days ago: outside the 30-day lookback, so he has no row at all
    assert set(rows) == {(ALICE, 10), (ALICE, 11)}


def test_dry_run_with_output_writes_parquet_only(cohort_url: str, tmp_path: Path) -> None:
    target = tmp_path / "rows.parquet"
    out = mastery(
        "recompute",
        "--as-of",
        AS_OF.isoformat(),
        "--dry-run",
        "--output",
        str(target),
        url=cohort_url,
    )
    assert "dry run" in out
    assert target.stat().st_size > 0
    assert runs(cohort_url).is_empty()


def test_generate_with_the_same_seed_and_as_of_gives_the_same_cohort(tmp_path: Path) -> None:
    counts = []
    for name in ("a", "b"):
        url = f"duckdb:///{tmp_path / name}.duckdb"
        mastery("init", url=url)
        mastery(
            "generate",
            "--users",
            "40",
            "--themes",
            "6",
            "--seed",
            "3",
            "--as-of",
            "2026-11-25T00:00:00Z",
            url=url,
        )
        counts.append(
            query(
                url, "SELECT count(*) AS n, max(CAST(id AS text)) AS top FROM session_answers"
            ).row(0)
        )
    assert counts[0] == counts[1]
    assert counts[0][0] > 0

"""Mastery v1 computed by the pipeline (issue 16): registry, recompute, partitions, switching
back to v0, the params commands and the student report, on both stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import MasteryError, RunOptions, RunSpec, recompute
from pipeline.api import ExclusionTarget, exclude
from pipeline.cli import app
from pipeline.contracts.params_v1 import ParamsV1, default_params_v1
from pipeline.io.extract import Window, extract_from_store
from pipeline.io.store import open_store
from pipeline.kernel.replay import History
from pipeline.kernel.v1_rows import compute_cohort_v1
from pipeline.run.v1 import stale_breakdown
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.dbutil import query

ROWS_QUERY = """
SELECT CAST(user_id AS text) AS user_id, theme_id, year, block_id, attempts_total,
       correct_total, CAST(accuracy_pct AS text) AS accuracy_pct,
       CAST(mastery_score AS text) AS mastery_score, last_attempt_at,
       CAST(algo_version_id AS text) AS algo_version_id,
       CAST(breakdown_json AS text) AS breakdown_json
FROM user_theme_mastery ORDER BY user_id, theme_id
"""

AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = CohortSpec(users=40, themes=6, days=60, seed=11, as_of=AS_OF)
RUNNER = CliRunner()


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    generate_cohort_into(initialized_url, SPEC)
    return initialized_url


def _activate(url: str, params: object) -> str:
    with open_store(url) as store:
        return store.activate_params(params)  # type: ignore[arg-type]


def mastery_rows(url: str) -> pl.DataFrame:
    return query(url, ROWS_QUERY)


def v1_comparable(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain values: decimals by value, breakdowns parsed (jsonb orders its keys)."""
    out = []
    for row in frame.sort("user_id", "theme_id").iter_rows(named=True):
        out.append(
            {
                **{k: row[k] for k in ("user_id", "theme_id", "year", "block_id")},
                "attempts": (row["attempts_total"], row["correct_total"]),
                "accuracy_pct": Decimal(str(row["accuracy_pct"])),
                "mastery_score": Decimal(str(row["mastery_score"])),
                "last_attempt_at": row["last_attempt_at"],
                "breakdown": json.loads(row["breakdown_json"], parse_float=Decimal),
            }
        )
    return out


def _rows(url: str) -> list[dict[str, Any]]:
    return v1_comparable(mastery_rows(url))


def _version_id(url: str, version: str) -> str:
    with open_store(url) as store:
        return store.algo_version_id(version)


def expected_v1_rows(url: str, params: ParamsV1, leave_out: pl.Expr | None = None) -> pl.DataFrame:
    """compute_cohort_v1 over the run's own extract (the whole cohort in v1's lookback; without
    the attempts ``leave_out`` selects), rows of existing themes and blocks."""
    with open_store(url) as store:
        extracted = extract_from_store(store, Window(RunSpec.of(AS_OF).scope, AS_OF, 365))
        themes, blocks = store.fetch_frame("select_themes"), store.fetch_frame("select_blocks")
    attempts = extracted.attempts
    rows = compute_cohort_v1(
        attempts if leave_out is None else attempts.remove(leave_out), params, AS_OF
    )
    # as v0 does, the run skips rows whose theme or block no longer exists
    return rows.filter(
        pl.col("theme_id").is_in(themes["id"].implode())
        & pl.col("block_id").is_in(blocks["id"].implode())
    )


def test_init_seeds_v1_inactive_and_v0_stays_active(initialized_url: str) -> None:
    with open_store(initialized_url) as store:
        active = store.active_params()
        v1 = store.version_params("v1")
    assert active.algorithm == "v0"
    assert v1.params == default_params_v1()
    assert v1.checksum == default_params_v1().checksum()


def test_v1_recompute_matches_the_kernel_and_switching_back_gives_v0(cohort_url: str) -> None:
    params = default_params_v1()
    _activate(cohort_url, params)
    with open_store(cohort_url) as store:
        assert store.active_params().algorithm == "v1"
        active_rows = store.fetch_all("select_active_algo_params", {"algo_key": "mastery"})
    assert len(active_rows) == 1

    summary = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    rows = mastery_rows(cohort_url)
    assert rows.height > 50
    assert set(rows["algo_version_id"]) == {_version_id(cohort_url, "v1")}
    breakdowns = [json.loads(text) for text in rows["breakdown_json"]]
    assert {b["model"] for b in breakdowns} == {"v1"}
    assert {b["state"] for b in breakdowns} <= {"ok", "not_enough_evidence"}
    assert summary.records_upserted == rows.height

    expected = v1_comparable(expected_v1_rows(cohort_url, params))
    got = _rows(cohort_url)
    assert got == expected

    # partitions give identical rows (v1's tables are the whole cohort's)
    recompute(cohort_url, options=RunOptions(trigger="test", partitions=3), as_of=AS_OF)
    assert _rows(cohort_url) == got
    # so does a run of two students (the cohort's tables read beside their own rows)
    two = sorted(set(rows["user_id"]))[:2]
    scoped = recompute(cohort_url, RunSpec.of(AS_OF, two), RunOptions(trigger="test"))
    assert scoped.records_upserted == rows.filter(pl.col("user_id").is_in(two)).height > 0
    assert _rows(cohort_url) == got

    # one activation switches back: v0 rows again
    from pipeline.contracts.params import default_params

    _activate(cohort_url, default_params())
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    rows = mastery_rows(cohort_url)
    assert set(rows["algo_version_id"]) == {_version_id(cohort_url, "v0")}
    assert not any('"model":"v1"' in text for text in rows["breakdown_json"])


def test_dry_run_what_if_of_v1_while_v0_is_active(cohort_url: str, tmp_path: Path) -> None:
    out = tmp_path / "v1.parquet"
    spec = RunSpec(as_of=AS_OF, algorithm="v1")
    summary = recompute(cohort_url, spec, RunOptions(dry_run=True, output=out, partitions=2))
    assert summary.dry_run
    staged = pl.read_parquet(out).filter(~pl.col("stale")).drop("stale")
    expected = expected_v1_rows(cohort_url, default_params_v1())
    assert v1_comparable(staged) == v1_comparable(expected)
    with pytest.raises(MasteryError, match="the active algorithm is v0"):
        recompute(cohort_url, spec, RunOptions(trigger="test"))
    assert mastery_rows(cohort_url).is_empty()


def test_a_partitioned_whole_cohort_run_counts_each_students_answers_once(
    cohort_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its partitions are the tables' pass's reads, so each one's own counts (the student's
    earlier answers) come from that pass: three partitions, three counts, not six; and the
    rows are the unpartitioned kernel's."""
    counted = []
    tallies = History.tallies

    def counting(self: History, *args: Any) -> pl.DataFrame:
        counted.append(self.rows.height)
        return tallies(self, *args)

    monkeypatch.setattr(History, "tallies", counting)
    out = tmp_path / "v1.parquet"
    spec = RunSpec(as_of=AS_OF, algorithm="v1")
    recompute(cohort_url, spec, RunOptions(dry_run=True, output=out, partitions=3))
    staged = pl.read_parquet(out).filter(~pl.col("stale")).drop("stale")
    assert len(counted) == 3
    assert all(counted)
    expected = expected_v1_rows(cohort_url, default_params_v1())
    assert v1_comparable(staged) == v1_comparable(expected)


def test_a_partitioned_v1_run_leaves_excluded_answers_out_and_counts_them(
    cohort_url: str, tmp_path: Path
) -> None:
    """The tables' pass finds each partition's evidence after the exclusions: the rows are the
    kernel's without those answers, and the summary counts them once."""
    with open_store(cohort_url) as store:
        attempts = extract_from_store(store, Window(RunSpec.of(AS_OF).scope, AS_OF, 365)).attempts
    question = attempts.sort("question_id")["question_id"][0]
    excluded = attempts.filter(pl.col("question_id") == question).height
    exclude(cohort_url, ExclusionTarget(question_id=question), reason="typo", by="ann")
    out = tmp_path / "v1.parquet"
    spec = RunSpec(as_of=AS_OF, algorithm="v1")
    summary = recompute(cohort_url, spec, RunOptions(dry_run=True, output=out, partitions=3))
    assert summary.data_quality["excluded_attempts"] == excluded > 0
    staged = pl.read_parquet(out).filter(~pl.col("stale")).drop("stale")
    leave_out = pl.col("question_id") == question
    expected = expected_v1_rows(cohort_url, default_params_v1(), leave_out)
    assert v1_comparable(staged) == v1_comparable(expected)
    assert v1_comparable(staged) != v1_comparable(expected_v1_rows(cohort_url, default_params_v1()))


def test_v1_stale_rows_get_a_v1_breakdown(cohort_url: str) -> None:
    params = default_params_v1()
    _activate(cohort_url, params)
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    later = AS_OF + timedelta(days=400)
    recompute(cohort_url, options=RunOptions(trigger="test", allow_mass_change=True), as_of=later)
    rows = mastery_rows(cohort_url)
    assert rows.height > 50  # every row stale, each with the v1 breakdown (jsonb spaces it)
    assert all(
        json.loads(row) == json.loads(stale_breakdown(params)) for row in rows["breakdown_json"]
    )
    assert set(rows["attempts_total"]) == {0}


def test_params_show_algo_v1_round_trips_through_validate_and_activate(
    initialized_url: str, tmp_path: Path
) -> None:
    shown = RUNNER.invoke(
        app, ["params", "show", "--algo", "v1", "--database-url", initialized_url]
    )
    assert shown.exit_code == 0, shown.output
    target = tmp_path / "v1.json"
    target.write_text(shown.stdout)
    valid = RUNNER.invoke(app, ["params", "validate", str(target), "--algo", "v1", "--json"])
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.stdout)["checksum"] == default_params_v1().checksum()
    as_v0 = RUNNER.invoke(app, ["params", "validate", str(target)])
    assert as_v0.exit_code != 0
    activated = RUNNER.invoke(
        app,
        [
            "params",
            "activate",
            str(target),
            "--algo",
            "v1",
            "--yes",
            "--database-url",
            initialized_url,
        ],
    )
    if activated.exit_code != 0 and "--yes" in activated.output:  # before activate's --yes
        activated = RUNNER.invoke(
            app,
            ["params", "activate", str(target), "--algo", "v1", "--database-url", initialized_url],
        )
    assert activated.exit_code == 0, activated.output
    with open_store(initialized_url) as store:
        assert store.active_params().algorithm == "v1"
    shown_active = RUNNER.invoke(app, ["params", "show", "--database-url", initialized_url])
    assert json.loads(shown_active.stdout) == json.loads(shown.stdout)


def test_student_report_of_a_v1_cohort_shows_states_and_intervals(cohort_url: str) -> None:
    _activate(cohort_url, default_params_v1())
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    user = mastery_rows(cohort_url)["user_id"][0]
    result = RUNNER.invoke(
        app, ["report", "weak-themes", "--user", user, "--database-url", cohort_url]
    )
    assert result.exit_code == 0, result.output
    assert "algorithm v1" in result.output
    assert "\N{EN DASH}" in result.output  # the interval beside the score

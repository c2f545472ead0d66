"""What a teacher reads around the rows: the header (as of, run, algorithm, params), the warning
after ``params activate``, students named by email, the students with no attempts, and rows
whose breakdown carries an interval. On both stores, through the API and the CLI.

The small cohort of tests/cohort.py as of 2026-11-25 (see tests/test_report.py for its numbers):
ALICE weak on theme 10 (0.6666) and short of attempts on theme 11; BOB not practised lately on
theme 10 (0.2); CAROL without attempts.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import RunOptions, activate_params, recompute
from pipeline.contracts.params import Params
from pipeline.reports.data import cohort_report, student_report
from pipeline.reports.render import render
from tests.cohort import ALICE, AS_OF, BOB, load_small_cohort
from tests.dbutil import execute

DEFAULT_CHECKSUM = Params.from_mapping({}).checksum()


@pytest.fixture
def cohort(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    recompute(initialized_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    return initialized_url


def cli(url: str, *args: str) -> tuple[str, str]:
    result = CliRunner().invoke(app_(), [*args, "--database-url", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def app_():  # type: ignore[no-untyped-def]
    from pipeline.cli import app

    return app


def test_header_names_the_run_as_of_algorithm_and_params(cohort: str) -> None:
    report = cohort_report(cohort)
    assert report.source is not None
    header = report.source.header()
    assert header == (
        f"as of 2026-11-25 00:00 UTC · run {report.source.run_id} · algorithm v0"
        f" · params {DEFAULT_CHECKSUM[:12]}"
    )
    for fmt in ("table", "html"):
        assert header in render(report, fmt)
    shown = json.loads(render(report, "json"))["source"]
    assert (shown["run_id"], shown["params_checksum"]) == (report.source.run_id, DEFAULT_CHECKSUM)


def test_header_of_rows_from_several_runs(cohort: str) -> None:
    later = AS_OF + timedelta(days=1)
    recompute(cohort, options=RunOptions(trigger="test"), as_of=later, users=[ALICE])
    source = cohort_report(cohort).source
    assert source is not None
    assert (source.runs, source.rows, source.as_of, source.oldest_as_of) == (2, 3, later, AS_OF)
    assert source.header().startswith(
        f"as of 2026-11-25 00:00 UTC to 2026-11-26 00:00 UTC · run {source.run_id} and 1 earlier"
    )
    bob = student_report(cohort, BOB).source  # BOB's row is the first run's only
    assert bob is not None
    assert (bob.runs, bob.as_of) == (1, AS_OF)


def test_warning_when_rows_were_computed_with_other_params(cohort: str, tmp_path: Path) -> None:
    target = tmp_path / "three.json"
    target.write_text('{"min_attempts": 3}', "utf-8")
    activate_params(cohort, target)
    new = Params.from_mapping({"min_attempts": 3}).checksum()
    expected = (
        f"3 of 3 rows were computed with v0 params {DEFAULT_CHECKSUM[:12]}, not the active v0"
        f" params {new[:12]}: run `mastery recompute` to bring them up to date"
    )
    report = cohort_report(cohort)
    assert json.loads(render(report, "json"))["warnings"] == [expected]
    assert f"warning: {expected}" in " ".join(render(report, "table").split())
    assert f'<p class="warn">warning: {expected}</p>' in render(report, "html")
    stdout, stderr = cli(cohort, "report", "weak-themes", "--format", "csv")
    assert "warning" not in stdout
    assert stderr == f"warning: {expected}\n"
    recompute(cohort, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert cohort_report(cohort).source.warnings == ()  # type: ignore[union-attr]


def test_students_named_by_email_or_id(cohort: str) -> None:
    by_email, _ = cli(cohort, "report", "weak-themes", "--user", ALICE, "--format", "json")
    assert json.loads(by_email)["user_label"] == "alice@example.org"
    page, _ = cli(
        cohort, "report", "weak-themes", "--user", "alice@example.org", "--format", "html"
    )
    assert "<h1>Weak themes of alice@example.org</h1>" in page
    by_id, _ = cli(cohort, "report", "weak-themes", "--user", ALICE, "--label", "id")
    assert by_id.startswith(f"Weak themes of {ALICE}\n")


def test_students_without_attempts_are_counted(cohort: str) -> None:
    execute(
        cohort,
        "INSERT INTO users (id, email, role, year) VALUES"
        " ('00000000-0000-4000-8000-00000000d0d0', 'dora@example.org', 'STUDENT', 1),"
        " ('00000000-0000-4000-8000-00000000ad01', 'admin@example.org', 'ADMIN', NULL)",
    )
    report = cohort_report(cohort)
    assert report.students_without_attempts == 2  # CAROL and DORA; the admin is no student
    assert json.loads(render(report, "json"))["students_without_attempts"] == 2
    assert "2 students with no attempts in the window" in render(report, "table")
    assert "2 students with no attempts in the window" in render(report, "html")


def test_a_wide_interval_is_not_enough_evidence(cohort: str) -> None:
    """A breakdown that carries an interval (as v1's do): wider than 0.5 cannot tell."""
    execute(
        cohort,
        """UPDATE user_theme_mastery SET breakdown_json = '{"model": "v1", "state": "ok",
        "estimate": 0.2, "interval": [0.1, 0.8], "explanation": "estimate 0.2 from 5 answers"}'
        WHERE theme_id = 10 AND user_id = '00000000-0000-4000-8000-000000000b0b'""",
    )
    (row,) = student_report(cohort, BOB).rows.iter_rows(named=True)
    assert (row["state"], row["interval"], str(row["mastery_score"])) == (
        "not_enough_evidence",
        [0.1, 0.8],
        "0.2000",
    )
    assert row["explanation"] == (
        "not enough evidence: interval 0.1\N{EN DASH}0.8 is 0.7 wide; estimate 0.2 from 5 answers"
    )
    assert "0.1\N{EN DASH}0.8" in render(student_report(cohort, BOB), "table")
    theme = cohort_report(cohort).themes.row(0, named=True)
    assert (
        theme["students_scored"],
        theme["students_weak"],
        theme["students_not_practised_lately"],
        theme["students_insufficient"],
    ) == (1, 1, 0, 1)


def test_a_narrow_interval_is_shown_beside_the_score(cohort: str) -> None:
    execute(
        cohort,
        """UPDATE user_theme_mastery SET breakdown_json = '{"model": "v1", "state": "ok",
        "estimate": 0.6666, "interval": {"low": 0.55, "high": 0.75}}'
        WHERE theme_id = 10 AND user_id = '00000000-0000-4000-8000-00000000a11c'""",
    )
    report = student_report(cohort, ALICE)
    first = report.rows.row(0, named=True)
    assert (first["state"], first["interval"]) == ("weak", [0.55, 0.75])
    assert json.loads(render(report, "json"))["themes"][0]["interval"] == [0.55, 0.75]
    assert "weak,1,10,Fractions,1,Algebra,0.6666,0.55,0.75," in render(report, "csv")
    assert cohort_report(cohort).themes.row(0, named=True)["students_weak"] == 1


def test_v1_not_enough_evidence_state_is_honoured(cohort: str) -> None:
    execute(
        cohort,
        """UPDATE user_theme_mastery SET breakdown_json = '{"model": "v1",
        "state": "not_enough_evidence", "estimate": 0.6666, "interval": [0.5, 0.8],
        "explanation": "not enough evidence (2 answers of this theme, 5 needed): ..."}'
        WHERE theme_id = 10 AND user_id = '00000000-0000-4000-8000-00000000a11c'""",
    )
    rows = student_report(cohort, ALICE).rows
    assert rows["state"].to_list() == ["not_enough_evidence", "not_enough_evidence"]
    first = rows.filter(pl.col("theme_id") == 10).row(0, named=True)
    assert first["explanation"].startswith("not enough evidence (2 answers")
    assert cohort_report(cohort).themes.row(0, named=True)["students_insufficient"] == 1

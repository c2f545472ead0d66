"""The ASSISTments 2017 importer against the real file, counted independently.

Expected numbers come from two places that do not use the importer: Polars straight over the
CSV (written differently from the importer: sessions as "per student-day, the largest number of
times one item was met that day"), and the dataset README's own measurements (90,586 rows,
342 students, 2,625 items, 400 skill combinations, 38,239 correct; at the as-of 8,380,827 s:
1,557 / 8,461 / 23,853 rows and 40 / 114 / 140 students in the last 7 / 30 / 90 days).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import MasteryError, RunOptions, extract_attempts, init_database, recompute
from pipeline.cli import app
from pipeline.reports.data import cohort_report, load_mastery
from pipeline.tools.assistments import (
    AS_OF,
    NAMESPACE,
    STRANDS,
    build_tables,
    import_assistments,
    read_answers,
    read_combos,
)
from tests.dbutil import query

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "assist2017_lpp"
ANCHOR_EPOCH = 1_095_421_084  # 2004-09-17T11:38:04Z, the README's anchor
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"dataset not found at {DATA}")

ATTEMPTS_PER_THEME = """
SELECT qv.theme_id, count(*) AS attempts,
       sum(CASE WHEN sa.is_correct THEN 1 ELSE 0 END) AS correct
FROM session_answers AS sa
JOIN session_questions AS sq ON sq.session_id = sa.session_id AND sq.question_id = sa.question_id
JOIN question_versions AS qv ON qv.id = sq.question_version_id
GROUP BY qv.theme_id
"""
TABLE_COUNTS = """
SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM test_sessions) AS sessions,
       (SELECT count(*) FROM test_sessions WHERE status = 'SUBMITTED') AS submitted,
       (SELECT count(*) FROM questions) AS questions,
       (SELECT count(*) FROM themes) AS themes,
       (SELECT count(*) FROM blocks) AS blocks,
       (SELECT count(*) FROM session_answers) AS answers
"""


@pytest.fixture(scope="module")
def csv_rows() -> pl.DataFrame:
    return pl.read_csv(DATA / "preprocessed_data_test.csv", separator="\t")


def test_readme_numbers_hold_for_the_staged_file(csv_rows: pl.DataFrame) -> None:
    assert csv_rows.height == 90_586
    assert csv_rows["user_id"].n_unique() == 342
    assert csv_rows["item_id"].n_unique() == 2_625
    assert csv_rows["skill_id"].n_unique() == 400
    assert csv_rows["correct"].sum() == 38_239


def expected_sessions(rows: pl.DataFrame) -> int:
    """Per student and UTC day, as many sessions as the most repeated item needs."""
    day = pl.from_epoch(pl.col("timestamp") + ANCHOR_EPOCH, time_unit="s").dt.date()
    per_item = rows.group_by("user_id", day.alias("day"), "item_id").len()
    return int(per_item.group_by("user_id", "day").agg(pl.col("len").max())["len"].sum())


def test_import_counts_match_the_csv(initialized_url: str, csv_rows: pl.DataFrame) -> None:
    loaded = import_assistments(initialized_url, DATA)
    counts = query(initialized_url, TABLE_COUNTS).row(0, named=True)
    sessions = expected_sessions(csv_rows)
    assert counts == {
        "users": 342,
        "sessions": sessions,
        "submitted": sessions,
        "questions": 2_625,
        "themes": 411,  # every combination in skill_combos_derived.csv, used or not
        "blocks": len(STRANDS),
        "answers": 90_586,
    }
    assert loaded["test_sessions"] == sessions
    per_skill = (
        csv_rows.group_by(pl.col("skill_id").alias("theme_id"))
        .agg(attempts=pl.len(), correct=pl.col("correct").sum())
        .cast(pl.Int64)
        .sort("theme_id")
    )
    stored = query(initialized_url, ATTEMPTS_PER_THEME).cast(pl.Int64).sort("theme_id")
    assert stored.equals(per_skill)


def test_ids_times_and_sessions_follow_the_documented_mapping() -> None:
    answers = read_answers(DATA)
    tables = build_tables(answers, read_combos(DATA))
    assert all(t.equals(build_tables(answers, read_combos(DATA))[n]) for n, t in tables.items())
    # the file's first row: student 7, item 809, timestamp 38,976,428 s = 451 days + 10,028 s
    # after the anchor -> 2005-12-12T14:25:12Z, day 451, the student's first session that day
    first = tables["session_answers"].row(0, named=True)
    assert first["answered_at"] == datetime(2005, 12, 12, 14, 25, 12, tzinfo=UTC)
    assert (date(2005, 12, 12) - date(2004, 9, 17)).days == 451
    assert first["session_id"].endswith("-000700451001")
    assert first["question_id"] == str(uuid.uuid5(NAMESPACE, "item:809"))
    assert first["is_correct"] is False
    student = tables["users"].filter(pl.col("id") == str(uuid.uuid5(NAMESPACE, "user:7")))
    assert student["email"].item() == "student-7@assistments2017.invalid"
    session = tables["test_sessions"].filter(pl.col("id") == first["session_id"]).row(0)
    assert session[1] == student["id"].item()
    assert datetime(2004, 12, 23, 11, 38, 31, tzinfo=UTC) == AS_OF  # anchor + 8,380,827 s


def test_themes_and_blocks() -> None:
    themes = build_tables(read_answers(DATA), read_combos(DATA))["themes"]
    blocks = {name: number for number, name in enumerate(STRANDS, start=1)}
    by_id = {row["id"]: row for row in themes.iter_rows(named=True)}
    names = pl.read_csv(DATA / "skill_names_derived.csv")["skill_name"].to_list()
    sorted_by_hand = [n for listed in STRANDS.values() for n in listed.split("; ")]
    assert sorted(sorted_by_hand) == sorted(names)  # each of the 102 skills in one strand
    assert by_id[150]["title"] == "median + percents"
    assert by_id[150]["block_id"] == blocks["Data, statistics & probability"]
    assert by_id[103]["block_id"] == blocks["Untagged problems"]  # noskill alone
    assert by_id[104]["block_id"] == blocks["Data, statistics & probability"]  # noskill;venn
    assert by_id[6]["block_id"] == blocks["Algebra & patterns"]  # symbolization;triangle-ineq.


def test_cli_import_then_recompute_matches_the_readme_window(duckdb_url: str) -> None:
    init_database(duckdb_url)
    done = CliRunner().invoke(app, ["import-assistments", str(DATA), "--database-url", duckdb_url])
    assert done.exit_code == 0, done.output
    assert "users 342" in done.output
    assert "session_answers 90,586" in done.output
    with pytest.raises(MasteryError, match="already hold rows"):
        import_assistments(duckdb_url, DATA)
    summary = recompute(
        duckdb_url, options=RunOptions(allow_mass_change=True, trigger="test"), as_of=AS_OF
    )
    assert summary.users == 140
    attempts = extract_attempts(duckdb_url, as_of=AS_OF)
    window = {
        days: attempts.filter(pl.col("answered_at") >= AS_OF - timedelta(days=days))
        for days in (7, 30, 90)
    }
    assert {d: (f.height, f["user_id"].n_unique()) for d, f in window.items()} == {
        7: (1_557, 40),
        30: (8_461, 114),
        90: (23_853, 140),
    }
    assert load_mastery(duckdb_url)["attempts_total"].sum() == 23_853
    themes = cohort_report(duckdb_url).themes
    stored = themes["students_scored"].sum() + themes["students_insufficient"].sum()
    assert stored == summary.records_upserted


def test_bad_paths_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(MasteryError, match="does not exist"):
        read_answers(tmp_path)
    (tmp_path / "preprocessed_data_test.csv").write_text("user_id\titem_id\ttimestamp\n1\t2\t3\n")
    with pytest.raises(MasteryError, match=r"^cannot read"):
        read_answers(tmp_path)

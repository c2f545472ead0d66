"""``mastery export-attempts``: the window's raw attempts as Parquet, one folder per user bucket."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline import init_database
from pipeline.io.export import export_attempts
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.dbutil import query
from tests.test_cli_errors import Mastery, assert_one_line_error, mastery  # noqa: F401

AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = CohortSpec(users=60, themes=6, days=120, seed=3, as_of=AS_OF)

# SPEC §4's attempts, written here independently of sql/: answers of submitted or expired
# sessions whose submitted_at falls in [as_of - 90 days, as_of].
WINDOW_COUNT = """
SELECT count(*) AS n, count(DISTINCT s.user_id) AS users
FROM session_answers AS a JOIN test_sessions AS s ON s.id = a.session_id
WHERE s.status IN ('SUBMITTED', 'EXPIRED') AND s.submitted_at IS NOT NULL
  AND s.submitted_at >= TIMESTAMPTZ '{start}' AND s.submitted_at <= TIMESTAMPTZ '{end}'
"""


@pytest.fixture
def cohort_url(store_url: str) -> str:
    init_database(store_url)
    generate_cohort_into(store_url, SPEC)
    return store_url


def _window_count(url: str) -> dict[str, int]:
    start = (AS_OF - timedelta(days=90)).isoformat()
    return query(url, WINDOW_COUNT.format(start=start, end=AS_OF.isoformat())).row(0, named=True)


def test_export_writes_one_hive_folder_per_bucket_holding_exactly_the_window(
    cohort_url: str, tmp_path: Path
) -> None:
    report = export_attempts(cohort_url, output=tmp_path / "lake", as_of=AS_OF, buckets=4)
    expected = _window_count(cohort_url)
    folders = sorted(p.name for p in (tmp_path / "lake" / "attempts").iterdir())
    assert folders == [f"user_bucket={k}" for k in range(4)]
    assert report.attempt_rows == expected["n"] > 1000
    frame = pl.read_parquet(tmp_path / "lake" / "attempts", hive_partitioning=True)
    assert frame.height == expected["n"]
    assert frame["user_id"].n_unique() == expected["users"]
    assert frame.group_by("user_id").agg(pl.col("user_bucket").n_unique())["user_bucket"].max() == 1
    assert frame.select(pl.col("session_id", "question_id")).is_unique().all()


def test_export_is_readable_by_duckdb_as_one_partitioned_table(
    cohort_url: str, tmp_path: Path
) -> None:
    export_attempts(cohort_url, output=tmp_path / "lake", as_of=AS_OF, buckets=3)
    pattern = str(tmp_path / "lake" / "attempts" / "*" / "*.parquet")
    per_bucket = duckdb.sql(
        f"SELECT user_bucket, count(*) FROM read_parquet('{pattern}', hive_partitioning = true) "
        "GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert [bucket for bucket, _ in per_bucket] == [0, 1, 2]
    assert sum(count for _, count in per_bucket) == _window_count(cohort_url)["n"]


def test_export_manifest_records_the_window_and_the_layout(cohort_url: str, tmp_path: Path) -> None:
    export_attempts(cohort_url, output=tmp_path / "lake", as_of=AS_OF, buckets=2, lookback_days=30)
    manifest = json.loads((tmp_path / "lake" / "_manifest.json").read_text())
    assert manifest["as_of"] == "2026-11-25T12:00:00+00:00"
    assert manifest["window_start"] == "2026-10-26T12:00:00+00:00"
    assert manifest["partition_by"] == "user_bucket"
    assert manifest["buckets"] == 2
    assert "snapshot_json" in manifest["columns"]


def test_export_cli_prints_what_it_wrote(
    mastery: Mastery,  # noqa: F811
    cohort_url: str,
    tmp_path: Path,
) -> None:
    result = mastery(
        "export-attempts",
        *("--output", str(tmp_path / "lake")),
        *("--buckets", "2", "--as-of", AS_OF.isoformat()),
        *("--database-url", cohort_url, "--json"),
    )
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["attempt_rows"] == _window_count(cohort_url)["n"]


def test_export_refuses_a_folder_that_is_not_empty(
    mastery: Mastery,  # noqa: F811
    tmp_path: Path,
) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "old.parquet").write_text("x")
    url = f"duckdb:///{tmp_path / 'never.duckdb'}"
    result = mastery("export-attempts", "--output", str(lake), "--database-url", url)
    assert_one_line_error(result, "cannot export into", "not an empty folder")
    assert sorted(p.name for p in lake.iterdir()) == ["old.parquet"]


def test_export_to_an_unreachable_database_leaves_no_folder(
    mastery: Mastery,  # noqa: F811
    tmp_path: Path,
) -> None:
    result = mastery(
        "export-attempts",
        *("--output", str(tmp_path / "lake")),
        *("--database-url", "postgresql://postgres:S3cretPw@127.0.0.1:1/nope"),
    )
    assert_one_line_error(result)
    assert not (tmp_path / "lake").exists()


def test_export_has_no_format_choice_to_make(
    mastery: Mastery,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Parquet by user bucket is the one layout: there is no --format to get wrong."""
    result = mastery("export-attempts", "--output", str(tmp_path / "x"), "--format", "csv")
    assert result.code == 2
    assert "No such option: --format" in result.stderr

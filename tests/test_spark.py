"""``--engine spark``: Spark workers run the same partition code and write the same table.

Spark runs in ``local[1]`` (one JVM per test worker: the ``spark`` fixture of conftest.py; the
CLI test starts its own). The module skips, with the reason shown, where PySpark or Java 17 is
missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from pipeline import RunOptions, RunSpec, RunSummary, init_database, recompute
from pipeline.api import default_params_v1
from pipeline.contracts.errors import MasteryError
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.dbutil import mastery_rows, query, runs
from tests.harness import QUICK_JVM
from tests.test_v1_pipeline import AS_OF as V1_AS_OF
from tests.test_v1_pipeline import SPEC as V1_SPEC
from tests.test_v1_pipeline import expected_v1_rows, v1_comparable

pytest.importorskip("pyspark", reason="PySpark is not installed: pip install '.[spark]'")
try:
    from pipeline.run.spark import require_java

    require_java()
except MasteryError as missing:
    pytest.skip(str(missing), allow_module_level=True)

AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = CohortSpec(users=80, themes=8, days=90, seed=11, as_of=AS_OF)
PER_RUN = ("run_id", "stage_seconds")
MASTERY = Path(sys.executable).parent / "mastery"


@pytest.fixture
def cohort_url(store_url: str) -> str:
    init_database(store_url)
    generate_cohort_into(store_url, SPEC)
    return store_url


def _rows_without_run(url: str) -> pl.DataFrame:
    return mastery_rows(url).drop("id", "run_id", "computed_at")


def _without_timings(summary: RunSummary) -> dict:
    return {k: v for k, v in summary.as_json().items() if k not in PER_RUN}


def test_spark_plain_and_partitioned_runs_write_identical_tables(
    cohort_url: str, spark: object
) -> None:
    plain = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    plain_rows = _rows_without_run(cohort_url)
    partitioned = recompute(
        cohort_url, options=RunOptions(trigger="test", partitions=3), as_of=AS_OF
    )
    partitioned_rows = _rows_without_run(cohort_url)
    on_spark = recompute(
        cohort_url, options=RunOptions(trigger="test", engine="spark", partitions=4), as_of=AS_OF
    )
    spark_rows = _rows_without_run(cohort_url)

    assert plain_rows.height > 300
    assert partitioned_rows.equals(plain_rows)
    assert spark_rows.equals(plain_rows)
    assert set(mastery_rows(cohort_url)["run_id"]) == {on_spark.run_id}
    assert _without_timings(on_spark) == _without_timings(plain) == _without_timings(partitioned)
    assert set(on_spark.stage_seconds) == {"extract", "spark", "load"}


def test_spark_stale_refresh_and_data_quality_match_a_local_run(
    cohort_url: str, spark: object
) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    later = AS_OF + timedelta(days=60)
    on_spark = recompute(
        cohort_url,
        options=RunOptions(allow_mass_change=True, trigger="test", engine="spark", partitions=3),
        as_of=later,
    )
    spark_rows = _rows_without_run(cohort_url)
    local = recompute(
        cohort_url, options=RunOptions(allow_mass_change=True, trigger="test"), as_of=later
    )

    assert on_spark.stale_rows_refreshed > 0
    assert on_spark.records_upserted > 0
    assert sum(on_spark.data_quality.values()) > 0
    assert _rows_without_run(cohort_url).equals(spark_rows)
    assert _without_timings(on_spark) == _without_timings(local)


def test_spark_source_counts_and_engine_reach_the_ledger(cohort_url: str, spark: object) -> None:
    local = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    recompute(
        cohort_url, options=RunOptions(trigger="test", engine="spark", partitions=2), as_of=AS_OF
    )
    local_input, spark_input = (
        pl.Series(runs(cohort_url)["input_summary_json"]).str.json_decode().to_list()
    )
    assert spark_input["engine"] == "spark"
    assert spark_input["partitions"] == 2
    assert spark_input["source_counts"] == local_input["source_counts"]
    assert local.users == spark_input["source_counts"]["users"]


def test_spark_scoped_run_matches_a_local_scoped_run(
    cohort_url: str, spark: object, tmp_path: Path
) -> None:
    users = query(cohort_url, "SELECT CAST(id AS text) AS id FROM users ORDER BY id")["id"]
    scope = {"users": users[:5].to_list(), "themes": [1, 2, 3]}
    local = recompute(
        cohort_url,
        options=RunOptions(dry_run=True, output=tmp_path / "a.parquet"),
        as_of=AS_OF,
        **scope,
    )
    on_spark = recompute(
        cohort_url,
        options=RunOptions(dry_run=True, output=tmp_path / "b.parquet", engine="spark"),
        as_of=AS_OF,
        **scope,
    )
    written = pl.read_parquet(tmp_path / "b.parquet")
    assert written.height > 0
    assert set(written["user_id"]) <= set(scope["users"])
    assert set(written["theme_id"]) <= {1, 2, 3}
    assert written.equals(pl.read_parquet(tmp_path / "a.parquet"))
    assert _without_timings(on_spark) == _without_timings(local)
    assert runs(cohort_url).height == 0


def test_spark_run_on_an_empty_cohort_succeeds_with_zero_rows(
    initialized_url: str, spark: object
) -> None:
    local = recompute(initialized_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    on_spark = recompute(
        initialized_url, options=RunOptions(trigger="test", engine="spark"), as_of=AS_OF
    )
    assert on_spark.records_upserted == 0
    assert _without_timings(on_spark) == _without_timings(local)
    assert runs(initialized_url)["status"].to_list() == ["SUCCESS", "SUCCESS"]


FAIL_ONE_BUCKET = """
import os

_user = os.environ.get("MASTERY_TEST_FAIL_USER")
if _user:
    import pipeline.run.spark as _spark

    _compute = _spark.compute_partition

    def compute_partition(extracted, *args, **kwargs):
        if _user in set(extracted.attempts["user_id"].to_list()):
            raise RuntimeError("disk quota exceeded on this worker")
        return _compute(extracted, *args, **kwargs)

    _spark.compute_partition = compute_partition
"""


def test_one_failing_bucket_fails_the_run_and_writes_nothing(
    cohort_url: str, tmp_path: Path
) -> None:
    """A worker error in one bucket (injected through the workers' sitecustomize): FAILED run,
    one-line error naming the worker's exception, the earlier rows untouched."""
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    before = mastery_rows(cohort_url)
    victim = before["user_id"][0]
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(textwrap.dedent(FAIL_ONE_BUCKET))
    env = {
        **os.environ,
        "PYTHONPATH": str(hooks),
        "MASTERY_TEST_FAIL_USER": victim,
        "PYSPARK_PYTHON": sys.executable,
    }
    command = [
        *(str(MASTERY), "recompute", "--engine", "spark", "--spark-master", "local[1]"),
        *("--partitions", "4", "--as-of", (AS_OF + timedelta(days=1)).isoformat()),
        *("--database-url", cohort_url, "--spark-work-dir", str(tmp_path)),
        *("--spark-conf", f"spark.driver.extraJavaOptions={QUICK_JVM}"),
    ]
    done = subprocess.run(
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    # off a terminal each stage also logs a line; the failure itself is one "error:" line
    (line,) = [e for e in done.stderr.splitlines() if " mastery stage " not in e]
    assert "RuntimeError: disk quota exceeded on this worker" in line
    assert "Spark's log:" in line
    ledger = runs(cohort_url)
    assert ledger["status"].to_list() == ["SUCCESS", "FAILED"]
    assert "disk quota exceeded" in ledger["error_message"][1]
    assert mastery_rows(cohort_url).equals(before)
    assert not list(tmp_path.glob("mastery-spark-*/")), "the work folder is removed"


@pytest.mark.slow
def test_v1_on_spark_gives_the_same_rows(spark: object, duckdb_url: str, tmp_path: Path) -> None:
    """The whole cohort's v1 tables travel to the Spark workers in BucketCompute's lookups."""
    init_database(duckdb_url)
    generate_cohort_into(duckdb_url, V1_SPEC)
    out = tmp_path / "spark.parquet"
    options = RunOptions(dry_run=True, output=out, engine="spark", partitions=3)
    recompute(duckdb_url, RunSpec(as_of=V1_AS_OF, algorithm="v1"), options)
    staged = pl.read_parquet(out).filter(~pl.col("stale"))
    assert v1_comparable(staged) == v1_comparable(expected_v1_rows(duckdb_url, default_params_v1()))

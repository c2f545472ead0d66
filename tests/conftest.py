"""Fixtures: every test gets its own fresh Postgres database and DuckDB file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from tests.harness import QUICK_JVM, fresh_postgres_database

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DB_FIXTURES = {"pg_url", "duckdb_url", "store_url", "initialized_url", "initialized_pg_url"}


# Seconds each heavy file took under `make test` (summed over its tests, a loaded machine's
# run: the ratios matter). `--dist loadfile` hands files to the two workers in collection order
# (pyproject turns off xdist's own reordering, which puts files with few tests last: a
# one-test file of 90 s then ran alone at the end), so the heaviest go first and the many light
# ones fill in behind them; a file not listed here keeps its place after these.
FILE_COST = {
    "test_spark.py": 460,
    "test_hostile_data.py": 270,
    "test_least_privilege.py": 200,
    "test_cli_errors.py": 165,
    "test_run_locks.py": 160,
    "test_secrets.py": 135,
    "test_exclusions.py": 130,
    "test_export.py": 117,
    "test_run_faults.py": 111,
    "test_readme.py": 97,
    "test_incremental.py": 89,
    "test_golden_cases.py": 89,
    "test_write_modes.py": 82,
    "test_report.py": 78,
    "test_history.py": 71,
    "test_run_signals.py": 67,
    "test_v1_pipeline.py": 64,
    "test_partitions.py": 64,
    "test_notebooks.py": 62,
    "test_recompute.py": 61,
    "test_runs_view.py": 54,
    "test_backends_agree.py": 53,
    "test_diff.py": 50,
    "test_run_guards.py": 49,
    "test_extract_separate.py": 49,
    "test_report_header.py": 48,
    "test_spark_errors.py": 46,
    "test_fresh.py": 43,
    "test_cli_output.py": 43,
    "test_peers.py": 39,
    "test_cli_logs.py": 36,
    "test_assistments.py": 33,
    "test_cli_recompute.py": 33,
    "test_follow.py": 32,
    "test_wheel_install.py": 24,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that touch a database are integration tests whatever file they live in; heavy
    files run first (a stable sort: each file's tests stay together and in their order)."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: -FILE_COST.get(item.path.name, 0))


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def initialized_pg_template() -> Iterator[str]:
    """The name of a database where init_schema ran, one per test worker: a test that asks for
    ``initialized_url`` on Postgres gets a copy (CREATE DATABASE ... TEMPLATE) of it."""
    from pipeline.io.store import open_store

    with fresh_postgres_database("mastery_template") as url:
        with open_store(url) as store:
            store.init_schema()
        yield str(psycopg.conninfo.conninfo_to_dict(url)["dbname"])


@pytest.fixture
def initialized_pg_url(initialized_pg_template: str) -> Iterator[str]:
    with fresh_postgres_database(template=initialized_pg_template) as url:
        yield url


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'mastery.duckdb'}"


@pytest.fixture(params=["postgres", "duckdb"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once per back end. Where the test asks for ``initialized_url`` (the same
    URL), a Postgres database comes initialized: a copy of the worker's initialized template."""
    if request.param == "duckdb":
        return str(request.getfixturevalue("duckdb_url"))
    if "initialized_url" in request.fixturenames:
        return str(request.getfixturevalue("initialized_pg_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def initialized_url(request: pytest.FixtureRequest, store_url: str) -> str:
    from pipeline.io.store import open_store

    if "initialized_pg_url" not in request.fixturenames:  # not a copy of the template
        with open_store(store_url) as store:
            store.init_schema()
    return store_url


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One small local Spark session per test worker; ``--engine spark`` runs reuse the active
    session. One core, so the JVM and its Python workers don't crowd the other pytest worker."""
    pytest.importorskip("pyspark", reason="PySpark is not installed: pip install '.[spark]'")
    from pyspark.sql import SparkSession

    from pipeline.contracts.errors import MasteryError
    from pipeline.run.spark import require_java

    try:
        require_java()
    except MasteryError as missing:
        pytest.skip(str(missing))
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.driver.extraJavaOptions", QUICK_JVM)
        .getOrCreate()
    )
    yield session
    session.stop()

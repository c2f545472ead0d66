"""``--engine spark`` on a machine that cannot run it: one line saying what to install.

These run without Spark starting (and where PySpark or Java is absent), each before any
database work: no run is logged, no file is created.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline import MasteryError, RunOptions, recompute
from tests.test_cli_errors import Mastery, assert_one_line_error, mastery  # noqa: F401

VENV_BIN = str(Path(sys.executable).parent)


def _recompute_on_spark(mastery: Mastery, tmp_path: Path, **env: str) -> object:  # noqa: F811
    url = f"duckdb:///{tmp_path / 'never.duckdb'}"
    return mastery("recompute", "--engine", "spark", "--database-url", url, extra_env=env)


def test_missing_pyspark_names_the_extra_to_install(
    mastery: Mastery,  # noqa: F811
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "no_pyspark"
    blocked.mkdir()
    (blocked / "pyspark.py").write_text("raise ImportError('No module named pyspark')\n")
    result = _recompute_on_spark(mastery, tmp_path, PYTHONPATH=str(blocked))
    assert_one_line_error(result, "needs PySpark", "pip install 'mastery-pipeline[spark]'")
    assert not (tmp_path / "never.duckdb").exists()


def test_missing_java_is_a_clear_error(
    mastery: Mastery,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = {"PATH": VENV_BIN, "JAVA_HOME": ""}
    result = _recompute_on_spark(mastery, tmp_path, **env)
    assert_one_line_error(result, "needs Java 17 or newer", "no java found")


@pytest.mark.parametrize(
    ("printed", "named"),
    [
        ('openjdk version "11.0.21" 2023-10-17', "is Java 11"),
        ('java version "1.8.0_392"', "is Java 8"),
    ],
)
def test_java_older_than_17_is_named(
    mastery: Mastery,  # noqa: F811
    tmp_path: Path,
    printed: str,
    named: str,
) -> None:
    home = tmp_path / "old_jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{printed}' >&2\n")
    java.chmod(0o755)
    result = _recompute_on_spark(mastery, tmp_path, JAVA_HOME=str(home))
    assert_one_line_error(result, "needs Java 17 or newer", named)


def test_spark_conf_must_be_key_equals_value(
    mastery: Mastery,  # noqa: F811
    tmp_path: Path,
) -> None:
    url = f"duckdb:///{tmp_path / 'never.duckdb'}"
    result = mastery(
        "recompute", "--engine", "spark", "--spark-conf", "executor-memory", "--database-url", url
    )
    assert_one_line_error(result, "--spark-conf 'executor-memory' is not KEY=VALUE")


def test_unknown_engine_is_a_usage_error(
    mastery: Mastery,  # noqa: F811
) -> None:
    result = mastery("recompute", "--engine", "flink")
    assert result.code == 2
    assert "flink" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_api_names_the_engines() -> None:
    with pytest.raises(MasteryError, match="unknown engine 'flink': use polars or spark"):
        recompute("duckdb:///unused.duckdb", options=RunOptions(engine="flink"))


def test_worker_error_finds_the_root_cause_in_a_java_trace() -> None:
    from pipeline.run.spark import worker_error

    trace = (
        "An error occurred while calling o91.parquet.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages\n"
        "Caused by: java.net.ConnectException: Connection refused: /10.0.0.7:7077\n"
        "\t... 12 more\n"
    )
    assert worker_error(Exception(trace)) == "ConnectException: Connection refused: /10.0.0.7:7077"


def test_worker_error_without_a_named_exception_keeps_the_first_line() -> None:
    from pipeline.run.spark import worker_error

    assert worker_error(Exception("\nexecutor lost\nmore detail")) == "executor lost"

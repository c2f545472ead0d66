"""A run as values: ``RunSpec`` (what), ``RunOptions`` (how), ``RunSummary`` (what it did).

Bad values are refused when the value is built, in one line naming the field as the API spells
it (never a CLI flag, never a validation dump); the summary's JSON keeps the keys and order that
dashboards read.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline import (
    MasteryError,
    Params,
    RunOptions,
    RunSpec,
    RunSummary,
    Scope,
    init_database,
    recompute,
)
from tests.cohort import ALICE, AS_OF, load_small_cohort
from tests.dbutil import runs

SUMMARY_KEYS = [
    "themes_computed",
    "records_upserted",
    "users",
    "stale_rows_refreshed",
    "insufficient_rows",
    "data_quality",
    "stage_seconds",
]


def _refused(build: Callable[[], object], *needles: str) -> str:
    with pytest.raises(MasteryError) as caught:
        build()
    message = str(caught.value)
    assert "\n" not in message
    assert "--" not in message, "below the CLI, errors name fields, not flags"
    for needle in needles:
        assert needle in message
    return message


def test_spec_normalises_as_of_to_utc_and_checks_the_scope() -> None:
    spec = RunSpec(
        as_of=datetime(2026, 11, 25, 12),
        scope=Scope((ALICE.upper(),), (11, 10, 11)),
    )
    assert spec.as_of == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert spec.scope == Scope((ALICE,), (10, 11))
    assert RunSpec.of(datetime(2026, 11, 25, 12), users=[ALICE.upper()], themes=[11, 10]) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec


@pytest.mark.parametrize(
    ("fields", "needles"),
    [
        ({"as_of": "yesterday"}, ("as_of must be a datetime", "'yesterday'")),
        ({"as_of": AS_OF, "algorithm": "v9"}, ("unknown algorithm 'v9'", "use v0")),
        ({"as_of": AS_OF, "scope": Scope((), ("ten",))}, ("theme ids must be integers",)),
        ({"as_of": AS_OF, "scope": Scope(("bob",))}, ("malformed user id 'bob'",)),
        ({"as_of": AS_OF, "params": {"min_attempts": 3}}, ("params must be a Params",)),
    ],
)
def test_a_bad_spec_is_one_line_naming_the_field(fields: dict, needles: tuple[str, ...]) -> None:
    _refused(lambda: RunSpec(**fields), *needles)


@pytest.mark.parametrize(
    ("fields", "needles"),
    [
        ({"partitions": 0}, ("partitions must be at least 1, got 0",)),
        ({"partitions": 2.5}, ("partitions must be a whole number",)),
        ({"write_mode": "x"}, ("unknown write mode 'x': use auto, merge or rebuild",)),
        ({"engine": "flink"}, ("unknown engine 'flink': use polars or spark",)),
        ({"trigger": "cron"}, ("unknown trigger 'cron'", "schedule")),
        ({"dry_run": "yes"}, ("dry_run must be True or False",)),
        ({"spark": {"master": "local"}}, ("spark must be SparkOptions",)),
    ],
)
def test_bad_options_are_one_line_naming_the_field(fields: dict, needles: tuple[str, ...]) -> None:
    _refused(lambda: RunOptions(**fields), *needles)


def test_options_compare_without_the_progress_callback() -> None:
    seen: list[str] = []
    with_progress = RunOptions(output="rows.parquet", progress=seen.append)
    assert with_progress == RunOptions(output=Path("rows.parquet"))
    assert "progress" not in repr(with_progress)
    assert RunOptions(engine="spark").partition_count == 8
    assert RunOptions().partition_count == 1


def test_a_spec_and_its_conveniences_are_not_mixed() -> None:
    _refused(
        lambda: recompute("duckdb:///unused.duckdb", RunSpec(as_of=AS_OF), as_of=AS_OF),
        "either in the spec or beside it",
    )


def test_summary_json_keeps_the_keys_and_order_dashboards_read(duckdb_url: str) -> None:
    init_database(duckdb_url)
    load_small_cohort(duckdb_url)
    real = recompute(duckdb_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    dry = recompute(duckdb_url, options=RunOptions(dry_run=True), as_of=AS_OF)
    assert isinstance(real, RunSummary)
    assert list(real.as_json()) == [*SUMMARY_KEYS, "run_id"]
    assert list(dry.as_json()) == [*SUMMARY_KEYS, "run_id", "dry_run"]
    assert (dry.as_json()["run_id"], dry.as_json()["dry_run"]) == (None, True)
    stored = json.loads(runs(duckdb_url)["output_summary_json"][0])
    assert list(stored) == SUMMARY_KEYS
    assert stored == {k: v for k, v in real.as_json().items() if k != "run_id"}
    assert {k: v for k, v in dry.as_json().items() if k not in ("run_id", "dry_run")} == {
        k: v for k, v in real.as_json().items() if k != "run_id"
    } | {"stage_seconds": dry.stage_seconds}


def test_a_what_if_spec_counts_insufficient_rows_under_its_own_min_attempts(
    duckdb_url: str,
) -> None:
    """Alice's theme 11 has 3 attempts: insufficient under the default 5, scored under 3."""
    init_database(duckdb_url)
    load_small_cohort(duckdb_url)
    default = recompute(duckdb_url, options=RunOptions(dry_run=True), as_of=AS_OF)
    spec = RunSpec(as_of=AS_OF, params=Params.from_mapping({"min_attempts": 3}))
    lenient = recompute(duckdb_url, spec, RunOptions(dry_run=True))
    assert (default.insufficient_rows, lenient.insufficient_rows) == (1, 0)
    assert runs(duckdb_url).is_empty()


def test_custom_params_are_refused_outside_a_dry_run(duckdb_url: str) -> None:
    spec = RunSpec(as_of=AS_OF, params=Params.from_mapping({"min_attempts": 3}))
    _refused(lambda: recompute(duckdb_url, spec), "dry runs only")

"""One generated cohort, two stores: Postgres and DuckDB give the same rows, and both equal
the exact ``Fraction`` reference run on the extracted attempts (SPEC §4, §5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import polars as pl
import pytest

from pipeline import RunOptions, extract_attempts, init_database, recompute
from pipeline.io.store import open_store
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.dbutil import mastery_rows
from tests.harness import fresh_postgres_database
from tests.reference import reference

pytestmark = pytest.mark.integration  # a module-scoped database, not a DB_FIXTURES one
AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = CohortSpec(users=120, themes=12, days=90, seed=11, as_of=AS_OF)
COMPARED = [
    "user_id",
    "theme_id",
    "year",
    "block_id",
    "attempts_total",
    "correct_total",
    "accuracy_pct",
    "mastery_score",
    "last_attempt_at",
]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    """Generate and recompute once per store, for the module (its tests only read): summaries
    and rows per store."""
    duckdb_url = f"duckdb:///{tmp_path_factory.mktemp('agree') / 'mastery.duckdb'}"
    with fresh_postgres_database() as pg_url:
        out = {}
        for name, url in (("postgres", pg_url), ("duckdb", duckdb_url)):
            init_database(url)
            generate_cohort_into(url, SPEC)
            summary = recompute(url, options=RunOptions(trigger="test"), as_of=AS_OF)
            out[name] = {"url": url, "summary": summary, "rows": mastery_rows(url)}
        yield out


def _comparable(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select(
        *COMPARED,
        breakdown=pl.col("breakdown_json").map_elements(
            lambda text: json.dumps(json.loads(text), sort_keys=True), return_dtype=pl.String
        ),
    )


def test_generated_cohort_has_rows(both: dict[str, dict]) -> None:
    assert both["postgres"]["rows"].height > 500


def test_every_column_of_every_row_is_equal(both: dict[str, dict]) -> None:
    assert _comparable(both["postgres"]["rows"]).equals(_comparable(both["duckdb"]["rows"]))


def test_summaries_are_equal_but_for_run_and_timings(both: dict[str, dict]) -> None:
    strip = ("run_id", "stage_seconds")
    pg, duck = (
        {k: v for k, v in both[n]["summary"].as_json().items() if k not in strip} for n in both
    )
    assert pg == duck


def test_stored_rows_equal_the_exact_reference(both: dict[str, dict]) -> None:
    url = both["duckdb"]["url"]
    attempts = extract_attempts(url, as_of=AS_OF).to_dicts()
    with open_store(url) as store:
        themes = set(store.fetch_frame("select_themes")["id"].to_list())
        blocks = set(store.fetch_frame("select_blocks")["id"].to_list())
    expected, quality = reference(attempts, None, AS_OF, themes, blocks)
    stored = both["duckdb"]["rows"]
    assert stored.height == len(expected)
    for row, want in zip(stored.iter_rows(named=True), expected, strict=True):
        assert (row["user_id"], row["theme_id"]) == (want["user_id"], want["theme_id"])
        assert row["mastery_score"] == str(want["mastery_score"])
        assert row["accuracy_pct"] == str(want["accuracy_pct"])
        assert json.loads(row["breakdown_json"]) == json.loads(want["breakdown_json"])
    summary_quality = both["duckdb"]["summary"].data_quality
    assert {k: summary_quality[k] for k in quality} == quality

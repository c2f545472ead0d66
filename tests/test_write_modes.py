"""``--write-mode``: a bulk rebuild of the output table leaves exactly what the row merge leaves.

The rebuild (Postgres) builds ``user_theme_mastery_next`` beside the table (rows, keys,
indexes, foreign keys, grants) and swaps the names at the end of the run's transaction; ids of
existing keys, stale-row refresh and rows outside the run's scope must come out as the merge
leaves them, and a failure must leave table, indexes, keys and grants as they were.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import make_url

from pipeline import MasteryError, RunOptions, init_database, recompute
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.dbutil import execute, mastery_rows, query, runs

AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)
LATER = AS_OF + timedelta(days=60)
SPEC = CohortSpec(users=70, themes=8, days=90, seed=13, as_of=AS_OF)
PER_RUN = ("run_id", "stage_seconds")
TABLE_SHAPE = """
SELECT 'index' AS kind, indexname AS name, indexdef AS definition FROM pg_indexes
WHERE tablename = 'user_theme_mastery'
UNION ALL
SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = CAST('user_theme_mastery' AS regclass)
ORDER BY 1, 2
"""


@pytest.fixture
def cohort_pg(pg_url: str) -> str:
    init_database(pg_url)
    generate_cohort_into(pg_url, SPEC)
    return pg_url


def _values(url: str) -> pl.DataFrame:
    return mastery_rows(url).drop("run_id", "computed_at")


def _input_summary(url: str) -> dict:
    return pl.Series(runs(url)["input_summary_json"]).str.json_decode().to_list()[-1]


def test_rebuild_leaves_the_rows_and_ids_the_merge_leaves(cohort_pg: str) -> None:
    recompute(cohort_pg, options=RunOptions(trigger="test", write_mode="merge"), as_of=AS_OF)
    first = mastery_rows(cohort_pg).select("user_id", "theme_id", first_id="id")
    rebuilt = recompute(
        cohort_pg,
        options=RunOptions(allow_mass_change=True, trigger="test", write_mode="rebuild"),
        as_of=LATER,
    )
    after_rebuild = _values(cohort_pg)
    merged = recompute(
        cohort_pg,
        options=RunOptions(allow_mass_change=True, trigger="test", write_mode="merge"),
        as_of=LATER,
    )

    assert rebuilt.stale_rows_refreshed > 0
    assert after_rebuild.equals(_values(cohort_pg))
    kept = after_rebuild.join(first, on=["user_id", "theme_id"], how="inner")
    assert kept.height == first.height
    assert (kept["id"] == kept["first_id"]).all()
    assert {k: v for k, v in rebuilt.as_json().items() if k not in PER_RUN} == {
        k: v for k, v in merged.as_json().items() if k not in PER_RUN
    }
    assert set(mastery_rows(cohort_pg)["run_id"]) == {merged.run_id}


def test_rebuild_gives_new_keys_fresh_ids_and_every_row_the_run(cohort_pg: str) -> None:
    summary = recompute(
        cohort_pg, options=RunOptions(trigger="test", write_mode="rebuild"), as_of=AS_OF
    )
    rows = mastery_rows(cohort_pg)
    assert rows.height == summary.records_upserted > 300
    assert rows["id"].n_unique() == rows.height
    assert set(rows["run_id"]) == {summary.run_id}


def test_rebuild_keeps_every_index_and_foreign_key(cohort_pg: str) -> None:
    shape = query(cohort_pg, TABLE_SHAPE)
    assert shape.filter(pl.col("definition").str.starts_with("FOREIGN KEY")).height == 6
    recompute(cohort_pg, options=RunOptions(trigger="test", write_mode="rebuild"), as_of=AS_OF)
    assert query(cohort_pg, TABLE_SHAPE).equals(shape)


def test_rebuild_keeps_the_grants_and_leaves_no_spare_table(cohort_pg: str) -> None:
    reader = f"mastery_reader_{uuid.uuid4().hex[:8]}"
    execute(cohort_pg, f"CREATE ROLE {reader}; GRANT SELECT ON user_theme_mastery TO {reader}")
    grants = "SELECT relacl::text AS acl FROM pg_class WHERE relname = 'user_theme_mastery'"
    try:
        before = query(cohort_pg, grants)
        summary = recompute(
            cohort_pg, options=RunOptions(trigger="test", write_mode="rebuild"), as_of=AS_OF
        )
        assert summary.write_mode == "rebuild"
        assert query(cohort_pg, grants).equals(before)
        assert reader in before["acl"][0]
        spare = query(
            cohort_pg,
            "SELECT relname FROM pg_class WHERE relname LIKE 'user_theme_mastery_%' "
            "AND relkind = 'r'",
        )
        assert spare.is_empty()
    finally:
        execute(cohort_pg, f"DROP OWNED BY {reader}; DROP ROLE {reader}")


def test_rebuild_of_one_theme_leaves_the_other_themes_untouched(cohort_pg: str) -> None:
    recompute(cohort_pg, options=RunOptions(trigger="test"), as_of=AS_OF)
    before = mastery_rows(cohort_pg)
    recompute(
        cohort_pg,
        options=RunOptions(allow_mass_change=True, trigger="test", write_mode="rebuild"),
        as_of=LATER,
        themes=[1],
    )
    after = mastery_rows(cohort_pg)
    assert after.filter(pl.col("theme_id") != 1).equals(before.filter(pl.col("theme_id") != 1))
    assert set(after.filter(pl.col("theme_id") == 1)["run_id"]) != set(before["run_id"])
    assert after.height == before.height


def test_failed_rebuild_leaves_table_indexes_and_keys_as_before(cohort_pg: str) -> None:
    recompute(cohort_pg, options=RunOptions(trigger="test"), as_of=AS_OF)
    before, shape = mastery_rows(cohort_pg), query(cohort_pg, TABLE_SHAPE)
    execute(
        cohort_pg,
        "ALTER TABLE user_theme_mastery ADD CONSTRAINT trap CHECK (attempts_total <> 5) NOT VALID",
    )
    with pytest.raises(MasteryError, match="trap"):
        recompute(
            cohort_pg,
            options=RunOptions(allow_mass_change=True, trigger="test", write_mode="rebuild"),
            as_of=LATER,
        )
    execute(cohort_pg, "ALTER TABLE user_theme_mastery DROP CONSTRAINT trap")
    assert mastery_rows(cohort_pg).equals(before)
    assert query(cohort_pg, TABLE_SHAPE).equals(shape)
    assert runs(cohort_pg)["status"].to_list() == ["SUCCESS", "FAILED"]


def test_auto_rebuilds_whole_cohort_runs_on_postgres(cohort_pg: str) -> None:
    recompute(cohort_pg, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert _input_summary(cohort_pg)["write_mode"] == "rebuild"


def test_auto_merges_scoped_runs(cohort_pg: str) -> None:
    recompute(cohort_pg, options=RunOptions(trigger="test"), as_of=AS_OF, themes=[2])
    assert _input_summary(cohort_pg)["write_mode"] == "merge"


def test_auto_merges_when_the_job_does_not_own_the_table(cohort_pg: str) -> None:
    recompute(cohort_pg, options=RunOptions(trigger="test"), as_of=AS_OF)
    guest = f"mastery_guest_{uuid.uuid4().hex[:8]}"
    execute(
        cohort_pg,
        f"CREATE ROLE {guest} LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO {guest}",
    )
    guest_url = make_url(cohort_pg).set(username=guest).render_as_string(hide_password=False)
    try:
        summary = recompute(
            guest_url, options=RunOptions(allow_mass_change=True, trigger="test"), as_of=LATER
        )
        assert _input_summary(cohort_pg)["write_mode"] == "merge"
        assert summary.stale_rows_refreshed > 0
        with pytest.raises(MasteryError, match="rebuild must own user_theme_mastery"):
            recompute(
                guest_url,
                options=RunOptions(allow_mass_change=True, trigger="test", write_mode="rebuild"),
                as_of=LATER,
            )
    finally:
        execute(cohort_pg, f"DROP OWNED BY {guest}; DROP ROLE {guest}")


def test_auto_merges_on_duckdb(duckdb_url: str) -> None:
    init_database(duckdb_url)
    recompute(duckdb_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert _input_summary(duckdb_url)["write_mode"] == "merge"


def test_rebuild_is_refused_on_duckdb(duckdb_url: str) -> None:
    init_database(duckdb_url)
    with pytest.raises(MasteryError, match="rebuild is not available on duckdb: use merge"):
        recompute(duckdb_url, options=RunOptions(trigger="test", write_mode="rebuild"), as_of=AS_OF)


def test_unknown_write_mode_is_refused() -> None:
    with pytest.raises(MasteryError, match="unknown write mode 'swap': use auto, merge or rebuild"):
        recompute("duckdb:///unused.duckdb", options=RunOptions(write_mode="swap"))

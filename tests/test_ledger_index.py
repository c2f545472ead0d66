"""The ledger stays cheap to check however many runs it holds (a hook adds one per call)."""

from __future__ import annotations

from pipeline.io.sqlfiles import statement
from pipeline.io.store import open_store
from tests.dbutil import execute, query


def test_abandoned_run_check_reads_only_running_rows_through_its_index(pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.init_schema()
        algo_version_id = store.algo_version_id()
    execute(
        pg_url,
        "INSERT INTO algo_runs (id, algo_version_id, trigger, status) "
        f"SELECT gen_random_uuid(), '{algo_version_id}', 'test', 'SUCCESS' "
        "FROM generate_series(1, 20000); ANALYZE algo_runs",
    )
    plan = query(pg_url, "EXPLAIN " + statement("postgres", "abandon_running_runs"))
    assert "ix_algo_runs_running" in "\n".join(plan[plan.columns[0]].to_list())

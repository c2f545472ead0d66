"""Faults and concurrency: a run is atomic, logged, and never interleaves with another (SPEC §5)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from pipeline import ConcurrentRunError, MasteryError, RunOptions, init_database, recompute
from pipeline.io.url import parse_database_url
from tests.cohort import AS_OF, load_small_cohort
from tests.dbutil import execute, mastery_rows, runs

MASTERY_DDL_WITH_TRAP = """
CREATE TABLE user_theme_mastery (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    year int NOT NULL,
    block_id int NOT NULL REFERENCES blocks (id),
    theme_id int NOT NULL REFERENCES themes (id),
    attempts_total int NOT NULL CHECK (attempts_total <> 5),
    correct_total int NOT NULL,
    accuracy_pct numeric(5, 2) NOT NULL,
    mastery_score numeric(6, 4) NOT NULL,
    last_attempt_at timestamptz,
    computed_at timestamptz NOT NULL,
    algo_version_id uuid NOT NULL REFERENCES algo_versions (id),
    params_id uuid NOT NULL REFERENCES algo_params (id),
    run_id uuid NOT NULL REFERENCES algo_runs (id),
    breakdown_json {json} NOT NULL,
    UNIQUE (user_id, theme_id)
)
"""


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    return initialized_url


def _slow_merge_child(url: str, *, pause: str, seconds: int) -> subprocess.Popen[str]:
    """A separate process running a recompute whose merge pauses (before or after merging the
    staged rows, inside the run's transaction) and says so on stdout ("merging"/"merged"),
    then prints its run id: the test can kill it there or race it."""
    script = textwrap.dedent(
        f"""
        import time
        from pipeline import RunOptions, recompute
        from pipeline.io.store.duckdb import DuckDBStore
        from pipeline.io.store.postgres import PostgresStore
        from tests.cohort import AS_OF

        def slowed(merge):
            def slow_merge(self, run, **options):
                if {pause!r} == "before":
                    print("merging", flush=True)
                    time.sleep({seconds})
                counts = merge(self, run, **options)
                if {pause!r} == "after":
                    print("merged", flush=True)
                    time.sleep({seconds})
                return counts
            return slow_merge

        for store in (DuckDBStore, PostgresStore):
            store.merge_mastery = slowed(store.merge_mastery)
        summary = recompute({url!r}, options=RunOptions(trigger="test"), as_of=AS_OF)
        print(summary.run_id, flush=True)
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )


def test_database_error_inside_the_load_fails_the_run_and_changes_nothing(
    store_url: str,
) -> None:
    """A CHECK that Bob's 5-attempt row violates: Alice's rows were upserted first, and undone."""
    init_database(store_url)
    execute(store_url, "DROP TABLE user_theme_mastery")
    json_type = "jsonb" if store_url.startswith("postgresql") else "JSON"
    execute(store_url, MASTERY_DDL_WITH_TRAP.format(json=json_type))
    init_database(store_url)
    load_small_cohort(store_url)
    with pytest.raises(MasteryError, match=r"run [0-9a-f-]+ failed: .*(check|CHECK|constraint)"):
        recompute(store_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert mastery_rows(store_url).is_empty()
    ledger = runs(store_url).row(0, named=True)
    assert ledger["status"] == "FAILED"
    assert "\n" not in ledger["error_message"]


def test_killed_during_upsert_leaves_table_as_before_and_next_run_abandons_it(
    cohort_url: str,
) -> None:
    first = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    before = mastery_rows(cohort_url)
    with _slow_merge_child(cohort_url, pause="after", seconds=60) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "merged"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert mastery_rows(cohort_url).equals(before)
        statuses = runs(cohort_url)["status"].to_list()
        assert statuses == ["SUCCESS", "RUNNING"]
        # started at once, without --wait: the killed run's server session may hold its lock
        # a moment longer, which the next run outlasts (pg_write.HOLDER_GRACE)
        after = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
        ledger = runs(cohort_url)
        assert ledger["status"].to_list() == ["SUCCESS", "FAILED", "SUCCESS"]
        assert "abandoned" in ledger["error_message"][1]
        assert set(mastery_rows(cohort_url)["run_id"]) == {after.run_id}
        assert first.records_upserted == after.records_upserted


def test_second_recompute_refuses_while_one_runs(cohort_url: str) -> None:
    with _slow_merge_child(cohort_url, pause="before", seconds=8) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "merging"
        with pytest.raises(ConcurrentRunError, match="--wait"):
            recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
        winner = child.stdout.readline().strip()
        assert child.wait(timeout=60) == 0
        assert set(mastery_rows(cohort_url)["run_id"]) == {winner}
        assert runs(cohort_url)["status"].to_list() == ["SUCCESS"]


def test_wait_runs_after_the_running_recompute(cohort_url: str) -> None:
    with _slow_merge_child(cohort_url, pause="before", seconds=3) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "merging"
        started = time.monotonic()
        summary = recompute(cohort_url, options=RunOptions(trigger="test", wait=True), as_of=AS_OF)
        assert time.monotonic() - started > 0.5
        assert child.wait(timeout=60) == 0
        assert runs(cohort_url)["status"].to_list() == ["SUCCESS", "SUCCESS"]
        assert set(mastery_rows(cohort_url)["run_id"]) == {summary.run_id}


def test_run_left_running_by_a_dead_process_is_marked_abandoned(cohort_url: str) -> None:
    from pipeline.io.store import open_store

    with open_store(cohort_url) as store:
        active = store.active_params()
        store.execute(
            "insert_run",
            {
                "id": str(uuid.uuid4()),
                "algo_version_id": active.algo_version_id,
                "params_id": active.params_id,
                "user_id": None,
                "trigger": "test",
                "input_summary_json": "{}",
                "started_at": AS_OF.isoformat(),
            },
        )
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    ledger = runs(cohort_url)
    assert ledger["status"].to_list() == ["FAILED", "SUCCESS"]
    assert ledger["error_message"][0].startswith("abandoned")


def test_password_never_appears_in_errors_or_ledger(pg_url: str) -> None:
    parsed = parse_database_url(pg_url)
    wrong = parsed.url.set(password="Sup3rSecretPw", port=1).render_as_string(hide_password=False)
    with pytest.raises(MasteryError) as caught:
        recompute(wrong, as_of=AS_OF)
    assert "Sup3rSecretPw" not in str(caught.value)
    assert "***" in str(caught.value)

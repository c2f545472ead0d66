"""Bounded waits, readers never blocked, the run is the lock (SPEC §8, issue 15 items 1-3).

Real Postgres: readers idle in a transaction or holding rows FOR UPDATE, connections killed
under a running ``mastery recompute`` (a subprocess), scoped runs side by side, and a row never
replaced by one computed as of an earlier instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import psycopg
import pytest

from pipeline import ConcurrentRunError, MasteryError, RunOptions, init_database, recompute
from pipeline.io.url import parse_database_url
from tests.cohort import ALICE, AS_OF, BOB, load_small_cohort
from tests.dbutil import mastery_rows, runs

MASTERY = str(Path(sys.executable).parent / "mastery")
LATER = AS_OF + timedelta(days=1)
ADVISORY_HOLDER = """
SELECT l.pid FROM pg_locks AS l
WHERE l.locktype = 'advisory' AND l.database =
    (SELECT oid FROM pg_database WHERE datname = current_database())
LIMIT 1
"""


@pytest.fixture
def cohort_url(pg_url: str) -> str:
    init_database(pg_url)
    load_small_cohort(pg_url)
    recompute(pg_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    return pg_url


@pytest.fixture
def conninfo(cohort_url: str) -> str:
    return parse_database_url(cohort_url).conninfo


def _cli(url: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(MASTERY, "recompute", "--as-of", AS_OF.isoformat(), "--trigger", "test"),
            *("--json", "--database-url", url, *extra),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _paused_child(url: str, users: list[str], seconds: float) -> subprocess.Popen[str]:
    """A recompute of ``users`` that says "merging" and pauses just before its write."""
    script = textwrap.dedent(
        f"""
        import time
        from pipeline import RunOptions, recompute
        from pipeline.io.store.postgres import PostgresStore
        from tests.cohort import AS_OF

        merge = PostgresStore.merge_mastery

        def slow_merge(self, run, **options):
            print("merging", flush=True)
            time.sleep({seconds})
            return merge(self, run, **options)

        PostgresStore.merge_mastery = slow_merge
        summary = recompute({url!r}, options=RunOptions(trigger="test"), as_of=AS_OF,
                            users={users!r})
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


def _wait_for(conn: psycopg.Connection, sql: str, deadline: float = 60) -> int:
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        row = conn.execute(sql).fetchone()
        if row and row[0]:
            return int(row[0])
        time.sleep(0.05)
    raise AssertionError(f"never true: {sql}")


def _lock_waiter(conn: psycopg.Connection) -> int:
    return _wait_for(
        conn,
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' LIMIT 1",
    )


def _last_run(url: str) -> dict:
    return runs(url).row(-1, named=True)


def _write(url: str) -> tuple[str, str | None]:
    summary = json.loads(_last_run(url)["input_summary_json"])
    return summary["write_mode"], summary.get("write_note")


@pytest.fixture
def watcher(conninfo: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conn


def test_idle_reader_never_stalls_the_run_nor_other_readers(cohort_url: str, conninfo: str) -> None:
    with psycopg.connect(conninfo) as reader:
        reader.execute("SELECT * FROM user_theme_mastery LIMIT 1").fetchall()  # no commit
        started = time.monotonic()
        child = _cli(cohort_url, "--lock-timeout", "1")
        counted = 0
        with psycopg.connect(conninfo, autocommit=True) as dashboard:
            dashboard.execute("SET statement_timeout = '5s'")
            while child.poll() is None:
                dashboard.execute("SELECT count(*) FROM user_theme_mastery").fetchone()
                counted += 1
                time.sleep(0.1)
        _, stderr = child.communicate(timeout=60)
        reader.rollback()
    assert child.returncode == 0, stderr
    assert time.monotonic() - started < 60
    assert counted > 0
    mode, note = _write(cohort_url)
    assert mode == "merge"
    assert note is not None
    assert "swap lock was not granted" in note
    assert "idle in transaction" in note
    assert _last_run(cohort_url)["status"] == "SUCCESS"


def test_whole_cohort_run_swaps_when_nobody_holds_the_table(cohort_url: str) -> None:
    summary = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert (summary.write_mode, summary.write_note) == ("rebuild", None)
    assert _write(cohort_url) == ("rebuild", None)
    assert set(mastery_rows(cohort_url)["run_id"]) == {summary.run_id}


def test_views_on_the_table_make_the_rebuild_a_merge(cohort_url: str, conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE VIEW weak_rows AS SELECT * FROM user_theme_mastery")
    summary = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert summary.write_mode == "merge"
    assert "view weak_rows" in (summary.write_note or "")


def test_row_locking_reader_fails_the_run_in_bounded_time_naming_it(
    cohort_url: str, conninfo: str
) -> None:
    before = mastery_rows(cohort_url)
    with psycopg.connect(conninfo) as reader:
        reader.execute("SELECT * FROM user_theme_mastery FOR UPDATE").fetchall()
        blocker = reader.info.backend_pid
        started = time.monotonic()
        child = _cli(cohort_url, "--lock-timeout", "1")
        _, stderr = child.communicate(timeout=90)
        elapsed = time.monotonic() - started
        reader.rollback()
    assert child.returncode == 1, stderr
    assert elapsed < 60
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert f"user_theme_mastery is locked by another session (pid {blocker}, idle in" in line
    assert "gave up after 3 tries of 1 s" in line
    last = _last_run(cohort_url)
    assert last["status"] == "FAILED"
    assert "gave up after 3 tries" in last["error_message"]
    assert mastery_rows(cohort_url).equals(before)


def test_max_wait_bounds_the_whole_run(cohort_url: str, conninfo: str) -> None:
    with psycopg.connect(conninfo) as reader:
        reader.execute("SELECT * FROM user_theme_mastery FOR UPDATE").fetchall()
        started = time.monotonic()
        with pytest.raises(MasteryError, match=r"gave up after 2 s \(--max-wait\)"):
            recompute(
                cohort_url,
                options=RunOptions(trigger="test", lock_timeout=5, max_wait=2),
                as_of=AS_OF,
            )
        assert time.monotonic() - started < 15
        reader.rollback()
    assert _last_run(cohort_url)["status"] == "FAILED"


def test_max_wait_bounds_the_extract(cohort_url: str, conninfo: str) -> None:
    with psycopg.connect(conninfo) as holder:
        holder.execute("LOCK TABLE session_answers IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        child = _cli(cohort_url, "--write-mode", "merge", "--max-wait", "3")
        _, stderr = child.communicate(timeout=60)
        elapsed = time.monotonic() - started
        holder.rollback()
    assert child.returncode == 1, stderr
    assert elapsed < 30
    assert "gave up after 3 s (--max-wait)" in stderr.strip().splitlines()[-1]
    assert _last_run(cohort_url)["error_message"] == "gave up after 3 s (--max-wait)"


def test_losing_the_lock_connection_fails_the_run_never_success(
    cohort_url: str, watcher: psycopg.Connection
) -> None:
    with _paused_child(cohort_url, [], 3) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "merging"
        holder = _wait_for(watcher, ADVISORY_HOLDER)
        watcher.execute("SELECT pg_terminate_backend(%s)", (holder,))
        _, stderr = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "MasteryError: run " in stderr.strip().splitlines()[-1]
    last = _last_run(cohort_url)
    assert last["status"] == "FAILED"
    assert "\n" not in last["error_message"]
    after = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    assert runs(cohort_url)["status"].to_list()[-2:] == ["FAILED", "SUCCESS"]
    assert set(mastery_rows(cohort_url)["run_id"]) == {after.run_id}


@pytest.mark.parametrize(
    ("stage", "hold", "extra"),
    [
        ("extract", "LOCK TABLE session_answers IN ACCESS EXCLUSIVE MODE", ()),
        ("load", "LOCK TABLE user_theme_mastery IN SHARE MODE", ("--write-mode", "merge")),
    ],
)
def test_main_connection_killed_fails_the_run_in_one_line(
    cohort_url: str,
    conninfo: str,
    watcher: psycopg.Connection,
    stage: str,
    hold: str,
    extra: tuple[str, ...],
) -> None:
    before = mastery_rows(cohort_url)
    with psycopg.connect(conninfo) as holder:
        holder.execute(hold)
        child = _cli(cohort_url, "--lock-timeout", "10", *extra)
        try:
            _lock_waiter(watcher)
            main = _wait_for(watcher, ADVISORY_HOLDER)
            watcher.execute("SELECT pg_terminate_backend(%s)", (main,))
            time.sleep(0.3)
        finally:
            holder.rollback()
        _, stderr = child.communicate(timeout=60)
    assert child.returncode == 1, stderr
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert "failed:" in line, stage
    last = _last_run(cohort_url)
    assert last["status"] == "FAILED"
    assert "\n" not in last["error_message"]
    assert mastery_rows(cohort_url).equals(before)


def test_scoped_runs_on_disjoint_users_run_at_once(cohort_url: str) -> None:
    with _paused_child(cohort_url, [ALICE], 6) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "merging"
        bob = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF, users=[BOB])
        assert child.poll() is None  # Bob's run ended while Alice's was still in its merge
        alice = child.stdout.readline().strip()
        assert child.wait(timeout=60) == 0
    ledger = runs(cohort_url)
    assert ledger["status"].to_list() == ["SUCCESS"] * 3  # the live run was not "abandoned"
    rows = mastery_rows(cohort_url)
    assert set(rows.filter(pl.col("user_id") == ALICE)["run_id"]) == {alice}
    assert set(rows.filter(pl.col("user_id") == BOB)["run_id"]) == {bob.run_id}


def test_a_lock_freed_within_a_moment_is_taken_not_refused(cohort_url: str, conninfo: str) -> None:
    """A run without --wait started right after another was killed: the dead run's server
    session still holds the cohort lock until the server notices, a moment later."""
    with psycopg.connect(conninfo, autocommit=True) as ghost:
        ghost.execute("SELECT pg_advisory_lock(1835102323, 0)")  # the cohort key, exclusively
        timer = threading.Timer(0.4, ghost.execute, ("SELECT pg_advisory_unlock_all()",))
        timer.start()
        try:
            summary = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
        finally:
            timer.join()
    assert runs(cohort_url)["status"].to_list() == ["SUCCESS", "SUCCESS"]
    assert set(mastery_rows(cohort_url)["run_id"]) == {summary.run_id}


def test_overlapping_scopes_refuse_or_wait_within_max_wait(cohort_url: str) -> None:
    with _paused_child(cohort_url, [ALICE], 9) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "merging"
        options = RunOptions(trigger="test")
        with pytest.raises(ConcurrentRunError, match=r"overlapping scope.*--wait"):
            recompute(cohort_url, options=options, as_of=AS_OF, users=[ALICE, BOB])
        with pytest.raises(ConcurrentRunError, match="--wait"):
            recompute(cohort_url, options=options, as_of=AS_OF)  # the whole cohort
        with pytest.raises(ConcurrentRunError, match="--wait"):
            recompute(cohort_url, options=options, as_of=AS_OF, themes=[10])
        bounded = RunOptions(trigger="test", wait=True, max_wait=1)
        with pytest.raises(MasteryError, match=r"gave up after 1 s \(--max-wait\)"):
            recompute(cohort_url, options=bounded, as_of=AS_OF)
        waited = recompute(cohort_url, options=RunOptions(trigger="test", wait=True), as_of=AS_OF)
        assert child.wait(timeout=60) == 0
    assert set(mastery_rows(cohort_url)["run_id"]) == {waited.run_id}


@pytest.mark.parametrize("write_mode", ["rebuild", "merge"])
def test_an_earlier_as_of_never_replaces_a_newer_row(cohort_url: str, write_mode: str) -> None:
    fresh = recompute(
        cohort_url,
        options=RunOptions(trigger="test", allow_mass_change=True),
        as_of=LATER,
        users=[ALICE],
    )
    nightly = recompute(
        cohort_url, options=RunOptions(trigger="test", write_mode=write_mode), as_of=AS_OF
    )
    rows = mastery_rows(cohort_url)
    alice = rows.filter(pl.col("user_id") == ALICE)
    assert set(alice["run_id"]) == {fresh.run_id}
    assert nightly.data_quality["newer_rows_kept"] == alice.height > 0
    assert set(rows.filter(pl.col("user_id") != ALICE)["run_id"]) == {nightly.run_id}
    assert (
        json.loads(_last_run(cohort_url)["output_summary_json"])["data_quality"]["newer_rows_kept"]
        == alice.height
    )


def test_an_earlier_as_of_never_replaces_a_newer_row_on_duckdb(duckdb_url: str) -> None:
    init_database(duckdb_url)
    load_small_cohort(duckdb_url)
    options = RunOptions(trigger="test", allow_mass_change=True)
    fresh = recompute(duckdb_url, options=options, as_of=LATER, users=[ALICE])
    nightly = recompute(duckdb_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    rows = mastery_rows(duckdb_url)
    alice = rows.filter(pl.col("user_id") == ALICE)
    assert set(alice["run_id"]) == {fresh.run_id}
    assert nightly.data_quality["newer_rows_kept"] == alice.height > 0

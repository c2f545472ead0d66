"""SIGTERM and SIGINT end a run cleanly at any stage (SPEC §8, issue 15 item 3).

A real ``mastery recompute`` process on a real Postgres is held at a stage by a lock another
connection holds, then signalled: it exits 143 (SIGTERM) or 130 (SIGINT) with one line, its
run is FAILED "interrupted", and the output table is exactly as before.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from pipeline import RunOptions, recompute
from pipeline.io.url import parse_database_url
from tests.cohort import AS_OF, load_small_cohort
from tests.dbutil import mastery_rows, runs

MASTERY = str(Path(sys.executable).parent / "mastery")
# The stage a lock holds the run at: reads of the answers (extract), or writes to the output
# table (SHARE mode lets the run read its keys and blocks only its merge).
HOLDS = {
    "extract": "LOCK TABLE session_answers IN ACCESS EXCLUSIVE MODE",
    "load": "LOCK TABLE user_theme_mastery IN SHARE MODE",
}


@pytest.fixture
def cohort_url(pg_url: str) -> str:
    from pipeline import init_database

    init_database(pg_url)
    load_small_cohort(pg_url)
    recompute(pg_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    return pg_url


def _wait_for_lock_wait(conn: psycopg.Connection, deadline: float) -> None:
    while time.monotonic() < deadline:
        waiting = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
        if waiting and waiting[0]:
            return
        time.sleep(0.1)
    raise AssertionError("the run never reached the held lock")


@pytest.mark.parametrize("stage", ["extract", "load"])
@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["TERM", "INT"]
)
def test_signal_ends_the_run_failed_with_the_table_unchanged(
    cohort_url: str, stage: str, signum: signal.Signals, exit_code: int
) -> None:
    before = mastery_rows(cohort_url)
    uri = parse_database_url(cohort_url).libpq_uri
    with psycopg.connect(uri) as holder, psycopg.connect(uri, autocommit=True) as watcher:
        holder.execute(HOLDS[stage])
        child = subprocess.Popen(
            [
                *(MASTERY, "recompute", "--as-of", AS_OF.isoformat(), "--trigger", "test"),
                *("--write-mode", "merge", "--database-url", cohort_url),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_lock_wait(watcher, time.monotonic() + 60)
            child.send_signal(signum)
            _, stderr = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
            holder.rollback()
    assert child.returncode == exit_code, stderr
    # off a terminal each stage also logs a line; the failure itself is one "error:" line
    lines = [line for line in stderr.strip().splitlines() if " mastery stage " not in line]
    assert len(lines) == 1, stderr
    assert f"interrupted by {signum.name}: marked FAILED, nothing written" in lines[0]
    last = runs(cohort_url).row(-1, named=True)
    assert last["status"] == "FAILED"
    assert last["error_message"] == f"interrupted by {signum.name}"
    assert mastery_rows(cohort_url).equals(before)

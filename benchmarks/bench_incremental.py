"""Incremental nightly run against a full one after one day of new attempts (issue 17).

    python -m benchmarks.bench_incremental \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_m_inc \
        --as-of 2026-11-25T00:00:00Z

Writes to the database it is given (a private copy of a cohort, never a shared one). In order:

1. reset: sessions submitted after ``--as-of`` (T0) are deleted (with their answers and session
   questions, by cascade), and so are the stored fingerprints and the output rows (a previous
   round's are as of T0+1d, which a run as of T0 never replaces), so the only new attempts at
   T0+1d are the ones step 3 inserts;
2. ``mastery recompute --incremental --as-of T0`` (a full run: no fingerprints yet);
3. one day of new attempts: the sessions submitted in [T0-1d, T0) copied one day later (new
   ids, same users, questions and answers, every instant +1d);
4. ``mastery recompute --incremental --as-of T0+1d``, timed (its own process, as cron runs it);
5. the table saved aside, then a plain ``mastery recompute --as-of T0+1d``, timed;
6. the two tables compared on every column but id, computed_at and run_id (EXCEPT both ways).

Prints one JSON object: wall seconds of each run, its summary (stages, candidates), the ratio
incremental ÷ full, the rows each side has that the other lacks, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from pipeline.io.url import parse_database_url

MASTERY = str(Path(sys.executable).with_name("mastery"))
RESET = [  # rows of a previous round are as of T0+1d: a run as of T0 must not meet them
    "DELETE FROM test_sessions WHERE submitted_at > %(t0)s",
    "DELETE FROM mastery_user_fingerprints",
    "DELETE FROM user_theme_mastery",
]
ONE_DAY = [
    """CREATE TEMP TABLE bench_day AS
       SELECT id AS old_id, gen_random_uuid() AS new_id FROM test_sessions
       WHERE submitted_at >= %(t0)s - interval '1 day' AND submitted_at < %(t0)s""",
    """INSERT INTO test_sessions (id, user_id, mode, status, created_at, submitted_at)
       SELECT d.new_id, s.user_id, s.mode, s.status, s.created_at + interval '1 day',
              s.submitted_at + interval '1 day'
       FROM test_sessions AS s JOIN bench_day AS d ON d.old_id = s.id""",
    """INSERT INTO session_questions
           (id, session_id, question_id, question_version_id, position, snapshot_json)
       SELECT gen_random_uuid(), d.new_id, q.question_id, q.question_version_id, q.position,
              q.snapshot_json
       FROM session_questions AS q JOIN bench_day AS d ON d.old_id = q.session_id""",
    """INSERT INTO session_answers
           (id, session_id, question_id, selected_index, is_correct, answered_at)
       SELECT gen_random_uuid(), d.new_id, a.question_id, a.selected_index, a.is_correct,
              a.answered_at + interval '1 day'
       FROM session_answers AS a JOIN bench_day AS d ON d.old_id = a.session_id""",
]
COUNT_DAY = """SELECT count(*), count(DISTINCT s.user_id),
                      (SELECT count(*) FROM session_answers AS a
                       WHERE a.session_id IN (SELECT new_id FROM bench_day))
               FROM test_sessions AS s WHERE s.id IN (SELECT new_id FROM bench_day)"""
COLUMNS = (
    "user_id, theme_id, year, block_id, attempts_total, correct_total, accuracy_pct, "
    "mastery_score, last_attempt_at, algo_version_id, params_id, "
    "CAST(breakdown_json AS text) AS breakdown"
)
SAVE = [
    "DROP TABLE IF EXISTS bench_inc_rows",
    f"CREATE TABLE bench_inc_rows AS SELECT {COLUMNS} FROM user_theme_mastery",
]
EXCEPT = (
    f"SELECT (SELECT count(*) FROM (SELECT {COLUMNS} FROM user_theme_mastery"
    " EXCEPT ALL SELECT * FROM bench_inc_rows) AS x),"
    f" (SELECT count(*) FROM (SELECT * FROM bench_inc_rows"
    f" EXCEPT ALL SELECT {COLUMNS} FROM user_theme_mastery) AS y),"
    " (SELECT count(*) FROM user_theme_mastery)"
)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _mastery(url: str, *args: str) -> dict[str, Any]:
    """One ``mastery recompute --json`` in its own process: wall seconds and its summary."""
    command = [MASTERY, "recompute", "--json", "--trigger", "test", "--database-url", url, *args]
    load = _load()
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), "load_before": load, "load_after": _load(), **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--as-of", default="2026-11-25T00:00:00Z")
    parser.add_argument("--write-mode", default="auto", help="of the two full runs")
    args = parser.parse_args()
    mode = ("--write-mode", args.write_mode)
    url = args.database_url
    t0 = datetime.fromisoformat(args.as_of.replace("Z", "+00:00"))
    t1 = t0 + timedelta(days=1)
    libpq = parse_database_url(url).conninfo
    with psycopg.connect(libpq, autocommit=True) as conn:
        for sql in RESET:
            conn.execute(sql, {"t0": t0})
    baseline = _mastery(
        url, "--incremental", "--as-of", t0.isoformat(), "--allow-mass-change", *mode
    )
    with psycopg.connect(libpq, autocommit=True) as conn:
        for sql in ONE_DAY:
            conn.execute(sql, {"t0": t0})
        row = conn.execute(COUNT_DAY).fetchone() or (0, 0, 0)
        conn.execute("ANALYZE test_sessions")
    inserted = {"sessions": row[0], "users": row[1], "answers": row[2]}
    incremental = _mastery(url, "--incremental", "--as-of", t1.isoformat())
    with psycopg.connect(libpq, autocommit=True) as conn:
        for sql in SAVE:
            conn.execute(sql)
    full = _mastery(url, "--as-of", t1.isoformat(), *mode)
    with psycopg.connect(libpq, autocommit=True) as conn:
        only_full, only_incremental, rows = conn.execute(EXCEPT).fetchone() or (-1, -1, -1)
        conn.execute("DROP TABLE bench_inc_rows")
    result = {
        "as_of": [t0.isoformat(), t1.isoformat()],
        "inserted": inserted,
        "baseline": baseline,
        "incremental": incremental,
        "full": full,
        "ratio": round(incremental["wall_s"] / full["wall_s"], 3),
        "rows": rows,
        "rows_only_in_full": only_full,
        "rows_only_in_incremental": only_incremental,
    }
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()

"""Experiment (an issue-7 lever): ways to write a whole-cohort run's rows into the output table.

    python -m benchmarks.experiments.merge_strategies --database-url postgresql://…/cohort

On a Postgres database whose ``user_theme_mastery`` a recompute has filled, the stored rows are
staged as a run would stage them (every row changes: new run id and computed_at), then each
strategy runs in its own transaction, is timed, and is rolled back; ``VACUUM`` between
strategies so none inherits another's dead tuples. Strategies:

- ``on_conflict``: the pipeline's ``merge_mastery.sql`` (``INSERT … ON CONFLICT DO UPDATE``);
- ``truncate_reload``: new contents built in a temp table (ids kept by a join), ``TRUNCATE``,
  one sorted ``INSERT`` into the indexed table;
- ``truncate_reload_rebuild``: the same, with the non-constraint indexes dropped before the
  ``INSERT`` and rebuilt after, all inside the transaction;
- ``truncate_reload_rebuild_fks``: the same, with the foreign keys also dropped and added back
  after the ``INSERT`` (Postgres then checks each key once for the whole table instead of one
  trigger call per row).

Prints one JSON object. Informs the choice of a merge strategy; it does not guard a figure.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from pipeline.io.sqlfiles import statement
from pipeline.io.url import parse_database_url

STAGE_FROM_TABLE = """
INSERT INTO mastery_stage
SELECT user_id, theme_id, year, block_id, attempts_total, correct_total, accuracy_pct,
       mastery_score, last_attempt_at, CAST(breakdown_json AS text), false
FROM user_theme_mastery
"""
NEXT_CONTENTS = """
CREATE TEMP TABLE mastery_next ON COMMIT DROP AS
SELECT COALESCE(m.id, gen_random_uuid()) AS id, s.user_id,
       CASE WHEN s.stale THEN m.year ELSE s.year END AS year,
       CASE WHEN s.stale THEN m.block_id ELSE s.block_id END AS block_id,
       s.theme_id, s.attempts_total, s.correct_total, s.accuracy_pct, s.mastery_score,
       s.last_attempt_at, CAST(%(computed_at)s AS timestamptz) AS computed_at,
       CAST(%(algo_version_id)s AS uuid) AS algo_version_id,
       CAST(%(params_id)s AS uuid) AS params_id, CAST(%(run_id)s AS uuid) AS run_id,
       CAST(s.breakdown_json AS jsonb) AS breakdown_json
FROM mastery_stage AS s
LEFT JOIN user_theme_mastery AS m ON m.user_id = s.user_id AND m.theme_id = s.theme_id
"""
COLUMNS = (
    "id, user_id, year, block_id, theme_id, attempts_total, correct_total, accuracy_pct,"
    " mastery_score, last_attempt_at, computed_at, algo_version_id, params_id, run_id,"
    " breakdown_json"
)
FOREIGN_KEYS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'user_theme_mastery'::regclass AND contype = 'f'
"""
SECONDARY_INDEXES = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = 'user_theme_mastery'
  AND indexname NOT IN (
      SELECT conname FROM pg_constraint WHERE conrelid = 'user_theme_mastery'::regclass)
"""


STRATEGIES = (
    "on_conflict",
    "truncate_reload",
    "truncate_reload_rebuild",
    "truncate_reload_rebuild_fks",
)


def _timed(seconds: dict[str, float], name: str, conn: psycopg.Connection[Any], sql: str,
           params: dict[str, Any] | None = None) -> None:  # fmt: skip
    start = time.perf_counter()
    conn.execute(sql, params)
    seconds[name] = round(time.perf_counter() - start, 2)


def strategy(conn: psycopg.Connection[Any], name: str, run: dict[str, Any]) -> dict[str, float]:
    seconds: dict[str, float] = {}
    with conn.transaction(force_rollback=True):
        conn.execute(statement("postgres", "create_mastery_stage"))
        _timed(seconds, "stage", conn, STAGE_FROM_TABLE)
        start = time.perf_counter()
        if name == "on_conflict":
            _timed(seconds, "merge", conn, _pyformat(statement("postgres", "merge_mastery")), run)
        else:
            _timed(seconds, "next_contents", conn, NEXT_CONTENTS, run)
            indexes = conn.execute(SECONDARY_INDEXES).fetchall()
            keys = conn.execute(FOREIGN_KEYS).fetchall()
            if name.startswith("truncate_reload_rebuild"):
                for index_name, _ in indexes:
                    conn.execute(f'DROP INDEX "{index_name}"')
            if name == "truncate_reload_rebuild_fks":
                for key_name, _ in keys:
                    conn.execute(f'ALTER TABLE user_theme_mastery DROP CONSTRAINT "{key_name}"')
            _timed(seconds, "truncate", conn, "TRUNCATE user_theme_mastery")
            _timed(
                seconds,
                "insert",
                conn,
                f"INSERT INTO user_theme_mastery ({COLUMNS}) SELECT {COLUMNS} FROM mastery_next"
                " ORDER BY user_id, theme_id",
            )
            if name == "truncate_reload_rebuild_fks":
                _timed(
                    seconds,
                    "add_foreign_keys",
                    conn,
                    ";".join(
                        f'ALTER TABLE user_theme_mastery ADD CONSTRAINT "{n}" {d}' for n, d in keys
                    ),
                )
            if name.startswith("truncate_reload_rebuild"):
                _timed(seconds, "rebuild_indexes", conn, ";".join(d for _, d in indexes))
        seconds["write_total"] = round(time.perf_counter() - start, 2)
    return seconds


def _pyformat(sql: str) -> str:
    """``:name`` placeholders of the project's SQL files as psycopg's ``%(name)s``."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    uri = parse_database_url(args.database_url).libpq_uri
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        row = conn.execute(
            "SELECT CAST(run_id AS text), CAST(algo_version_id AS text), CAST(params_id AS text),"
            " count(*) OVER () FROM user_theme_mastery LIMIT 1"
        ).fetchone()
        assert row, "the output table is empty: run a recompute first"
        run = {
            "run_id": row[0],
            "algo_version_id": row[1],
            "params_id": row[2],
            "computed_at": datetime.now(UTC).isoformat(),
        }
        out: dict[str, Any] = {"rows": row[3], "rounds": []}
        for _ in range(args.repeat):
            measured = {}
            for name in STRATEGIES:
                conn.execute("VACUUM user_theme_mastery")
                measured[name] = strategy(conn, name, run)
                print(json.dumps({name: measured[name]}), flush=True)
            out["rounds"].append(measured)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

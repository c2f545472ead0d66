"""Peers of the pipeline on Postgres: the I/O floor and Mastery v0 as one SQL statement.

Both run against a database the pipeline has just recomputed, so every figure comes from the
same data in the same run. Used by ``benchmarks.bench_peers`` and by tests/test_sql_peer.py
(which holds the SQL peer's rows equal to the pipeline's: a third implementation agreeing).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from pipeline.contracts.params import Params
from pipeline.io.sqlfiles import statement
from pipeline.io.store import open_store
from pipeline.io.store.base import WHOLE, scope_params
from pipeline.io.url import parse_database_url

PEER_SQL = (Path(__file__).parent / "sql" / "mastery_v0_peer.sql").read_text("utf-8")
ROWS_SQL = """
SELECT CAST(user_id AS text), theme_id, year, block_id, attempts_total, correct_total,
       accuracy_pct, mastery_score, last_attempt_at, CAST(breakdown_json AS text)
FROM user_theme_mastery ORDER BY user_id, theme_id
"""


def _connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(parse_database_url(url).libpq_uri, autocommit=True)


def output_rows(url: str) -> list[tuple[Any, ...]]:
    """Every stored row, breakdown parsed with exact decimals (jsonb reorders keys)."""
    with _connect(url) as conn:
        rows = conn.execute(ROWS_SQL).fetchall()
    return [(*row[:-1], json.loads(row[-1], parse_float=Decimal)) for row in rows]


def run_sql_peer(url: str, as_of: datetime, params: Params) -> float:
    """Seconds for the one-statement peer, upserting into ``user_theme_mastery``."""
    weights = {f"w{b.days}": b.weight for b in params.recency_buckets}
    if set(weights) != {"w7", "w30", "w90"} or params.use_difficulty:
        raise ValueError("the SQL peer is written for the default 7/30/90 buckets only")
    with open_store(url) as store:
        active = store.active_params()
        run_id = str(uuid.uuid4())
        store.execute(
            "insert_run",
            {
                "id": run_id,
                "algo_version_id": active.algo_version_id,
                "params_id": active.params_id,
                "user_id": None,
                "trigger": "test",
                "input_summary_json": json.dumps({"peer": "sql"}),
                "started_at": as_of.isoformat(),
            },
        )
    values = {
        "as_of": as_of.isoformat(),
        "lookback_days": params.lookback_days,
        "min_attempts": params.min_attempts,
        "algo_version_id": active.algo_version_id,
        "params_id": active.params_id,
        "run_id": run_id,
        **weights,
    }
    with _connect(url) as conn:
        start = time.perf_counter()
        with conn.transaction():
            conn.execute(PEER_SQL, values)
        return time.perf_counter() - start


def io_floor(url: str, as_of: datetime, lookback_days: int) -> dict[str, float]:
    """The data movement no implementation avoids: attempts out, output rows in and merged.

    Run after a recompute: the stored rows are read back (untimed), COPYed into a fresh
    staging table and merged over themselves, which is what every run's load has to do.
    """
    with open_store(url) as store:
        extract = store.sql("extract_attempts")
        merge = store.sql("merge_mastery")
    window = {
        "window_start": (as_of - timedelta(days=lookback_days)).isoformat(),
        "as_of": as_of.isoformat(),
        **scope_params((), WHOLE),
    }
    seconds: dict[str, float] = {}
    with _connect(url) as conn:
        bound = psycopg.ClientCursor(conn).mogrify(extract, window)
        start = time.perf_counter()
        _drain(conn, f"COPY ({bound}) TO STDOUT (FORMAT binary)")
        seconds["copy_attempts_out"] = time.perf_counter() - start
        run = conn.execute(
            "SELECT CAST(run_id AS text), CAST(algo_version_id AS text), CAST(params_id AS text)"
            " FROM user_theme_mastery LIMIT 1"
        ).fetchone()
        with conn.transaction():
            conn.execute(statement("postgres", "create_mastery_stage"))
            rows = _drain(conn, STAGE_ROWS_SQL, keep=True)
            start = time.perf_counter()
            with (
                conn.cursor() as cursor,
                cursor.copy("COPY mastery_stage FROM STDIN (FORMAT binary)") as copy,
            ):
                copy.write(rows)
            seconds["copy_rows_in"] = time.perf_counter() - start
            start = time.perf_counter()
            if run:
                conn.execute(
                    merge,
                    {
                        "run_id": run[0],
                        "algo_version_id": run[1],
                        "params_id": run[2],
                        "computed_at": as_of.isoformat(),
                    },
                )
            seconds["merge_rows"] = time.perf_counter() - start
    seconds["floor"] = sum(seconds.values())
    return {k: round(v, 2) for k, v in seconds.items()}


STAGE_ROWS_SQL = (
    "COPY (SELECT user_id, theme_id, year, block_id, attempts_total, correct_total, "
    "accuracy_pct, mastery_score, last_attempt_at, CAST(breakdown_json AS text), false "
    "FROM user_theme_mastery) TO STDOUT (FORMAT binary)"
)


def _drain(conn: psycopg.Connection[Any], copy_statement: str, *, keep: bool = False) -> bytes:
    """Run a COPY ... TO STDOUT; its bytes are kept only when asked (else: to nowhere)."""
    buffer = bytearray()
    with conn.cursor() as cursor, cursor.copy(copy_statement) as copy:  # type: ignore[arg-type]
        for chunk in copy:
            if keep:
                buffer += chunk
    return bytes(buffer)

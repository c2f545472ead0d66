"""Reading rows back from a store in tests (through the project's own store connections)."""

from __future__ import annotations

import json

import polars as pl

from pipeline.io.store import open_store

MASTERY_QUERY = """
SELECT CAST(id AS text) AS id, CAST(user_id AS text) AS user_id, theme_id, year, block_id,
       attempts_total, correct_total, CAST(accuracy_pct AS text) AS accuracy_pct,
       CAST(mastery_score AS text) AS mastery_score, last_attempt_at, computed_at,
       CAST(run_id AS text) AS run_id, CAST(breakdown_json AS text) AS breakdown_json
FROM user_theme_mastery ORDER BY user_id, theme_id
"""
RUNS_QUERY = """
SELECT CAST(id AS text) AS id, status, trigger, CAST(user_id AS text) AS user_id, error_message,
       CAST(input_summary_json AS text) AS input_summary_json,
       CAST(output_summary_json AS text) AS output_summary_json
FROM algo_runs ORDER BY started_at
"""


def query(url: str, sql: str) -> pl.DataFrame:
    with open_store(url) as store:
        return store._fetch_frame(sql, None)


def mastery_rows(url: str) -> pl.DataFrame:
    return query(url, MASTERY_QUERY)


def mastery_by_key(url: str) -> dict[tuple[str, int], dict]:
    """Rows keyed by (user_id, theme_id); breakdown parsed (jsonb key order is its own)."""
    return {
        (row["user_id"], row["theme_id"]): {**row, "breakdown": json.loads(row["breakdown_json"])}
        for row in mastery_rows(url).iter_rows(named=True)
    }


def runs(url: str) -> pl.DataFrame:
    return query(url, RUNS_QUERY)


def execute(url: str, *statements: str) -> None:
    """Each statement on its own, in order, through one connection."""
    with open_store(url) as store:
        for sql in statements:
            store._run_script(sql)

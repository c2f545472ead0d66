"""Experiment (an issue-7 lever): the extract as one Postgres join against the tables pulled
separately through ADBC (uuids as 16-byte binary) and joined in Polars.

    python -m benchmarks.experiments.extract_separate_tables --users 10000

Generates the cohort in a fresh database, times both ways and checks they give as many rows.
Not part of ``make bench``: it informed the next step, it does not guard a figure.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

import adbc_driver_postgresql.dbapi as adbc
import polars as pl

from pipeline import init_database
from pipeline.io.store import open_store
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.harness import fresh_postgres_database

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
QUERIES = {
    "sessions": (
        "SELECT id AS session_id, user_id, submitted_at FROM test_sessions"
        " WHERE status IN ('SUBMITTED', 'EXPIRED')"
        " AND submitted_at BETWEEN CAST($1 AS timestamptz) AND CAST($2 AS timestamptz)"
    ),
    "answers": "SELECT session_id, question_id, is_correct, answered_at FROM session_answers",
    "links": (
        "SELECT session_id, question_id, question_version_id,"
        " CAST(snapshot_json AS text) AS snapshot_json FROM session_questions"
    ),
    "versions": (
        "SELECT id AS question_version_id, year, block_id, theme_id, difficulty"
        " FROM question_versions"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    start = AS_OF - timedelta(days=90)
    with fresh_postgres_database("mastery_experiment") as url:
        init_database(url)
        spec = CohortSpec(users=args.users, themes=60, days=90, seed=7, as_of=AS_OF)
        generate_cohort_into(url, spec)
        with open_store(url) as store:
            uri = store.url.libpq_uri
            began = time.perf_counter()
            joined_in_postgres = store.extract_raw_attempts(start, AS_OF, ())
            postgres_join = time.perf_counter() - began
        seconds: dict[str, float] = {}
        frames: dict[str, pl.DataFrame] = {}
        with adbc.connect(uri) as conn, conn.cursor() as cursor:
            for name, query in QUERIES.items():
                began = time.perf_counter()
                values = (start.isoformat(), AS_OF.isoformat()) if name == "sessions" else ()
                cursor.execute(query, parameters=values)
                frames[name] = pl.DataFrame(pl.from_arrow(cursor.fetch_arrow_table()))
                seconds[name] = round(time.perf_counter() - began, 2)
        began = time.perf_counter()
        joined = (
            frames["sessions"]
            .join(frames["answers"], on="session_id")
            .join(frames["links"], on=["session_id", "question_id"])
            .join(frames["versions"], on="question_version_id", how="left")
        )
        seconds["polars_join"] = round(time.perf_counter() - began, 2)
    print(
        json.dumps(
            {
                "rows_joined_in_postgres": joined_in_postgres.height,
                "rows_joined_in_polars": joined.height,
                "join_in_postgres_s": round(postgres_join, 2),
                "separate_s": seconds,
                "separate_total_s": round(sum(seconds.values()), 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""The benchmark cohorts (issue 7 sizes, 60 themes, 90 days, seed 7) in Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg

from pipeline import init_database
from pipeline.io.url import parse_database_url
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.harness import fresh_postgres_database

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)


def cohort_spec(users: int) -> CohortSpec:
    return CohortSpec(users=users, themes=60, days=90, seed=7, as_of=AS_OF)


@contextmanager
def postgres_cohort(users: int, url: str | None = None) -> Iterator[tuple[str, int]]:
    """``(url, attempts)``: a given database is reused as it is (a cohort generated with the
    same ``users``); otherwise a fresh database is generated and dropped afterwards."""
    if url:
        with psycopg.connect(parse_database_url(url).libpq_uri) as conn:
            counted = conn.execute("SELECT count(*) FROM session_answers").fetchone()
        yield url, int(counted[0]) if counted else 0
        return
    with fresh_postgres_database("mastery_bench") as fresh:
        init_database(fresh)
        yield fresh, generate_cohort_into(fresh, cohort_spec(users))["session_answers"]

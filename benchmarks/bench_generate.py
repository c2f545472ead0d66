"""``mastery generate`` into a fresh Postgres database, against the raw COPY floor.

    python -m benchmarks.bench_generate --users 10000     # ~2.9M attempts (cohort M)

Same run, same frames: (1) the real load into the indexed, constrained source tables that
``mastery init`` creates; (2) the floor: the same session_questions and session_answers frames
COPYed into unlogged tables with no index or constraint. The ratio is what index and
foreign-key upkeep costs; attempts/s is the headline.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from pipeline.api import init_database
from pipeline.io.store import open_store
from pipeline.tools.generate import CohortSpec, generate_cohort
from pipeline.tools.loading import generate_cohort_into
from tests.harness import fresh_postgres_database

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
BIG = ("session_questions", "session_answers")


def floor_seconds(url: str, spec: CohortSpec) -> float:
    """COPY the big frames into bare unlogged copies of their tables (no keys, no indexes)."""
    seconds = 0.0
    with open_store(url) as store:
        for table in BIG:
            store._run_script(
                f"CREATE UNLOGGED TABLE bare_{table} AS SELECT * FROM {table} WITH NO DATA"
            )
        for table, frame in generate_cohort(spec):
            if table in BIG:
                start = time.perf_counter()
                store.append_committed(f"bare_{table}", frame)
                seconds += time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--themes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    spec = CohortSpec(users=args.users, themes=args.themes, days=90, seed=args.seed, as_of=AS_OF)
    with fresh_postgres_database("mastery_bench") as url:
        init_database(url)
        start = time.perf_counter()
        loaded = generate_cohort_into(url, spec)
        generate = time.perf_counter() - start
        floor = floor_seconds(url, spec)
    attempts = loaded["session_answers"]
    print(
        json.dumps(
            {
                "users": args.users,
                "attempts": attempts,
                "session_questions": loaded["session_questions"],
                "generate_s": round(generate, 1),
                "attempts_per_s": round(attempts / generate),
                "raw_copy_floor_s": round(floor, 1),
                "generate_over_floor": round(generate / floor, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

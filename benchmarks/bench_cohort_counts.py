"""The whole cohort's v1 rate tables, as a partitioned v1 run makes and reads them.

    python -m benchmarks.bench_cohort_counts --attempts 30000000 --users 103000 --rounds 3

No database: the narrow rows (question, theme, instant, outcome) of the synthetic resolved
attempts of ``benchmarks.synthetic_attempts``, in ``--partitions`` partitions of users; each
round sums every partition's cells (a run does it as each is read), makes the tables (the only
step between a run's two passes) and looks up every answer's counts before its hour, one
partition at a time. Prints one JSON line: wall and CPU seconds of every round and of its
steps, their medians and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from benchmarks.synthetic_attempts import synthetic_attempts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=30_000_000)
    parser.add_argument("--users", type=int, default=103_000)
    parser.add_argument("--themes", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=20)
    args = parser.parse_args()

    import polars as pl

    from pipeline.kernel.cohort_counts import narrow
    from pipeline.kernel.rate_tables import cells, counts_before, rate_tables

    frame = synthetic_attempts(args.attempts, args.users, args.themes, args.seed)
    part = pl.col("user_id").hash() % args.partitions
    parts = [narrow(frame.filter(part == index)) for index in range(args.partitions)]
    del frame
    rounds, steps, loads = [], [], []
    for _ in range(args.rounds):
        started, cpu = time.perf_counter(), time.process_time()
        partials = [cells(rows) for rows in parts]
        summed = time.perf_counter()
        tables = rate_tables(partials)
        made = time.perf_counter()
        counted = sum(counts_before(rows, tables).height for rows in parts)
        rounds.append((time.perf_counter() - started, time.process_time() - cpu))
        steps.append(
            [
                round(summed - started, 2),
                round(made - summed, 2),
                round(time.perf_counter() - made, 2),
            ]
        )
        loads.append(os.getloadavg()[0])
    print(
        json.dumps(
            {
                "answers": sum(rows.height for rows in parts),
                "counted": counted,
                "cells_tables_lookups_s": steps,
                "rounds": [[round(w, 2), round(c, 2)] for w, c in rounds],
                "median_wall_s": round(statistics.median(w for w, _ in rounds), 2),
                "median_cpu_s": round(statistics.median(c for _, c in rounds), 2),
                "load_average_1min": [round(x, 2) for x in loads],
            }
        )
    )


if __name__ == "__main__":
    main()

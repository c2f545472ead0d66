"""The whole cohort's counts of earlier answers, as a partitioned v1 run makes them once.

    python -m benchmarks.bench_cohort_counts --attempts 30000000 --users 103000 --rounds 3

No database: the narrow rows (question, theme, instant, outcome) of the synthetic resolved
attempts of ``benchmarks.synthetic_attempts``, counted by ``own_counts`` (every answer's
answers and right answers of the cohort before it: overall, of its theme, of its question),
the count at the end of a partitioned v1 run's first pass. Prints one JSON line: wall and CPU
seconds of every round, their medians and the load average.
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
    args = parser.parse_args()

    from pipeline.kernel.cohort_counts import narrow, own_counts

    rows = narrow(synthetic_attempts(args.attempts, args.users, args.themes, args.seed))
    rounds, loads = [], []
    for _ in range(args.rounds):
        started, cpu = time.perf_counter(), time.process_time()
        counted = own_counts(rows)
        rounds.append((time.perf_counter() - started, time.process_time() - cpu))
        loads.append(os.getloadavg()[0])
    print(
        json.dumps(
            {
                "answers": rows.height,
                "counted": counted.height,
                "rounds": [[round(w, 2), round(c, 2)] for w, c in rounds],
                "median_wall_s": round(statistics.median(w for w, _ in rounds), 2),
                "median_cpu_s": round(statistics.median(c for _, c in rounds), 2),
                "load_average_1min": [round(x, 2) for x in loads],
            }
        )
    )


if __name__ == "__main__":
    main()

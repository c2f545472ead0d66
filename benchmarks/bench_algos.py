"""A whole-cohort recompute with v1 against the same with v0, alternated (issue 16).

    python -m benchmarks.bench_algos --database-url postgresql://…/bench_m --rounds 5
    python -m benchmarks.bench_algos --database-url postgresql://…/bench_l --partitions 20

Each ``mastery recompute --dry-run --algo v0|v1`` runs in its own process against a generated
cohort (``mastery generate … --seed 7 --as-of 2026-11-25T00:00:00Z``), v0 first in odd rounds
and v1 first in even ones, so a shared machine's load hits both alike. Per run: wall, the
process's CPU, the whole machine's busy CPU (Postgres's reads included), stage seconds and
peak RSS. ``--partitions`` as the run takes it (default: the run's own choice). Prints one
JSON object: the runs, each round's v1 ÷ v0 and the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any

from benchmarks.bench_engines import recompute

MEASURES = ("wall_s", "cpu_s", "machine_busy_cpu_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a generated cohort")
    parser.add_argument("--partitions", type=int, help="default: the run's own choice")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    options = ("--dry-run", *(("--partitions", str(args.partitions)) if args.partitions else ()))
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        order = ("v0", "v1") if number % 2 == 0 else ("v1", "v0")
        runs = {algo: recompute(args.database_url, *options, "--algo", algo) for algo in order}
        runs["v1_over_v0"] = {m: round(runs["v1"][m] / runs["v0"][m], 3) for m in MEASURES}
        rounds.append(runs)
        print(json.dumps(runs), file=sys.stderr, flush=True)
    medians = {
        algo: {m: round(statistics.median(r[algo][m] for r in rounds), 2) for m in MEASURES}
        for algo in ("v0", "v1")
    }
    out = {
        "partitions": args.partitions,
        "rounds": rounds,
        "median": medians,
        "v1_over_v0_of_medians": {
            m: round(medians["v1"][m] / medians["v0"][m], 3) for m in MEASURES
        },
        "v1_over_v0_per_round": {m: sorted(r["v1_over_v0"][m] for r in rounds) for m in MEASURES},
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Kernel time of a whole-cohort recompute: v0's ``compute_cohort`` against v1's, alternating.

    python -m benchmarks.bench_v1 --attempts 3000000 --users 10000 --themes 60 --rounds 3

No database: the synthetic resolved attempts of ``benchmarks.synthetic_attempts`` (one answer
per (session, question), as the source contract has it) go to both kernels in one process,
v0, v1, v0, v1 … so the load of a shared machine hits both alike. Prints one JSON line: wall
and CPU seconds of every round, the medians, their ratio and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from benchmarks.synthetic_attempts import AS_OF, synthetic_attempts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--themes", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from pipeline.contracts.params import default_params
    from pipeline.contracts.params_v1 import default_params_v1
    from pipeline.kernel import compute_cohort
    from pipeline.kernel.v1_rows import compute_cohort_v1

    frame = synthetic_attempts(args.attempts, args.users, args.themes, args.seed)
    frame = frame.unique(["session_id", "question_id"], keep="first", maintain_order=True)

    def v0() -> int:
        return compute_cohort(frame.lazy(), default_params(), AS_OF).rows.height

    def v1() -> int:
        return compute_cohort_v1(frame, default_params_v1(), AS_OF).height

    kernels = {"v0": v0, "v1": v1}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in kernels}
    rows: dict[str, int] = {}
    loads = []
    for _ in range(args.rounds):
        for name, kernel in kernels.items():
            started, cpu = time.perf_counter(), time.process_time()
            rows[name] = kernel()
            times[name].append((time.perf_counter() - started, time.process_time() - cpu))
            loads.append(os.getloadavg()[0])
    medians = {
        name: {
            "wall_s": round(statistics.median(w for w, _ in runs), 2),
            "cpu_s": round(statistics.median(c for _, c in runs), 2),
        }
        for name, runs in times.items()
    }
    print(
        json.dumps(
            {
                "attempts": frame.height,
                "rows": rows,
                "rounds": {n: [[round(w, 2), round(c, 2)] for w, c in r] for n, r in times.items()},
                "median": medians,
                "v1_over_v0_wall": round(medians["v1"]["wall_s"] / medians["v0"]["wall_s"], 2),
                "v1_over_v0_cpu": round(medians["v1"]["cpu_s"] / medians["v0"]["cpu_s"], 2),
                "load_average_1min": [round(x, 2) for x in loads],
            }
        )
    )


if __name__ == "__main__":
    main()

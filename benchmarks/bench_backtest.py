"""Backtest time (replay of v0, v1 and the baselines, then the metrics) on synthetic attempts.

    python -m benchmarks.bench_backtest --attempts 3000000 --users 10000 --themes 60

No database: the synthetic resolved attempts of ``benchmarks.synthetic_attempts`` (90 days,
30 questions per session) go straight to ``pipeline.run.backtest.backtest_frame``; the period
covers every attempt (a shorter ``--period-days`` leaves history before it). Prints one JSON
line: wall and CPU seconds (all threads; this machine has 2 cores, often shared), the load
average, peak RSS and each model's AUC (about 0.5 on random answers: the point is time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import timedelta

from benchmarks.synthetic_attempts import AS_OF, synthetic_attempts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--themes", type=int, default=60)
    parser.add_argument("--period-days", type=int, default=91)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from pipeline.contracts.params import default_params
    from pipeline.contracts.params_v1 import default_params_v1
    from pipeline.kernel.replay import Period
    from pipeline.run.backtest import Model, backtest_frame

    frame = synthetic_attempts(args.attempts, args.users, args.themes, args.seed)
    period = Period(AS_OF - timedelta(days=args.period_days), AS_OF + timedelta(microseconds=1))
    models = [Model("v0", "v0", default_params()), Model("v1", "v1", default_params_v1())]
    started, cpu = time.perf_counter(), time.process_time()
    result = backtest_frame(frame, period, models)
    total, total_cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "attempts_in_frame": frame.height,
                "attempts_scored_period": result.attempts,
                "users": args.users,
                "themes": args.themes,
                "backtest_s": round(total, 2),
                "backtest_cpu_s": round(total_cpu, 2),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "stages_s": {k: round(v, 2) for k, v in result.seconds.items()},
                "peak_rss_mb": round(peak_mb),
                "auc": {m.name: m.metrics.auc for m in result.models},
            }
        )
    )


if __name__ == "__main__":
    main()

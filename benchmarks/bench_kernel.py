"""Kernel throughput and peak memory on synthetic resolved attempts (no database).

    python -m benchmarks.bench_kernel --attempts 30000000 --users 100000 --themes 60

The input is written to Parquet, then a fresh process loads it and runs the kernel, so the
peak RSS it reports belongs to the kernel run alone. The baseline, timed in the same process
on the same frame, is the cheapest pass a data team could write: one group-by counting rows
per (user, theme). Ratios against it survive a noisy shared machine better than seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from benchmarks.synthetic_attempts import AS_OF, synthetic_attempts


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(path: str, use_difficulty: bool) -> dict[str, float]:
    """Runs in its own process: load, baseline, kernel; report seconds and memory."""
    from pipeline.kernel import compute_cohort
    from pipeline.params import Params

    frame = pl.read_parquet(path)
    input_mb = frame.estimated_size() / 2**20
    rss_loaded = _rss_mb()
    start = time.perf_counter()
    frame.lazy().group_by("user_id", "theme_id").agg(pl.len()).collect(engine="in-memory")
    baseline = time.perf_counter() - start
    params = Params.from_mapping({"use_difficulty": use_difficulty})
    start = time.perf_counter()
    result = compute_cohort(frame.lazy(), params, AS_OF)
    kernel = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "attempts": frame.height,
        "rows_out": result.rows.height,
        "input_mb": round(input_mb, 1),
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "baseline_s": round(baseline, 3),
        "kernel_s": round(kernel, 3),
        "attempts_per_s": round(frame.height / kernel),
        "kernel_over_baseline": round(kernel / baseline, 2),
        "peak_over_input": round(peak_mb / input_mb, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--themes", type=int, default=60)
    parser.add_argument("--use-difficulty", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.use_difficulty)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attempts.parquet"
        synthetic_attempts(args.attempts, args.users, args.themes).write_parquet(path)
        command = [sys.executable, "-m", "benchmarks.bench_kernel", "--child", str(path)]
        if args.use_difficulty:
            command.append("--use-difficulty")
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    print(json.dumps(json.loads(out), indent=2))


if __name__ == "__main__":
    main()

"""Kernel throughput and peak memory on synthetic resolved attempts (no database).

    python -m benchmarks.bench_kernel --attempts 30000000 --users 100000 --themes 60 [--stages]

The input is written to Parquet, then a fresh process loads it and runs the kernel, so the
peak RSS it reports belongs to the kernel run alone. The baseline, timed in another fresh
process on the same file, is the cheapest pass a data team could write: one group-by counting
rows per (user, theme). Ratios against it survive a noisy
shared machine better than seconds, and so does CPU time (``*_cpu_s``: user + system seconds
of the process, all threads).

``--stages`` then runs the kernel's steps one by one in another fresh process, each collected
on its own, and prints wall and CPU seconds per step.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import polars as pl

from benchmarks.synthetic_attempts import AS_OF, synthetic_attempts

T = TypeVar("T")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(path: str, use_difficulty: bool) -> dict[str, float]:
    """Runs in its own process: load, kernel; report seconds and memory."""
    from pipeline.contracts.params import Params
    from pipeline.kernel import compute_cohort

    frame = pl.read_parquet(path)
    input_mb = frame.estimated_size() / 2**20
    rss_loaded = _rss_mb()
    params = Params.from_mapping({"use_difficulty": use_difficulty})
    start, cpu = time.perf_counter(), time.process_time()
    result = compute_cohort(frame.lazy(), params, AS_OF)
    kernel, kernel_cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "attempts": frame.height,
        "rows_out": result.rows.height,
        "input_mb": round(input_mb, 1),
        "rss_after_load_mb": round(rss_loaded, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "kernel_s": round(kernel, 3),
        "kernel_cpu_s": round(kernel_cpu, 3),
        "attempts_per_s": round(frame.height / kernel),
        "peak_over_input": round(peak_mb / input_mb, 2),
    }


def baseline_child(path: str) -> dict[str, float]:
    """Runs in its own process too: after a kernel run, the same group-by took twice as long."""
    frame = pl.read_parquet(path)
    start, cpu = time.perf_counter(), time.process_time()
    frame.lazy().group_by("user_id", "theme_id").agg(pl.len()).collect(engine="in-memory")
    return {
        "baseline_s": round(time.perf_counter() - start, 3),
        "baseline_cpu_s": round(time.process_time() - cpu, 3),
    }


def stages(path: str, use_difficulty: bool) -> dict[str, list[float]]:
    """The kernel's steps (as in ``compute_cohort``) one at a time: [wall s, CPU s] each."""
    from pipeline.contracts.params import Params
    from pipeline.kernel import aggregates, cohort, window

    frame = pl.read_parquet(path)
    params = Params.from_mapping({"use_difficulty": use_difficulty})
    timings: dict[str, list[float]] = {}

    def timed(label: str, step: Callable[[], T]) -> T:
        start, cpu = time.perf_counter(), time.process_time()
        value = step()
        timings[label] = [
            round(time.perf_counter() - start, 2),
            round(time.process_time() - cpu, 2),
        ]
        return value

    timed(
        "baseline group-by count",
        lambda: frame.lazy().group_by("user_id", "theme_id").agg(pl.len()).collect(),
    )
    in_window = window.attempts_in_window(window.typed_attempts(frame.lazy()), params, AS_OF)
    kept = timed("kept attempts", lambda: window.kept_attempts(in_window, AS_OF).collect())
    timed(
        "attempt quality counts",
        lambda: window.attempt_quality_counts(in_window, params, AS_OF).collect(),
    )
    timed("theme/block pairs", lambda: window.theme_blocks(kept.lazy()).collect())
    groups = timed(
        "theme aggregates (group-by, identity)",
        lambda: aggregates.theme_aggregates(kept.lazy(), params, AS_OF).collect(),
    )
    tagged = timed(
        "known tags, row counts",
        lambda: aggregates.with_known_tags(groups.lazy(), None, None).collect(),
    )
    timed("row quality counts", lambda: aggregates.row_quality_counts(tagged))
    identified = aggregates.identified_rows(tagged.lazy()).collect()
    timed(
        "scores, decimals, breakdown, sort",
        lambda: cohort.mastery_rows(identified.lazy(), params).collect(),
    )
    return timings


def _json_of(command: list[str]) -> dict[str, float]:
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--themes", type=int, default=60)
    parser.add_argument("--use-difficulty", action="store_true")
    parser.add_argument("--stages", action="store_true", help="also time the kernel's steps")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--stages-child", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.use_difficulty)))
        return
    if args.baseline_child:
        print(json.dumps(baseline_child(args.baseline_child)))
        return
    if args.stages_child:
        print(json.dumps(stages(args.stages_child, args.use_difficulty)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attempts.parquet"
        synthetic_attempts(args.attempts, args.users, args.themes).write_parquet(path)
        flags = ["--use-difficulty"] if args.use_difficulty else []
        command = [sys.executable, "-m", "benchmarks.bench_kernel", *flags, "--child", str(path)]
        result = _json_of(command)
        command[-2] = "--baseline-child"
        result |= _json_of(command)
        result["kernel_over_baseline"] = round(result["kernel_s"] / result["baseline_s"], 2)
        result["kernel_over_baseline_cpu"] = round(
            result["kernel_cpu_s"] / result["baseline_cpu_s"], 2
        )
        print(json.dumps(result, indent=2))
        if args.stages:
            command[-2] = "--stages-child"
            print(json.dumps(_json_of(command), indent=2))


if __name__ == "__main__":
    main()

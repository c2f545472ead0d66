"""Frame-generation throughput of ``pipeline.tools.generate`` (no database involved).

    python -m benchmarks.bench_generate_frames --users 10000      # ~3M attempts
    python -m benchmarks.bench_generate_frames --users 100000     # ~30M attempts

Prints rows per table, seconds, attempts (``session_answers`` rows) per second and the peak
resident memory. Frames are generated and dropped, as a loader would after sending each one.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

from pipeline.tools.generate import CohortSpec, estimate_rows, generate_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--themes", type=int, default=60)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-rows", type=int, default=2_000_000)
    parser.add_argument("--clean", action="store_true", help="dirty=False (no defects)")
    args = parser.parse_args()
    spec = CohortSpec(
        users=args.users,
        themes=args.themes,
        days=args.days,
        seed=args.seed,
        as_of=datetime(2026, 11, 25, tzinfo=UTC),
        dirty=not args.clean,
    )

    started = time.perf_counter()
    expected = estimate_rows(spec)
    estimate_seconds = time.perf_counter() - started

    rows: dict[str, int] = {}
    frames = 0
    started = time.perf_counter()
    for table, frame in generate_cohort(spec, chunk_rows=args.chunk_rows):
        rows[table] = rows.get(table, 0) + frame.height
        frames += 1
        del frame
    seconds = time.perf_counter() - started
    assert rows == expected, (rows, expected)

    attempts = rows["session_answers"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for table, count in rows.items():
        print(f"{table:>18}: {count:>12,}")
    print(f"estimate_rows: {estimate_seconds:.2f} s")
    print(
        f"generated {frames} frames in {seconds:.2f} s: {attempts / seconds:,.0f} attempts/s, "
        f"{sum(rows.values()) / seconds:,.0f} rows/s; peak RSS {peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()

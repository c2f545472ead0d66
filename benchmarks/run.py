"""``make bench``: every benchmark at the chosen cohort sizes, one JSON line per measurement.

    python -m benchmarks.run --sizes S,M        # make bench
    python -m benchmarks.run --sizes S,M,L      # make bench-large (L: ~30M attempts, ~1 h)

Sizes follow the issue tracker: S = 1k students, M = 10k, L = 100k (60 themes, 90 days).
Copy the figures into benchmarks/RESULTS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

SIZES = {"S": 1_000, "M": 10_000, "L": 100_000}
ATTEMPTS_PER_USER = 300


def run(module: str, *args: str) -> None:
    print(f"$ python -m {module} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", module, *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="S,M", help="comma-separated of S, M, L")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        users = SIZES[size.strip().upper()]
        attempts = users * ATTEMPTS_PER_USER
        run("benchmarks.bench_kernel", "--attempts", str(attempts), "--users", str(users))
        run("benchmarks.bench_generate", "--users", str(users))
        sample = users if size.strip().upper() == "S" else 300
        run("benchmarks.bench_peers", "--users", str(users), "--sample", str(sample))
        buckets = "10" if size.strip().upper() == "L" else "4"
        run(
            "benchmarks.bench_engines",
            "--users",
            str(users),
            "--partitions",
            buckets,
            "--buckets",
            buckets,
        )


if __name__ == "__main__":
    main()

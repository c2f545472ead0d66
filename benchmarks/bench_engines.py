"""One cohort recomputed three ways: in one pass, in hash partitions, and on Spark (issue 8).

    python -m benchmarks.bench_engines --users 10000                 # M (~3M attempts)
    python -m benchmarks.bench_engines --users 100000 --partitions 10 --buckets 10   # L

In a fresh Postgres database (or ``--database-url`` of a generated one): generate the cohort,
one warm-up run (so every measured run updates rows, as nightly runs do), then each of
``mastery recompute`` (plain), ``--partitions P`` and ``--engine spark --partitions B
--spark-master local[2]``, each in its own process, each ``--repeat`` times in turn. For each:
wall seconds, stage seconds, the driver's peak RSS (the ``mastery`` process alone) and the
peak RSS of its whole process tree (Spark's JVM and Python workers included), sampled every
0.2 s. Prints one JSON object; the ratios are against the first variant of the same round.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.cohort import AS_OF, postgres_cohort

MASTERY = str(Path(sys.executable).parent / "mastery")


class PeakRss:
    """Peak resident memory of one process and of its whole tree, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.driver = 0
        self.tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                driver = self.root.memory_info().rss
                tree = driver + sum(_rss(child) for child in self.root.children(recursive=True))
            except psutil.Error:
                break
            self.driver = max(self.driver, driver)
            self.tree = max(self.tree, tree)
            self._stop.wait(0.2)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def _children_cpu() -> float:
    """User and system CPU seconds of this process's waited-for children (the ``mastery``
    process; Spark's JVM and workers are its children, counted when they are waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _busy_cpu() -> float:
    """CPU seconds the whole machine was busy (every core, every process: Postgres too)."""
    times = psutil.cpu_times()._asdict()
    busy = ("user", "nice", "system", "irq", "softirq")
    return float(sum(times[name] for name in busy if name in times))


def recompute(url: str, *options: str) -> dict[str, Any]:
    command = [MASTERY, "recompute", "--json", "--trigger", "test", "--as-of", AS_OF.isoformat()]
    start, busy, cpu = time.perf_counter(), _busy_cpu(), _children_cpu()
    child = subprocess.Popen(
        [*command, *options, "--database-url", url], stdout=subprocess.PIPE, text=True
    )
    peak = PeakRss(child.pid)
    stdout, _ = child.communicate()
    peak.stop()
    wall = time.perf_counter() - start
    cpu, busy = _children_cpu() - cpu, _busy_cpu() - busy
    if child.returncode:
        raise SystemExit(f"recompute {' '.join(options)} failed with {child.returncode}")
    summary = json.loads(stdout)
    return {
        "options": " ".join(options) or "(plain)",
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "machine_busy_cpu_s": round(busy, 2),
        "stage_seconds": summary["stage_seconds"],
        "rows": summary["records_upserted"],
        "driver_peak_rss_mb": round(peak.driver / 2**20),
        "tree_peak_rss_mb": round(peak.tree / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--buckets", type=int, default=4, help="Spark user buckets")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database-url", help="a generated cohort to reuse (not dropped)")
    parser.add_argument("--variants", default="plain,partitioned,spark_local")
    parser.add_argument("--no-warm-up", action="store_true", help="the output table is full")
    args = parser.parse_args()
    variants = {
        "plain": (),
        "partitioned": ("--partitions", str(args.partitions)),
        "spark_local": (
            *("--engine", "spark", "--spark-master", "local[2]"),
            *("--partitions", str(args.buckets)),
        ),
    }
    variants = {name: variants[name] for name in args.variants.split(",")}
    out: dict[str, Any] = {"users": args.users, "machine": "python-svc, 2 cores, 24 GiB"}
    with postgres_cohort(args.users, args.database_url) as (url, attempts):
        out["attempts"] = attempts
        if not args.no_warm_up:
            out["warm_up"] = recompute(url, *next(iter(variants.values())))
        out["rounds"] = []
        for _ in range(args.repeat):
            measured = {name: recompute(url, *options) for name, options in variants.items()}
            first = next(iter(variants))
            measured[f"wall_over_{first}"] = {
                name: round(measured[name]["wall_s"] / measured[first]["wall_s"], 2)
                for name in variants
            }
            out["rounds"].append(measured)
            print(json.dumps(measured), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""``python -m benchmarks.bench_algos`` (issue 16's v1 ÷ v0 target): it runs both algorithms in
turn, each round in the other order, and its ratios and medians are those of its own runs."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.cohort import AS_OF, cohort_spec
from pipeline import RunOptions, RunSpec, init_database, recompute
from pipeline.tools.loading import generate_cohort_into

ROOT = Path(__file__).resolve().parents[1]
MEASURES = ("wall_s", "cpu_s", "machine_busy_cpu_s")
DRY = RunOptions(dry_run=True, trigger="test")


def test_bench_algos_alternates_the_algorithms_and_reports_their_ratios(pg_url: str) -> None:
    init_database(pg_url)
    generate_cohort_into(pg_url, cohort_spec(20))
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_algos", "--database-url", pg_url, "--rounds", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(done.stdout)
    rows = {
        algo: recompute(pg_url, RunSpec(as_of=AS_OF, algorithm=algo), DRY).records_upserted
        for algo in ("v0", "v1")
    }
    assert min(rows.values()) > 0
    rounds = out["rounds"]
    assert [list(r)[:2] for r in rounds] == [["v0", "v1"], ["v1", "v0"], ["v0", "v1"]]
    for r in rounds:
        assert r["v0"]["options"] == "--dry-run --algo v0"
        assert r["v1"]["options"] == "--dry-run --algo v1"
        assert {algo: r[algo]["rows"] for algo in ("v0", "v1")} == rows
        assert all(r[algo][m] > 0 for algo in ("v0", "v1") for m in ("wall_s", "cpu_s"))
        for m in MEASURES:
            assert abs(r["v1_over_v0"][m] - r["v1"][m] / r["v0"][m]) < 1e-3
    for algo in ("v0", "v1"):
        for m in MEASURES:
            median = statistics.median(r[algo][m] for r in rounds)
            assert abs(out["median"][algo][m] - median) < 0.01
    assert out["v1_over_v0_per_round"]["wall_s"] == sorted(
        r["v1_over_v0"]["wall_s"] for r in rounds
    )

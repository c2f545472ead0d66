"""Per-student recompute latency: call to committed row, in a warm process (issue 17).

    python -m benchmarks.bench_fresh --database-url postgresql://postgres@127.0.0.1:5432/bench_m \
        --as-of 2026-11-25T00:00:00Z --calls 200 --max-users 5 --seed 7

Holds one :class:`FreshRecomputer` and makes ``--calls`` calls, each over 1..``--max-users``
random users who have a session in the window before ``--as-of`` (default now); each call is
one logged run (``algo_runs`` row, trigger ``api``) that upserts their ``user_theme_mastery``
rows as of ``--as-of`` plus the wall time since the benchmark started, so no call is older
than an earlier one, and a cohort generated ``--as-of`` an instant is measured in its own
window (as of now, most of its users would have no recent answer: the mass-change guard
refuses). ``newer_rows_kept`` counts rows left alone because an earlier benchmark wrote them
as of a later instant: start a repeat at a later ``--as-of``. Source tables are only
read. Prints median, p90, p99 and max of the wall time per call, and the median seconds of
each stage (``prepare``: params/lookups staleness check, then under the scope lock the users'
check and their stored keys in one query; ``ledger``: abandon check and the RUNNING row, one
commit; ``extract``, of it ``extract.read`` (the query and its frame) and ``extract.resolve``
(frozen tags); ``validate_input``; ``compute``; ``validate_output``; ``load``: copy into
the connection's stage table and merge) and the median of what no stage covers
(``unstaged``: the scope locks, the SUCCESS update, the commit, the summary). Prints the
1-minute load average before and after: the
machine is shared, and wall times move with it. ``--warmup`` calls are not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from pipeline.cli.common import parse_as_of
from pipeline.contracts.scope import utc
from pipeline.run.fresh import FreshRecomputer


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--max-users", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=parse_as_of, default=None, help="ISO instant (default now)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    load_before = os.getloadavg()[0]
    with FreshRecomputer(args.database_url, trigger="api", wait=True) as fresh:
        began_at = utc(args.as_of) if args.as_of else datetime.now(UTC)
        began = time.perf_counter()
        since = began_at - timedelta(days=fresh.params.lookback_days - 1)
        found = fresh.store.fetch_frame(
            "fresh_select_users_with_sessions",
            {"since": since.isoformat(), "until": began_at.isoformat()},
        )
        users = found["user_id"].to_list()
        if not users:
            raise SystemExit(f"no users with sessions in the window before {began_at.isoformat()}")
        newer_kept = 0
        walls: list[float] = []
        unstaged: list[float] = []
        stages: dict[str, list[float]] = {}
        for call in range(args.warmup + args.calls):
            chosen = rng.sample(users, rng.randint(1, min(args.max_users, len(users))))
            start = time.perf_counter()
            as_of = began_at + timedelta(seconds=start - began)
            summary = fresh.recompute(chosen, as_of=as_of)
            wall = time.perf_counter() - start
            if call < args.warmup:
                continue
            newer_kept += summary.data_quality.get("newer_rows_kept", 0)
            walls.append(wall)
            staged = (s for name, s in summary.stage_seconds.items() if "." not in name)
            unstaged.append(wall - sum(staged))  # "extract.read" is inside "extract"
            for name, seconds in summary.stage_seconds.items():
                stages.setdefault(name, []).append(seconds)
    ms = [w * 1000 for w in walls]
    result = {
        "calls": len(walls),
        "as_of_start": began_at.isoformat(),
        "max_users": args.max_users,
        "missing_indexes": list(fresh.missing_indexes),
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(_percentile(ms, 0.90), 2),
        "p99_ms": round(_percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
        "stage_median_ms": {k: round(statistics.median(v) * 1000, 2) for k, v in stages.items()},
        "unstaged_median_ms": round(statistics.median(unstaged) * 1000, 2),
        "stage_p99_ms": {k: round(_percentile(v, 0.99) * 1000, 2) for k, v in stages.items()},
        "newer_rows_kept": newer_kept,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

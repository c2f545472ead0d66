"""The pipeline against its floor and its peers, one cohort, one run (issue 7).

    python -m benchmarks.bench_peers --users 1000      # S (~0.3M attempts)
    python -m benchmarks.bench_peers --users 10000     # M (~3M attempts)

In a fresh Postgres database: generate the cohort, then (1) ``mastery recompute`` in its own
process (wall seconds, stage seconds, peak RSS), (2) the I/O floor (attempts COPYed out to
nowhere, the output rows COPYed into a staging table and merged), (3) the same Mastery v0 as one
SQL statement inside Postgres, (4) the same recompute a second time (rows already there, so the
merge updates every row, as nightly runs do), (5) the per-user ORM peer over ``--sample``
users (all of S; a sample of M), and (6) the same cohort end to end on a DuckDB file.
Prints one JSON object with every figure and the ratios.
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
from typing import Any

from benchmarks.cohort import AS_OF, cohort_spec, postgres_cohort
from benchmarks.peers import io_floor, run_sql_peer
from benchmarks.per_user_peer import run_per_user_peer
from pipeline import default_params, init_database
from pipeline.io.store import open_store
from pipeline.io.store.base import WHOLE, scope_params
from pipeline.tools.loading import generate_cohort_into


def timed_recompute(url: str, partitions: int) -> dict[str, Any]:
    """``mastery recompute --json`` in a child process: wall seconds, stages, peak RSS."""
    command = [
        str(Path(sys.executable).parent / "mastery"), "recompute", "--json", "--trigger", "test",
        "--as-of", AS_OF.isoformat(), "--partitions", str(partitions), "--database-url", url,
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    summary = json.loads(done.stdout)
    return {
        "wall_s": round(wall, 2),
        "stages_total_s": round(sum(summary["stage_seconds"].values()), 2),
        "stage_seconds": summary["stage_seconds"],
        "rows": summary["records_upserted"],
        "peak_rss_mb_so_far": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def per_user(url: str, sample: int) -> dict[str, Any]:
    """The per-user ORM peer over the first ``sample`` users with rows (all of them on S)."""
    with open_store(url) as store:
        active = store.active_params()
        themes = set(store.fetch_frame("select_themes")["id"].to_list())
        blocks = set(store.fetch_frame("select_blocks")["id"].to_list())
        keys = store.fetch_frame("select_scope_keys", scope_params((), WHOLE))
        run_id = store.fetch_frame("select_recent_runs", {"limit": 1})["id"][0]
    users = sorted(set(keys["user_id"].to_list()))
    chosen = users[:sample]
    run = {
        "run_id": run_id,
        "algo_version_id": active.algo_version_id,
        "params_id": active.params_id,
    }
    seconds = run_per_user_peer(url, chosen, AS_OF, run, (themes, blocks))
    return {
        "users_scored_in_cohort": len(users),
        "users_run": len(chosen),
        "seconds": round(seconds, 2),
        "seconds_per_user": round(seconds / max(len(chosen), 1), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--sample", type=int, default=1_000, help="users for the per-user peer")
    parser.add_argument("--database-url", help="a cohort generated with this --users, reused")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB end to end")
    parser.add_argument(
        "--per-user-only",
        action="store_true",
        help="only the per-user ORM peer, on the --database-url cohort as it is",
    )
    args = parser.parse_args()
    if args.per_user_only:
        if not args.database_url:
            parser.error("--per-user-only needs --database-url")
        print(json.dumps(per_user(args.database_url, args.sample), indent=2))
        return
    out: dict[str, Any] = {"users": args.users, "partitions": args.partitions}
    with postgres_cohort(args.users, args.database_url) as (url, attempts):
        out["attempts"] = attempts
        out["pipeline_first_run"] = timed_recompute(url, args.partitions)
        out["io_floor"] = io_floor(url, AS_OF, 90)
        out["sql_peer_s"] = round(run_sql_peer(url, AS_OF, default_params()), 2)
        out["pipeline_rerun"] = timed_recompute(url, args.partitions)
        out["per_user_peer"] = per_user(url, args.sample)
    if not args.no_duckdb:
        with tempfile.TemporaryDirectory() as tmp:
            duck = f"duckdb:///{tmp}/bench.duckdb"
            init_database(duck)
            generate_cohort_into(duck, cohort_spec(args.users))
            out["duckdb_run"] = timed_recompute(duck, args.partitions)
    rerun = out["pipeline_rerun"]["stages_total_s"]
    users = out["per_user_peer"]["users_scored_in_cohort"]
    out["ratios"] = {
        "pipeline_rerun_over_io_floor": round(rerun / out["io_floor"]["floor"], 2),
        "sql_peer_over_pipeline_rerun": round(out["sql_peer_s"] / rerun, 2),
        "per_user_peer_s_per_user_over_pipeline": round(
            out["per_user_peer"]["seconds_per_user"] / (rerun / users), 1
        ),
        "attempts_per_s_rerun": round(out["attempts"] / rerun),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

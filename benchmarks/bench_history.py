"""``mastery history`` and ``mastery diff`` at cohort scale (issue 18): wall and peak memory.

    python -m benchmarks.bench_history \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_m_hist \
        --from 2026-08-27 --to 2026-11-25 --params candidate.json

Each command runs in its own process under ``/usr/bin/time`` (its wall seconds and maximum
resident set size): the history of every 7 days from ``--from`` to ``--to`` with the default
partitions and with ``--partitions 1`` (the two files must be equal), then ``mastery diff
--params FILE`` and ``mastery diff --algo v1`` against the stored rows (a recompute must have
run). Reads only; the files go to a temporary folder. Prints one JSON object with the load
average before and after (the machine may be shared: compare figures taken at like loads).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

MASTERY = str(Path(sys.executable).with_name("mastery"))


def timed(args: list[str]) -> dict[str, Any]:
    """Wall seconds and peak RSS (MB) of one ``mastery`` process, and its JSON when it prints."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", MASTERY, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    wall, kilobytes = done.stderr.strip().splitlines()[-1].split()
    out = done.stdout.strip()
    summary = json.loads(out) if out.startswith("{") else None
    return {"wall_s": float(wall), "peak_mb": round(int(kilobytes) / 1024), "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--from", dest="start", required=True)
    parser.add_argument("--to", dest="end", required=True)
    parser.add_argument("--params", required=True, help="candidate params file for the diff")
    given = parser.parse_args()
    url = ["--database-url", given.database_url]
    report: dict[str, Any] = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for label, extra in (("history", []), ("history_1_partition", ["--partitions", "1"])):
            files[label] = Path(folder) / f"{label}.parquet"
            history = ["history", "--every", "7d", "--from", given.start, "--to", given.end]
            report[label] = timed([*history, "--output", str(files[label]), "--json", *extra, *url])
        report["same_file"] = pl.read_parquet(files["history"]).equals(
            pl.read_parquet(files["history_1_partition"])
        )
        for label, how in (
            ("diff_params", ["--params", given.params]),
            ("diff_v1", ["--algo", "v1"]),
        ):
            target = str(Path(folder) / f"{label}.json")
            report[label] = timed(["diff", *how, "--format", "json", "--output", target, *url])
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

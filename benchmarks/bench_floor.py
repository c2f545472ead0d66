"""The pipeline against the floor of its own data movement, on an existing cohort (issue 20).

    python -m benchmarks.bench_floor --database-url postgresql://postgres@127.0.0.1:5432/bench_m

Per round, in this order and on the same database: (1) ``mastery recompute --json`` in its own
process (wall seconds, its stage profile; its ``load`` stage is the write the run uses);
(2) the separate-tables copy: the exact statements the extract runs, with its connection
settings (needed columns, window rows only, read by session id), fetched in binary through ADBC
into Arrow and not joined, one after the other
(``total_s``: the floor) and again split over two connections at once as the extract reads
them (``parallel_s``); (3) the same attempts as
the one-statement SQL join the extract used before issue 20, through ADBC; (4) the output rows
binary-COPYed into an unlogged (temporary) staging table, rolled back; (5) Mastery v0 as one
SQL statement inside Postgres (``benchmarks.peers``). Source tables are only read; the run and
the SQL peer write ``user_theme_mastery``, ``algo_runs`` as any run does.

``--extract-only``: per round, only the extract itself (the whole window in this process, read and
tags resolved as a one-partition run does: ``extract_s``) against the separate copy, for a
cohort whose one-partition run would not fit in memory (L).

floor = separate-tables copy + staging copy + the run's write. Prints one JSON object with every
round's figures and the ratios of the best round: extract ÷ separate copy (target ≤ 1.3),
whole run ÷ floor (≤ 1.5 at L), SQL peer ÷ pipeline (≥ 2.5 at M).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import polars as pl
import psycopg

from benchmarks.peers import run_sql_peer
from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope
from pipeline.io.extract import Window, read_resolved
from pipeline.io.sqlfiles import statement
from pipeline.io.store import open_store
from pipeline.io.store.attempt_tables import session_id_list, unstored_versions, uuid_list
from pipeline.io.store.base import WHOLE
from pipeline.io.store.pg_extract import LOOKUPS_ONLY

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_m"
DEFAULT_AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
STAGE_ROWS_SQL = (
    "COPY (SELECT user_id, theme_id, year, block_id, attempts_total, correct_total, "
    "accuracy_pct, mastery_score, last_attempt_at, CAST(breakdown_json AS text), false "
    "FROM user_theme_mastery) TO STDOUT (FORMAT binary)"
)


def timed_recompute(url: str, as_of: datetime, partitions: int = 1) -> dict[str, Any]:
    """``mastery recompute --json`` in a child process: wall seconds and its stage profile."""
    command = [
        str(Path(sys.executable).parent / "mastery"), "recompute", "--json", "--trigger", "test",
        "--as-of", as_of.isoformat(), "--database-url", url, "--partitions", str(partitions),
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"mastery recompute failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    stages = summary["stage_seconds"]
    return {
        "wall_s": round(wall, 2),
        "stages_total_s": round(sum(v for k, v in stages.items() if "." not in k), 2),
        "stage_seconds": stages,
        "rows": summary["records_upserted"],
    }


def separate_copy(url: str, as_of: datetime, lookback_days: int) -> dict[str, Any]:
    """The extract's own statements on connections with the extract's settings (the window's
    sessions, then their answers, session questions, versions and any snapshot re-read by
    the sessions' ids), each fetched in binary into Arrow, nothing joined: what the extract cannot
    avoid moving."""
    with open_store(url) as store:
        params = store.extract_params(as_of - timedelta(days=lookback_days), as_of, (), WHOLE)
        uri = f"{store.url.conninfo} options='{_OPTIONS}'"
        sessions_sql = store.numbered_sql("extract_sessions", params)
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    with adbc.connect(uri) as conn, conn.cursor() as cursor:

        def fetch(name: str, text: str, values: list[Any]) -> pl.DataFrame:
            start = time.perf_counter()
            cursor.execute(text, parameters=tuple(values))
            frame = pl.DataFrame(pl.from_arrow(cursor.fetch_arrow_table()))
            seconds[name] = time.perf_counter() - start
            rows[name] = frame.height
            return frame

        sessions = fetch("extract_sessions", *sessions_sql)
        ids = {"session_ids": session_id_list(sessions)}
        fetch("extract_session_answers", *_numbered(url, "extract_session_answers", ids))
        questions = _numbered(url, "extract_session_questions", ids)
        links = fetch("extract_session_questions", *questions)
        versions = {"version_ids": uuid_list(links["question_version_id"])}
        stored = fetch(
            "extract_question_versions", *_numbered(url, "extract_question_versions", versions)
        )
        # the snapshot re-read of rows naming a version not stored (none where the key holds)
        unstored = unstored_versions(links, stored)
        snapshots = {**ids, "version_ids": uuid_list(unstored)} if unstored.len() else None
        if snapshots is not None:
            text, values = _numbered(url, "extract_session_snapshots", snapshots)
            fetch("extract_session_snapshots", text, values)
    return {
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "rows": rows,
        "total_s": round(sum(seconds.values()), 2),
        "parallel_s": round(parallel_copy(url, uri, sessions_sql, ids, versions, snapshots), 2),
    }


def parallel_copy(
    url: str,
    uri: str,
    sessions: tuple[str, list[Any]],
    ids: dict[str, str],
    versions: dict[str, str],
    snapshots: dict[str, str] | None,
) -> float:
    """Wall seconds for the same statements on two connections at once, split as the extract
    splits them (sessions and answers on one; session questions, versions and any snapshot
    re-read on the other): the floor of a two-connection read on this machine."""
    main = [sessions, _numbered(url, "extract_session_answers", ids)]
    other = [
        _numbered(url, "extract_session_questions", ids),
        _numbered(url, "extract_question_versions", versions),
    ]
    if snapshots is not None:
        other.append(_numbered(url, "extract_session_snapshots", snapshots))

    def reads(statements: list[tuple[str, list[Any]]]) -> None:
        with adbc.connect(uri) as conn, conn.cursor() as cursor:
            for text, values in statements:
                cursor.execute(text, parameters=tuple(values))
                pl.DataFrame(pl.from_arrow(cursor.fetch_arrow_table()))

    side = threading.Thread(target=reads, args=(other,))
    start = time.perf_counter()
    side.start()
    reads(main)
    side.join()
    return time.perf_counter() - start


_OPTIONS = " ".join(f"-c {setting}" for setting in ("jit=off", *LOOKUPS_ONLY))
"""The settings of the extract's reading connections (pipeline.io.store.pg_extract)."""


def _numbered(url: str, name: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    with open_store(url) as store:
        return store.numbered_sql(name, params)


def join_extract(url: str, as_of: datetime, lookback_days: int) -> float:
    """Seconds for the one-statement join the extract ran before issue 20, through ADBC."""
    with open_store(url) as store:
        params = store.extract_params(as_of - timedelta(days=lookback_days), as_of, (), WHOLE)
        start = time.perf_counter()
        store.fetch_arrow("extract_attempts", params)
        return time.perf_counter() - start


def staging_copy(url: str) -> float:
    """Seconds to binary-COPY the stored output rows into the run's staging table (a temporary
    table: unlogged and unindexed), rolled back afterwards."""
    with psycopg.connect(_libpq(url)) as conn:
        buffer = bytearray()
        with conn.cursor() as cursor, cursor.copy(STAGE_ROWS_SQL) as copy:
            for chunk in copy:
                buffer += chunk
        conn.execute(statement("postgres", "create_mastery_stage"))
        start = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY mastery_stage FROM STDIN (FORMAT binary)") as copy,
        ):
            copy.write(bytes(buffer))
        seconds = time.perf_counter() - start
        conn.rollback()
    return seconds


def _libpq(url: str) -> str:
    with open_store(url) as store:
        return store.url.libpq_uri


def one_round(url: str, as_of: datetime, *, peer: bool, partitions: int = 1) -> dict[str, Any]:
    with open_store(url) as store:
        active = store.active_params()
    run = timed_recompute(url, as_of, partitions)
    lookback = active.params.lookback_days
    separate = separate_copy(url, as_of, lookback)
    joined = join_extract(url, as_of, lookback)
    staged = staging_copy(url)
    write = float(run["stage_seconds"].get("load", 0.0))
    floor = separate["total_s"] + staged + write
    figures: dict[str, Any] = {
        "run": run,
        "separate_copy": separate,
        "join_extract_s": round(joined, 2),
        "staging_copy_s": round(staged, 2),
        "run_write_s": round(write, 2),
        "floor_s": round(floor, 2),
    }
    if peer and isinstance(active.params, Params):
        figures["sql_peer_s"] = round(run_sql_peer(url, as_of, active.params), 2)
    return figures


def extract_round(url: str, as_of: datetime) -> dict[str, Any]:
    """The whole window's extract in this process, then the separate copy of the same rows."""
    with open_store(url) as store:
        lookback = store.active_params().params.lookback_days
        start = time.perf_counter()
        read = read_resolved(store, Window(Scope(), as_of, lookback))
        seconds = time.perf_counter() - start
        rows = read.attempts.height
        del read
    separate = separate_copy(url, as_of, lookback)
    return {
        "extract_s": round(seconds, 2),
        "attempts": rows,
        "separate_copy": separate,
        "ratios": {
            "extract_over_separate_copy": round(seconds / separate["total_s"], 2),
            "extract_over_parallel_copy": round(seconds / separate["parallel_s"], 2),
        },
    }


def ratios(figures: dict[str, Any]) -> dict[str, float]:
    run = figures["run"]
    out = {
        "extract_over_separate_copy": run["stage_seconds"]["extract"]
        / figures["separate_copy"]["total_s"],
        "run_stages_over_floor": run["stages_total_s"] / figures["floor_s"],
        "run_wall_over_floor": run["wall_s"] / figures["floor_s"],
        "join_extract_over_separate_copy": figures["join_extract_s"]
        / figures["separate_copy"]["total_s"],
        "extract_over_parallel_copy": run["stage_seconds"]["extract"]
        / figures["separate_copy"]["parallel_s"],
    }
    if "sql_peer_s" in figures:
        out["sql_peer_over_pipeline_wall"] = figures["sql_peer_s"] / run["wall_s"]
    return {k: round(v, 2) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--as-of", default=DEFAULT_AS_OF.isoformat())
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-peer", action="store_true", help="skip the one-statement SQL peer")
    parser.add_argument(
        "--partitions", type=int, default=1, help="the run's partitions (L: 20 bounds memory)"
    )
    parser.add_argument(
        "--extract-only", action="store_true", help="only the extract against the separate copy"
    )
    args = parser.parse_args()
    as_of = datetime.fromisoformat(args.as_of)
    if args.extract_only:
        rounds = [extract_round(args.database_url, as_of) for _ in range(args.rounds)]
        print(json.dumps({"as_of": as_of.isoformat(), "rounds": rounds}, indent=2))
        return
    rounds = [
        one_round(args.database_url, as_of, peer=not args.no_peer, partitions=args.partitions)
        for _ in range(args.rounds)
    ]
    best = min(rounds, key=lambda r: r["run"]["wall_s"])
    print(
        json.dumps(
            {
                "as_of": as_of.isoformat(),
                "rounds": [{**r, "ratios": ratios(r)} for r in rounds],
                "ratios_of_fastest_run": ratios(best),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

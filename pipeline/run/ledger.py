"""The run ledger (``algo_runs``): RUNNING committed first, then SUCCESS or FAILED (SPEC §5)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import dumps
from pipeline.io.store import Store

TRIGGERS = ("cli", "schedule", "api", "notebook", "test")


@dataclass(frozen=True)
class Run:
    """Identity of one logged run; its ids are written on every row it upserts."""

    run_id: str
    algo_version_id: str
    params_id: str

    def merge_params(self, computed_at: datetime) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "algo_version_id": self.algo_version_id,
            "params_id": self.params_id,
            "computed_at": computed_at.isoformat(),
        }


def abandon_dead_runs(store: Store) -> int:
    """Mark FAILED ("abandoned") the runs left RUNNING by a process that died, and no other:
    on Postgres a run is dead only when its liveness lock (``PostgresStore.hold_run``) is gone
    from ``pg_locks``; a DuckDB file is opened by one process at a time, so any RUNNING row
    there is dead. Call while holding the run lock."""
    with store.transaction():
        return store.execute_count("abandon_running_runs")


def start_run(
    store: Store,
    *,
    algo_version_id: str,
    params_id: str,
    user_id: str | None,
    trigger: str,
    input_summary: dict[str, Any],
) -> Run:
    run = Run(str(uuid.uuid4()), algo_version_id, params_id)
    with store.transaction():
        store.execute(
            "insert_run",
            {
                "id": run.run_id,
                "algo_version_id": algo_version_id,
                "params_id": params_id,
                "user_id": user_id,
                "trigger": trigger,
                "input_summary_json": dumps(input_summary),
                "started_at": _now(),
            },
        )
    return run


def finish_run(
    store: Store, run: Run, output_summary: dict[str, Any], input_summary: dict[str, Any]
) -> None:
    """Mark SUCCESS inside the transaction that upserted the rows; the input summary now
    carries the source row counts the extract found.

    SUCCESS only replaces RUNNING: if another run marked this one abandoned meanwhile (its run
    lock was lost with its connection), this raises and the caller's transaction rolls back.
    """
    changed = store.execute_count(
        "finish_run",
        {
            "id": run.run_id,
            "output_summary_json": dumps(output_summary),
            "input_summary_json": dumps(input_summary),
            "completed_at": _now(),
        },
    )
    if changed != 1:
        raise MasteryError(
            f"run {run.run_id} is no longer RUNNING (another run marked it while this one "
            "worked): its writes are rolled back"
        )


def fail_run(store: Store, run: Run, message: str) -> None:
    with store.transaction():
        store.execute(
            "fail_run",
            {"id": run.run_id, "error_message": message[:2000], "completed_at": _now()},
        )


def _now() -> str:
    """Wall-clock time from the client: SQL ``now()`` is the transaction's start, not now."""
    return datetime.now(UTC).isoformat()


def recent_runs(store: Store, limit: int = 20) -> pl.DataFrame:
    """Newest first: each run's ids, times (UTC), algorithm version and params checksum, its
    input and output summaries as JSON text, with the duration and headline counts pulled out."""
    return _with_headlines(store.fetch_frame("select_recent_runs", {"limit": limit}))


def run_detail(store: Store, run_id: str) -> pl.DataFrame:
    """The one run whose id is ``run_id`` or starts with it (at least 4 characters)."""
    text = run_id.strip().lower()
    if not _RUN_ID_PREFIX.fullmatch(text):
        raise MasteryError(f"malformed run id {run_id!r}: expected a UUID or its first characters")
    found = store.fetch_frame("select_run_by_id_prefix", {"id_pattern": f"{text}%"})
    if found.is_empty():
        raise MasteryError(f"no run {run_id} in algo_runs")
    if found.height > 1:
        raise MasteryError(f"run id {run_id} is ambiguous: give more of it")
    return _with_headlines(found)


_RUN_ID_PREFIX = re.compile(r"[0-9a-f][0-9a-f-]{3,35}")


def _with_headlines(runs: pl.DataFrame) -> pl.DataFrame:
    if runs.is_empty():
        return runs
    summary = pl.col("output_summary_json").cast(pl.String)
    times = [_utc(runs.schema[name], name) for name in ("started_at", "completed_at")]
    return runs.with_columns(*times).with_columns(
        seconds=(pl.col("completed_at") - pl.col("started_at")).dt.total_milliseconds() / 1000,
        records_upserted=summary.str.json_path_match("$.records_upserted").cast(pl.Int64),
        users=summary.str.json_path_match("$.users").cast(pl.Int64),
        stage_seconds=summary.str.json_path_match("$.stage_seconds"),
    )


def _utc(dtype: pl.DataType, name: str) -> pl.Expr:
    """Back ends hand timestamptz over in their session's zone (or none): the ledger is UTC."""
    if isinstance(dtype, pl.Datetime) and dtype.time_zone:
        return pl.col(name).dt.convert_time_zone("UTC")
    if isinstance(dtype, pl.Datetime):
        return pl.col(name).dt.replace_time_zone("UTC")
    return pl.col(name).cast(pl.Datetime("us", "UTC"))

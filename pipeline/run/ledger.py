"""The run ledger (``algo_runs``): RUNNING committed first, then SUCCESS or FAILED (SPEC §5)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

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
    """Runs left RUNNING by a process that died; call only while holding the run lock."""
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
    carries the source row counts the extract found."""
    store.execute(
        "finish_run",
        {
            "id": run.run_id,
            "output_summary_json": dumps(output_summary),
            "input_summary_json": dumps(input_summary),
            "completed_at": _now(),
        },
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
    """Newest first, with duration and the headline counts pulled out of the summary."""
    runs = store.fetch_frame("select_recent_runs", {"limit": limit})
    if runs.is_empty():
        return runs
    summary = pl.col("output_summary_json").cast(pl.String)
    return runs.with_columns(
        seconds=(pl.col("completed_at") - pl.col("started_at")).dt.total_milliseconds() / 1000,
        records_upserted=summary.str.json_path_match("$.records_upserted").cast(pl.Int64),
        users=summary.str.json_path_match("$.users").cast(pl.Int64),
        stage_seconds=summary.str.json_path_match("$.stage_seconds"),
    ).drop("output_summary_json")

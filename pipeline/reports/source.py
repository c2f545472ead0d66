"""Where a report's rows come from: the runs that stored them, their as_of, algorithm and params.

Every report opens with this header, read from the rows' own ``run_id``, ``algo_version_id``
and ``params_id`` (a report never recomputes, so it says what it shows), and warns when rows
were computed with params or an algorithm other than the active ones (after ``mastery params
activate`` and before the next recompute).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.io.store import Store
from pipeline.reports.runs import iso_utc

CHECKSUM_CHARS = 12


@dataclass(frozen=True)
class ReportSource:
    """The newest run behind the rows, how many runs and rows there are, and the active ones."""

    rows: int = 0
    runs: int = 0
    run_id: str | None = None
    as_of: datetime | None = None
    oldest_as_of: datetime | None = None
    algorithm: str | None = None
    params_id: str | None = None
    params_checksum: str | None = None
    active_algorithm: str | None = None
    active_params_id: str | None = None
    active_params_checksum: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": iso_utc(self.as_of),
            "oldest_as_of": iso_utc(self.oldest_as_of),
            "run_id": self.run_id,
            "runs": self.runs,
            "rows": self.rows,
            "algorithm": self.algorithm,
            "params_id": self.params_id,
            "params_checksum": self.params_checksum,
            "active_algorithm": self.active_algorithm,
            "active_params_id": self.active_params_id,
            "active_params_checksum": self.active_params_checksum,
        }

    def header(self) -> str:
        """``as of 2026-11-25 07:00 UTC · run 9ccf6027-… · algorithm v0 · params ab01e73aae67``."""
        if not self.rows:
            return "no stored rows yet: run `mastery recompute`"
        when = _minute(self.as_of)
        if self.oldest_as_of and self.oldest_as_of != self.as_of:
            when = f"{_minute(self.oldest_as_of)} to {when}"
        runs = f"run {self.run_id}" + (f" and {self.runs - 1:,} earlier" if self.runs > 1 else "")
        return (
            f"as of {when} · {runs} · algorithm {self.algorithm or '?'}"
            f" · params {(self.params_checksum or '?')[:CHECKSUM_CHARS]}"
        )


def read_source(store: Store, user_id: str | None = None) -> ReportSource:
    """The header of the cohort's rows, or of one student's rows."""
    if user_id is None:
        runs = store.fetch_frame("report_row_runs")
    else:
        runs = store.fetch_frame("report_student_row_runs", {"user_id": user_id})
    active = store.active_params()
    version = store.fetch_one(
        "report_algo_version_name", {"algo_version_id": active.algo_version_id}
    )
    base = ReportSource(
        active_algorithm=None if version is None else str(version[0]),
        active_params_id=active.params_id,
        active_params_checksum=active.checksum,
    )
    if runs.is_empty():
        return base
    rows = list(runs.iter_rows(named=True))
    moments = [m for m in (_as_of(row) for row in rows) if m is not None]
    newest = rows[0]
    return ReportSource(
        rows=int(runs["n"].sum()),
        runs=runs["run_id"].n_unique(),
        run_id=newest["run_id"],
        as_of=_as_of(newest),
        oldest_as_of=min(moments) if moments else None,
        algorithm=newest["algorithm"],
        params_id=newest["params_id"],
        params_checksum=newest["params_checksum"],
        active_algorithm=base.active_algorithm,
        active_params_id=base.active_params_id,
        active_params_checksum=base.active_params_checksum,
        warnings=tuple(_warnings(runs, base, active.algo_version_id)),
    )


def _warnings(runs: pl.DataFrame, active: ReportSource, active_version: str) -> list[str]:
    """One line when some rows were computed with other params or another algorithm."""
    other = runs.filter(
        (pl.col("params_id") != active.active_params_id)
        | (pl.col("algo_version_id") != active_version)
    )
    if other.is_empty():
        return []
    used = sorted(
        {
            f"{row['algorithm'] or '?'} params {(row['params_checksum'] or '?')[:CHECKSUM_CHARS]}"
            for row in other.iter_rows(named=True)
        }
    )
    total, stale = int(runs["n"].sum()), int(other["n"].sum())
    return [
        f"{stale:,} of {total:,} rows were computed with {', '.join(used)}, not the active "
        f"{active.active_algorithm or '?'} params "
        f"{(active.active_params_checksum or '?')[:CHECKSUM_CHARS]}: "
        "run `mastery recompute` to bring them up to date"
    ]


def _as_of(row: dict[str, Any]) -> datetime | None:
    summary = json.loads(row["input_summary"] or "null") or {}
    text = summary.get("as_of")
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _minute(moment: datetime | None) -> str:
    return "?" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"

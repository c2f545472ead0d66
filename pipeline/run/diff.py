"""``mastery diff``'s inputs: the rows on each side, computed in memory (dry runs) or stored.

A candidate (params file, or another algorithm) is compared with the stored rows, as of the
``as_of`` the stored rows were computed at (the latest whole-cohort run's), so that only the
change of params or algorithm shows. Two stored runs are compared by recomputing each as a
dry run with its own params, ``as_of`` and scope from ``algo_runs`` (``user_theme_mastery``
holds only the latest rows); both read today's source rows and today's exclusions. The
comparison itself is :mod:`pipeline.reports.diff` (``diff_rows(sides.old, sides.new)``).
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope
from pipeline.io.store import open_store
from pipeline.io.url import DatabaseUrl
from pipeline.run import ledger
from pipeline.run.job import run
from pipeline.run.spec import RunOptions, RunSpec

Url = str | DatabaseUrl | None


@dataclass(frozen=True)
class Sides:
    """The rows on each side (user_id, theme_id, mastery_score, breakdown_json, ...), what
    each side is, and the ``as_of`` they were computed at (the new side's, for two runs)."""

    old: pl.DataFrame
    new: pl.DataFrame
    old_label: str
    new_label: str
    as_of: datetime | None


def dry_rows(url: Url, spec: RunSpec) -> pl.DataFrame:
    """The rows a run of ``spec`` would write, computed in memory; nothing is written."""
    with tempfile.TemporaryDirectory(prefix="mastery-diff-") as folder:
        output = Path(folder) / "rows.parquet"
        run(url, spec, RunOptions(dry_run=True, output=output))
        return pl.read_parquet(output)  # stale rows too: a real run writes them


def stored_rows(url: Url) -> pl.DataFrame:
    with open_store(url) as store:
        store.require_tables(("user_theme_mastery",))
        return store.fetch_frame("select_diff_rows")


def last_cohort_as_of(url: Url) -> datetime | None:
    with open_store(url) as store:
        found = store.fetch_frame("report_last_cohort_run")
    if found.is_empty():
        return None
    return datetime.fromisoformat(json.loads(found.item())["as_of"])


def diff_candidate(
    url: Url,
    *,
    params: Any = None,
    algorithm: str | None = None,
    as_of: datetime | None = None,
) -> Sides:
    """The stored rows against a candidate: ``params`` and/or ``algorithm`` as a dry run."""
    when = as_of or last_cohort_as_of(url)
    if when is None:
        raise MasteryError("no stored rows to compare with: run a recompute first (or --as-of)")
    spec = RunSpec(as_of=when, params=params)
    if algorithm is not None:
        spec = RunSpec(as_of=when, params=params, algorithm=algorithm)
    label = algorithm or "candidate params"
    with ThreadPoolExecutor(max_workers=1) as pool:  # the stored rows load meanwhile
        stored = pool.submit(stored_rows, url)
        new = dry_rows(url, spec)
        return Sides(stored.result(), new, "stored rows", label, when)


def _run_spec(url: Url, run_id: str) -> tuple[RunSpec, str]:
    with open_store(url) as store:
        found = ledger.run_detail(store, run_id)
        row = found.row(0, named=True)
        params_json = store.fetch_frame("select_diff_params", {"id": row["params_id"]})
    if row["status"] != "SUCCESS":
        raise MasteryError(f"run {row['id']} is {row['status']}: compare successful runs")
    summary = json.loads(row["input_summary_json"])
    scope = summary.get("scope") or {}
    users = scope.get("users")
    themes = scope.get("themes")
    spec = RunSpec(
        as_of=datetime.fromisoformat(summary["as_of"]),
        scope=Scope(
            tuple(users) if isinstance(users, list) else (),
            tuple(themes) if isinstance(themes, list) else (),
        ),
        params=Params.from_json(params_json.item()),
    )
    return spec, str(row["id"])


def diff_runs(url: Url, old_run: str, new_run: str) -> Sides:
    """Two stored runs, each recomputed as a dry run with its own params, as_of and scope."""
    old_spec, old_id = _run_spec(url, old_run)
    new_spec, new_id = _run_spec(url, new_run)
    old, new = dry_rows(url, old_spec), dry_rows(url, new_spec)
    return Sides(old, new, f"run {old_id}", f"run {new_id}", new_spec.as_of)


def publish_preview(url: Url, params: Any, algorithm: str | None = None) -> Sides | None:
    """What activating ``params`` would change in the stored rows (as of their ``as_of``), or
    None before the first whole-cohort run (nothing is published yet)."""
    if last_cohort_as_of(url) is None:
        return None
    return diff_candidate(url, params=params, algorithm=algorithm)

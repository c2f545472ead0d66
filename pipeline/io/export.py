"""Export: a run's input as a Parquet dataset with one directory per user bucket.

The layout is Hive's (``attempts/user_bucket=K/part-0.parquet``), so Spark, DuckDB, Polars and
lake tools read it as one table partitioned by ``user_bucket``. A user's attempts always land in
one bucket (the store's stable hash of the user id), which is what lets each bucket be computed
on its own. The attempts are the raw extract (SPEC §4's join, window and scope, frozen tags not
yet resolved), so whoever computes from them applies the one tag resolution of the kernel.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.frames import RAW_ATTEMPT_SCHEMA
from pipeline.contracts.scope import Scope, utc
from pipeline.io.extract import Window, read_existing_keys, read_raw_attempts
from pipeline.io.store import Partition, Store, open_store
from pipeline.io.url import DatabaseUrl

MANIFEST = "_manifest.json"
BUCKET_COLUMN = "user_bucket"
EXPORT_TABLES_READ = ("test_sessions", "session_answers", "session_questions")


@dataclass(frozen=True)
class ExportReport:
    directory: Path
    buckets: int
    attempt_rows: int
    existing_rows: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "buckets": self.buckets,
            "attempt_rows": self.attempt_rows,
            "existing_rows": self.existing_rows,
            "seconds": round(self.seconds, 3),
        }


def bucket_directory(root: Path, table: str, bucket: int) -> Path:
    return root / table / f"{BUCKET_COLUMN}={bucket}"


def export_from_store(
    store: Store,
    directory: Path,
    window: Window,
    buckets: int,
    with_existing: bool = False,
) -> ExportReport:
    """Write every bucket's raw attempts (and, for a run, its existing output keys).

    One bucket is in memory at a time, so the exporting process stays as small as a
    partitioned run of the same bucket count.
    """
    began = time.perf_counter()
    attempt_rows = existing_rows = 0
    for index in range(buckets):
        part = Partition(index, buckets)
        raw = read_raw_attempts(store, window, part)
        attempt_rows += raw.height
        _write_bucket(raw.cast(RAW_ATTEMPT_SCHEMA), bucket_directory(directory, "attempts", index))
        if with_existing:
            keys = read_existing_keys(store, window.scope, part)
            existing_rows += keys.height
            keys = keys.select(pl.col("user_id").cast(pl.String), pl.col("theme_id").cast(pl.Int32))
            _write_bucket(keys, bucket_directory(directory, "existing", index))
    manifest = {
        "format": "parquet",
        "partition_by": BUCKET_COLUMN,
        "buckets": buckets,
        "bucket_hash": store.dialect,
        "as_of": window.end.isoformat(),
        "window_start": window.start.isoformat(),
        "lookback_days": window.lookback_days,
        "scope": window.scope.as_json(),
        "attempt_rows": attempt_rows,
        "columns": {name: str(dtype) for name, dtype in RAW_ATTEMPT_SCHEMA.items()},
        "exported_at": datetime.now(UTC).isoformat(),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return ExportReport(
        directory, buckets, attempt_rows, existing_rows, time.perf_counter() - began
    )


def _write_bucket(frame: pl.DataFrame, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(directory / "part-0.parquet")


def check_export_directory(path: str | Path) -> Path:
    """Refuse to mix a new export with old files, before any database work starts."""
    directory = Path(path)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise MasteryError(f"cannot export into {directory}: it exists and is not an empty folder")
    if not directory.parent.exists():
        raise MasteryError(f"cannot export into {directory}: {directory.parent} does not exist")
    return directory


def export_attempts(
    database_url: str | DatabaseUrl | None = None,
    *,
    output: str | Path,
    as_of: datetime | None = None,
    lookback_days: int | None = None,
    buckets: int = 16,
    user_ids: Sequence[str] = (),
) -> ExportReport:
    """Land the window's raw attempts as Parquet partitioned by user bucket (read-only, no run).

    ``lookback_days`` defaults to the active params' lookback, so the export holds exactly what
    a recompute at ``as_of`` would read.
    """
    if buckets < 1:
        raise MasteryError(f"buckets must be at least 1, got {buckets}")
    moment = utc(as_of) if as_of else datetime.now(UTC)
    scope = Scope.checked(user_ids)
    directory = check_export_directory(output)
    with open_store(database_url) as store:
        store.require_tables(EXPORT_TABLES_READ)
        lookback = lookback_days or store.active_params().params.lookback_days
        created = not directory.exists()
        directory.mkdir(exist_ok=True)
        try:
            return export_from_store(store, directory, Window(scope, moment, lookback), buckets)
        except BaseException:
            if created:
                shutil.rmtree(directory)
            raise

"""The embedded DuckDB store: one file, no server; Arrow in and out."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipeline.contracts.errors import ConcurrentRunError, MasteryError, one_line
from pipeline.io.store.base import Store, WriteResult
from pipeline.io.url import DatabaseUrl

_LOCK_POLL_SECONDS = 0.5


class DuckDBStore(Store):
    dialect = "duckdb"
    param_style = "dollar"

    def __init__(self, url: DatabaseUrl, *, wait_for_lock: bool = False) -> None:
        super().__init__(url)
        path = url.duckdb_path
        if not path.parent.exists():
            raise MasteryError(
                f"cannot open DuckDB file {path}: directory {path.parent} does not exist"
            )
        self.con = _connect(path, wait_for_lock)
        self._depth = 0

    def close(self) -> None:
        self.con.close()

    def _run(self, sql: str, params: Mapping[str, Any] | None) -> list[tuple[Any, ...]]:
        cursor = self.con.execute(sql, dict(params) if params else None)
        return cursor.fetchall() if cursor.description else []

    def _run_script(self, sql: str) -> None:
        self.con.execute(sql)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Nested use joins the outer transaction; only the outermost commits."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.con.begin()
        self._depth = 1
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        else:
            self.con.commit()
        finally:
            self._depth = 0

    def execute_count(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        rows = self._run(self.sql(name), params)
        return int(rows[0][0]) if rows else 0

    def _fetch_frame(self, sql: str, params: Mapping[str, Any] | None) -> pl.DataFrame:
        """Through Arrow (DuckDB's native result form), never Python tuples."""
        relation = self.con.sql(sql, params=dict(params) if params else None)
        return pl.DataFrame(pl.from_arrow(relation.to_arrow_table()))

    @contextmanager
    def run_lock(self, *, wait: bool, user_ids: Sequence[str] = ()) -> Iterator[None]:
        """DuckDB lets one process open a file for writing: holding the store is the lock
        (whatever the scope: runs on one file never overlap)."""
        yield

    def merge_mastery(self, run: Mapping[str, Any], *, rebuild: bool = False) -> WriteResult:
        counts = super().merge_mastery(run, rebuild=rebuild)
        self._run_script(self.sql("drop_mastery_stage"))
        return counts

    def bulk_insert(self, table: str, frame: pl.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        self.con.register("_bulk_frame", frame.to_arrow())
        try:
            self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _bulk_frame")
        finally:
            self.con.unregister("_bulk_frame")


def _connect(path: Path, wait_for_lock: bool) -> duckdb.DuckDBPyConnection:
    while True:
        try:
            con = duckdb.connect(str(path))
            _quiet(con)
            return con
        except duckdb.IOException as exc:
            message = one_line(str(exc))
            if "lock" not in message.lower():
                raise MasteryError(f"cannot open DuckDB file {path}: {message}") from None
            if not wait_for_lock:
                holder = re.search(r"PID \d+", message)
                raise ConcurrentRunError(
                    f"DuckDB file {path} is in use by another process"
                    f"{f' ({holder.group(0)})' if holder else ''}: try again when it ends"
                    " (recompute --wait waits for it)"
                ) from None
            time.sleep(_LOCK_POLL_SECONDS)
        except duckdb.Error as exc:
            raise MasteryError(f"cannot open DuckDB file {path}: {one_line(str(exc))}") from None


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No DuckDB progress bars on stderr: the CLI draws its own (Jupyter refuses the setting)."""
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")

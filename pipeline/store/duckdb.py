"""The embedded DuckDB store: one file, no server; Arrow in and out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl

from pipeline.config import DatabaseUrl
from pipeline.errors import MasteryError
from pipeline.store.base import Store


class DuckDBStore(Store):
    dialect = "duckdb"
    param_style = "dollar"

    def __init__(self, url: DatabaseUrl) -> None:
        super().__init__(url)
        path = url.duckdb_path
        if not path.parent.exists():
            raise MasteryError(f"cannot open DuckDB file {path}: directory {path.parent} does not exist")
        try:
            self.con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            raise MasteryError(f"cannot open DuckDB file {path}: {_one_line(exc)}") from None
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

    def bulk_insert(self, table: str, frame: pl.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        self.con.register("_bulk_frame", frame.to_arrow())
        try:
            self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _bulk_frame")
        finally:
            self.con.unregister("_bulk_frame")

    def existing_tables(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return {r[0] for r in rows}

    def query_frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        return self.con.execute(sql, dict(params) if params else None).pl()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())

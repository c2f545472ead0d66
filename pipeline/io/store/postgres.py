"""The production Postgres store: psycopg 3 for statements and staging, ADBC for Arrow I/O."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg
import psycopg.sql
import pyarrow as pa

from pipeline.contracts.errors import ConcurrentRunError, MasteryError
from pipeline.io.store.base import Store
from pipeline.io.url import DatabaseUrl

_COPY_CHUNK_ROWS = 250_000
_JSONB_VERSION = "\x01"
_RUN_LOCK_KEY = 0x6D617374657279  # "mastery": one recompute per database at a time
_CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.6f%z"


class PostgresStore(Store):
    dialect = "postgres"
    param_style = "pyformat"
    concurrent_reads = True

    def __init__(self, url: DatabaseUrl, *, connect_timeout: int = 10) -> None:
        super().__init__(url)
        self._types: dict[str, dict[str, str]] = {}
        try:
            self.conn = psycopg.connect(
                url.libpq_uri,
                connect_timeout=connect_timeout,
                application_name="mastery",
                autocommit=True,
            )
        except psycopg.Error as exc:
            raise MasteryError(f"cannot connect to {url}: {self.describe(exc)}") from None

    def describe(self, exc: BaseException) -> str:
        """A driver error as one line with any credential scrubbed."""
        return self.url.scrub(" ".join(str(exc).split()))

    def close(self) -> None:
        self.conn.close()

    def _run(self, sql: str, params: Mapping[str, Any] | None) -> list[tuple[Any, ...]]:
        cursor = self.conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []

    def _run_script(self, sql: str) -> None:
        self.conn.execute(sql)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A real BEGIN/COMMIT (the connection is autocommit); nested use makes a savepoint."""
        with self.conn.transaction():
            yield

    def execute_count(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        cursor = self.conn.execute(self.sql(name), params)
        return max(cursor.rowcount, 0)

    def _fetch_frame(self, sql: str, params: Mapping[str, Any] | None) -> pl.DataFrame:
        cursor = self.conn.execute(sql, params)
        names = [c.name for c in cursor.description or ()]
        return pl.DataFrame(cursor.fetchall(), schema=names, orient="row")

    @contextmanager
    def run_lock(self, *, wait: bool) -> Iterator[None]:
        """A session advisory lock on its own connection, released when the run ends."""
        with psycopg.connect(self.url.libpq_uri, autocommit=True) as lock_conn:
            if wait:
                lock_conn.execute(self.sql("wait_run_lock"), {"key": _RUN_LOCK_KEY})
            else:
                got = lock_conn.execute(self.sql("try_run_lock"), {"key": _RUN_LOCK_KEY})
                if not got.fetchone()[0]:  # type: ignore[index]
                    raise ConcurrentRunError(self._running_message())
            yield

    def _running_message(self) -> str:
        row = self.fetch_one("select_running_run")
        which = f"run {row[0]} (started {row[1]:%Y-%m-%d %H:%M:%S %Z})" if row else "another run"
        return f"another recompute is running on this database: {which}; use --wait to wait"

    def bulk_insert(self, table: str, frame: pl.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
        with (
            self.transaction(),
            self.conn.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            for chunk in frame.iter_slices(_COPY_CHUNK_ROWS):
                buffer = io.BytesIO()
                chunk.write_csv(buffer, include_header=False, datetime_format=_CSV_DATETIME)
                copy.write(buffer.getvalue())

    @property
    def can_rebuild(self) -> bool:
        """Only the table's owner may rebuild it; anyone else merges."""
        row = self.fetch_one("owns_mastery_table")
        return bool(row and row[0])

    def rebuild_mastery(self, run: Mapping[str, Any]) -> tuple[int, int]:
        """Empty the output table and refill it with its next contents, inside the run's
        transaction: secondary indexes are rebuilt and foreign keys checked once, in bulk,
        instead of once per row, which is what makes a whole-cohort merge slow.

        ``TRUNCATE`` locks the table until the commit: readers wait (and then see the new rows;
        never a half state). Only the table's owner may do this.
        """
        upserted, stale = self.fetch_one("count_mastery_stage") or (0, 0)
        self.execute("analyze_mastery_stage")
        self.execute("create_mastery_next", run)
        indexes = self.fetch_all("select_mastery_indexes")
        foreign_keys = self.fetch_all("select_mastery_foreign_keys")
        table = psycopg.sql.Identifier("user_theme_mastery")
        try:
            for name, _ in indexes:
                self.conn.execute(
                    psycopg.sql.SQL("DROP INDEX {}").format(psycopg.sql.Identifier(name))
                )
            for name, _ in foreign_keys:
                self.conn.execute(
                    psycopg.sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        table, psycopg.sql.Identifier(name)
                    )
                )
        except psycopg.errors.InsufficientPrivilege:
            raise MasteryError(
                "--write-mode rebuild must own user_theme_mastery: use --write-mode merge"
            ) from None
        self.execute("truncate_mastery")
        self.execute("insert_mastery_next")
        for name, definition in foreign_keys:
            self.conn.execute(
                psycopg.sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    table, psycopg.sql.Identifier(name), psycopg.sql.SQL(definition)
                )
            )
        for _, definition in indexes:
            self.conn.execute(psycopg.sql.SQL(definition))
        return int(upserted), int(stale)

    def append_committed(self, table: str, frame: pl.DataFrame) -> None:
        """Binary COPY through ADBC (Arrow in C, no text parsing), committed on its own.

        uuid columns travel as their 16 bytes and jsonb as its wire form (a version byte,
        then the text): binary COPY hands each field to the column type's receive function.
        """
        import adbc_driver_postgresql.dbapi as adbc

        arrow = _binary_copy_arrow(frame, self._column_types(table))
        try:
            with adbc.connect(self.url.libpq_uri) as conn, conn.cursor() as cursor:
                cursor.adbc_ingest(table, arrow, mode="append")
                conn.commit()
        except adbc.Error as exc:
            raise MasteryError(f"bulk load into {table} failed: {self.describe(exc)}") from None

    def _column_types(self, table: str) -> dict[str, str]:
        if table not in self._types:
            rows = self.fetch_all("select_column_types", {"table_name": table})
            self._types[table] = {str(name): str(kind) for name, kind in rows}
        return self._types[table]

    def fetch_arrow(self, name: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """Through ADBC, so rows arrive as Arrow columns, not Python tuples."""
        import adbc_driver_postgresql.dbapi as adbc

        text, values = self.numbered_sql(name, params or {})
        try:
            with adbc.connect(self.url.libpq_uri) as conn, conn.cursor() as cursor:
                cursor.execute(text, parameters=tuple(values))
                table = cursor.fetch_arrow_table()
        except adbc.Error as exc:
            raise MasteryError(f"read from Postgres failed: {self.describe(exc)}") from None
        return pl.DataFrame(pl.from_arrow(table))


def _binary_copy_arrow(frame: pl.DataFrame, types: dict[str, str]) -> pa.Table:
    """The frame as Arrow whose uuid and jsonb columns carry their binary COPY encoding."""
    converted = frame.with_columns(
        [
            pl.col(name).str.replace_all("-", "", literal=True).str.decode("hex")
            for name in frame.columns
            if types.get(name) == "uuid"
        ]
        + [
            pl.concat_str(pl.lit(_JSONB_VERSION), pl.col(name)).cast(pl.Binary).alias(name)
            for name in frame.columns
            if types.get(name) == "jsonb"
        ]
    ).to_arrow()
    fields = [
        pa.field(f.name, pa.binary(16)) if types.get(f.name) == "uuid" else f
        for f in converted.schema
    ]
    return converted.cast(pa.schema(fields))

"""The production Postgres store: psycopg 3 for statements and COPY, ADBC for Arrow reads."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg

from pipeline.config import DatabaseUrl
from pipeline.errors import MasteryError
from pipeline.store.base import Store

_COPY_CHUNK_ROWS = 250_000
_CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.6f%z"


class PostgresStore(Store):
    dialect = "postgres"
    param_style = "pyformat"

    def __init__(self, url: DatabaseUrl, *, connect_timeout: int = 10) -> None:
        super().__init__(url)
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
        cursor = self.conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []

    def _run_script(self, sql: str) -> None:
        self.conn.execute(sql)  # type: ignore[arg-type]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A real BEGIN/COMMIT (the connection is autocommit); nested use makes a savepoint."""
        with self.conn.transaction():
            yield

    def bulk_insert(self, table: str, frame: pl.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
        with (
            self.transaction(),
            self.conn.cursor() as cursor,
            cursor.copy(statement) as copy,  # type: ignore[arg-type]
        ):
            for chunk in frame.iter_slices(_COPY_CHUNK_ROWS):
                buffer = io.BytesIO()
                chunk.write_csv(buffer, include_header=False, datetime_format=_CSV_DATETIME)
                copy.write(buffer.getvalue())

    def existing_tables(self) -> set[str]:
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        return {r[0] for r in rows}

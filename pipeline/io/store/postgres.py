"""The production Postgres store: psycopg 3 for statements and staging, ADBC for Arrow I/O."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from typing import Any

import polars as pl
import psycopg
import psycopg.sql
import pyarrow as pa

from pipeline.contracts.errors import MasteryError
from pipeline.io.store import pg_extract, pg_grants, pg_write
from pipeline.io.store.attempt_tables import RawRead
from pipeline.io.store.base import WHOLE, Partition, Store, WriteResult
from pipeline.io.store.privileges import JOB_PRIVILEGES, permission_message
from pipeline.io.url import DatabaseUrl

_COPY_CHUNK_ROWS = 250_000
_JSONB_VERSION = "\x01"
_CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.6f%z"
_INSUFFICIENT_PRIVILEGE = "42501"
_DENIED_TABLE = re.compile(r'permission denied for (?:table|relation|view) "?([^"\s]+)"?')
_NOT_OWNER = re.compile(r'must be owner of (?:table|relation|index) "?([^"\s]+)"?')


class PostgresStore(Store):
    dialect = "postgres"
    param_style = "pyformat"
    concurrent_reads = True

    def __init__(self, url: DatabaseUrl, *, connect_timeout: int = 10) -> None:
        super().__init__(url)
        self._types: dict[str, dict[str, str]] = {}
        self._connect_timeout = connect_timeout
        self._held_runs: list[str] = []
        self._swapped = False
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A new autocommit connection; the password goes to libpq as a keyword, not in a URL."""
        params: dict[str, Any] = {
            "connect_timeout": str(self._connect_timeout),
            "application_name": "mastery",
            **self.url.driver_params(),
        }
        try:
            return psycopg.connect(autocommit=True, **params)
        except psycopg.Error as exc:
            raise MasteryError(f"cannot connect to {self.url}: {self.describe(exc)}") from None

    def _adbc(self, *settings: str) -> Any:
        """An ADBC connection: its driver takes one libpq string, so the password travels as a
        keyword of a key=value string (``password='...'``), never in a URL.

        Its reads are bulk scans and index lookups with plain predicates: JIT compiling them
        cost 0.3-0.6 s a statement on this machine's Postgres (four per partition) and saved
        nothing, so it is off for these connections."""
        import adbc_driver_postgresql.dbapi as adbc

        options = [f"-c {setting}" for setting in ("jit=off", *settings)]
        remaining = self.remaining()
        if remaining is not None:  # a bounded run (max_wait): no read outlives it
            if remaining <= 0:
                raise MasteryError(self.gave_up())
            options.append(f"-c statement_timeout={max(1, int(remaining * 1000))}")
        return adbc.connect(f"{self.url.conninfo} options='{' '.join(options)}'")

    def describe(self, exc: BaseException) -> str:
        """A driver error as one line with any credential scrubbed."""
        return self.url.scrub(" ".join(str(exc).split()))

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """A missing right (SQLSTATE 42501) becomes one line naming the right and the table."""
        try:
            yield
        except psycopg.errors.InsufficientPrivilege as exc:
            raise MasteryError(self._denied(str(exc))) from None

    def _run(self, sql: str, params: Mapping[str, Any] | None) -> list[tuple[Any, ...]]:
        with self._errors():
            cursor = self.conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def _run_script(self, sql: str) -> None:
        with self._errors():
            self.conn.execute(sql)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A real BEGIN/COMMIT (the connection is autocommit); nested use makes a savepoint."""
        with self.conn.transaction():
            yield

    @contextmanager
    def exported_snapshot(self) -> Iterator[str | None]:
        """A REPEATABLE READ transaction on this connection, open while the block runs, and
        its exported snapshot's id (the block's reads and a pinned extract see one state)."""
        with self.transaction():
            self._run_script(self.sql("set_repeatable_read"))
            row = self.fetch_one("extract_export_snapshot")
            yield str(row[0]) if row else None

    def pin_reads(self, snapshot: str | None) -> None:
        if snapshot is not None and not pg_extract.is_snapshot_id(snapshot):
            raise MasteryError(f"not a Postgres snapshot id: {snapshot!r}")
        self.read_snapshot = snapshot

    def execute_count(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        with self._errors():
            cursor = self.conn.execute(self.sql(name), params)
            return max(cursor.rowcount, 0)

    def _fetch_frame(self, sql: str, params: Mapping[str, Any] | None) -> pl.DataFrame:
        with self._errors():
            cursor = self.conn.execute(sql, params)
            names = [c.name for c in cursor.description or ()]
            # every row types the columns: a column null in the first rows (a snapshot text
            # the per-student extract reads only for an incomplete version) is still typed
            rows = cursor.fetchall()
            return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    @cached_property
    def _schema(self) -> tuple[str, str]:
        """(schema, database) the tables live in: see ``select_schema.sql``."""
        row = self.fetch_one("select_schema")
        return (str(row[0]), str(row[1])) if row else ("public", "")

    def existing_tables(self) -> set[str]:
        return {str(row[0]) for row in self.fetch_all("select_tables", {"schema": self._schema[0]})}

    def missing_privileges(
        self,
        rights: Sequence[tuple[str, str]],
        *,
        role: str | None = None,
        with_database: bool = False,
    ) -> list[tuple[str, str, str]]:
        return [
            (str(privilege), str(target), str(who))
            for privilege, target, who in self.fetch_all(
                "select_missing_privileges", self._privilege_params(rights, role, with_database)
            )
        ]

    def _privilege_params(
        self, rights: Sequence[tuple[str, str]], role: str | None, with_database: bool
    ) -> dict[str, Any]:
        return {
            "role": role or "",
            "rights": ",".join(f"{privilege}={table}" for privilege, table in rights),
            "schema": self._schema[0],
            "with_database": with_database,
        }

    def _denied(self, message: str) -> str:
        """What a 42501 error means for a run: the first right it lacks of those the job needs
        on the table named (:data:`JOB_PRIVILEGES`), or USAGE on the schema / TEMPORARY on the
        database; asked on a fresh connection, as the statement's transaction is aborted."""
        line = self.describe(Exception(message))
        who = self.url.driver_params().get("user", "this role")
        if _NOT_OWNER.search(message):
            return f"permission denied: {line} (connected as {who}; only the owner may do this)"
        match = _DENIED_TABLE.search(message)
        rights = []
        if match:
            table = match.group(1)
            rights = [(p, table) for p in JOB_PRIVILEGES.get(table, ("SELECT", "INSERT", "UPDATE"))]
        try:
            with self._connect() as side, side.cursor() as cursor:
                params = self._privilege_params(rights, None, with_database=not match)
                cursor.execute(self.sql("select_missing_privileges"), params)
                denied = cursor.fetchall()
        except (psycopg.Error, MasteryError):
            denied = []
        if denied:
            return permission_message(*(str(value) for value in denied[0]))
        return f"permission denied: {line} (connected as {who})"

    def check_grantee(self, role: str) -> None:
        if self.fetch_one("select_role", {"role": role}) is None:
            raise MasteryError(
                f"--grant-to {role}: no such role; create it first (CREATE ROLE {role} LOGIN ...)"
            )

    def grant_job_role(self, role: str) -> tuple[str, ...]:
        return pg_grants.grant_job_role(self, role)

    @contextmanager
    def run_lock(self, *, wait: bool, user_ids: Sequence[str] = ()) -> Iterator[None]:
        """Advisory locks by scope on the writing connection (SPEC §8), released when the run
        ends; losing the connection loses the locks and the uncommitted writes together.

        A whole-cohort run (``user_ids`` empty) takes the cohort key exclusively; a scoped run
        shares it and takes each of its users' keys exclusively, so disjoint scopes run at once
        and overlapping ones never interleave. Taken all at once or not at all (no waiting while
        holding, so no deadlock); ``wait`` retries until the run's deadline (``max_wait``).
        """
        held = pg_write.take_scope_locks(self, wait=wait, user_ids=user_ids)
        try:
            yield
        finally:
            with contextlib.suppress(psycopg.Error):
                self.execute("release_scope_lock", held)
                for run_id in self._held_runs:
                    self.execute("release_run", {"run_id": run_id})
            self._held_runs.clear()

    def hold_run(self, run_id: str) -> None:
        """The run's liveness lock on the writing connection (see abandon_running_runs.sql)."""
        self.execute("hold_run", {"run_id": run_id})
        self._held_runs.append(run_id)

    def bulk_insert(self, table: str, frame: pl.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
        with (
            self._errors(),
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
        """Only the table's owner, with CREATE on its schema, may rebuild it; others merge."""
        row = self.fetch_one("owns_mastery_table")
        return bool(row and row[0])

    def merge_mastery(self, run: Mapping[str, Any], *, rebuild: bool = False) -> WriteResult:
        """See :func:`pipeline.io.store.pg_write.write`: bounded waits, rebuild by swap."""
        return pg_write.write(self, run, rebuild_asked=rebuild)

    def rebuild_mastery(self, run: Mapping[str, Any]) -> WriteResult:
        return pg_write.rebuild(self, run)

    def after_write(self) -> None:
        pg_write.after_write(self)

    def append_committed(self, table: str, frame: pl.DataFrame) -> None:
        """Binary COPY through ADBC (Arrow in C, no text parsing), committed on its own.

        uuid columns travel as their 16 bytes and jsonb as its wire form (a version byte,
        then the text): binary COPY hands each field to the column type's receive function.
        """
        import adbc_driver_postgresql.dbapi as adbc

        arrow = _binary_copy_arrow(frame, self._column_types(table))
        try:
            with self._adbc() as conn, conn.cursor() as cursor:
                cursor.adbc_ingest(table, arrow, mode="append")
                conn.commit()
        except adbc.Error as exc:
            raise MasteryError(self._adbc_failure(f"bulk load into {table}", exc)) from None

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
            with self._adbc() as conn, conn.cursor() as cursor:
                cursor.execute(text, parameters=tuple(values))
                table = cursor.fetch_arrow_table()
        except adbc.Error as exc:
            raise MasteryError(self._adbc_failure("read from Postgres", exc)) from None
        return pl.DataFrame(pl.from_arrow(table))

    def extract_raw(
        self,
        window_start: datetime,
        as_of: datetime,
        user_ids: Sequence[str],
        partition: Partition = WHOLE,
    ) -> RawRead:
        """The source tables pulled separately in binary (ADBC) and joined in Polars.

        Only what the window needs leaves the database: its sessions first; then their answers
        and session questions by the sessions' ids (index lookups on the ``(session_id,
        question_id)`` key, however long the history); then only the question versions those
        rows name. Two connections read at once, on one exported snapshot, so every read sees
        one state, as the one-statement join did (:func:`pipeline.io.store.pg_extract.extract`).
        """
        return pg_extract.extract(self, window_start, as_of, user_ids, partition)

    def _adbc_failure(self, what: str, exc: BaseException) -> str:
        if getattr(exc, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE:
            return self._denied(str(exc))
        return f"{what} failed: {self.describe(exc)}"


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

"""What every store does the same way; back ends differ only in connection and bulk I/O."""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.frames import RAW_ATTEMPT_SCHEMA
from pipeline.io.sqlfiles import StoreDialect, ddl_names, statement
from pipeline.io.store import registry
from pipeline.io.store.attempt_tables import RawRead
from pipeline.io.store.privileges import (
    JOB_PRIVILEGES,
    no_roles_message,
    permission_message,
)
from pipeline.io.store.registry import ALGO_VERSION, ActiveParams, AnyParams
from pipeline.io.store.tables import FOLLOW_TABLES, PIPELINE_TABLES, SOURCE_TABLES
from pipeline.io.url import DatabaseUrl

_NAMED_PARAM = re.compile(r"(?<![:\w]):(\w+)")
ANSWERED_AT_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
ANSWERED_AT_LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""An ``answered_at`` outside ``[EARLIEST, LATEST)`` is out of range (``pipeline.io.tags``): the
extract sends it as ``LATEST`` or as one microsecond before ``EARLIEST`` (the same instants are
written in ``sql/shared/extract_attempts.sql`` and ``sql/postgres/extract_session_answers*.sql``;
tests/test_hostile_data.py checks both sides)."""


@dataclass(frozen=True)
class Partition:
    """Users whose stable hash modulo ``count`` is ``index`` (all users when count is 1)."""

    index: int = 0
    count: int = 1


WHOLE = Partition()


def scope_params(user_ids: Sequence[str], partition: Partition) -> dict[str, str]:
    """Bound values of the user scope and partition filters shared by extract and key reads."""
    return {
        "user_ids": ",".join(user_ids),
        "partitions": str(partition.count),
        "partition": str(partition.index),
    }


DEFAULT_LOCK_TIMEOUT = 2.0
"""Seconds one lock request on the output table may wait (``RunOptions.lock_timeout``)."""
LOCK_TRIES = 3


@dataclass(frozen=True)
class WriteResult:
    """What the write of a run did: rows upserted, stale rows refreshed, staged rows set aside
    for a newer stored row, the write that happened ("rebuild" or "merge") and why a rebuild
    asked for became a merge (None when it did not)."""

    upserted: int
    stale: int
    newer_kept: int
    write_mode: str
    note: str | None = None


@dataclass(frozen=True)
class InitReport:
    created: tuple[str, ...]
    existing: tuple[str, ...]
    params_id: str
    params_checksum: str
    granted: tuple[str, ...] = ()
    """With ``--grant-to``: the rights granted, e.g. ``"SELECT, INSERT, UPDATE on algo_runs"``."""


class Store(ABC):
    """A connection to one database holding the source tables and the pipeline's tables."""

    dialect: ClassVar[StoreDialect]
    param_style: ClassVar[str]
    concurrent_reads: ClassVar[bool] = False
    """Whether bulk reads may run in another thread meanwhile (each on its own connection)."""

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self.lock_timeout = DEFAULT_LOCK_TIMEOUT
        self.deadline: float | None = None
        self.on_wait: Callable[[str], None] | None = None
        """Told once what a waiting run waits for (the CLI shows it)."""
        self.max_wait: float | None = None
        self.read_snapshot: str | None = None
        """The exported snapshot every extract of this store reads in (:meth:`pin_reads`)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _run(self, sql: str, params: Mapping[str, Any] | None) -> list[tuple[Any, ...]]:
        """Run one statement with bound parameters; rows if it returns any."""

    @abstractmethod
    def _run_script(self, sql: str) -> None:
        """Run a parameterless multi-statement DDL script."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]: ...

    @abstractmethod
    def bulk_insert(self, table: str, frame: pl.DataFrame) -> None:
        """Append a frame whose columns are named as the table's, in bulk (COPY / Arrow)."""

    def append_committed(self, table: str, frame: pl.DataFrame) -> None:
        """Append and commit on its own (bulk loads of source data); stores may go faster."""
        self.bulk_insert(table, frame)

    def existing_tables(self) -> set[str]:
        return {str(row[0]) for row in self.fetch_all("select_tables")}

    def sql(self, name: str) -> str:
        """The dialect's own file if it has one, else the shared one, in this driver's style."""
        text = statement(self.dialect, name)
        if self.param_style == "pyformat":
            return _NAMED_PARAM.sub(r"%(\1)s", text.replace("%", "%%"))
        return _NAMED_PARAM.sub(r"$\1", text)

    def numbered_sql(self, name: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The statement with ``$1, $2, ...`` placeholders and its values in that order (ADBC)."""
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        text = _NAMED_PARAM.sub(number, statement(self.dialect, name))
        return text, [params[key] for key in order]

    def extract_raw_attempts(
        self,
        window_start: datetime,
        as_of: datetime,
        user_ids: Sequence[str],
        partition: Partition = WHOLE,
    ) -> pl.DataFrame:
        """Raw attempts in the window (``pipeline.io.tags.RAW_ATTEMPT_SCHEMA``), pulled as Arrow.

        Where the catalog shows ``session_answers`` or ``session_questions`` without a unique
        ``(session_id, question_id)`` (SPEC §2), one row per attempt is kept and the frame gains
        a ``duplicates_dropped`` count (``pipeline.io.tags.drop_duplicate_attempts``).
        """
        return self.extract_raw(window_start, as_of, user_ids, partition).frame

    def extract_raw(
        self,
        window_start: datetime,
        as_of: datetime,
        user_ids: Sequence[str],
        partition: Partition = WHOLE,
    ) -> RawRead:
        """:meth:`extract_raw_attempts` with its profile: seconds per step, rows read per table.

        This default is one SQL join (``extract_attempts.sql``), which an in-process engine
        (DuckDB) runs as fast as anything; Postgres overrides it with separate-table reads.
        """
        params = self.extract_params(window_start, as_of, user_ids, partition)
        began = time.perf_counter()
        raw = self.fetch_arrow("extract_attempts", params)
        # exactly RAW_ATTEMPT_SCHEMA, whatever the engine (DuckDB names its zone ``Etc/UTC``)
        raw = raw.select(pl.col(name).cast(dtype) for name, dtype in RAW_ATTEMPT_SCHEMA.items())
        seconds = {"extract.join": time.perf_counter() - began}
        return RawRead(self.unique_attempts(raw), seconds, {"attempts": raw.height})

    def unique_attempts(self, raw: pl.DataFrame) -> pl.DataFrame:
        """One row per attempt where the catalog cannot promise it (see above)."""
        if self.attempt_keys_unique:
            return raw
        from pipeline.io.tags import drop_duplicate_attempts

        return drop_duplicate_attempts(raw)

    @cached_property
    def attempt_keys_unique(self) -> bool:
        """Whether both tables an attempt joins hold a unique ``(session_id, question_id)``."""
        row = self.fetch_one("select_attempt_keys_unique")
        return bool(row and row[0])

    def fetch_arrow(self, name: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """A bulk read as Arrow columns (never Python tuples); stores override the path."""
        return self.fetch_frame(name, params)

    def extract_params(
        self,
        window_start: datetime,
        as_of: datetime,
        user_ids: Sequence[str],
        partition: Partition = WHOLE,
    ) -> dict[str, Any]:
        return {
            "window_start": window_start.isoformat(),
            "as_of": as_of.isoformat(),
            **scope_params(user_ids, partition),
        }

    @abstractmethod
    def execute_count(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        """Run a writing statement and return how many rows it touched."""

    @abstractmethod
    @contextmanager
    def run_lock(self, *, wait: bool, user_ids: Sequence[str] = ()) -> Iterator[None]:
        """The right to write the scope ``user_ids`` (empty: the whole cohort) while no run of
        an overlapping scope does (SPEC §8); ConcurrentRunError if taken and not ``wait``."""

    def hold_run(self, run_id: str) -> None:  # noqa: B027 (optional hook)
        """Mark ``run_id`` live for as long as the run lock is held (Postgres: a lock that
        ``abandon_running_runs`` checks); stores run by one process at a time need nothing."""

    @contextmanager
    def exported_snapshot(self) -> Iterator[str | None]:
        """Reads on this store's connection in one snapshot, exported so that another run's
        extract reads the very same state (:meth:`pin_reads`); None where a store has none
        (DuckDB: one process at a time opens its file for writing)."""
        yield None

    def pin_reads(self, snapshot: str | None) -> None:
        """Every extract of this store reads in ``snapshot`` (:meth:`exported_snapshot`'s)."""
        if snapshot is not None:
            raise MasteryError("a read snapshot is a Postgres one: this store has none")

    def limit_waits(self, *, lock_timeout: float, max_wait: float | None) -> None:
        """Each lock request waits at most ``lock_timeout`` seconds (a few tries with back-off)
        and nothing waits more than ``max_wait`` seconds from now (None: no bound)."""
        self.lock_timeout = lock_timeout
        self.max_wait = max_wait
        self.deadline = None if max_wait is None else time.monotonic() + max_wait

    def gave_up(self) -> str:
        return f"gave up after {self.max_wait:g} s (--max-wait)"

    def after_write(self) -> None:  # noqa: B027 (optional hook)
        """Clean up after the write's commit (Postgres: the table a rebuild swapped out)."""

    def remaining(self) -> float | None:
        """Seconds left before the run's deadline (None: unbounded)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def fetch_frame(self, name: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """A small query's rows as a frame (lookups, keys); bulk reads use Arrow paths."""
        return self._fetch_frame(self.sql(name), params)

    @abstractmethod
    def _fetch_frame(self, sql: str, params: Mapping[str, Any] | None) -> pl.DataFrame: ...

    def open_stage(self) -> None:
        """An empty staging table, inside the caller's transaction."""
        self._run_script(statement(self.dialect, "create_mastery_stage"))

    def add_to_stage(self, stage: pl.DataFrame) -> None:
        self.bulk_insert("mastery_stage", stage)

    def merge_mastery(self, run: Mapping[str, Any], *, rebuild: bool = False) -> WriteResult:
        """Write the staged rows: upsert them and refresh the staged stale rows.

        First, staged rows whose stored row comes from a run with a later ``as_of`` are set
        aside (SPEC §8: counted as ``newer_kept``). ``rebuild`` rewrites the whole table
        instead where the store offers it: the same rows, in bulk.
        """
        kept = self.execute_count("drop_newer_staged", {"as_of": run["as_of"]})
        run = {key: value for key, value in run.items() if key != "as_of"}
        if rebuild:
            return replace(self.rebuild_mastery(run), newer_kept=kept)
        upserted = self.execute_count("merge_mastery", run)
        stale = self.execute_count("refresh_stale_mastery", run)
        return WriteResult(upserted, stale, kept, "merge")

    @property
    def can_rebuild(self) -> bool:
        return False

    def rebuild_mastery(self, run: Mapping[str, Any]) -> WriteResult:
        raise MasteryError(f"--write-mode rebuild is not available on {self.dialect}: use merge")

    def execute(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(self.sql(name), params)

    def fetch_all(self, name: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        return self._run(self.sql(name), params)

    def fetch_one(self, name: str, params: Mapping[str, Any] | None = None) -> tuple | None:
        rows = self.fetch_all(name, params)
        return rows[0] if rows else None

    def require_tables(self, tables: Sequence[str]) -> None:
        """Every table exists (else: run init) and this role may read it (else: which right)."""
        existing = self.existing_tables()
        missing = [t for t in tables if t not in existing]
        if missing:
            raise MasteryError(
                f"missing table(s) {', '.join(missing)} in {self.url}: run `mastery init` first"
            )
        denied = self.missing_privileges([("SELECT", table) for table in tables])
        if denied:
            raise MasteryError(permission_message(*denied[0]))

    def missing_privileges(
        self,
        rights: Sequence[tuple[str, str]],
        *,
        role: str | None = None,
        with_database: bool = False,
    ) -> list[tuple[str, str, str]]:
        """What ``role`` (default: this session's) lacks of USAGE on the schema, the
        ``(privilege, table)`` pairs and, ``with_database``, TEMPORARY on the database, as
        ``(privilege, target, role)``. Stores without roles lack nothing."""
        return []

    def job_rights(self) -> list[tuple[str, str]]:
        """Every ``(privilege, table)`` a recompute uses (:data:`JOB_PRIVILEGES`)."""
        return [(p, table) for table, privileges in JOB_PRIVILEGES.items() for p in privileges]

    def check_grantee(self, role: str) -> None:
        """Refuse ``--grant-to`` before anything is written: no such role, or no roles here."""
        raise MasteryError(no_roles_message(role))

    def grant_job_role(self, role: str) -> tuple[str, ...]:
        """Grant an existing role exactly what a recompute needs; returns what was granted."""
        self.check_grantee(role)
        return ()

    def init_schema(self) -> InitReport:
        """Create absent tables and indexes, seed the registry; a second run changes nothing."""
        before = self.existing_tables()
        with self.transaction():
            for name in ddl_names():
                self._run_script(statement(self.dialect, name))
            params_id, checksum = registry.seed(self)
        tables = (*SOURCE_TABLES, *PIPELINE_TABLES, *FOLLOW_TABLES)
        return InitReport(
            created=tuple(t for t in tables if t not in before),
            existing=tuple(t for t in tables if t in before),
            params_id=params_id,
            params_checksum=checksum,
        )

    def algo_version_id(self, version: str = ALGO_VERSION) -> str:
        return registry.algo_version_id(self, version)

    def active_params(self) -> ActiveParams:
        """The one active params row of 'mastery', whichever version (:mod:`.registry`)."""
        self.require_tables(PIPELINE_TABLES)
        return registry.active_params(self)

    def version_params(self, version: str) -> ActiveParams:
        """``version``'s params: its active row, else its newest."""
        self.require_tables(PIPELINE_TABLES)
        return registry.version_params(self, version)

    def activate_params(self, params: AnyParams, version: str | None = None) -> str:
        """Make ``params`` the one active row of every version (switching algorithm too)."""
        self.require_tables(PIPELINE_TABLES)
        return registry.activate_params(self, params, version)

"""What every store does the same way; back ends differ only in connection and bulk I/O."""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params, default_params
from pipeline.io.sqlfiles import StoreDialect, ddl_names, statement
from pipeline.io.url import DatabaseUrl

ALGO_KEY = "mastery"
ALGO_VERSION = "v0"
SOURCE_TABLES = (
    "users",
    "blocks",
    "themes",
    "questions",
    "question_versions",
    "test_sessions",
    "session_questions",
    "session_answers",
)
PIPELINE_TABLES = ("algo_versions", "algo_params", "algo_runs", "user_theme_mastery")
_READ = ("SELECT",)
_WRITE = ("SELECT", "INSERT", "UPDATE")
JOB_PRIVILEGES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(SOURCE_TABLES, _READ),
    "algo_versions": _READ,
    "algo_params": _READ,
    "algo_runs": _WRITE,
    "user_theme_mastery": _WRITE,
}
"""The table rights a recompute (merge mode) uses, besides USAGE on the schema and TEMPORARY on
the database (its staging table): it reads the source tables and the registry, inserts and
updates its ``algo_runs`` row, and upserts (``INSERT ... ON CONFLICT DO UPDATE``, which also
reads) and refreshes (``UPDATE``) ``user_theme_mastery``. Nothing is deleted; a rebuild
(``TRUNCATE``, index rebuilds) needs ownership of ``user_theme_mastery`` instead."""
_NAMED_PARAM = re.compile(r"(?<![:\w]):(\w+)")
ANSWERED_AT_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
ANSWERED_AT_LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""An ``answered_at`` outside ``[EARLIEST, LATEST)`` is out of range (``pipeline.io.tags``): the
extract sends it as ``LATEST`` or as one microsecond before ``EARLIEST`` (the same instants are
written in ``sql/shared/extract_attempts.sql``; tests/test_hostile_data.py checks both sides)."""


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


@dataclass(frozen=True)
class InitReport:
    created: tuple[str, ...]
    existing: tuple[str, ...]
    params_id: str
    params_checksum: str
    granted: tuple[str, ...] = ()
    """With ``--grant-to``: the rights granted, e.g. ``"SELECT, INSERT, UPDATE on algo_runs"``."""


def no_roles_message(role: str) -> str:
    """Why ``--grant-to`` is refused on an embedded store."""
    return (
        f"--grant-to {role}: DuckDB has no roles or grants (whoever can open the file may do "
        "everything); grant to a role on a Postgres --database-url"
    )


def permission_message(privilege: str, target: str, role: str) -> str:
    """One line naming the right a role lacks and what to do about it."""
    return (
        f"permission denied: the job needs {privilege} on {target} (connected as {role}); "
        f"the tables' owner can grant what runs need with `mastery init --grant-to {role}`"
    )


@dataclass(frozen=True)
class ActiveParams:
    params_id: str
    algo_version_id: str
    params: Params
    checksum: str


class Store(ABC):
    """A connection to one database holding the source tables and the pipeline's tables."""

    dialect: ClassVar[StoreDialect]
    param_style: ClassVar[str]
    concurrent_reads: ClassVar[bool] = False
    """Whether bulk reads may run in another thread meanwhile (each on its own connection)."""

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url

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
        params = self.extract_params(window_start, as_of, user_ids, partition)
        raw = self.fetch_arrow("extract_attempts", params)
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
    def run_lock(self, *, wait: bool) -> Iterator[None]:
        """Exclusive right to run a recompute on this database (ConcurrentRunError if taken)."""

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

    def merge_mastery(self, run: Mapping[str, Any], *, rebuild: bool = False) -> tuple[int, int]:
        """Upsert the staged rows and refresh the staged stale rows; returns both counts.

        ``rebuild`` rewrites the whole table instead (where the store offers it): the same rows,
        without one index and foreign-key update per row.
        """
        if rebuild:
            return self.rebuild_mastery(run)
        upserted = self.execute_count("merge_mastery", run)
        stale = self.execute_count("refresh_stale_mastery", run)
        return upserted, stale

    @property
    def can_rebuild(self) -> bool:
        return False

    def rebuild_mastery(self, run: Mapping[str, Any]) -> tuple[int, int]:
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
            version_id = self._seed_algo_version()
            active = self._active_params_row(version_id)
            if active is None:
                params = default_params()
                params_id = self._insert_params(version_id, params, is_active=True)
                checksum = params.checksum()
            else:
                params_id, checksum = active[0], active[2]
        tables = (*SOURCE_TABLES, *PIPELINE_TABLES)
        return InitReport(
            created=tuple(t for t in tables if t not in before),
            existing=tuple(t for t in tables if t in before),
            params_id=params_id,
            params_checksum=checksum,
        )

    def algo_version_id(self) -> str:
        row = self.fetch_one("select_algo_version", {"algo_key": ALGO_KEY, "version": ALGO_VERSION})
        if row is None:
            raise MasteryError(f"{self.url} has no algo_versions row: run `mastery init` first")
        return str(row[0])

    def active_params(self) -> ActiveParams:
        self.require_tables(PIPELINE_TABLES)
        version_id = self.algo_version_id()
        row = self._active_params_row(version_id)
        if row is None:
            raise MasteryError("no active algo_params row: run `mastery params activate FILE`")
        return ActiveParams(
            params_id=row[0],
            algo_version_id=version_id,
            params=Params.from_json(row[1]),
            checksum=row[2],
        )

    def activate_params(self, params: Params) -> str:
        """Make ``params`` the one active row (reusing an identical row), returning its id."""
        self.require_tables(PIPELINE_TABLES)
        version_id = self.algo_version_id()
        with self.transaction():
            self.execute("deactivate_params", {"algo_version_id": version_id})
            found = self.fetch_one(
                "select_params_by_checksum",
                {"algo_version_id": version_id, "checksum": params.checksum()},
            )
            if found is None:
                return self._insert_params(version_id, params, is_active=True)
            self.execute("activate_params", {"id": found[0]})
            return str(found[0])

    def _seed_algo_version(self) -> str:
        self.execute(
            "seed_algo_version",
            {
                "id": str(uuid.uuid4()),
                "algo_key": ALGO_KEY,
                "version": ALGO_VERSION,
                "description": "Mastery v0: recency-weighted bucketed accuracy (SPEC §4)",
            },
        )
        return self.algo_version_id()

    def _active_params_row(self, version_id: str) -> tuple | None:
        return self.fetch_one("select_active_params", {"algo_version_id": version_id})

    def _insert_params(self, version_id: str, params: Params, *, is_active: bool) -> str:
        params_id = str(uuid.uuid4())
        self.execute(
            "insert_params",
            {
                "id": params_id,
                "algo_version_id": version_id,
                "params_json": params.canonical_json(),
                "checksum": params.checksum(),
                "is_active": is_active,
            },
        )
        return params_id

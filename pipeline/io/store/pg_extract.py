"""How the Postgres store reads a window's attempts (issue 20): the source tables pulled
separately in binary through ADBC, on two connections that share one snapshot, and joined in
Polars. Two connections because the two large reads (answers, session questions) then run at
once: each keeps one Postgres backend busy, and ADBC decodes without the GIL."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.io.background import in_background, result, settle
from pipeline.io.sqlfiles import statement
from pipeline.io.store.attempt_tables import (
    KeyedAnswers,
    RawRead,
    join_attempt_tables,
    key_answers,
    session_id_list,
    unstored_versions,
    uuid_list,
    with_snapshots,
)
from pipeline.io.store.base import Partition

if TYPE_CHECKING:
    from pipeline.io.store.postgres import PostgresStore

_ISOLATION = "adbc.connection.transaction.isolation_level"
_REPEATABLE_READ = "adbc.connection.transaction.isolation.repeatable_read"
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+$")
_INVALID_PARAMETER_VALUE = "22023"  # what SET TRANSACTION SNAPSHOT says of an unknown id
LOOKUPS_ONLY = ("enable_hashjoin=off", "enable_mergejoin=off")
"""Settings of the reading connections: their joins are index lookups by session id."""
_TABLE_OF_STEP = {
    "sessions": "test_sessions",
    "answers": "session_answers",
    "session_questions": "session_questions",
    "versions": "question_versions",
    "snapshots": "session_questions_with_snapshot",
}


class _Reader:
    """One ADBC connection in a REPEATABLE READ transaction, its reads timed into ``seconds``."""

    def __init__(self, store: PostgresStore, stack: ExitStack, seconds: dict[str, float]):
        self.store = store
        self.conn = stack.enter_context(store._adbc(*LOOKUPS_ONLY))
        self.conn.adbc_connection.set_options(**{_ISOLATION: _REPEATABLE_READ})
        self.cursor = stack.enter_context(self.conn.cursor())
        self.seconds = seconds
        self.rows: dict[str, int] = {}

    def run(self, text: str) -> list[tuple[Any, ...]]:
        self.cursor.execute(text)
        return list(self.cursor.fetchall())

    def read(self, step: str, name: str, values: Mapping[str, Any]) -> pl.DataFrame:
        began = time.perf_counter()
        text, bound = self.store.numbered_sql(name, values)
        self.cursor.execute(text, parameters=tuple(bound))
        frame = pl.DataFrame(pl.from_arrow(self.cursor.fetch_arrow_table()))
        self.seconds[f"extract.{step}"] = time.perf_counter() - began
        self.rows[_TABLE_OF_STEP[step]] = frame.height
        return frame


def extract(
    store: PostgresStore,
    window_start: datetime,
    as_of: datetime,
    user_ids: Sequence[str],
    partition: Partition,
) -> RawRead:
    """The window's sessions first (ordered by id: their row is the ``session_index`` the other
    reads carry); then, by those sessions' ids, their answers on this connection while their
    session questions, the versions those name and any snapshot re-read come on a second one,
    which imports this one's snapshot (``SET TRANSACTION SNAPSHOT``), so every read sees one
    state of the database, as the one-statement join did (where the store's reads are pinned,
    both import the pinned snapshot: :meth:`PostgresStore.pin_reads`); the answers are keyed
    while the session questions still read.

    Every read after the sessions is an index lookup by session id, whatever the share of the
    table the window holds: with a long history, or one partition of many, a semi-join on the
    window predicate made Postgres scan the whole table, once per partition (its estimate of
    the partition predicate is a default 0.5 %, and its cost model prices a cached index lookup
    as a disk seek), so the reading connections run with hash and merge joins off.
    """
    import adbc_driver_postgresql.dbapi as adbc

    params = store.extract_params(window_start, as_of, user_ids, partition)
    seconds: dict[str, float] = {}
    with ExitStack() as stack:  # every connection closed on any way out
        try:
            main = _Reader(store, stack, seconds)
            snapshot = store.read_snapshot  # pinned: another transaction exported it
            if snapshot is None:
                snapshot = str(main.run(statement("postgres", "extract_export_snapshot"))[0][0])
            else:
                _import_snapshot(main, snapshot)
            sessions = main.read("sessions", "extract_sessions", params)
            scope = {"session_ids": session_id_list(sessions)}
            side = _Reader(store, stack, seconds)
            _import_snapshot(side, snapshot)
            links_read = in_background(lambda: _read_links(side, scope), "extract-links")
            try:
                keyed, prepared = _keyed_answers(main, scope)
            except BaseException:
                with contextlib.suppress(Exception):  # ends before its connection closes
                    side.cursor.adbc_cancel()
                settle(links_read)
                raise
            links, versions = result(links_read)
        except adbc.Error as exc:
            raise MasteryError(store._adbc_failure("read from Postgres", exc)) from None
    began = time.perf_counter()
    raw = join_attempt_tables(sessions, keyed, links, versions)
    raw = store.unique_attempts(raw)
    seconds["extract.join"] = prepared + time.perf_counter() - began
    return RawRead(raw, seconds, {**main.rows, **side.rows})


def _keyed_answers(main: _Reader, scope: Mapping[str, Any]) -> tuple[KeyedAnswers, float]:
    """The answers, keyed for the join (seconds spent keying, part of ``extract.join``)."""
    answers = main.read("answers", "extract_session_answers", scope)
    began = time.perf_counter()
    return key_answers(answers), time.perf_counter() - began


def is_snapshot_id(text: str) -> bool:
    """Whether ``text`` has the form of what ``pg_export_snapshot`` returns."""
    return bool(_SNAPSHOT_ID.match(text))


def _import_snapshot(reader: _Reader, snapshot: str) -> None:
    """The first statement of the side transaction: the main one's snapshot (an id checked to
    be what ``pg_export_snapshot`` returns, as a utility statement takes no bound value)."""
    import adbc_driver_postgresql.dbapi as adbc

    if not is_snapshot_id(snapshot):
        raise MasteryError(f"unexpected snapshot id from Postgres: {snapshot!r}")
    try:
        reader.run(statement("postgres", "extract_import_snapshot").replace("{snapshot}", snapshot))
    except adbc.Error as exc:
        if getattr(exc, "sqlstate", None) != _INVALID_PARAMETER_VALUE:
            raise
        raise MasteryError(
            f"snapshot {snapshot} is gone: the transaction that exported it ended before the "
            "extract read it (a pinned snapshot lives as long as its transaction: run again)"
        ) from None


def _read_links(side: _Reader, scope: Mapping[str, Any]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Session questions, the versions they name, and the snapshot re-read of those naming a
    version that is not stored (SPEC §4's per-field fallback; the first read already sent the
    snapshot of every row whose stored version lacks a field)."""
    links = side.read("session_questions", "extract_session_questions", scope)
    named = {"version_ids": uuid_list(links["question_version_id"])}
    versions = side.read("versions", "extract_question_versions", named)
    unstored = unstored_versions(links, versions)
    if unstored.len():
        fallback = {**scope, "version_ids": uuid_list(unstored)}
        snapshots = side.read("snapshots", "extract_session_snapshots", fallback)
        links = with_snapshots(links, unstored, snapshots)
    return links, versions

"""How the Postgres store writes the output table (SPEC §8): every lock under ``lock_timeout``
with bounded retries, a rebuild built beside the table and swapped in by renames, the merge as
its fallback, and one line naming the blocker when even the merge cannot get its locks."""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg
import psycopg.sql

from pipeline.contracts.errors import ConcurrentRunError, MasteryError
from pipeline.io.store.base import LOCK_TRIES, WriteResult

if TYPE_CHECKING:
    from pipeline.io.store.postgres import PostgresStore

_T = TypeVar("_T")
HOLDER_GRACE = 1.0
"""Seconds a run that does not wait keeps trying for a taken scope lock before it refuses: a
killed run's server session, and the lock it holds, outlive the kill until the server notices
the closed socket, so a run started right after the kill would otherwise refuse for a run that
is already gone."""
_INDEX_HEAD = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) \S+ ON (?:ONLY )?\S+ ")


class _LockBusyError(Exception):
    """A lock on the output table was not granted within the tries: the blocker, one line."""


def _short_hash(name: str) -> str:
    return hashlib.blake2s(name.encode(), digest_size=6).hexdigest()


def write(store: PostgresStore, run: Mapping[str, Any], *, rebuild_asked: bool) -> WriteResult:
    """Write under ``lock_timeout`` with bounded retries: a rebuild asked for builds the new
    table beside the old one and swaps it in, else (dependents, or the swap lock not had)
    the row merge; if even the merge cannot get its locks, one line naming the blocker."""
    lock_timeout(store)  # for every statement of the write, to the end of the transaction
    kept = store.execute_count("drop_newer_staged", {"as_of": run["as_of"]})
    run = {key: value for key, value in run.items() if key != "as_of"}
    note = None
    if rebuild_asked:
        note = _cannot_swap(store)
        if note is None:
            try:
                return replace(rebuild(store, run), newer_kept=kept)
            except _LockBusyError as busy:
                note = f"the swap lock was not granted ({busy})"
    try:
        upserted, stale = locked(
            store,
            lambda: (
                store.execute_count("merge_mastery", run),
                store.execute_count("refresh_stale_mastery", run),
            ),
        )
    except _LockBusyError as busy:
        raise MasteryError(str(busy)) from None
    return WriteResult(upserted, stale, kept, "merge", f"{note}: merged" if note else None)


def _cannot_swap(store: PostgresStore) -> str | None:
    """Why a rename-swap cannot replace the table (None: it can)."""
    dependents = [str(row[0]) for row in store.fetch_all("select_mastery_dependents")]
    if dependents:
        return f"a rebuild would break {', '.join(dependents)}"
    if store.fetch_one("select_mastery_old") != (None,):  # dropping it here would hold
        # locks on the referenced tables (users, ...) until the run commits: after it
        store._swapped = True
        return "user_theme_mastery_old from an earlier rebuild is still there"
    return None


def rebuild(store: PostgresStore, run: Mapping[str, Any]) -> WriteResult:
    """Build the table's next contents as ``user_theme_mastery_next`` (rows, then keys,
    indexes, foreign keys NOT VALID + VALIDATE, grants) while readers keep reading the old
    one, then swap the names in one short step under ``lock_timeout``: readers see the old
    rows until the commit, then the new ones; never a half state, never a long wait.
    The old table is dropped after the commit (:meth:`after_write`). Owner only.
    """
    if not store.can_rebuild:
        raise MasteryError(
            "--write-mode rebuild must own user_theme_mastery and may create tables in its "
            "schema: use --write-mode merge"
        )
    upserted, stale = store.fetch_one("count_mastery_stage") or (0, 0)
    try:
        with store.conn.transaction():  # a savepoint: the build goes if the swap cannot
            lock_timeout(store)
            store.execute("set_rebuild_memory")
            store.execute("analyze_mastery_stage")
            renames = _build_next(store, run)
            locked(store, lambda: _swap(store, renames))
    except psycopg.errors.LockNotAvailable:
        raise _LockBusyError(blocker(store, 1)) from None
    store._swapped = True
    return WriteResult(int(upserted), int(stale), 0, "rebuild")


def _build_next(store: PostgresStore, run: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Fill and key ``user_theme_mastery_next``; returns (kind, temporary, canonical) names."""
    sql, ident = psycopg.sql.SQL, psycopg.sql.Identifier
    table = ident("user_theme_mastery_next")
    constraints = store.fetch_all("select_mastery_constraints")
    indexes = store.fetch_all("select_mastery_indexes")
    grants = store.fetch_all("select_mastery_grants")
    store._run_script(store.sql("create_mastery_table_next"))
    renames: list[tuple[str, str, str]] = []

    def add(name: str, definition: str) -> str:
        """Named as on the old table, but keys (their indexes' names are the schema's)
        under a temporary name until the swap."""
        temporary = name
        if not definition.startswith(("CHECK", "FOREIGN KEY")):
            temporary = f"utm_next_{len(renames)}"
            renames.append(("constraint", temporary, name))
        store.conn.execute(
            sql("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                table, ident(temporary), sql(definition)
            )
        )
        return temporary

    for name, kind, definition in constraints:
        if kind == "c":  # checked on every row filled in, as before
            add(name, definition)
    store.execute("insert_mastery_next", run)
    for name, kind, definition in constraints:
        if kind in ("p", "u", "x"):
            add(name, definition)
    for name, definition in indexes:
        temporary = f"utm_next_{len(renames)}"
        renames.append(("index", temporary, name))
        rewritten = _INDEX_HEAD.sub(rf"\1 {temporary} ON user_theme_mastery_next ", definition)
        store.conn.execute(sql(rewritten))
    for name, kind, definition in constraints:
        if kind == "f":  # light locks on the referenced tables: add, then validate
            valid = not definition.endswith(" NOT VALID")
            temporary = add(name, definition + (" NOT VALID" if valid else ""))
            if valid:
                store.conn.execute(
                    sql("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(table, ident(temporary))
                )
    owner = str(grants[0][0]) if grants else ""
    if owner and owner != store.fetch_one("select_current_user")[0]:  # type: ignore[index]
        store.conn.execute(sql("ALTER TABLE {} OWNER TO {}").format(table, ident(owner)))
    for _, grantee, privilege, grantable in grants:
        if grantee is None:
            continue
        who = sql("PUBLIC") if grantee == "PUBLIC" else ident(str(grantee))
        option = sql(" WITH GRANT OPTION" if grantable else "")
        store.conn.execute(
            sql("GRANT {} ON {} TO {}{}").format(sql(str(privilege)), table, who, option)
        )
    store.execute("analyze_mastery_next")
    return renames


def _swap(store: PostgresStore, renames: list[tuple[str, str, str]]) -> None:
    """The one step that takes ACCESS EXCLUSIVE on the old table: names only."""
    sql, ident = psycopg.sql.SQL, psycopg.sql.Identifier
    old, current = ident("user_theme_mastery_old"), ident("user_theme_mastery")
    store.conn.execute(sql("ALTER TABLE {} RENAME TO {}").format(current, old))
    for kind, _, name in renames:  # free the canonical names on the old table
        parked = ident(f"utm_old_{_short_hash(name)}")
        if kind == "constraint":
            rename = sql("ALTER TABLE {} RENAME CONSTRAINT {} TO {}")
            store.conn.execute(rename.format(old, ident(name), parked))
        else:
            store.conn.execute(sql("ALTER INDEX {} RENAME TO {}").format(ident(name), parked))
    store.conn.execute(
        sql("ALTER TABLE {} RENAME TO {}").format(ident("user_theme_mastery_next"), current)
    )
    for kind, temporary, name in renames:
        if kind == "constraint":
            store.conn.execute(
                sql("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                    current, ident(temporary), ident(name)
                )
            )
        else:
            store.conn.execute(
                sql("ALTER INDEX {} RENAME TO {}").format(ident(temporary), ident(name))
            )


def after_write(store: PostgresStore) -> None:
    """After a swap's commit: drop the old table in a short transaction of its own, best
    effort under ``lock_timeout`` (its foreign keys make the drop lock the referenced tables,
    so never inside a run's transaction; a later run retries)."""
    if not store._swapped:
        return
    store._swapped = False
    with contextlib.suppress(_LockBusyError, psycopg.Error, MasteryError), store.transaction():
        locked(store, lambda: store.execute("drop_mastery_old"), tries=1)


def lock_timeout(store: PostgresStore) -> float:
    """``SET LOCAL lock_timeout``: the option's seconds, never past the run's deadline."""
    remaining = store.remaining()
    if remaining is not None and remaining <= 0:
        raise MasteryError(store.gave_up())
    seconds = store.lock_timeout if remaining is None else min(store.lock_timeout, remaining)
    milliseconds = max(1, int(seconds * 1000))
    store.conn.execute(psycopg.sql.SQL(f"SET LOCAL lock_timeout = {milliseconds}"))
    if remaining is not None:  # a bounded run: no statement outlives it either
        limit = max(1, int(remaining * 1000))
        store.conn.execute(psycopg.sql.SQL(f"SET LOCAL statement_timeout = {limit}"))
    return seconds


def locked(store: PostgresStore, action: Callable[[], _T], *, tries: int = LOCK_TRIES) -> _T:
    """``action`` in a savepoint under ``lock_timeout``; a lock not granted is retried after
    a back-off (0.5 s, 1 s, ...) up to ``tries`` times, then :class:`_LockBusyError`."""
    for attempt in range(tries):
        try:
            with store.conn.transaction():
                lock_timeout(store)
                return action()
        except psycopg.errors.LockNotAvailable:
            if attempt + 1 < tries:
                pause = 0.5 * 2**attempt
                remaining = store.remaining()
                time.sleep(pause if remaining is None else max(0.0, min(pause, remaining)))
    raise _LockBusyError(blocker(store, tries))


def blocker(store: PostgresStore, tries: int) -> str:
    row = store.fetch_one("select_mastery_blocker")
    who = "another session"
    if row:
        pid, state, seconds = row
        held = f", {state} for {seconds} s" if state and seconds is not None else ""
        who = f"another session (pid {pid}{held})"
    of = "try" if tries == 1 else "tries"
    return (
        f"user_theme_mastery is locked by {who}: gave up after {tries} {of} of "
        f"{store.lock_timeout:g} s"
    )


def take_scope_locks(
    store: PostgresStore, *, wait: bool, user_ids: Sequence[str]
) -> dict[str, str]:
    """The scope's advisory locks (see ``PostgresStore.run_lock``), all or none; returns what
    ``release_scope_lock.sql`` releases."""
    whole = not user_ids
    params = {"whole": whole, "user_ids": ",".join(user_ids)}
    told = False
    refuse_at = time.monotonic() + HOLDER_GRACE
    while True:
        rows = store.fetch_all("try_scope_lock", params)
        cohort = "" if not rows[0][2] else ("exclusive" if whole else "shared")
        taken = ",".join(str(r[1]) for r in rows[1:] if r[2])
        if all(r[2] for r in rows):
            return {"cohort": cohort, "user_ids": taken}
        store.execute("release_scope_lock", {"cohort": cohort, "user_ids": taken})
        if not wait and time.monotonic() >= refuse_at:
            raise ConcurrentRunError(_running_message(store, whole))
        if store.deadline is not None and time.monotonic() >= store.deadline:
            running = _running_message(store, whole).split(";")[0]
            raise MasteryError(f"{store.gave_up()}: {running}")
        if store.on_wait is not None and wait and not told:
            told = True
            store.on_wait(
                "waiting for " + _running_message(store, whole).split(": ", 1)[1].split(";")[0]
            )
        time.sleep(0.2)


def _running_message(store: PostgresStore, whole: bool) -> str:
    row = store.fetch_one("select_running_run")
    which = f"run {row[0]} (started {row[1]:%Y-%m-%d %H:%M:%S %Z})" if row else "another run"
    overlap = "" if whole else " over an overlapping scope"
    return f"another recompute is running on this database{overlap}: {which}; use --wait to wait"

"""Fresh after every submit: recompute a few users in a warm process (issue 17, step 1).

:class:`FreshRecomputer` holds one open store connection, the active params and the lookups,
so a call costs one indexed extract of its users, the same kernel and validation as a full run
(:func:`pipeline.run.batch.compute_partition`) and one short transaction, logged as a run of
its own (RUNNING committed first, then SUCCESS with the rows, or FAILED; SPEC §5)::

    with FreshRecomputer(url) as fresh:          # a notebook or a service keeps it open
        fresh.recompute([student_id])            # after each submit

    recompute_users(url, [student_id])           # one call, its own connection

Params and lookups are read again only when a cheap query says they changed (the active params
id, and a count and checksum of ``themes`` and ``blocks``). The run lock is the one every
recompute takes (:meth:`Store.run_lock`), so a per-student run never interleaves with an
overlapping one. Under it, one query checks the users and reads their stored keys.

The statements are the ``fresh_*`` ones, written for a list of users only: the connection
prepares them, and the plan Postgres then keeps must stay the index lookup by user. The
shared extract's "all users" branch made that kept plan a scan of the whole window (0.2-0.8 s
a call from about the tenth call on). On Postgres the connection keeps its staging table
(emptied at each commit) instead of creating one per call. ``benchmarks/bench_fresh.py``
measures a call, stage by stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.contracts.errors import Interrupted, InterruptedRunError, MasteryError, one_line
from pipeline.contracts.frames import RAW_ATTEMPT_SCHEMA
from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import Scope
from pipeline.io.extract import resolve_extracted
from pipeline.io.store import ActiveParams, Store, open_store
from pipeline.io.store.base import DEFAULT_LOCK_TIMEOUT
from pipeline.io.url import DatabaseUrl
from pipeline.run import checks, ledger, signals
from pipeline.run.batch import Lookups, RunTotals, compute_partition
from pipeline.run.clock import StageClock
from pipeline.run.spec import RunOptions, RunSpec, RunSummary

SOURCE_TABLES_READ = ("test_sessions", "session_answers", "session_questions", "question_versions")
FAST_PATH_INDEXES = ("ix_test_sessions_user_submitted",)
"""Indexes the per-student extract relies on beyond the unique keys (ddl_14)."""


@dataclass(frozen=True)
class _Cached:
    active: ActiveParams
    lookups: Lookups
    token: tuple[Any, ...]


@dataclass(frozen=True)
class _Call:
    """What one call's run works from, once its lock is held and its RUNNING row logged."""

    spec: RunSpec
    lookups: Lookups
    existing: pl.DataFrame
    input_summary: dict[str, Any]
    allow_mass_change: bool


class FreshRecomputer:
    """A warm per-student recompute: one connection, cached params and lookups.

    ``trigger`` is logged on each run; ``wait`` waits for a running overlapping recompute
    instead of refusing (:class:`ConcurrentRunError`); ``lock_timeout`` and ``max_wait`` bound
    the waits of each call as :class:`RunOptions` say. Not thread-safe: one per thread.
    """

    def __init__(
        self,
        database_url: str | DatabaseUrl | None = None,
        *,
        trigger: str = "api",
        wait: bool = False,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        max_wait: float | None = None,
    ) -> None:
        if trigger not in ledger.TRIGGERS:
            raise MasteryError(
                f"unknown trigger {trigger!r}: use one of {', '.join(ledger.TRIGGERS)}"
            )
        self.trigger = trigger
        self.wait = wait
        self.lock_timeout = lock_timeout
        self.max_wait = max_wait
        self.store: Store = open_store(database_url)
        self._cached: _Cached | None = None
        self._stage_ready = False
        try:
            self.store.require_tables(SOURCE_TABLES_READ)
            self.missing_indexes = self._missing_indexes()
        except BaseException:
            self.store.close()
            raise

    def __enter__(self) -> FreshRecomputer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def _missing_indexes(self) -> tuple[str, ...]:
        found = self.store.fetch_frame("select_fast_path_indexes")
        names = set(found["name"].to_list()) if found.height else set()
        return tuple(name for name in FAST_PATH_INDEXES if name not in names)

    def _state(self) -> _Cached:
        """Params and lookups, read again only when the cheap token changed."""
        row = self.store.fetch_one("select_fresh_token")
        token = tuple(row) if row else ()
        if self._cached is None or self._cached.token != token:
            self._cached = _Cached(self.store.active_params(), Lookups.read(self.store), token)
        return self._cached

    def recompute(
        self,
        users: Sequence[str],
        *,
        as_of: datetime | None = None,
        allow_mass_change: bool = False,
    ) -> RunSummary:
        """Recompute ``users`` (one to a few) as of ``as_of`` (default now) as one logged run.

        Like any run, it refuses to zero more than half of its users' stored rows (their
        attempts all left the window) unless ``allow_mass_change``."""
        if isinstance(users, str):
            raise MasteryError("users is a list of ids, not one string")
        if not users:
            raise MasteryError("recompute_users needs at least one user id")
        clock = StageClock()
        with clock.stage("prepare"):
            state = self._state()
            if not isinstance(state.active.params, Params):  # v1 reads cohort-wide tables
                return self._by_job(users, as_of, allow_mass_change)
            spec = RunSpec.of(as_of or datetime.now(UTC), users).with_params(state.active.params)
            checks.window_start(spec.as_of, spec.used_params.lookback_days)
            future = spec.as_of > datetime.now(UTC) + checks.AS_OF_FUTURE_SLACK
            if as_of is not None and future and not allow_mass_change:
                raise checks.refuse_mass_change(f"as_of {spec.as_of.isoformat()} is in the future")
        input_summary = {
            "scope": spec.scope.as_json(),
            "as_of": spec.as_of.isoformat(),
            "params_checksum": state.active.checksum,
            "lookback_days": spec.used_params.lookback_days,
            "partitions": 1,
            "engine": "polars",
            "write_mode": "merge",
            "path": "fresh",
        }
        self.store.limit_waits(lock_timeout=self.lock_timeout, max_wait=self.max_wait)
        with self.store.run_lock(wait=self.wait, user_ids=spec.scope.user_ids):
            with clock.stage("prepare"):  # under the lock: no overlapping run writes these keys
                existing = self._existing_keys(spec.scope)
            with clock.stage("ledger"), self.store.transaction():
                # one commit: dead runs marked (a savepoint inside), and RUNNING, never
                # visible without its liveness lock
                ledger.abandon_dead_runs(self.store)
                logged = ledger.start_run(
                    self.store,
                    algo_version_id=state.active.algo_version_id,
                    params_id=state.active.params_id,
                    user_id=spec.scope.single_user,
                    trigger=self.trigger,
                    input_summary=input_summary,
                )
                self.store.hold_run(logged.run_id)
            try:
                call = _Call(spec, state.lookups, existing, input_summary, allow_mass_change)
                return self._run(logged, call, clock)
            except KeyboardInterrupt as exc:
                name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
                self._mark_failed(logged, f"interrupted by {name}")
                raise InterruptedRunError(
                    f"run {logged.run_id} interrupted by {name}: marked FAILED, nothing written",
                    exit_code=Interrupted(name).exit_code,
                ) from None
            except BaseException as exc:
                message = self.store.url.scrub(one_line(str(exc)) or type(exc).__name__)
                self._mark_failed(logged, message)
                raise MasteryError(f"run {logged.run_id} failed: {message}") from None

    def _run(self, logged: ledger.Run, call: _Call, clock: StageClock) -> RunSummary:
        spec, input_summary = call.spec, call.input_summary
        with clock.stage("extract"):
            with clock.sub("extract.read"):
                raw = read_scope_attempts(self.store, spec)
            with clock.sub("extract.resolve"):
                extracted = resolve_extracted(raw, spec.scope)
        part = compute_partition(extracted, call.existing, call.lookups, spec, clock=clock)
        totals = RunTotals()
        totals.add(part.counts())
        stale_share = checks.stale_warning(totals.stale_rows_refreshed, totals.existing_rows)
        if stale_share and not call.allow_mass_change:
            raise checks.refuse_mass_change(stale_share)
        if self.store.dialect == "postgres" and not self._stage_ready:  # outside a transaction:
            self.store.execute("fresh_create_stage")  # it stays, whatever a call rolls back
            self._stage_ready = True
        with self.store.transaction():
            with clock.stage("load"):
                self._stage(part.stage)
                written = self.store.merge_mastery(
                    {**logged.merge_params(datetime.now(UTC)), "as_of": spec.as_of.isoformat()}
                )
            summary = totals.summary(clock)
            summary = replace(
                summary,
                records_upserted=written.upserted,
                stale_rows_refreshed=written.stale,
                data_quality=summary.data_quality | {"newer_rows_kept": written.newer_kept},
                write_mode=written.write_mode,
            )
            input_summary["source_counts"] = totals.source_counts
            signals.raise_if_interrupted()
            ledger.finish_run(self.store, logged, summary.output_summary(), input_summary)
        self.store.after_write()
        return replace(summary, run_id=logged.run_id)

    def _stage(self, stage: pl.DataFrame) -> None:
        """The rows to write into ``mastery_stage``, inside the caller's transaction.

        On Postgres the table is created once per connection and emptied at each commit
        (``fresh_create_stage``): no table (and its catalog rows) created and dropped per call,
        which cost two to three times the COPY itself. Other stores stage as a full run does.
        """
        if not self._stage_ready:
            self.store.open_stage()
        self.store.add_to_stage(stage)

    def _by_job(
        self, users: Sequence[str], as_of: datetime | None, allow_mass_change: bool
    ) -> RunSummary:
        """A run of the job itself (its own connection): for algorithms other than v0."""
        from pipeline.run.job import run

        options = RunOptions(
            trigger=self.trigger,
            wait=self.wait,
            allow_mass_change=allow_mass_change,
            lock_timeout=self.lock_timeout,
            max_wait=self.max_wait,
        )
        return run(self.store.url, RunSpec.of(as_of or datetime.now(UTC), users), options)

    def _existing_keys(self, scope: Scope) -> pl.DataFrame:
        """The scope's stored (user_id, theme_id) keys, read with the check that every user
        exists (one round trip); an unknown user is refused before any run is logged."""
        found = self.store.fetch_frame(
            "fresh_select_scope_keys", {"user_ids": ",".join(scope.user_ids)}
        )
        known = set(found["user_id"].to_list()) if found.height else set()
        unknown = sorted(set(scope.user_ids) - known)
        if unknown:
            which = "user" if len(unknown) == 1 else "users"
            raise MasteryError(f"unknown {which} {', '.join(unknown)}: not in users")
        return found.filter(pl.col("theme_id").is_not_null()) if found.height else found

    def _mark_failed(self, logged: ledger.Run, message: str) -> None:
        for attempt in range(2):
            try:
                if attempt == 0:
                    ledger.fail_run(self.store, logged, message)
                else:
                    with open_store(self.store.url) as fresh:
                        ledger.fail_run(fresh, logged, message)
                return
            except Exception:
                continue

    @property
    def params(self) -> Params | ParamsV1:
        return self._state().active.params


def read_scope_attempts(store: Store, spec: RunSpec) -> pl.DataFrame:
    """The scope's raw attempts on the store's own connection (no Arrow connection per call:
    a few users' rows are small), in the extract's raw schema."""
    window = spec.window
    params = {
        "window_start": window.start.isoformat(),
        "as_of": window.end.isoformat(),
        "user_ids": ",".join(spec.scope.user_ids),
    }
    raw = store.fetch_frame("fresh_extract_attempts", params)
    casts = [
        pl.col(name).cast(dtype)
        for name, dtype in RAW_ATTEMPT_SCHEMA.items()
        if name in raw.columns and raw.schema[name] != dtype
    ]
    raw = raw.with_columns(casts) if casts else raw
    if store.attempt_keys_unique:
        return raw
    from pipeline.io.tags import drop_duplicate_attempts

    return drop_duplicate_attempts(raw)


def recompute_users(
    database_url: str | DatabaseUrl | None,
    users: Sequence[str],
    *,
    as_of: datetime | None = None,
    trigger: str = "api",
    wait: bool = False,
    allow_mass_change: bool = False,
) -> RunSummary:
    """Recompute a few users as one logged run; hold a :class:`FreshRecomputer` to stay warm."""
    with FreshRecomputer(database_url, trigger=trigger, wait=wait) as fresh:
        return fresh.recompute(users, as_of=as_of, allow_mass_change=allow_mass_change)

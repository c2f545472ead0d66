"""The recompute job: one logged run from extract to an atomic upsert (SPEC §5)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.contracts.errors import Interrupted, InterruptedRunError, MasteryError, one_line
from pipeline.contracts.frames import STAGE_SCHEMA
from pipeline.contracts.scope import Scope, utc
from pipeline.io.export import export_from_store
from pipeline.io.store import Store, open_store
from pipeline.io.url import DatabaseUrl
from pipeline.run import checks, ledger, signals
from pipeline.run.batch import Lookups, RunTotals, computed_partitions
from pipeline.run.clock import StageClock
from pipeline.run.load import write_parquet
from pipeline.run.spark import (
    BucketCompute,
    empty_partition_counts,
    read_buckets,
    require_java,
    require_pyspark,
    run_buckets,
    spark_session,
)
from pipeline.run.spec import RunOptions, RunSpec, RunSummary, SparkOptions, WriteMode

_DEADLINE_SLACK = 0.5
"""Seconds before a run's deadline (``max_wait``) within which an error is the deadline's: a
statement or lock wait given the remaining time as its timeout fails just before it."""
SOURCE_TABLES_READ = ("test_sessions", "session_answers", "session_questions", "question_versions")


def run(database_url: str | DatabaseUrl | None, spec: RunSpec, options: RunOptions) -> RunSummary:
    """Compute ``spec`` as ``options`` say: one logged run (or a dry run) and its summary.

    Refused before the RUNNING row: the spark engine where PySpark or Java is missing,
    custom params outside a dry run (a real run always uses the store's active params), an
    ``output`` that cannot be written, users or themes the store does not have, an as_of whose
    window starts before year 1, and (unless ``allow_mass_change``) an as_of in the future or
    a year before the newest submission. A dry run reports the last two instead of stopping.
    """
    if options.engine == "spark":
        require_pyspark()
        require_java()
    if spec.params is not None and not options.dry_run:
        raise MasteryError("custom params apply to dry runs only: activate them to run for real")
    if options.output:
        checks.check_output(options.output)
    clock = StageClock(options.progress)
    with open_store(database_url, wait_for_lock=options.wait) as store:
        store.limit_waits(lock_timeout=options.lock_timeout, max_wait=options.max_wait)
        store.pin_reads(options.snapshot)
        store.require_tables(SOURCE_TABLES_READ)
        active = store.active_params()
        _check_themes(store, spec.scope)
        _check_users(store, spec.scope)
        spec = spec.resolved(
            active.algorithm,
            active.params,
            lambda version: store.version_params(version).params,
            dry_run=options.dry_run,
        )
        checks.window_start(spec.as_of, spec.used_params.lookback_days)
        options = replace(
            options,
            partitions=_capped_partitions(store, spec.scope, options.partition_count),
            write_mode=_write_mode(store, spec.scope, options.write_mode),
        )
        warning = checks.as_of_warning(spec.as_of, _newest_submission(store), datetime.now(UTC))
        if warning and not options.dry_run and not options.allow_mass_change:
            raise checks.refuse_mass_change(warning)
        input_summary = {
            "scope": spec.scope.as_json(),
            "as_of": spec.as_of.isoformat(),
            "params_checksum": spec.used_params.checksum(),
            "lookback_days": spec.used_params.lookback_days,
            **options.as_json(),
        }
        if options.dry_run:
            totals = RunTotals()
            computed = _computed(store, spec, options, clock, totals)
            staged = [stage for stage in computed if options.output]
            _write_output(staged, options.output)
            warning = warning or checks.stale_warning(
                totals.stale_rows_refreshed, totals.existing_rows
            )
            summary = totals.summary(clock)
            quality = summary.data_quality | {"newer_rows_kept": 0}  # the keys of a real run
            return replace(summary, data_quality=quality, dry_run=True, mass_change=warning)
        # The run is the lock (SPEC §8): taken by scope on the connection that writes, so
        # losing that connection loses the lock and the uncommitted writes together.
        store.on_wait = options.progress  # a waiting run says what it waits for
        with store.run_lock(wait=options.wait, user_ids=spec.scope.user_ids):
            ledger.abandon_dead_runs(store)
            with store.transaction():  # RUNNING is never visible without its liveness lock
                logged = ledger.start_run(
                    store,
                    algo_version_id=active.algo_version_id,
                    params_id=active.params_id,
                    user_id=spec.scope.single_user,
                    trigger=options.trigger,
                    input_summary=input_summary,
                )
                store.hold_run(logged.run_id)
            try:
                return _run(store, logged, spec, options, clock=clock, input_summary=input_summary)
            except KeyboardInterrupt as exc:  # Interrupted too: SIGINT or SIGTERM
                name = exc.signal_name if isinstance(exc, Interrupted) else "SIGINT"
                _mark_failed(store, logged, f"interrupted by {name}")
                stopped = f"run {logged.run_id} interrupted by {name}: marked FAILED"
                code = Interrupted(name).exit_code
                raise InterruptedRunError(f"{stopped}, nothing written", exit_code=code) from None
            except BaseException as exc:  # a driver's or Polars' panic too: never left RUNNING
                remaining = store.remaining()  # a wait cut short by the deadline says so
                past = remaining is not None and remaining <= _DEADLINE_SLACK
                message = store.gave_up() if past else _one_line(store, exc)
                _mark_failed(store, logged, message)
                raise MasteryError(f"run {logged.run_id} failed: {message}") from None


def _run(
    store: Store,
    logged: ledger.Run,
    spec: RunSpec,
    options: RunOptions,
    *,
    clock: StageClock,
    input_summary: dict[str, Any],
) -> RunSummary:
    """Stage every partition and merge once, all in the transaction that marks SUCCESS."""
    totals = RunTotals()
    with store.transaction():
        store.open_stage()
        staged = []
        for stage in _computed(store, spec, options, clock, totals):
            with clock.stage("load"):
                store.add_to_stage(stage)
            if options.output:
                staged.append(stage)
        _write_output(staged, options.output)
        stale_share = checks.stale_warning(totals.stale_rows_refreshed, totals.existing_rows)
        if stale_share and not options.allow_mass_change:
            raise checks.refuse_mass_change(stale_share)
        _check_deadline(store)
        with clock.stage("load"):
            written = store.merge_mastery(
                logged.merge_params(datetime.now(UTC)) | {"as_of": spec.as_of.isoformat()},
                rebuild=options.write_mode == "rebuild",
            )
        summary = totals.summary(clock)
        summary = replace(
            summary,
            records_upserted=written.upserted,
            stale_rows_refreshed=written.stale,
            data_quality=summary.data_quality | {"newer_rows_kept": written.newer_kept},
            write_mode=written.write_mode,
            write_note=written.note,
        )
        input_summary["source_counts"] = totals.source_counts
        input_summary["write_mode"] = written.write_mode  # the write that happened
        if written.note:
            input_summary["write_note"] = written.note
        signals.raise_if_interrupted()  # a swallowed interrupt still never commits SUCCESS
        _check_deadline(store)
        ledger.finish_run(store, logged, summary.output_summary(), input_summary)
    store.after_write()
    return replace(summary, run_id=logged.run_id)


def _computed(
    store: Store, spec: RunSpec, options: RunOptions, clock: StageClock, totals: RunTotals
) -> Iterator[pl.DataFrame]:
    """Each partition's rows to stage, whichever engine computes them; counts go to totals."""
    if options.engine == "spark":
        yield from _computed_on_spark(store, spec, options, clock, totals)
        return
    for part in computed_partitions(store, spec, options.partition_count, clock):
        totals.add(part.counts())
        yield part.stage


def _computed_on_spark(
    store: Store, spec: RunSpec, options: RunOptions, clock: StageClock, totals: RunTotals
) -> Iterator[pl.DataFrame]:
    spark = options.spark or SparkOptions()
    buckets = options.partition_count
    compute = BucketCompute(Lookups.read(store, spec), spec)
    totals.add(empty_partition_counts(compute))
    with (
        spark_session(spark.master, spark.conf, spark.work_dir) as session,
        tempfile.TemporaryDirectory(prefix="mastery-spark-", dir=spark.work_dir) as folder,
    ):
        root = Path(folder)
        with clock.stage("extract", f"export {buckets} buckets"):
            export_from_store(store, root / "input", spec.window, buckets, with_existing=True)
        with clock.stage("spark", f"{buckets} buckets"):
            run_buckets(session, root / "input", root / "output", buckets, compute)
        for stage, counts in read_buckets(root / "output"):
            totals.add(counts)
            yield stage


def _write_output(staged: list[pl.DataFrame], output: Path | None) -> None:
    if output:
        rows = pl.concat(staged) if staged else pl.DataFrame(schema=STAGE_SCHEMA)
        try:
            write_parquet(rows.sort("user_id", "theme_id"), output)
        except OSError as exc:
            raise MasteryError(f"cannot write {output}: {exc.strerror or exc}") from None


def _write_mode(store: Store, scope: Scope, asked: WriteMode) -> WriteMode:
    """A rebuild rewrites every row, so "auto" keeps it for runs that recompute every row."""
    if asked != "auto":
        return asked
    return "rebuild" if scope.whole_cohort and store.can_rebuild else "merge"


def _check_themes(store: Store, scope: Scope) -> None:
    if not scope.theme_ids:
        return
    known = set(store.fetch_frame("select_themes")["id"].to_list())
    unknown = [t for t in scope.theme_ids if t not in known]
    if unknown:
        which = "theme" if len(unknown) == 1 else "themes"
        raise MasteryError(f"unknown {which} {', '.join(map(str, unknown))}: not in themes")


def _check_users(store: Store, scope: Scope) -> None:
    if not scope.user_ids:
        return
    found = store.fetch_frame("select_known_users", {"user_ids": ",".join(scope.user_ids)})
    unknown = sorted(set(scope.user_ids) - set(found["id"].to_list()))
    if unknown:
        which = "user" if len(unknown) == 1 else "users"
        raise MasteryError(f"unknown {which} {', '.join(unknown)}: not in users")


def _capped_partitions(store: Store, scope: Scope, asked: int) -> int:
    """No more partitions than users: an empty partition costs a full read of the window."""
    users = len(scope.user_ids) if scope.user_ids else int(store.fetch_frame("count_users")["n"][0])
    return max(1, min(asked, users))


def _newest_submission(store: Store) -> datetime | None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    newest = store.fetch_frame("select_newest_submission", {"tomorrow": tomorrow.isoformat()})
    newest = newest["newest"][0]
    return utc(newest) if isinstance(newest, datetime) else None


def _check_deadline(store: Store) -> None:
    remaining = store.remaining()
    if remaining is not None and remaining <= 0:
        raise MasteryError(store.gave_up())


def _mark_failed(store: Store, logged: ledger.Run, message: str) -> None:
    """FAILED on the run's connection, else on a fresh one; if neither answers (the server is
    down), the next run marks it abandoned."""
    for attempt in range(2):
        try:
            if attempt == 0:
                ledger.fail_run(store, logged, message)
            else:
                with open_store(store.url) as fresh:
                    ledger.fail_run(fresh, logged, message)
            return
        except Exception:
            continue


def _one_line(store: Store, exc: BaseException) -> str:
    return store.url.scrub(one_line(str(exc)) or type(exc).__name__)

"""The recompute job: one logged run from extract to an atomic upsert (SPEC §5)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError, one_line
from pipeline.contracts.frames import STAGE_SCHEMA
from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope, utc
from pipeline.io.export import export_from_store
from pipeline.io.store import Store, open_store
from pipeline.io.url import DatabaseUrl
from pipeline.run import ledger
from pipeline.run.batch import (
    Lookups,
    Progress,
    RunTotals,
    StageClock,
    computed_partitions,
)
from pipeline.run.load import check_output_path, write_parquet
from pipeline.run.spark import (
    BucketCompute,
    SparkOptions,
    empty_partition_counts,
    read_buckets,
    require_java,
    require_pyspark,
    run_buckets,
    spark_session,
)

ENGINES = ("polars", "spark")
WRITE_MODES = ("auto", "merge", "rebuild")
DEFAULT_SPARK_BUCKETS = 8

SOURCE_TABLES_READ = ("test_sessions", "session_answers", "session_questions", "question_versions")


def recompute(
    database_url: str | DatabaseUrl | None = None,
    *,
    as_of: datetime | None = None,
    user_ids: Sequence[str] = (),
    theme_ids: Sequence[int] = (),
    dry_run: bool = False,
    output: str | Path | None = None,
    trigger: str = "api",
    wait: bool = False,
    params: Params | None = None,
    partitions: int | None = None,
    progress: Progress | None = None,
    engine: str = "polars",
    spark: SparkOptions | None = None,
    write_mode: str = "auto",
) -> dict[str, Any]:
    """Recompute mastery for a scope; returns the run summary (plus ``run_id``).

    ``dry_run`` writes nothing to the database (no ledger row either); ``output`` writes the
    rows that would be upserted to Parquet. ``params`` overrides the active params only in a
    dry run (a what-if); a real run always uses the database's active params. ``partitions``
    splits users by a stable hash so that one partition's attempts are in memory at a time;
    the rows and the summary do not depend on it. ``engine="spark"`` computes the partitions
    (user buckets, 8 unless given) on Spark workers with the same code (:mod:`pipeline.run.spark`).
    ``write_mode`` "merge" upserts row by row; "rebuild" (Postgres) rewrites the whole output
    table in bulk, same rows, readers waiting until the commit; "auto" rebuilds for a
    whole-cohort run on Postgres and merges otherwise.
    """
    moment = utc(as_of) if as_of else datetime.now(UTC)
    scope = Scope.checked(user_ids, theme_ids)
    if trigger not in ledger.TRIGGERS:
        raise MasteryError(f"unknown trigger {trigger!r}: use one of {', '.join(ledger.TRIGGERS)}")
    if write_mode not in WRITE_MODES:
        raise MasteryError(
            f"unknown --write-mode {write_mode!r}: use one of {', '.join(WRITE_MODES)}"
        )
    if engine not in ENGINES:
        raise MasteryError(f"unknown --engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine == "spark":
        require_pyspark()
        require_java()
    if partitions is None:
        partitions = DEFAULT_SPARK_BUCKETS if engine == "spark" else 1
    if partitions < 1:
        raise MasteryError(f"--partitions must be at least 1, got {partitions}")
    if params is not None and not dry_run:
        raise MasteryError("custom params apply to dry runs only: activate them to run for real")
    if output:
        check_output_path(output)
    with open_store(database_url, wait_for_lock=wait) as store:
        store.require_tables(SOURCE_TABLES_READ)
        active = store.active_params()
        _check_themes(store, scope)
        used = params or active.params
        input_summary = {
            "scope": scope.as_json(),
            "as_of": moment.isoformat(),
            "params_checksum": used.checksum(),
            "lookback_days": used.lookback_days,
            "partitions": partitions,
            "engine": engine,
            "write_mode": _write_mode(store, scope, write_mode),
        }
        work = Work(
            scope,
            moment,
            used,
            partitions,
            StageClock(progress),
            output,
            engine,
            spark,
            rebuild=input_summary["write_mode"] == "rebuild",
        )
        if dry_run:
            totals = RunTotals()
            staged = [stage for stage in _computed(store, work, totals) if output]
            _write_output(staged, output)
            return totals.summary(work.clock) | {"run_id": None, "dry_run": True}
        with store.run_lock(wait=wait):
            ledger.abandon_dead_runs(store)
            run = ledger.start_run(
                store,
                algo_version_id=active.algo_version_id,
                params_id=active.params_id,
                user_id=scope.user_ids[0]
                if len(scope.user_ids) == 1 and not scope.theme_ids
                else None,
                trigger=trigger,
                input_summary=input_summary,
            )
            try:
                return _run(store, run, work, input_summary)
            except Exception as exc:
                message = _one_line(store, exc)
                ledger.fail_run(store, run, message)
                raise MasteryError(f"run {run.run_id} failed: {message}") from None


@dataclass(frozen=True)
class Work:
    """What one run computes, and where its timings and optional Parquet copy go."""

    scope: Scope
    as_of: datetime
    params: Params
    partitions: int
    clock: StageClock
    output: str | Path | None
    engine: str = "polars"
    spark: SparkOptions | None = None
    rebuild: bool = False


def _run(
    store: Store, run: ledger.Run, work: Work, input_summary: dict[str, Any]
) -> dict[str, Any]:
    """Stage every partition and merge once, all in the transaction that marks SUCCESS."""
    totals = RunTotals()
    with store.transaction():
        store.open_stage()
        staged = []
        for stage in _computed(store, work, totals):
            with work.clock.stage("load"):
                store.add_to_stage(stage)
            if work.output:
                staged.append(stage)
        _write_output(staged, work.output)
        with work.clock.stage("load"):
            upserted, stale = store.merge_mastery(
                run.merge_params(datetime.now(UTC)),
                rebuild=work.rebuild,
            )
        summary = totals.summary(work.clock)
        summary.update(records_upserted=upserted, stale_rows_refreshed=stale)
        input_summary["source_counts"] = totals.source_counts
        ledger.finish_run(store, run, summary, input_summary)
    return summary | {"run_id": run.run_id}


def _computed(store: Store, work: Work, totals: RunTotals) -> Iterator[pl.DataFrame]:
    """Each partition's rows to stage, whichever engine computes them; counts go to totals."""
    if work.engine == "spark":
        yield from _computed_on_spark(store, work, totals)
        return
    for part in computed_partitions(
        store,
        scope=work.scope,
        as_of=work.as_of,
        params=work.params,
        partitions=work.partitions,
        clock=work.clock,
    ):
        totals.add(part.counts())
        yield part.stage


def _computed_on_spark(store: Store, work: Work, totals: RunTotals) -> Iterator[pl.DataFrame]:
    options = work.spark or SparkOptions()
    compute = BucketCompute(Lookups.read(store), work.scope, work.as_of, work.params)
    totals.add(empty_partition_counts(compute))
    with (
        spark_session(options.master, options.conf, options.work_dir) as session,
        tempfile.TemporaryDirectory(prefix="mastery-spark-", dir=options.work_dir) as folder,
    ):
        root = Path(folder)
        with work.clock.stage("extract", f"export {work.partitions} buckets"):
            export_from_store(
                store,
                root / "input",
                scope=work.scope,
                as_of=work.as_of,
                lookback_days=work.params.lookback_days,
                buckets=work.partitions,
                with_existing=True,
            )
        with work.clock.stage("spark", f"{work.partitions} buckets"):
            run_buckets(session, root / "input", root / "output", work.partitions, compute)
        for stage, counts in read_buckets(root / "output"):
            totals.add(counts)
            yield stage


def _write_output(staged: list[pl.DataFrame], output: str | Path | None) -> None:
    if output:
        rows = pl.concat(staged) if staged else pl.DataFrame(schema=STAGE_SCHEMA)
        write_parquet(rows.sort("user_id", "theme_id"), output)


def _write_mode(store: Store, scope: Scope, asked: str) -> str:
    """A rebuild rewrites every row, so "auto" keeps it for runs that recompute every row."""
    if asked != "auto":
        return asked
    whole_cohort = not scope.user_ids and not scope.theme_ids
    return "rebuild" if whole_cohort and store.can_rebuild else "merge"


def _check_themes(store: Store, scope: Scope) -> None:
    if not scope.theme_ids:
        return
    known = set(store.fetch_frame("select_themes")["id"].to_list())
    unknown = [t for t in scope.theme_ids if t not in known]
    if unknown:
        raise MasteryError(f"unknown --theme {', '.join(map(str, unknown))}: not in themes")


def _one_line(store: Store, exc: BaseException) -> str:
    return store.url.scrub(one_line(str(exc)) or type(exc).__name__)

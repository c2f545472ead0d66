"""The recompute job: one logged run from extract to an atomic upsert (SPEC §5)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import ledger
from pipeline.batch import (
    PartitionResult,
    Progress,
    RunTotals,
    StageClock,
    computed_partitions,
)
from pipeline.config import DatabaseUrl
from pipeline.errors import MasteryError
from pipeline.extract import Scope
from pipeline.kernel import utc
from pipeline.load import check_output_path, write_parquet
from pipeline.params import Params
from pipeline.store import Store, open_store

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
    partitions: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recompute mastery for a scope; returns the run summary (plus ``run_id``).

    ``dry_run`` writes nothing to the database (no ledger row either); ``output`` writes the
    rows that would be upserted to Parquet. ``params`` overrides the active params only in a
    dry run (a what-if); a real run always uses the database's active params. ``partitions``
    splits users by a stable hash so that one partition's attempts are in memory at a time;
    the rows and the summary do not depend on it.
    """
    moment = utc(as_of) if as_of else datetime.now(UTC)
    scope = Scope(tuple(_checked_user(u) for u in user_ids), tuple(sorted(set(theme_ids))))
    if trigger not in ledger.TRIGGERS:
        raise MasteryError(f"unknown trigger {trigger!r}: use one of {', '.join(ledger.TRIGGERS)}")
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
        }
        work = Work(scope, moment, used, partitions, StageClock(progress), output)
        if dry_run:
            totals = RunTotals()
            staged = [part.stage for part in _computed(store, work, totals) if output]
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


def _run(
    store: Store, run: ledger.Run, work: Work, input_summary: dict[str, Any]
) -> dict[str, Any]:
    """Stage every partition and merge once, all in the transaction that marks SUCCESS."""
    totals = RunTotals()
    with store.transaction():
        store.open_stage()
        staged = []
        for part in _computed(store, work, totals):
            with work.clock.stage("load"):
                store.add_to_stage(part.stage)
            if work.output:
                staged.append(part.stage)
        _write_output(staged, work.output)
        with work.clock.stage("load"):
            upserted, stale = store.merge_mastery(run.merge_params(datetime.now(UTC)))
        summary = totals.summary(work.clock)
        summary.update(records_upserted=upserted, stale_rows_refreshed=stale)
        input_summary["source_counts"] = totals.source_counts
        ledger.finish_run(store, run, summary, input_summary)
    return summary | {"run_id": run.run_id}


def _computed(store: Store, work: Work, totals: RunTotals) -> Iterator[PartitionResult]:
    for part in computed_partitions(
        store,
        scope=work.scope,
        as_of=work.as_of,
        params=work.params,
        partitions=work.partitions,
        clock=work.clock,
    ):
        totals.add(part.counts())
        yield part


def _write_output(staged: list[pl.DataFrame], output: str | Path | None) -> None:
    if output:
        write_parquet(pl.concat(staged) if staged else pl.DataFrame(), output)


def _checked_user(user_id: str) -> str:
    try:
        return str(uuid.UUID(user_id))
    except ValueError:
        raise MasteryError(f"malformed --user {user_id!r}: expected a UUID") from None


def _check_themes(store: Store, scope: Scope) -> None:
    if not scope.theme_ids:
        return
    known = set(store.fetch_frame("select_themes")["id"].to_list())
    unknown = [t for t in scope.theme_ids if t not in known]
    if unknown:
        raise MasteryError(f"unknown --theme {', '.join(map(str, unknown))}: not in themes")


def _one_line(store: Store, exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return store.url.scrub(text)

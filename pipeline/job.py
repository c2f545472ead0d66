"""The recompute job: one logged run from extract to an atomic upsert (SPEC §5)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import ledger
from pipeline.config import DatabaseUrl
from pipeline.errors import MasteryError
from pipeline.extract import Scope, extract_from_store
from pipeline.kernel import CohortResult, compute_cohort, utc
from pipeline.load import stage_frame, write_parquet
from pipeline.params import Params
from pipeline.store import Store, open_store

SOURCE_TABLES_READ = ("test_sessions", "session_answers", "session_questions", "question_versions")
Progress = Callable[[str], None]
STAGES = ("extract", "validate_input", "compute", "validate_output", "load")


class StageClock:
    """Seconds per stage, in the order the stages ran."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._progress:
            self._progress(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)


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
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recompute mastery for a scope; returns the run summary (plus ``run_id``).

    ``dry_run`` writes nothing to the database (no ledger row either); ``output`` writes the
    rows that would be upserted to Parquet. ``params`` overrides the active params only in a
    dry run (a what-if); a real run always uses the database's active params.
    """
    moment = utc(as_of) if as_of else datetime.now(UTC)
    scope = Scope(tuple(_checked_user(u) for u in user_ids), tuple(sorted(set(theme_ids))))
    if trigger not in ledger.TRIGGERS:
        raise MasteryError(f"unknown trigger {trigger!r}: use one of {', '.join(ledger.TRIGGERS)}")
    if params is not None and not dry_run:
        raise MasteryError("custom params apply to dry runs only: activate them to run for real")
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
        }
        if dry_run:
            summary = _compute(
                store,
                scope=scope,
                as_of=moment,
                params=used,
                clock=StageClock(progress),
                input_summary=input_summary,
            )
            summary.update(run_id=None, dry_run=True)
            if output:
                write_parquet(summary.pop("_stage"), output)
            else:
                summary.pop("_stage")
            return summary
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
                return _run(
                    store,
                    run=run,
                    scope=scope,
                    as_of=moment,
                    params=used,
                    input_summary=input_summary,
                    output=output,
                    progress=progress,
                )
            except Exception as exc:
                message = _one_line(store, exc)
                ledger.fail_run(store, run, message)
                raise MasteryError(f"run {run.run_id} failed: {message}") from None


def _run(
    store: Store,
    *,
    run: ledger.Run,
    scope: Scope,
    as_of: datetime,
    params: Params,
    input_summary: dict[str, Any],
    output: str | Path | None,
    progress: Progress | None,
) -> dict[str, Any]:
    clock = StageClock(progress)
    summary = _compute(
        store,
        scope=scope,
        as_of=as_of,
        params=params,
        clock=clock,
        input_summary=input_summary,
    )
    stage = summary.pop("_stage")
    if output:
        write_parquet(stage, output)
    started = time.perf_counter()
    with clock.stage("load"), store.transaction():
        upserted, stale = store.merge_mastery(stage, run.merge_params(datetime.now(UTC)))
        summary["records_upserted"] = upserted
        summary["stale_rows_refreshed"] = stale
        summary["stage_seconds"] = dict(clock.seconds, load=round(time.perf_counter() - started, 3))
        ledger.finish_run(store, run, summary)
    summary["stage_seconds"] = clock.seconds
    summary["run_id"] = run.run_id
    return summary


def _compute(
    store: Store,
    *,
    scope: Scope,
    as_of: datetime,
    params: Params,
    clock: StageClock,
    input_summary: dict[str, Any],
) -> dict[str, Any]:
    """Extract, validate, compute, validate: everything before the first write."""
    from pipeline.validate import validate_attempts, validate_mastery

    with clock.stage("extract"):
        extracted = extract_from_store(store, scope, as_of, params.lookback_days)
        themes = store.fetch_frame("select_themes")
        blocks = store.fetch_frame("select_blocks")
        existing = store.fetch_frame("select_scope_keys", {"user_ids": ",".join(scope.user_ids)})
    input_summary["source_counts"] = extracted.source_counts
    with clock.stage("validate_input"):
        attempts = validate_attempts(extracted.attempts)
    with clock.stage("compute"):
        result = compute_cohort(attempts.lazy(), params, as_of, themes.lazy(), blocks.lazy())
        stage = stage_frame(result.rows, existing, scope, params)
    with clock.stage("validate_output"):
        validate_mastery(result.rows)
    return _summary(result, stage, extracted.malformed_snapshots, clock) | {"_stage": stage}


def _summary(
    result: CohortResult, stage: pl.DataFrame, malformed: int, clock: StageClock
) -> dict[str, Any]:
    rows = result.rows
    scored = stage.filter(~pl.col("stale"))
    return {
        "themes_computed": stage.select(pl.col("theme_id").n_unique()).item(),
        "records_upserted": scored.height,
        "users": stage.select(pl.col("user_id").n_unique()).item(),
        "stale_rows_refreshed": stage.height - scored.height,
        "insufficient_rows": rows.filter(
            pl.col("breakdown_json").str.starts_with('{"reason"')
        ).height,
        "data_quality": {**result.data_quality, "malformed_snapshots": malformed},
        "stage_seconds": clock.seconds,
    }


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

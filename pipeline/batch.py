"""One run's computing half: per user partition, extract → validate → compute → validate → stage.

A run over N partitions holds one partition's attempts in memory at a time; users never span
partitions (a stable hash of the user id picks the partition in the database), so the rows are
the same whatever N is. ``RunTotals`` adds the partitions' counts up into the run summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from pipeline.extract import Scope, extract_from_store
from pipeline.kernel import CohortResult, compute_cohort, themes_under_two_blocks
from pipeline.load import stage_frame
from pipeline.params import Params
from pipeline.store import Partition, Store
from pipeline.store.base import scope_params

Progress = Callable[[str], None]
STAGES = ("extract", "validate_input", "compute", "validate_output", "load")


class StageClock:
    """Seconds per stage, summed over partitions, in the order the stages first ran."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        if self._progress:
            self._progress(f"{name} {detail}".strip())
        start = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            self.seconds[name] = round(self.seconds.get(name, 0.0) + spent, 3)


@dataclass(frozen=True)
class PartitionResult:
    stage: pl.DataFrame
    result: CohortResult
    source_counts: dict[str, int]
    malformed_snapshots: int


def computed_partitions(
    store: Store,
    *,
    scope: Scope,
    as_of: datetime,
    params: Params,
    partitions: int,
    clock: StageClock,
) -> Iterator[PartitionResult]:
    """Each partition's rows to stage (computed plus stale), one partition at a time."""
    from pipeline.validate import validate_attempts, validate_mastery

    themes = store.fetch_frame("select_themes").lazy()
    blocks = store.fetch_frame("select_blocks").lazy()
    for index in range(partitions):
        part = Partition(index, partitions)
        label = f"{index + 1}/{partitions}" if partitions > 1 else ""
        with clock.stage("extract", label):
            extracted = extract_from_store(store, scope, as_of, params.lookback_days, part)
            existing = store.fetch_frame("select_scope_keys", scope_params(scope.user_ids, part))
        with clock.stage("validate_input", label):
            attempts = validate_attempts(extracted.attempts)
        with clock.stage("compute", label):
            result = compute_cohort(attempts.lazy(), params, as_of, themes, blocks)
            stage = stage_frame(result.rows, existing, scope, params)
        with clock.stage("validate_output", label):
            validate_mastery(result.rows)
        yield PartitionResult(stage, result, extracted.source_counts, extracted.malformed_snapshots)


@dataclass
class RunTotals:
    """The summary of SPEC §5, added up over partitions (which never share a user)."""

    records_upserted: int = 0
    stale_rows_refreshed: int = 0
    insufficient_rows: int = 0
    users: int = 0
    themes: set[int] = field(default_factory=set)
    data_quality: dict[str, int] = field(default_factory=dict)
    source_counts: dict[str, int] = field(default_factory=dict)
    theme_blocks: list[pl.DataFrame] = field(default_factory=list)

    def add(self, part: PartitionResult) -> None:
        stale = part.stage.filter(pl.col("stale")).height
        self.records_upserted += part.stage.height - stale
        self.stale_rows_refreshed += stale
        self.insufficient_rows += part.result.rows.filter(
            pl.col("breakdown_json").str.starts_with('{"reason"')
        ).height
        self.users += part.stage.select(pl.col("user_id").n_unique()).item()
        self.themes.update(part.stage["theme_id"].unique().to_list())
        quality = {**part.result.data_quality, "malformed_snapshots": part.malformed_snapshots}
        for key, count in quality.items():
            self.data_quality[key] = self.data_quality.get(key, 0) + count
        for key, count in part.source_counts.items():
            self.source_counts[key] = self.source_counts.get(key, 0) + count
        self.theme_blocks.append(part.result.theme_blocks)

    def summary(self, clock: StageClock) -> dict[str, Any]:
        quality = dict(self.data_quality)
        if self.theme_blocks:
            quality["themes_under_two_blocks"] = themes_under_two_blocks(
                pl.concat(self.theme_blocks)
            )
        return {
            "themes_computed": len(self.themes),
            "records_upserted": self.records_upserted,
            "users": self.users,
            "stale_rows_refreshed": self.stale_rows_refreshed,
            "insufficient_rows": self.insufficient_rows,
            "data_quality": quality,
            "stage_seconds": dict(clock.seconds),
        }

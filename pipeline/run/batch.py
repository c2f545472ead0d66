"""One run's computing half: per user partition, extract → validate → compute → validate → stage.

A run over N partitions holds one partition's attempts in memory at a time; users never span
partitions (a stable hash of the user id picks the partition in the database), so the rows are
the same whatever N is. ``RunTotals`` adds the partitions' counts up into the run summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import polars as pl

from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope
from pipeline.io.extract import (
    Extracted,
    read_existing_keys,
    read_raw_attempts,
    resolve_extracted,
)
from pipeline.io.store import Partition, Store
from pipeline.kernel import (
    CohortResult,
    compute_cohort,
    themes_under_two_blocks,
    with_user_codes,
)
from pipeline.run.load import stage_frame

Progress = Callable[[str], None]
STAGES = ("extract", "spark", "validate_input", "compute", "validate_output", "load")


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
class Lookups:
    """The small tables a partition's compute reads beside its attempts."""

    themes: pl.DataFrame
    blocks: pl.DataFrame

    @classmethod
    def read(cls, store: Store) -> Lookups:
        return cls(store.fetch_frame("select_themes"), store.fetch_frame("select_blocks"))


@dataclass(frozen=True)
class PartitionCounts:
    """One partition's share of the run summary, plain JSON so Spark workers can return it."""

    rows: int
    stale: int
    insufficient: int
    users: int
    themes: list[int]
    data_quality: dict[str, int]
    source_counts: dict[str, int]
    theme_blocks: list[list[int]]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PartitionCounts:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class PartitionResult:
    stage: pl.DataFrame
    result: CohortResult
    source_counts: dict[str, int]
    malformed_snapshots: int

    def counts(self) -> PartitionCounts:
        stale = self.stage.filter(pl.col("stale")).height
        insufficient = self.result.rows.filter(
            pl.col("breakdown_json").str.starts_with('{"reason"')
        )
        pairs = self.result.theme_blocks.select("theme_id", "block_id").sort("theme_id", "block_id")
        return PartitionCounts(
            rows=self.stage.height - stale,
            stale=stale,
            insufficient=insufficient.height,
            users=self.stage.select(pl.col("user_id").n_unique()).item(),
            themes=sorted(self.stage["theme_id"].unique().to_list()),
            data_quality={
                **self.result.data_quality,
                "malformed_snapshots": self.malformed_snapshots,
            },
            source_counts=dict(self.source_counts),
            theme_blocks=[list(pair) for pair in pairs.iter_rows()],
        )


def compute_partition(
    extracted: Extracted,
    existing: pl.DataFrame,
    lookups: Lookups,
    *,
    scope: Scope,
    as_of: datetime,
    params: Params,
    clock: StageClock | None = None,
    label: str = "",
) -> PartitionResult:
    """Validate → compute → validate one partition's attempts; the same on a laptop or Spark."""
    from pipeline.run.validate import validate_attempts, validate_mastery

    clock = clock or StageClock()
    with clock.stage("validate_input", label):
        attempts = validate_attempts(extracted.attempts)
    with clock.stage("compute", label):
        result = compute_cohort(
            with_user_codes(attempts).lazy(),
            params,
            as_of,
            lookups.themes.lazy(),
            lookups.blocks.lazy(),
        )
        stage = stage_frame(result.rows, existing, scope, params)
    with clock.stage("validate_output", label):
        validate_mastery(result.rows)
    return PartitionResult(stage, result, extracted.source_counts, extracted.malformed_snapshots)


def computed_partitions(
    store: Store,
    *,
    scope: Scope,
    as_of: datetime,
    params: Params,
    partitions: int,
    clock: StageClock,
) -> Iterator[PartitionResult]:
    """Each partition's rows to stage (computed plus stale), one partition at a time.

    Where the store can read on another connection meanwhile (Postgres), the next partition's
    attempts are already being read while this one computes and stages: the database's core
    and ours work at once, and at most two partitions' attempts are in memory.
    """
    lookups = Lookups.read(store)

    def read(index: int) -> pl.DataFrame:
        part = Partition(index, partitions)
        return read_raw_attempts(store, scope, as_of, params.lookback_days, part)

    reads = _read_ahead(read, partitions, ahead=store.concurrent_reads)
    for index, raw_attempts in enumerate(reads):
        part = Partition(index, partitions)
        label = f"{index + 1}/{partitions}" if partitions > 1 else ""
        with clock.stage("extract", label):
            extracted = resolve_extracted(raw_attempts(), scope)
            existing = read_existing_keys(store, scope, part)
        yield compute_partition(
            extracted,
            existing,
            lookups,
            scope=scope,
            as_of=as_of,
            params=params,
            clock=clock,
            label=label,
        )


def _read_ahead(
    read: Callable[[int], pl.DataFrame], count: int, *, ahead: bool
) -> Iterator[Callable[[], pl.DataFrame]]:
    """Per partition, a function giving its rows; with ``ahead``, the next read is under way."""
    if not ahead or count == 1:
        yield from (partial(read, index) for index in range(count))
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract") as pool:
        pending = pool.submit(read, 0)
        for index in range(count):
            current = pending
            if index + 1 < count:
                pending = pool.submit(read, index + 1)
            yield current.result


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
    theme_blocks: set[tuple[int, int]] = field(default_factory=set)

    def add(self, counts: PartitionCounts) -> None:
        self.records_upserted += counts.rows
        self.stale_rows_refreshed += counts.stale
        self.insufficient_rows += counts.insufficient
        self.users += counts.users
        self.themes.update(counts.themes)
        for key, count in counts.data_quality.items():
            self.data_quality[key] = self.data_quality.get(key, 0) + count
        for key, count in counts.source_counts.items():
            self.source_counts[key] = self.source_counts.get(key, 0) + count
        self.theme_blocks.update((theme, block) for theme, block in counts.theme_blocks)

    def summary(self, clock: StageClock) -> dict[str, Any]:
        quality = dict(self.data_quality)
        if self.data_quality:
            pairs = pl.DataFrame(
                sorted(self.theme_blocks),
                schema={"theme_id": pl.Int32, "block_id": pl.Int32},
                orient="row",
            )
            quality["themes_under_two_blocks"] = themes_under_two_blocks(pairs)
        return {
            "themes_computed": len(self.themes),
            "records_upserted": self.records_upserted,
            "users": self.users,
            "stale_rows_refreshed": self.stale_rows_refreshed,
            "insufficient_rows": self.insufficient_rows,
            "data_quality": quality,
            "stage_seconds": dict(clock.seconds),
        }

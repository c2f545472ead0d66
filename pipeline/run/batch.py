"""One run's computing half: per user partition, extract → validate → compute → validate → stage.

A run over N partitions holds one partition's attempts in memory at a time; users never span
partitions (a stable hash of the user id picks the partition in the database), so the rows are
the same whatever N is. ``RunTotals`` adds the partitions' counts up into the run summary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace

import polars as pl

from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import Scope
from pipeline.io.extract import Extracted, Window, read_existing_keys, read_resolved
from pipeline.io.store import Partition, Store
from pipeline.kernel import CohortResult, compute_cohort, themes_under_two_blocks
from pipeline.kernel.v1 import V1Tables
from pipeline.run.clock import StageClock
from pipeline.run.exclusions import ACTIVE_SCHEMA, drop_excluded
from pipeline.run.exclusions import read_active as read_active_exclusions
from pipeline.run.load import stage_frame
from pipeline.run.reading import default_partitions, read_ahead
from pipeline.run.spec import RunSpec, RunSummary
from pipeline.run.v1 import (
    KeptReads,
    RatedPartition,
    cohort_tables,
    compute_v1,
    found_and_tables,
    stage_v1,
)

STAGES = ("extract", "spark", "validate_input", "compute", "validate_output", "load")


@dataclass(frozen=True)
class Lookups:
    """The small tables a partition's compute reads beside its attempts."""

    themes: pl.DataFrame
    blocks: pl.DataFrame
    exclusions: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ACTIVE_SCHEMA))
    """The active exclusions (read once per run): their attempts are left out and counted."""
    v1: V1Tables | None = None
    """v1's whole-cohort tables (:mod:`pipeline.run.v1`); None: the partition is the cohort."""

    @classmethod
    def read(
        cls,
        store: Store,
        spec: RunSpec | None = None,
        partitions: int = 0,
        keep: KeptReads | None = None,
    ) -> Lookups:
        """Once per run; ``spec`` is the run's (resolved), ``partitions`` how many it computes
        (0: unknown, e.g. Spark buckets), for v1's tables, read in the run's partitions when
        it is a whole-cohort run (``keep`` keeps those reads for it), else in the default
        count for the cohort's size."""
        lookups = cls(
            store.fetch_frame("select_themes"),
            store.fetch_frame("select_blocks"),
            read_active_exclusions(store),
        )
        if spec is None or not _reads_cohort(spec, partitions):
            return lookups
        assert isinstance(spec.params, ParamsV1)
        same = spec.scope.whole_cohort and partitions > 0
        cohort = Window(Scope(), spec.as_of, spec.params.lookback_days)
        chunks = partitions if same else default_partitions(store, cohort)
        tables = cohort_tables(store, spec, lookups.exclusions, chunks, keep if same else None)
        return replace(lookups, v1=tables)


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
    existing: int = 0  # stored rows in scope before the run (the mass-change guard's base)

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
    extract_quality: dict[str, int]
    min_attempts: int
    existing: int = 0

    def counts(self) -> PartitionCounts:
        stale = self.stage.filter(pl.col("stale")).height
        insufficient = self.result.rows.filter(pl.col("attempts_total") < self.min_attempts)
        pairs = self.result.theme_blocks.select("theme_id", "block_id").sort("theme_id", "block_id")
        return PartitionCounts(
            rows=self.stage.height - stale,
            stale=stale,
            insufficient=insufficient.height,
            users=self.stage.select(pl.col("user_id").n_unique()).item(),
            themes=sorted(self.stage["theme_id"].unique().to_list()),
            data_quality={
                **self.result.data_quality,
                **self.extract_quality,
            },
            source_counts=dict(self.source_counts),
            theme_blocks=[list(pair) for pair in pairs.iter_rows()],
            existing=self.existing,
        )


def compute_partition(
    source: Extracted | RatedPartition,
    existing: pl.DataFrame,
    lookups: Lookups,
    spec: RunSpec,
    *,
    clock: StageClock | None = None,
    label: str = "",
) -> PartitionResult:
    """Validate → compute → validate one partition's attempts; the same on a laptop or Spark.

    ``spec`` has its params resolved (see :meth:`RunSpec.with_params`). A rated partition
    (v1's, kept while the cohort's tables were read, its rows computed on its reading thread)
    is checked, counted and computed already.
    """
    from pipeline.run.validate import validate_attempts, validate_mastery

    clock = clock or StageClock()
    params = spec.used_params
    rated = None if isinstance(source, Extracted) else source.result
    extracted = source if isinstance(source, Extracted) else source.extracted
    del source
    with clock.stage("validate_input", label):
        attempts = extracted.attempts
        if not extracted.validated:
            validate_attempts(attempts)
        quality = dict(extracted.quality)
        if rated is None:  # (else the exclusions were counted when it was kept)
            attempts, excluded = drop_excluded(attempts, lookups.exclusions)
            if not lookups.exclusions.is_empty():
                quality["excluded_attempts"] = excluded
    with clock.stage("compute", label):
        if isinstance(params, ParamsV1):
            if rated is None:
                found, tables = found_and_tables(attempts, params, spec.as_of, lookups.v1)
                rated = compute_v1(found, params, tables, lookups.themes, lookups.blocks)
            result = rated
            stage = stage_v1(result.rows, existing, spec.scope, params)
        else:
            result = compute_cohort(
                attempts.lazy(), params, spec.as_of, lookups.themes.lazy(), lookups.blocks.lazy()
            )
            stage = stage_frame(result.rows, existing, spec.scope, params)
    with clock.stage("validate_output", label):
        validate_mastery(result.rows)
    return PartitionResult(
        stage,
        result,
        extracted.source_counts,
        quality,
        min_attempts=params.min_attempts,
        existing=_in_scope(existing, spec).height,
    )


def _in_scope(existing: pl.DataFrame, spec: RunSpec) -> pl.DataFrame:
    """The stored keys a run may refresh: its users' rows, of its themes when it names any."""
    if not spec.scope.theme_ids:
        return existing
    return existing.filter(pl.col("theme_id").is_in(list(spec.scope.theme_ids)))


def computed_partitions(
    store: Store, spec: RunSpec, partitions: int, clock: StageClock
) -> Iterator[PartitionResult]:
    """Each partition's rows to stage (computed plus stale), one partition at a time.

    Where the store can read on another connection meanwhile (Postgres), the next partition's
    attempts are already being read while this one computes and stages: the database's core
    and ours work at once, and at most two partitions' attempts are in memory.
    """
    with KeptReads(clock) as kept:
        with clock.stage("cohort_tables") if _reads_cohort(spec, partitions) else nullcontext():
            lookups = Lookups.read(store, spec, partitions, kept)
        window = spec.window

        def read(index: int) -> Extracted | RatedPartition:
            if index not in kept:
                return read_resolved(store, window, Partition(index, partitions))
            params = spec.used_params  # (a kept partition is v1's, read with the tables)
            if not isinstance(params, ParamsV1) or lookups.v1 is None:
                raise ValueError("a kept v1 partition needs v1's params and the cohort's tables")
            return kept.read(index).rated(params, lookups.v1, lookups.themes, lookups.blocks)

        reads = read_ahead(read, partitions, ahead=store.concurrent_reads)
        for index, partition_read in enumerate(reads):
            part = Partition(index, partitions)
            label = f"{index + 1}/{partitions}" if partitions > 1 else ""
            with clock.stage("extract", label):
                held = [partition_read()]
                got = held[0] if isinstance(held[0], Extracted) else held[0].extracted
                for step, seconds in got.seconds.items():
                    clock.add(step, seconds)
                existing = read_existing_keys(store, spec.scope, part)
            # popped: compute's argument is the attempts' only reference, not this loop's locals
            yield compute_partition(held.pop(), existing, lookups, spec, clock=clock, label=label)


def _reads_cohort(spec: RunSpec, partitions: int) -> bool:
    """Whether v1's cohort tables are read before the partitions (see :meth:`Lookups.read`)."""
    one = partitions == 1 and spec.scope.whole_cohort
    return isinstance(spec.params, ParamsV1) and not one


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
    existing_rows: int = 0

    def add(self, counts: PartitionCounts) -> None:
        self.existing_rows += counts.existing
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

    def summary(self, clock: StageClock) -> RunSummary:
        """The summary so far; a run sets the merge's counts and its id on it."""
        quality = dict(self.data_quality)
        if self.data_quality:
            pairs = pl.DataFrame(
                sorted(self.theme_blocks),
                schema={"theme_id": pl.Int32, "block_id": pl.Int32},
                orient="row",
            )
            quality["themes_under_two_blocks"] = themes_under_two_blocks(pairs)
        return RunSummary(
            themes_computed=len(self.themes),
            records_upserted=self.records_upserted,
            users=self.users,
            stale_rows_refreshed=self.stale_rows_refreshed,
            insufficient_rows=self.insufficient_rows,
            data_quality=quality,
            stage_seconds=dict(clock.seconds),
        )

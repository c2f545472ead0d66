"""Mastery v1 in a run (issue 16): the cohort's tables read once, then each partition's rows.

v1 rates every answer against *other* students' answers before its hour, so a partition's rows
need the whole cohort's tables (:class:`~pipeline.kernel.v1.V1Tables`): :func:`cohort_tables`
sums them once per run from the whole cohort's attempts in the window (active exclusions left
out), before the partitions; every partition, local or on a Spark worker, gets the same tables
and so the same rows whatever the partitioning. The cohort is read one partition of users at a
time and only its cells (answers per question, theme and hour) are kept, so memory stays bounded
by a partition; a partitioned whole-cohort run keeps each resolved read on disk
(:class:`KeptReads`), with the student's own counts found while it was read, and computes its
partitions from those files, so the database is read once. A single-partition whole-cohort run
reads nothing more: its one partition is the whole cohort, and the kernel builds the same
tables from it.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.contracts.params import default_params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import Scope
from pipeline.io.extract import Extracted, Window, read_resolved
from pipeline.io.store import Partition, Store
from pipeline.kernel import CohortResult
from pipeline.kernel.v1 import V1Tables, cells_and_student, compute_cohort_v1, tables_of, v1_cells
from pipeline.run.clock import StageClock
from pipeline.run.exclusions import drop_excluded
from pipeline.run.load import stage_frame
from pipeline.run.reading import read_ahead
from pipeline.run.spec import RunSpec


class KeptReads:
    """The tables' pass's partitions, resolved, kept on disk (their attempts as Arrow IPC in a
    temporary folder, made at the first one kept and removed on exit; their counts in memory)
    for the run's own partitions when they are the same partitions: the database is read, and
    tags resolved, once per run. Beside each, the counts of earlier answers before each of its
    answers (``counted`` of :class:`~pipeline.kernel.v1.V1Tables`): the student's own, counted
    as it is read."""

    def __init__(self, clock: StageClock) -> None:
        self.clock = clock  # where the tables' pass spends its time beside the reads
        self._kept: dict[int, Extracted] = {}  # each without its attempts
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._making = threading.Lock()  # (reads ahead, on their threads, ask for paths too)

    def __enter__(self) -> KeptReads:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._folder is not None:
            self._folder.cleanup()

    def __contains__(self, index: int) -> bool:
        return index in self._kept

    def _path(self, index: int, kind: str = "attempts") -> Path:
        with self._making:
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="mastery-v1-")
        return Path(self._folder.name) / f"{index}.{kind}.arrow"

    def keep(self, index: int, extracted: Extracted) -> None:
        with self.clock.sub("cohort_tables.keep"):
            extracted.attempts.write_ipc(self._path(index), compression="lz4")
        self._kept[index] = replace(extracted, attempts=extracted.attempts.clear())

    def keep_counts(self, index: int, counts: pl.DataFrame) -> None:
        """Partition ``index``'s own counts before each answer (``counted``)."""
        with self.clock.sub("cohort_tables.keep"):
            counts.write_ipc(self._path(index, "counts"), compression="lz4")

    def read(self, index: int) -> tuple[Extracted, pl.DataFrame | None]:
        """Partition ``index`` as kept and its counts (if kept), its files removed; its profile
        is its read's in the tables' pass (the ``cohort_tables`` stage holds that)."""
        kept = replace(self._kept.pop(index), attempts=self._take(index, "attempts"))
        if not self._path(index, "counts").exists():
            return kept, None
        return kept, self._take(index, "counts")

    def _take(self, index: int, kind: str) -> pl.DataFrame:
        path = self._path(index, kind)
        frame = pl.read_ipc(path)
        path.unlink()
        return frame


def cohort_tables(
    store: Store, spec: RunSpec, exclusions: pl.DataFrame, chunks: int, keep: KeptReads | None
) -> V1Tables:
    """The whole cohort's v1 tables at the run's as_of over its lookback, from the cohort read
    in ``chunks`` partitions of users (the next one read meanwhile) and only the cells of
    each kept in memory; ``keep`` saves each raw read for the run's partitions, with the
    student's own counts before each answer (so its compute counts only the cohort's)."""
    from pipeline.run.validate import validate_attempts  # (pandera: imported when needed)

    params = spec.used_params
    window = Window(Scope(), spec.as_of, params.lookback_days)

    def read(index: int) -> Extracted:
        return read_resolved(store, window, Partition(index, chunks))

    # the next partition is read while this one is kept, counted and summed
    parts = []
    for index, partition_read in enumerate(read_ahead(read, chunks, ahead=store.concurrent_reads)):
        extracted = partition_read()
        if keep is not None:  # checked here, as the run would, while the next one is read
            with keep.clock.sub("cohort_tables.validate_input"):
                validate_attempts(extracted.attempts)
            keep.keep(index, replace(extracted, validated=True))
        attempts, _ = drop_excluded(extracted.attempts, exclusions)
        del extracted
        if keep is None:
            parts.append(v1_cells(attempts, spec.as_of))
            continue
        with keep.clock.sub("cohort_tables.student"):
            partial, student = cells_and_student(attempts, spec.as_of)
        del attempts
        keep.keep_counts(index, student)
        parts.append(partial)
    if keep is None:
        return tables_of(parts)
    with keep.clock.sub("cohort_tables.count"):
        return tables_of(parts)


def compute_v1(
    attempts: pl.DataFrame,
    params: ParamsV1,
    as_of: datetime,
    tables: V1Tables | None,
    themes: pl.DataFrame,
    blocks: pl.DataFrame,
) -> CohortResult:
    """v1's rows of one partition (rows whose theme or block no longer exists are skipped and
    counted, as v0 does), with the theme/block pairs of its answers; v0's other data-quality
    counts are not v1's (the extract's are kept)."""
    rows = compute_cohort_v1(attempts, params, as_of, tables)
    known_theme = pl.col("theme_id").is_in(themes["id"].implode())
    known_block = pl.col("block_id").is_in(blocks["id"].implode())
    skipped = rows.select(
        dangling_theme_rows_skipped=(~known_theme).sum(),
        dangling_block_rows_skipped=(known_theme & ~known_block).sum(),
    ).row(0, named=True)
    rows = rows.filter(known_theme & known_block)
    pairs = (
        attempts.filter(pl.col("block_id").is_not_null() & pl.col("theme_id").is_not_null())
        .select(pl.col("theme_id").cast(pl.Int32), pl.col("block_id").cast(pl.Int32))
        .unique()
    )
    return CohortResult(rows, {name: int(count) for name, count in skipped.items()}, pairs)


def stale_breakdown(params: ParamsV1) -> str:
    """A stored row with no answer left in the lookback: v1-shaped, not enough evidence."""
    days = params.lookback_days
    return (
        f'{{"model":"v1","state":"not_enough_evidence","required":{params.min_attempts},'
        f'"actual":0,"explanation":"not enough evidence: no answers of this theme in the last '
        f'{days} days"}}'
    )


def stage_v1(
    rows: pl.DataFrame, existing: pl.DataFrame, scope: Scope, params: ParamsV1
) -> pl.DataFrame:
    """:func:`~pipeline.run.load.stage_frame` with v1's stale breakdown."""
    stage = stage_frame(rows, existing, scope, default_params())
    stale = pl.when(pl.col("stale")).then(pl.lit(stale_breakdown(params)))
    return stage.with_columns(breakdown_json=stale.otherwise(pl.col("breakdown_json")))

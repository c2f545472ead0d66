"""Mastery v1 in a run (issue 16): the cohort's tables read once, then each partition's rows.

v1 rates every answer against *other* students' answers before its hour, so a partition's rows
need the whole cohort's tables (:class:`~pipeline.kernel.v1.V1Tables`): :func:`cohort_tables`
sums them once per run from the whole cohort's attempts in the window (active exclusions left
out), before the partitions; every partition, local or on a Spark worker, gets the same tables
and so the same rows whatever the partitioning. The cohort is read one partition of users at a
time and only its cells (answers per question, theme and hour) are kept, so memory stays bounded
by a partition. A partitioned whole-cohort run also keeps, on disk, what each partition's rows
need of it alone (:class:`Found`: its evidence, found as it was read), and its second pass
only rates, sums and explains: the database is read once, and each partition prepared once. A
single-partition whole-cohort run reads nothing more: its one partition is the whole cohort,
and the kernel builds the same tables from it.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import dataclass, fields, replace
from datetime import datetime
from pathlib import Path

import polars as pl

from pipeline.contracts.params import default_params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import Scope
from pipeline.io.extract import Extracted, Window, read_resolved
from pipeline.io.store import Partition, Store
from pipeline.kernel import CohortResult
from pipeline.kernel.v1 import V1Tables, tables_of, v1_cells
from pipeline.kernel.v1_rows import Evidence, evidence_and_cells, evidence_and_tables, v1_rows
from pipeline.run.clock import StageClock
from pipeline.run.exclusions import drop_excluded
from pipeline.run.load import stage_frame
from pipeline.run.reading import read_ahead
from pipeline.run.spec import RunSpec


@dataclass(frozen=True)
class Found:
    """What a partition's v1 rows need of it alone (after exclusions): its
    :class:`~pipeline.kernel.v1_rows.Evidence` and the theme/block pairs of its answers."""

    evidence: Evidence
    pairs: pl.DataFrame


@dataclass(frozen=True)
class KeptPartition:
    """A partition as the tables' pass kept it: its read's counts (``extracted``, attempts
    cleared; its quality with the excluded attempts counted) and what was found in it."""

    extracted: Extracted
    found: Found

    def rated(
        self, params: ParamsV1, tables: V1Tables, themes: pl.DataFrame, blocks: pl.DataFrame
    ) -> RatedPartition:
        """This partition's rows (:func:`compute_v1`), their seconds among its read's
        (``compute.v1_rows``): the second pass computes the next partition's rows on its
        reading thread while this one's are checked and staged, as the first pass reads the
        next partition while this one's evidence is found."""
        began = time.perf_counter()
        rows = compute_v1(self.found, params, tables, themes, blocks)
        seconds = {**self.extracted.seconds, "compute.v1_rows": time.perf_counter() - began}
        return RatedPartition(replace(self.extracted, seconds=seconds), rows)


@dataclass(frozen=True)
class RatedPartition:
    """A kept partition's read's counts and its rows (:meth:`KeptPartition.rated`)."""

    extracted: Extracted
    result: CohortResult


def found_and_tables(
    attempts: pl.DataFrame, params: ParamsV1, as_of: datetime, tables: V1Tables | None
) -> tuple[Found, V1Tables]:
    """A partition's :class:`Found` and the tables its rows use: the cohort's when given, else
    its own (the partition is the whole cohort)."""
    found, used = evidence_and_tables(attempts, params, as_of, tables)
    return Found(found, theme_blocks(attempts)), used


def theme_blocks(attempts: pl.DataFrame) -> pl.DataFrame:
    """The (theme, block) pairs of the attempts (a data-quality count needs them)."""
    return (
        attempts.filter(pl.col("block_id").is_not_null() & pl.col("theme_id").is_not_null())
        .select(pl.col("theme_id").cast(pl.Int32), pl.col("block_id").cast(pl.Int32))
        .unique()
    )


class KeptReads:
    """The tables' pass's partitions, as :class:`Found` (their frames as Arrow IPC in a
    temporary folder, made at the first one kept and removed on exit; their read's counts in
    memory), for the run's own partitions when they are the same partitions: the database is
    read, tags resolved and each partition prepared once per run."""

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

    def _path(self, index: int, kind: str) -> Path:
        with self._making:
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="mastery-v1-")
        return Path(self._folder.name) / f"{index}.{kind}.arrow"

    def keep(self, index: int, extracted: Extracted, found: Found) -> None:
        """Partition ``index``'s read (its counts; its quality with the excluded attempts
        counted) and what was found in it."""
        with self.clock.sub("cohort_tables.keep"):
            for kind, frame in _frames(found).items():
                frame.write_ipc(self._path(index, kind), compression="lz4")
        self._kept[index] = replace(extracted, attempts=extracted.attempts.clear())

    def read(self, index: int) -> KeptPartition:
        """Partition ``index`` as kept, its files removed."""
        frames = {kind: self._take(index, kind) for kind in (*_EVIDENCE, "pairs")}
        pairs = frames.pop("pairs")
        return KeptPartition(self._kept.pop(index), Found(Evidence(**frames), pairs))

    def _take(self, index: int, kind: str) -> pl.DataFrame:
        path = self._path(index, kind)
        frame = pl.read_ipc(path)
        path.unlink()
        return frame


_EVIDENCE = tuple(f.name for f in fields(Evidence))  # (one file each, and one of pairs)


def _frames(found: Found) -> dict[str, pl.DataFrame]:
    return {**{name: getattr(found.evidence, name) for name in _EVIDENCE}, "pairs": found.pairs}


def cohort_tables(
    store: Store, spec: RunSpec, exclusions: pl.DataFrame, chunks: int, keep: KeptReads | None
) -> V1Tables:
    """The whole cohort's v1 tables at the run's as_of over its lookback, from the cohort read
    in ``chunks`` partitions of users (the next one read meanwhile) and only the cells of
    each kept in memory; ``keep`` saves what each partition's rows need of it (checked, as
    the run would check it, and found while the next partition is read)."""
    from pipeline.run.validate import validate_attempts  # (pandera: imported when needed)

    params = spec.used_params
    assert isinstance(params, ParamsV1)
    window = Window(Scope(), spec.as_of, params.lookback_days)

    def read(index: int) -> Extracted:
        return read_resolved(store, window, Partition(index, chunks))

    parts = []
    for index, partition_read in enumerate(read_ahead(read, chunks, ahead=store.concurrent_reads)):
        extracted = partition_read()
        if keep is not None:
            with keep.clock.sub("cohort_tables.validate_input"):
                validate_attempts(extracted.attempts)
        attempts, excluded = drop_excluded(extracted.attempts, exclusions)
        if keep is None:
            del extracted
            parts.append(v1_cells(attempts, spec.as_of))
            continue
        with keep.clock.sub("cohort_tables.evidence"):
            found, partial = evidence_and_cells(attempts, params, spec.as_of)
            pairs = theme_blocks(attempts)
        del attempts
        quality = dict(extracted.quality)
        if not exclusions.is_empty():
            quality["excluded_attempts"] = excluded
        keep.keep(index, replace(extracted, quality=quality, validated=True), Found(found, pairs))
        del extracted
        parts.append(partial)
    if keep is None:
        return tables_of(parts)
    with keep.clock.sub("cohort_tables.count"):
        return tables_of(parts)


def compute_v1(
    found: Found, params: ParamsV1, tables: V1Tables, themes: pl.DataFrame, blocks: pl.DataFrame
) -> CohortResult:
    """v1's rows of one partition (rows whose theme or block no longer exists are skipped and
    counted, as v0 does), with the theme/block pairs of its answers; v0's other data-quality
    counts are not v1's (the extract's are kept)."""
    rows = v1_rows(found.evidence, tables, params)
    known_theme = pl.col("theme_id").is_in(themes["id"].implode())
    known_block = pl.col("block_id").is_in(blocks["id"].implode())
    skipped = rows.select(
        dangling_theme_rows_skipped=(~known_theme).sum(),
        dangling_block_rows_skipped=(known_theme & ~known_block).sum(),
    ).row(0, named=True)
    rows = rows.filter(known_theme & known_block)
    return CohortResult(rows, {name: int(count) for name, count in skipped.items()}, found.pairs)


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

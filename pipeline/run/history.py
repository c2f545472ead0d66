"""``mastery history``: the active algorithm's scores as of every date of a series.

The users are split into partitions by the stable hash every partitioned run uses; per
partition, ONE extract covers every date's window (from the first date's window start to the
last date), the exclusions are left out as in every run, and one kernel query
(:func:`pipeline.kernel.history.compute_history`) scores every date. Users never span
partitions, so the rows are the same whatever their count; only one partition's attempts are
in memory at a time. Nothing is written to the database; the rows go to a Parquet file (or
back to the caller).

v1 rates each answer against other students' answers, so its rows need the whole cohort: one
extract of every user over the dates' windows, then per date the v1 kernel over the sessions of
that date's window (what a dry run as of that date reads), keeping the scope's rows.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import Scope, utc, window_start
from pipeline.io.extract import Extracted, Window, extract_from_store
from pipeline.io.store import Partition, Store, open_store
from pipeline.io.url import DatabaseUrl
from pipeline.kernel.history import AS_OF, HISTORY_KEYS, HISTORY_SCHEMA, compute_history
from pipeline.run.exclusions import drop_excluded, read_active
from pipeline.run.load import check_output_path
from pipeline.run.reading import default_partitions, read_ahead
from pipeline.run.v1 import compute_v1, found_and_tables

Url = str | DatabaseUrl | None
MAX_DATES = 1000


@dataclass(frozen=True)
class History:
    """The dates, how many rows and partitions, the attempts left out by exclusions, the
    seconds each stage took, and the rows (``pipeline.kernel.history.HISTORY_SCHEMA``):
    held in memory when no output file was asked for, else read back from it when asked."""

    dates: list[datetime]
    row_count: int
    partitions: int
    excluded_attempts: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    output: Path | None = None
    held: pl.DataFrame | None = field(default=None, repr=False)

    @cached_property
    def rows(self) -> pl.DataFrame:
        if self.held is not None:
            return self.held
        if self.output is None:
            return pl.DataFrame(schema=HISTORY_SCHEMA)
        return pl.read_parquet(self.output)


def history_dates(start: datetime, end: datetime, every: timedelta) -> list[datetime]:
    """``start``, ``start + every``, ... up to and including ``end``."""
    if every <= timedelta(0):
        raise MasteryError("--every must be a positive duration")
    first, last = utc(start), utc(end)
    if last < first:
        raise MasteryError(f"--to {last.isoformat()} is before --from {first.isoformat()}")
    count = int((last - first) / every) + 1
    if count > MAX_DATES:
        raise MasteryError(f"{count} dates: at most {MAX_DATES} (a longer --every?)")
    return [first + every * n for n in range(count)]


def parse_every(text: str) -> timedelta:
    """``7d``, ``12h``, ``2w`` (days, hours, weeks)."""
    units = {"d": "days", "h": "hours", "w": "weeks"}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) < 1:
        raise MasteryError(f"--every {text!r}: use a whole number and d, h or w, e.g. 7d")
    return timedelta(**{units[unit]: int(number)})


class DateParts:
    """Each partition's rows split by date into a folder, then joined date by date into one
    file sorted by (as_of, user_id, theme_id): one date's rows in memory at a time, and the
    same file whatever the partition count. Without a file (``folder`` None) they are held."""

    def __init__(self, folder: Path | None, dates: Sequence[datetime]) -> None:
        self.folder = folder
        self.index = {date: i for i, date in enumerate(dates)}
        self.rows = 0
        self.held: list[pl.DataFrame] = []

    def add(self, partition: int, rows: pl.DataFrame) -> None:
        self.rows += rows.height
        if self.folder is None:
            self.held.append(rows)
            return
        for (date,), part in rows.partition_by(AS_OF, as_dict=True).items():
            assert isinstance(date, datetime)
            part.write_parquet(self.folder / f"{self.index[date]:05d}-{partition:05d}.parquet")

    def frame(self) -> pl.DataFrame:
        """The held rows, in the file's order."""
        if not self.held:
            return pl.DataFrame(schema=HISTORY_SCHEMA)
        return pl.concat(self.held).sort(HISTORY_KEYS)

    def write(self, target: Path) -> None:
        assert self.folder is not None
        writer: pq.ParquetWriter | None = None
        try:
            for i in range(len(self.index)):
                files = sorted(self.folder.glob(f"{i:05d}-*.parquet"))
                if not files:
                    continue
                table = pl.read_parquet(files).sort(HISTORY_KEYS).to_arrow()
                writer = writer or pq.ParquetWriter(target, table.schema, compression="zstd")
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            pl.DataFrame(schema=HISTORY_SCHEMA).write_parquet(target)


def history(
    database_url: Url,
    dates: Sequence[datetime],
    *,
    scope: Scope | None = None,
    params: Params | ParamsV1 | None = None,
    output: Path | None = None,
    partitions: int | None = None,
) -> History:
    """The rows as of each of ``dates`` for the ``scope`` (default: the whole cohort), of the
    active algorithm and params (or ``params``: v0 or v1); ``output`` writes them to Parquet
    instead of holding them. ``partitions`` (default: from the window's answer count) splits
    the users (v0 only: v1 needs the whole cohort at once)."""
    if not dates:
        raise MasteryError("no dates to compute")
    if partitions is not None and partitions < 1:
        raise MasteryError(f"partitions must be at least 1, got {partitions}")
    if output:
        check_output_path(output)
    instants = sorted({utc(date) for date in dates})
    with (
        open_store(database_url) as store,
        tempfile.TemporaryDirectory(prefix="mastery-history-") as folder,
    ):
        chosen = params or store.active_params().params
        span = math.ceil((instants[-1] - instants[0]) / timedelta(days=1))
        window = Window(scope or Scope(), instants[-1], chosen.lookback_days + span)
        parts = DateParts(Path(folder) if output else None, instants)
        if isinstance(chosen, ParamsV1):
            if partitions not in (None, 1):
                raise MasteryError(
                    f"partitions {partitions}: v1's history reads the whole cohort at once "
                    "(every date's rates are other students'); partitions apply to v0 only"
                )
            count = 1
            excluded, seconds = _compute_v1(store, window, chosen, instants, parts)
        else:
            count = partitions or default_partitions(store, window)
            excluded, seconds = _compute(store, window, chosen, instants, count, parts)
        if output:
            clock = time.perf_counter()
            _write_output(parts, Path(folder) / "history.parquet", output)
            _add(seconds, "write", clock)
    held = None if output else parts.frame()
    return History(instants, parts.rows, count, excluded, seconds, output, held)


def _compute(
    store: Store,
    window: Window,
    params: Params,
    dates: list[datetime],
    count: int,
    parts: DateParts,
) -> tuple[int, dict[str, float]]:
    """Every partition in turn, its rows to ``parts``; the attempts excluded and the seconds.
    Where the store allows it, the next partition is read while this one computes (as a
    recompute does), so ``extract`` counts only the wait for it."""
    from pipeline.run.validate import validate_attempts

    themes, blocks = store.fetch_frame("select_themes"), store.fetch_frame("select_blocks")
    exclusions = read_active(store)
    seconds: dict[str, float] = {}
    excluded = 0

    def read(index: int) -> Extracted:
        return extract_from_store(store, window, Partition(index, count))

    reads = read_ahead(read, count, ahead=store.concurrent_reads)
    for index, extract in enumerate(reads):
        clock = time.perf_counter()
        extracted = extract()
        _add(seconds, "extract", clock)
        clock = time.perf_counter()
        attempts, dropped = drop_excluded(validate_attempts(extracted.attempts), exclusions)
        excluded += dropped
        del extracted
        _add(seconds, "validate_input", clock)
        clock = time.perf_counter()
        rows = compute_history(attempts.lazy(), params, dates, themes.lazy(), blocks.lazy())
        del attempts
        _add(seconds, "compute", clock)
        parts.add(index, rows)
    return excluded, seconds


def _compute_v1(
    store: Store, window: Window, params: ParamsV1, dates: list[datetime], parts: DateParts
) -> tuple[int, dict[str, float]]:
    """v1's rows of every date: the whole cohort read once, each date's window cut from it."""
    from pipeline.run.validate import validate_attempts

    themes, blocks = store.fetch_frame("select_themes"), store.fetch_frame("select_blocks")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    extracted = extract_from_store(store, replace(window, scope=Scope()))
    _add(seconds, "extract", clock)
    clock = time.perf_counter()
    attempts, excluded = drop_excluded(validate_attempts(extracted.attempts), read_active(store))
    del extracted
    _add(seconds, "validate_input", clock)
    clock = time.perf_counter()
    scope = window.scope
    for date in dates:
        start = window_start(date, params.lookback_days)
        seen = attempts.filter(pl.col("submitted_at").is_between(start, date))
        found, tables = found_and_tables(seen, params, date, None)
        rows = compute_v1(found, params, tables, themes, blocks).rows
        if scope.user_ids:
            rows = rows.filter(pl.col("user_id").is_in(list(scope.user_ids)))
        if scope.theme_ids:
            rows = rows.filter(pl.col("theme_id").is_in(list(scope.theme_ids)))
        stamped = rows.with_columns(pl.lit(date).cast(HISTORY_SCHEMA[AS_OF]).alias(AS_OF))
        parts.add(0, stamped.select(HISTORY_SCHEMA.names()))
    _add(seconds, "compute", clock)
    return excluded, seconds


def _add(seconds: dict[str, float], stage: str, start: float) -> None:
    seconds[stage] = round(seconds.get(stage, 0.0) + time.perf_counter() - start, 3)


def _write_output(parts: DateParts, built: Path, output: Path) -> None:
    """Build the file beside the parts, then move it in: a failed run leaves no half file."""
    try:
        parts.write(built)
        shutil.move(built, output)
    except OSError as exc:
        raise MasteryError(f"cannot write {output}: {exc.strerror or exc}") from None

"""Frozen-tag resolution (SPEC §4): per field, the question version's value, else the snapshot's.

Snapshot JSON is parsed once per distinct text by the in-memory DuckDB engine, whose JSON type
functions tell a JSON integer from a digit string; the SQL is one file shared by both stores.
The engine is kept per thread, and the tags of recent texts are kept too (parsing is a pure
function of the text): a warm per-student call (``pipeline.run.fresh``) pays for opening an
engine (~20 ms) once per thread, and for planning the JSON query (~5-15 ms) only when it meets
a text it has not seen before.
A snapshot the engine cannot read as an object (not JSON, NaN or Infinity where an id belongs,
10,000 levels of nesting, a 10 MB string) counts as ``{}`` or its bad field as null, and is
flagged: never an error.

Before resolution, hostile rows are made countable instead of fatal:

- ``answered_at`` at or after 9999-12-31T23:59:59.999999Z (``infinity`` included) is later
  than any ``as_of``: it stays that instant, so the kernel excludes it and counts it under
  ``answered_after_as_of`` (SPEC §4's rule for answers after ``as_of``);
- ``answered_at`` before 1900-01-01 (``-infinity``, year 1, 4713 BC included) is no real answer
  time: it becomes null, so the answer stays an attempt with an unknown time and the kernel
  counts it under ``null_answered_at`` (SPEC §4's rule for a null ``answered_at``).
  Both are also counted under ``out_of_range_timestamps``. The extract SQL already brings such
  values to the edges of that range (``extract_attempts.sql``; on Postgres
  ``extract_session_answers*.sql``): ADBC turns Postgres' infinity into a negative number, and
  Polars cannot format what lies beyond year 9999, which crashed the load. This screen
  applies the rule to whatever arrives, Parquet exports included.
- Two rows for one ``(session_id, question_id)`` (``session_answers`` or ``session_questions``
  without SPEC §2's unique key) become one (:func:`drop_duplicate_attempts`), chosen by value so
  any row order gives the same: the latest ``answered_at`` (a null one loses), then the larger of
  the other columns; the rest are counted under ``duplicate_answers_dropped``. The store looks
  for them only when its catalog shows a table without that key, so a conforming database pays
  nothing for the look.

``submitted_at`` needs no screen: the window (a real instant either side) filters it in the
database, so ``infinity`` or year 1 there is a session outside every run.
"""

from __future__ import annotations

import contextlib
import threading

import duckdb
import polars as pl

from pipeline.contracts.frames import EXTRACT_QUALITY_KEYS, RAW_ATTEMPT_SCHEMA, UTC_MICROS
from pipeline.io.sqlfiles import load_sql
from pipeline.io.store.base import ANSWERED_AT_EARLIEST, ANSWERED_AT_LATEST

TAG_FIELDS = ("year", "block_id", "theme_id", "difficulty")
ATTEMPT_KEY = ("session_id", "question_id")
QUALITY_FLAGS = ("snapshot_malformed", "answered_at_out_of_range", "duplicates_dropped")
"""Per-attempt flags behind :data:`EXTRACT_QUALITY_KEYS`, in the same order."""
_LATEST_FIRST = ("answered_at", "is_correct", "submitted_at", "qv_year", "qv_block_id")
_TIE_BREAK = (*_LATEST_FIRST, "qv_theme_id", "qv_difficulty", "snapshot_json", "user_id")
PARSED_SNAPSHOT_SCHEMA = pl.Schema(
    {
        "snapshot_json": pl.String,
        "snap_year": pl.Int32,
        "snap_block_id": pl.Int32,
        "snap_theme_id": pl.Int32,
        "snap_difficulty": pl.String,
        "snapshot_malformed": pl.Boolean,
    }
)


PARSED_CACHE_ROWS = 20_000
"""At most this many parsed texts are kept (a few MB); more start the memory afresh."""
PARSED_CACHE_TEXT_CHARS = 1_024
"""Longer texts (hostile ones reach 10 MB) are parsed each time, never kept."""


class _PerThread(threading.local):
    """This thread's engine and its planned query: a DuckDB connection is not shared between
    threads, and the query, planned once, reads whatever is registered as ``snapshots`` when
    it runs (planning it again each call cost about as much as running it)."""

    engine: duckdb.DuckDBPyConnection | None = None
    query: duckdb.DuckDBPyRelation | None = None


class _Kept:
    """The tags of texts parsed before, shared by threads (replaced whole, under a lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.frame = pl.DataFrame(schema=PARSED_SNAPSHOT_SCHEMA)

    def add(self, parsed: pl.DataFrame) -> None:
        keep = parsed.filter(pl.col("snapshot_json").str.len_chars() <= PARSED_CACHE_TEXT_CHARS)
        if keep.height > PARSED_CACHE_ROWS:  # a whole run's texts: not worth keeping
            return
        with self.lock:
            base = self.frame
            if base.height + keep.height > PARSED_CACHE_ROWS:
                base = base.clear()
            self.frame = pl.concat([base, keep.join(base, on="snapshot_json", how="anti")])


_PER_THREAD = _PerThread()
_KEPT = _Kept()


def parse_snapshots(snapshots: pl.Series) -> pl.DataFrame:
    """Tags of each distinct snapshot text; non-objects count as ``{}`` and are flagged.

    Texts parsed before (by any thread) are taken from the kept tags; the rest are parsed."""
    distinct = pl.DataFrame(
        {"snapshot_json": snapshots.drop_nulls().unique()}, schema={"snapshot_json": pl.String}
    )
    if distinct.is_empty():
        return pl.DataFrame(schema=PARSED_SNAPSHOT_SCHEMA)
    known = _KEPT.frame.join(distinct, on="snapshot_json", how="semi")
    if known.height == distinct.height:
        return known
    parsed = _parse(distinct.join(known, on="snapshot_json", how="anti"))
    _KEPT.add(parsed)
    return pl.concat([known, parsed])


def _parse(distinct: pl.DataFrame) -> pl.DataFrame:
    """Tags of distinct texts by this thread's engine (opened and planned once)."""
    kept = _PER_THREAD
    if kept.engine is None or kept.query is None:
        kept.engine = duckdb.connect(":memory:")
        kept.engine.register("snapshots", distinct.clear().to_arrow())
        kept.query = kept.engine.sql(load_sql("engine", "parse_snapshots"))
    try:
        kept.engine.register("snapshots", distinct.to_arrow())
        result = kept.query.to_arrow_table()
        kept.engine.register("snapshots", distinct.clear().to_arrow())  # the texts are let go
    except BaseException:
        engine, kept.engine, kept.query = kept.engine, None, None  # a new one next time
        with contextlib.suppress(Exception):
            engine.close()
        raise
    return pl.DataFrame(pl.from_arrow(result)).cast(PARSED_SNAPSHOT_SCHEMA)


def resolve_frozen_tags(raw: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Resolved attempts (the kernel's input) with a ``snapshot_malformed`` flag per attempt;
    the flags of :func:`screen_attempts`, when present, pass through."""
    lazy = raw.lazy()
    flags = [name for name in QUALITY_FLAGS[1:] if name in lazy.collect_schema()]
    frame = lazy.select(
        *(pl.col(n).cast(t) for n, t in RAW_ATTEMPT_SCHEMA.items()), *(pl.col(f) for f in flags)
    )
    snapshots = frame.select("snapshot_json").unique().collect().to_series()
    parsed = parse_snapshots(snapshots).lazy()
    return frame.join(parsed, on="snapshot_json", how="left", nulls_equal=False).select(
        "user_id",
        "session_id",
        "question_id",
        *(pl.coalesce(f"qv_{name}", f"snap_{name}").alias(name) for name in TAG_FIELDS),
        "is_correct",
        "answered_at",
        "submitted_at",
        pl.col("snapshot_malformed").fill_null(False),
        *flags,
    )


def screen_attempts(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw attempts with an out-of-range ``answered_at`` brought under the rule of this module's
    docstring and flagged per row; a ``duplicates_dropped`` count left by
    :func:`drop_duplicate_attempts` passes through (0 where there is none)."""
    dropped = (
        pl.col("duplicates_dropped").cast(pl.UInt32)
        if "duplicates_dropped" in raw.columns
        else pl.lit(0, pl.UInt32)
    )
    frame = raw.select(
        *(pl.col(n).cast(t) for n, t in RAW_ATTEMPT_SCHEMA.items()),
        dropped.alias("duplicates_dropped"),
    )
    answered = pl.col("answered_at")
    late = answered >= pl.lit(ANSWERED_AT_LATEST, UTC_MICROS)
    early = answered < pl.lit(ANSWERED_AT_EARLIEST, UTC_MICROS)
    return frame.with_columns(
        answered_at=pl.when(late)
        .then(pl.lit(ANSWERED_AT_LATEST, UTC_MICROS))
        .when(early)
        .then(pl.lit(None, UTC_MICROS))
        .otherwise(answered),
        answered_at_out_of_range=(late | early).fill_null(False),
    )


def drop_duplicate_attempts(raw: pl.DataFrame) -> pl.DataFrame:
    """One row per ``(session_id, question_id)``, the kept row chosen by value, with a
    ``duplicates_dropped`` column: how many rows each kept one stood for, less one."""
    frame = raw.with_columns(duplicates_dropped=pl.lit(0, pl.UInt32))
    duplicated = frame.select(pl.struct(*ATTEMPT_KEY).is_duplicated()).to_series()
    if not duplicated.any():
        return frame
    kept = (
        frame.filter(duplicated)
        .sort(*ATTEMPT_KEY, *_TIE_BREAK, nulls_last=False)
        .with_columns(duplicates_dropped=(pl.len().over(ATTEMPT_KEY) - 1).cast(pl.UInt32))
        .unique(subset=list(ATTEMPT_KEY), keep="last", maintain_order=True)
    )
    return pl.concat([frame.filter(~duplicated), kept])


def extract_quality(attempts: pl.DataFrame) -> dict[str, int]:
    """The extract's data-quality counts (:data:`EXTRACT_QUALITY_KEYS`) over resolved attempts;
    a flag column that is absent counts 0."""
    present = [flag for flag in QUALITY_FLAGS if flag in attempts.columns]
    sums = attempts.select(pl.col(present).cast(pl.Int64).sum()).row(0, named=True)
    return {
        key: int(sums.get(flag) or 0)
        for key, flag in zip(EXTRACT_QUALITY_KEYS, QUALITY_FLAGS, strict=True)
    }

"""v1's cohort counts by the hour (issue 16): every student's answers before an answer's hour.

v1 rates each answer against the answers of *other* students before it. They are counted
before the answer's **hour** (UTC, ``answered_at`` truncated to the hour), not its instant:
then the whole cohort's part is a small table — answers and right answers per (question,
hour), (theme, hour) and hour — summed from each partition's cells as it is read, and every
answer finds its counts by one lookup, with no sort of the whole cohort's answers. (The
student's own answers, subtracted to leave other students', are counted before the hour too:
:func:`pipeline.kernel.v1.rate_frame`.) On the ASSISTments 2017 subset the hourly rates
predict as the instant's did (benchmarks/RESULTS.md).

Tables are dense: per name, one row of cells per key (a question, a theme, or the one row of
``g``) and one column per distinct hour of the counted answers, plus a last column (the total);
each cell holds the key's answers (right ones) *before* that hour. An hour the tables never
saw falls between two columns, and the count before it is still exact. Integers, so the
same numbers whatever the partitioning or order of the partials.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from pipeline.kernel.replay import TIME

HOUR = "1h"
_HALF = 2**31  # shifts a theme id or an hour number to be non-negative
_LOW = 2**32  # a cell's key: its key's code · 2^32 + its hour number


def rate_hour(time: pl.Expr) -> pl.Expr:
    """The hour an answer's rates are counted before (UTC)."""
    return time.dt.truncate(HOUR)


def _hour_number(time: pl.Expr) -> pl.Expr:
    """That hour as a number (hours since 1970, shifted: non-negative below 2^32)."""
    return (time.dt.epoch("s") // 3600 + _HALF).cast(pl.UInt64)


@dataclass(frozen=True)
class Cells:
    """One partition's part of the tables (:func:`cells`); partials add up."""

    questions: pl.DataFrame
    """``key`` (question code · 2^32 + hour number), ``n`` answers and ``c`` right ones."""
    themes: pl.DataFrame
    """The same per (theme, hour): ``key`` ((theme id + 2^31) · 2^32 + hour number)."""
    names: pl.DataFrame
    """``code`` and ``question_id`` of the questions' codes (categorical codes are the
    process's own: the tables keep the text)."""


def cells(rows: pl.DataFrame) -> Cells:
    """Answers and right answers per (question, hour) and per (theme, hour) of answered rows
    with ``question_id``, ``theme_id``, ``answered_at`` and ``correct`` (0/1), each keyed by
    one integer (a sum by one integer key is the cheapest)."""
    asked = rows["question_id"].cast(pl.Categorical)
    hour = rows.select(_hour_number(pl.col(TIME))).to_series()
    code = asked.to_physical().cast(pl.UInt64)
    theme = (rows["theme_id"].cast(pl.Int64) + _HALF).cast(pl.UInt64)
    keyed = pl.DataFrame({"q": code * _LOW + hour, "t": theme * _LOW + hour})
    keyed = keyed.with_columns(rows["correct"].cast(pl.Int64).alias("c"))
    seen = asked.unique()
    names = pl.DataFrame({"code": seen.to_physical(), "question_id": seen.cast(pl.String)})
    return Cells(_summed(keyed, "q"), _summed(keyed, "t"), names)


def _summed(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Per distinct ``key``: its rows (``n``) and the sum of ``c``. Sorted first: a partition's
    (question, hour) cells are nearly as many as its answers, and a group-by of sorted keys
    reads its table in order (twice as fast as in the answers' order)."""
    sums = (pl.len().cast(pl.Int64).alias("n"), pl.col("c").sum())
    ordered = frame.lazy().select(key, "c").sort(key)
    return ordered.group_by(pl.col(key).alias("key")).agg(*sums).collect()


@dataclass(frozen=True)
class RateTables:
    """The cohort's answers (right ones) before each hour per question, theme and overall
    (plain frames: a Spark worker in another process reads them the same)."""

    hours: pl.Series
    """The distinct hour numbers of the counted answers, ascending."""
    keys: dict[str, pl.DataFrame]
    """Per name of ``q`` and ``t``: its key (``question_id`` or ``theme_id``) and ``idx``, the
    key's row of cells (one more row, the last, has no answers: a key not here)."""
    before: dict[str, pl.Series]
    """Per name: every cell's n · 2^32 + c, row by row (``len(hours) + 1`` cells a row)."""
    totals: pl.DataFrame
    """Answers and right answers per theme (``theme_id``, ``n``, ``c``), by theme."""

    @property
    def overall(self) -> tuple[int, int]:
        """Answers and right answers of the whole cohort."""
        n, c = self.totals.select(pl.col("n").sum(), pl.col("c").sum()).row(0)
        return int(n or 0), int(c or 0)


def rate_tables(partials: Iterable[Cells]) -> RateTables:
    """The tables of :func:`cells` partials, in any order or partitioning: each partial's
    cells added into every name's dense rows, then each row's running sum."""
    parts = list(partials)
    hours = pl.concat([p.themes["key"] % _LOW for p in parts]).unique().sort()
    themes = pl.concat([p.themes["key"] // _LOW for p in parts]).unique().sort()
    asked = pl.concat([p.names["question_id"] for p in parts]).unique().sort()
    index = pl.int_range(pl.len(), dtype=pl.UInt32).alias("idx")  # (the key's row of cells)
    keys = {
        "t": pl.DataFrame({"theme_id": (themes.cast(pl.Int64) - _HALF).cast(pl.Int32)}),
        "q": asked.to_frame(),
    }
    keys = {name: frame.with_columns(index) for name, frame in keys.items()}
    # one more row of no answers for a key the tables never saw
    grid = _Grid(hours, {"g": 1, "t": themes.len() + 1, "q": asked.len() + 1})
    for part in parts:
        overall = part.themes.group_by(pl.col("key") % _LOW).agg(pl.col("n", "c").sum())
        grid.add("g", pl.zeros(overall.height, pl.UInt64, eager=True), overall)
        grid.add("t", themes.search_sorted(part.themes["key"] // _LOW), part.themes)
        local = part.names.join(keys["q"], on="question_id")
        code = (part.questions["key"] // _LOW).cast(pl.UInt32)
        grid.add("q", code.replace_strict(local["code"], local["idx"]), part.questions)
    if int(grid.cells["g"]["n"].sum()) >= _LOW:  # (a cell packs n · 2^32 + c)
        raise ValueError("v1's rate tables count fewer than 2^32 answers")
    width = grid.width
    before = {name: _running(pl.DataFrame(cells), width) for name, cells in grid.cells.items()}
    last = pl.int_range(themes.len(), dtype=pl.UInt64, eager=True) * width + width - 1
    totals = keys["t"].select("theme_id").with_columns(**_unpacked(before["t"].gather(last)))
    return RateTables(hours, keys, before, totals)


class _Grid:
    """Per name, ``n`` and ``c`` of every cell: one row per key, one column per hour and a
    last one; partials are added cell by cell."""

    def __init__(self, hours: pl.Series, rows: dict[str, int]) -> None:
        self.hours = hours
        self.width = hours.len() + 1
        self.cells = {
            name: {x: pl.zeros(count * self.width, pl.Int64, eager=True) for x in "nc"}
            for name, count in rows.items()
        }

    def add(self, name: str, row: pl.Series, counts: pl.DataFrame) -> None:
        """Add one partial's cells (distinct: a partial sums each cell once) at their ``row``
        and their hour (``counts``' ``key`` modulo 2^32): only those cells are touched."""
        slot = self.hours.search_sorted(counts["key"] % _LOW, side="left").cast(pl.UInt64)
        place = row.cast(pl.UInt64) * self.width + slot
        for x, cells in self.cells[name].items():
            cells.scatter(place, cells.gather(place) + counts[x])


def _running(cells: pl.DataFrame, width: int) -> pl.Series:
    """Per cell, the counts of its row's cells to its left (n · 2^32 + c: one lookup finds
    both): a running sum over the rows laid end to end, minus its value at each row's first
    cell."""
    start = (pl.int_range(pl.len(), dtype=pl.UInt64) // width) * width
    packed = (pl.col("n") * _LOW + pl.col("c")).cast(pl.UInt64)
    running = packed.cum_sum() - packed
    return cells.select(running - running.gather(start)).to_series()


def _unpacked(packed: pl.Series) -> dict[str, pl.Series]:
    return {"n": (packed // _LOW).cast(pl.Int64), "c": (packed % _LOW).cast(pl.Int64)}


def counts_before(
    rows: pl.DataFrame, tables: RateTables, names: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``<name>_n`` / ``<name>_c`` of every name of
    :data:`~pipeline.kernel.replay.COHORT_KEYS`, aligned with answered ``rows``
    (``question_id``, ``theme_id``, ``answered_at``): the cohort's answers (right ones) of the
    row's keys before its hour. A key the tables never saw has none. Given ``names`` (``code``
    and ``question_id``), the rows name their question by its ``question`` code instead."""
    width = tables.hours.len() + 1
    hour = rows.select(_hour_number(pl.col(TIME))).to_series()
    slot = tables.hours.search_sorted(hour, side="left").cast(pl.UInt64)
    index = tables.keys
    asked = (
        _rows_of(rows["question_id"], index["q"])
        if names is None
        else _rows_of(
            rows["question"], names.join(index["q"], on="question_id").drop("question_id")
        )
    )
    out: dict[str, pl.Series] = {}
    for name, row in (("g", None), ("t", _rows_of(rows["theme_id"], index["t"])), ("q", asked)):
        place = slot
        if row is not None:
            place = row.fill_null(index[name].height).cast(pl.UInt64) * width + slot
        packed = tables.before[name].gather(place)
        out |= {f"{name}_{x}": value for x, value in _unpacked(packed).items()}
    return pl.DataFrame(out)


def _rows_of(given: pl.Series, index: pl.DataFrame) -> pl.Series:
    """Each value's row of cells (null: not in the tables). A text is looked up once per
    distinct value (a partition asks its ~2,000 questions a million times)."""
    (name,) = (column for column in index.columns if column != "idx")
    keys, rows = index[name], index["idx"]
    if given.dtype.is_numeric():
        return given.replace_strict(keys, rows, default=None, return_dtype=pl.UInt32)
    coded = given.cast(pl.Categorical)
    seen = coded.unique()
    found = seen.cast(pl.String).replace_strict(keys, rows, default=None, return_dtype=pl.UInt32)
    return coded.to_physical().replace_strict(
        seen.to_physical(), found, default=None, return_dtype=pl.UInt32
    )

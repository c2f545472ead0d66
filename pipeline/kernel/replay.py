"""Replay (issue 16): what each model said about a student's theme just before every answer.

Pure and vectorized: running sums over sorts, binary searches for windows and one event
sweep for v0; no Python loop over attempts, no clock, no I/O.

What "just before answering" means
----------------------------------
An attempt answered at ``t`` is scored from the instant ``as_of = t - 1 µs``: only attempts
answered *strictly* before ``t`` can count, so two answers given at the same instant never
see each other (timestamps are microseconds).

* **v0** is SPEC §4 to the letter at that ``as_of``: the attempts of the student's theme in
  sessions submitted in ``[as_of - lookback_days, as_of]`` and not answered after ``as_of``,
  bucketed on ``answered_at``. So the answers of a session still in progress are not yet
  seen (a recompute only reads submitted sessions), and a row with fewer than
  ``min_attempts`` such attempts is *insufficient evidence*: reported apart, never a
  prediction of 0. :func:`~pipeline.kernel.replay_v0.replay_v0` equals ``compute_cohort(attempts,
  params, as_of)`` at every target's ``as_of`` (tests/test_backtest_replay.py checks it at
  random instants).
* **v1** (:mod:`pipeline.kernel.v1`) uses every answer given strictly before ``t``, those of
  the session in progress included: what a recompute over every answer so far would say. Its
  replay equals ``compute_cohort_v1(attempts, params, as_of)`` over the same input.
* **Baselines** use every attempt answered strictly before ``t`` in the input: the base rate
  of all students, the student's own accuracy (all themes) and the theme's accuracy (all
  students), each Laplace-smoothed (below) so that every attempt gets a prediction.

The input is the period's attempts plus the history before it; attempts answered in
``[period.start, period.end)`` are the *targets*. Rows without a theme are dropped (v0 drops
them too); a null ``is_correct`` counts as incorrect; a null ``answered_at`` is never a target,
is counted by v0 as SPEC §4 says (in ``attempts_total``, in no bucket) and by nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

import polars as pl

from pipeline.contracts.frames import ATTEMPT_SCHEMA
from pipeline.contracts.scope import utc

_T = TypeVar("_T")
_R = TypeVar("_R")

TIME = "answered_at"
MICROSECOND = timedelta(microseconds=1)
ONE = pl.repeat(1, pl.len(), dtype=pl.Int64)
PACK = 2**32  # answers and right answers summed as one integer, n · 2^32 + c (below 2^31 rows)
COHORT_KEYS = {"g": (), "t": ("theme_id",), "q": ("question",)}
"""Sums over every student's earlier answers (all, of the theme, of the question), by name."""
BASELINES = ("base_rate", "student_accuracy", "theme_accuracy")
"""Prediction columns of :func:`replay_baselines`, in report order."""


@dataclass(frozen=True)
class Period:
    """The attempts scored: answered in ``[start, end)`` (UTC; naive means UTC)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.start >= self.end:
            raise ValueError(f"empty period: {self.start.isoformat()} is not before {self.end}")

    def contains(self) -> pl.Expr:
        return pl.col(TIME).is_not_null() & (pl.col(TIME) >= self.start) & (pl.col(TIME) < self.end)


def prepared(
    attempts: pl.LazyFrame | pl.DataFrame, answered_until: datetime | None = None
) -> pl.DataFrame:
    """The replay's input: ATTEMPT_SCHEMA's columns typed, rows with a theme (and, given
    ``answered_until``, only those answered then or before), plus ``row`` (position),
    ``correct`` (0/1; null counts as 0) and integer codes ``user`` and ``question`` of
    ``user_id`` and ``question_id``. Codes and positions follow the input's order, but no
    result depends on them: every sum is exact and keyed by values, so the replay gives the
    same numbers whatever the order of the input."""
    typed = attempts.lazy().select(
        pl.col(name).cast(dtype) for name, dtype in ATTEMPT_SCHEMA.items()
    )
    if answered_until is not None:  # (in the same plan: the wide rows are copied once)
        typed = typed.filter(pl.col(TIME).is_not_null() & (pl.col(TIME) <= utc(answered_until)))
    codes = {
        name: pl.col(column).cast(pl.Categorical).to_physical().cast(pl.UInt32)
        for name, column in (("user", "user_id"), ("question", "question_id"))
    }
    frame = typed.filter(pl.col("theme_id").is_not_null()).with_row_index("row")
    return frame.with_columns(
        correct=pl.col("is_correct").fill_null(False).cast(pl.Int64), **codes
    ).collect()


SLOT = 2**63  # a group's room in a window's search key: offsets and windows stay below 2**62 µs
CODE_BITS = 32


@dataclass(frozen=True)
class Ordering:
    """Answered rows sorted by (keys, answered_at): ``index`` (their positions in that order),
    ``inverse`` (each row's place in it) and, in that order, ``group`` (the keys' code, below
    2^32), ``new_group`` and ``new_instant`` (the first row of its keys, of its (keys,
    instant))."""

    index: pl.Series
    inverse: pl.Series
    marks: pl.DataFrame


def group_code(rows: pl.DataFrame, keys: Sequence[str]) -> pl.Series:
    """The keys as one integer below 2^32, equal exactly for equal keys: a 32-bit code as it
    is (a theme id shifted by 2^31 to be non-negative); two as first · span + (second - least)
    when that stays below 2^32 (no sort), else as the dense rank of the pair."""
    if len(keys) > 2:
        raise ValueError("an ordering packs at most two keys")
    if not keys:
        return pl.zeros(rows.height, pl.UInt64, eager=True)
    parts = [
        (pl.col(k).cast(pl.Int64) + (2**31 if k == "theme_id" else 0)).cast(pl.UInt64) for k in keys
    ]
    if len(parts) == 1:
        return rows.select(parts[0]).to_series()
    first, second = parts
    bounds = rows.select(top=first.max(), least=second.min(), most=second.max()).row(0)
    top, least, most = (0 if value is None else int(value) for value in bounds)
    if (top + 1) * (most - least + 1) <= 2**CODE_BITS:
        return rows.select(first * (most - least + 1) + (second - least)).to_series()
    return rows.select((first * 2**CODE_BITS + second).rank("dense").cast(pl.UInt64)).to_series()


@dataclass(frozen=True)
class InstantOrder:
    """One sort of answers by instant: ``index`` (their positions in instant order), ``times``
    (their instants in that order), ``new_instant`` and ``in_order`` (in that order, the first
    answer of its instant, and its instant's dense rank from 0), and ``place`` (that rank in
    the answers' own order)."""

    index: pl.Series
    times: pl.Series
    new_instant: pl.Series
    in_order: pl.Series
    place: pl.Series

    @classmethod
    def of(cls, times: pl.Series) -> InstantOrder:
        index = times.arg_sort()
        ordered = times.gather(index)
        new_instant = (ordered != ordered.shift()).fill_null(True)
        in_order = new_instant.cast(pl.UInt32).cum_sum() - 1
        place = pl.zeros(times.len(), pl.UInt32, eager=True).scatter(index, in_order)
        return cls(index, ordered, new_instant, in_order, place)

    def by_code(self, code: pl.Series) -> pl.Series:
        """The answers' positions in (``code``, instant) order: this order regrouped by code
        (:func:`regrouped`)."""
        return regrouped(code.gather(self.index), self.index)

    def ordering(self) -> Ordering:
        """The :class:`Ordering` of no keys (every answer by instant), from this sort."""
        marks = pl.DataFrame({"new_instant": self.new_instant}).select(
            group=pl.zeros(pl.len(), pl.UInt64),
            new_group=pl.int_range(pl.len()) == 0,
            new_instant="new_instant",
        )
        return Ordering(self.index, _inverse(self.index), marks)


def regrouped(code: pl.Series, at: pl.Series | None = None) -> pl.Series:
    """``at`` (default: the positions 0, 1, …) regrouped by ``code``: codes ascending, each
    code's in their order. A group-by keeps each group's rows in their order (Polars says so),
    so for a code of few values (a student, a theme, a question) nothing is sorted but them."""
    at = pl.int_range(code.len(), dtype=pl.UInt32, eager=True) if at is None else at
    grouped = pl.DataFrame({"code": code, "at": at}).group_by("code").agg("at").sort("code")
    return grouped["at"].explode()


def _inverse(index: pl.Series) -> pl.Series:
    """Each row's place in the order ``index`` lists them."""
    places = pl.int_range(index.len(), eager=True).cast(index.dtype)
    return pl.zeros(index.len(), index.dtype, eager=True).scatter(index, places)


def ordering(rows: pl.DataFrame, keys: Sequence[str], by_instant: InstantOrder) -> Ordering:
    """The answered ``rows`` in (``keys``, answered_at) order, shared by every sum: one
    64-bit key, the keys' code · 2^32 + the instant's rank. One key has few codes: the
    instant order regrouped (:meth:`InstantOrder.by_code`); a pair has many: one sort. No key:
    the instant order itself (:meth:`InstantOrder.ordering`)."""
    if not keys:
        return by_instant.ordering()
    code = group_code(rows, keys)
    key = code * 2**CODE_BITS + by_instant.place.cast(pl.UInt64)
    index = by_instant.by_code(code) if len(keys) == 1 else key.arg_sort()
    marks = pl.DataFrame({"key": key.gather(index)}).select(**key_marks(pl.col("key")))
    return Ordering(index, _inverse(index), marks)


def key_marks(key: pl.Expr) -> dict[str, pl.Expr]:
    """Along a sorted 64-bit ``key`` (the keys' code · 2^32 + the instant's rank): ``group``
    (the code), ``new_group`` and ``new_instant`` (the first row of its keys, of its (keys,
    instant))."""
    group = key // 2**CODE_BITS
    return {
        "group": group,
        "new_group": (group != group.shift()).fill_null(True),
        "new_instant": (key != key.shift()).fill_null(True),
    }


@dataclass
class History:
    """A prepared frame (all its rows: v0 counts unanswered ones too), its answered ``rows``
    (what every sum is aligned with), their order by answered_at (``by_instant``: one sort,
    which every ordering starts from), the orderings made so far (each made once) and, for
    one partition of a cohort, ``cohort``: the whole cohort's :data:`COHORT_KEYS` counts
    aligned with ``rows`` (:mod:`pipeline.kernel.cohort_counts`)."""

    frame: pl.DataFrame
    cohort: pl.DataFrame | None = None
    rows: pl.DataFrame = field(init=False)
    by_instant: InstantOrder = field(init=False)
    orderings: dict[tuple[str, ...], Ordering] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = self.frame.filter(pl.col(TIME).is_not_null())
        self.by_instant = InstantOrder.of(self.rows[TIME])

    def with_columns(self, **columns: pl.Series) -> History:
        """This history with more columns on its answered rows (the same rows in the same
        order), sharing its orderings: none is made again."""
        wider = copy(self)
        wider.rows = self.rows.with_columns(**columns)
        return wider

    @classmethod
    def of(cls, attempts: pl.LazyFrame | pl.DataFrame) -> History:
        return cls(prepared(attempts))

    def counts(self, name: str) -> pl.DataFrame:
        """``<name>_n`` / ``<name>_c``: the answers (right ones) of :data:`COHORT_KEYS`
        ``[name]`` before each row, the cohort's when given, else this frame's."""
        if self.cohort is not None:
            return self.cohort.select(f"{name}_n", f"{name}_c")
        return self.count(COHORT_KEYS[name], name)

    def tallies(self, own: Mapping[str, Sequence[str]], cohort: Sequence[str] = ()) -> pl.DataFrame:
        """:meth:`count` of each ``own`` prefix's keys, then :meth:`counts` of each ``cohort``
        name, side by side. Each is its own sort, and one sort leaves a core idle part of
        the time: they run on as many threads as Polars has (the GIL is released)."""
        jobs: list[Callable[[], pl.DataFrame]] = [
            partial(self.count, keys, prefix) for prefix, keys in own.items()
        ]
        jobs += [partial(self.counts, name) for name in cohort]
        return pl.concat(on_threads(lambda job: job(), jobs), how="horizontal")

    def count(self, keys: Sequence[str], prefix: str) -> pl.DataFrame:
        """``<prefix>_n`` / ``<prefix>_c``: the answers and right answers of the same keys
        before each row, from one running sum of n · 2^32 + c (exact: c < 2^32, n < 2^31)."""
        packed = self.sums(keys, {"nc": ONE * PACK + pl.col("correct")})["nc"]
        return pl.DataFrame({f"{prefix}_n": packed // PACK, f"{prefix}_c": packed % PACK})

    def targets(self, period: Period) -> pl.Expr:
        """Which answered rows are the period's targets (a mask aligned with ``rows``)."""
        return period.contains()

    def sums(
        self,
        keys: Sequence[str],
        values: Mapping[str, pl.Expr],
        window: timedelta | None = None,
    ) -> pl.DataFrame:
        """:func:`sums_before` over the answered rows, with the keys' ordering made once."""
        key = tuple(keys)
        if key not in self.orderings:
            self.orderings[key] = ordering(self.rows, key, self.by_instant)
        return sums_before(self.rows, self.orderings[key], values, window)


def sums_before(
    rows: pl.DataFrame,
    order: Ordering,
    values: Mapping[str, pl.Expr],
    window: timedelta | None = None,
) -> pl.DataFrame:
    """Per answered row (aligned with ``rows``, one column per value): the sums of ``values``
    over the rows of the same keys answered strictly before it and, given a ``window``, at
    or after ``as_of - window`` (``as_of`` = its ``answered_at`` - 1 µs). Exact for integers.

    In (keys, time) order: a running sum, minus its value where the row's keys start, read
    where the row's instant starts (so rows of the same instant never count each other); the
    window's older part is the same difference at the first row inside the window, found by a
    binary search of the keys' code · 2^63 + microseconds since the first answer.
    """
    needed = rows.select(*([TIME] if window is not None else []), **values)  # (time: windows)
    ordered = pl.concat(
        [needed.select(pl.all().gather(order.index)), order.marks], how="horizontal"
    )
    if window is not None:
        span = pl.lit((window + MICROSECOND) // MICROSECOND, pl.Int128)
        offset = (pl.col(TIME) - pl.col(TIME).min()).dt.total_microseconds().cast(pl.Int128)
        position = pl.col("group").cast(pl.Int128) * pl.lit(SLOT, pl.Int128) + offset
        ordered = ordered.with_columns(position=position).with_columns(
            first=pl.col("position").search_sorted(pl.col("position") - span, side="left")
        )
    before: dict[str, pl.Expr] = {}
    for name in values:
        excl = pl.col(name).cum_sum() - pl.col(name)
        group_base = pl.when(pl.col("new_group")).then(excl).forward_fill()
        value = pl.when(pl.col("new_instant")).then(excl).forward_fill() - group_base
        if window is not None:
            value = value - (excl.gather(pl.col("first")) - group_base)
        before[name] = value
    return ordered.select(**before).select(pl.all().gather(order.inverse))


def on_threads(work: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``work`` of each item, in order, on as many threads as Polars has: one sort leaves a
    core idle part of the time, and Polars releases the GIL."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(items), pl.thread_pool_size()))) as pool:
        return list(pool.map(work, items))


def laplace(
    correct: pl.Expr, attempts: pl.Expr, prior: pl.Expr | float, strength: float
) -> pl.Expr:
    """(correct + strength · prior) / (attempts + strength): a rate that starts at ``prior``."""
    return (correct + strength * prior) / (attempts + strength)


def replay_baselines(history: History, period: Period) -> pl.DataFrame:
    """Per target (``row``): ``base_rate`` = (correct + 1) / (answers + 2) over every earlier
    answer; ``student_accuracy`` and ``theme_accuracy`` = (correct + b) / (answers + 1) over
    the student's (all themes) and the theme's (all students) earlier answers, where b is that
    base rate: one pseudo-answer at the base rate, so a first answer is predicted at b."""
    counts = history.tallies({"s": ("user",)}, ("g", "t"))
    joined = pl.concat([history.rows.select("row", TIME), counts], how="horizontal")
    base = laplace(pl.col("g_c"), pl.col("g_n"), 0.5, 2.0)
    return (
        joined.filter(period.contains())
        .with_columns(base_rate=base)
        .select(
            "row",
            "base_rate",
            student_accuracy=laplace(pl.col("s_c"), pl.col("s_n"), pl.col("base_rate"), 1.0),
            theme_accuracy=laplace(pl.col("t_c"), pl.col("t_n"), pl.col("base_rate"), 1.0),
        )
    )

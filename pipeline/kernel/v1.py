"""Mastery v1 (issue 16): an explainable estimate of the chance of answering right, from counts.

Nothing is trained: the estimate is a sum of four logits built from counts of earlier answers,
with the fixed, validated constants of :class:`ParamsV1` (k, h: prior answers; w: weights).

* **question**: how often *other* students answered this question right before the answer's
  hour (UTC; :mod:`pipeline.kernel.rate_tables`), shrunk toward the theme's rate:
  q = (c_q + k_q · r) / (n_q + k_q), with the theme's rate r = (c_t + k_t · b) / (n_t + k_t)
  over other students' answers of the theme before that hour and their base rate
  b = (c + 1) / (n + 2) over all their answers before that hour. For a theme's mastery (no
  particular question, at ``as_of``) the question is a typical one of the theme, q = r, with
  every answer up to ``as_of`` counted.
* **student**, **student_theme**, **recent**: the student's answers of the last
  ``lookback_days`` (all themes; this theme) and of the last ``recent_hours`` (all themes),
  weighed against other students: a right answer earns *credit* 1 - q (much for a question
  others often miss), a wrong one a *penalty* q (much for a question others usually get right),
  with q each answer's question rate as it stood at the start of its hour. The term is
  ln((credit + h) / (penalty + h)): 0 without answers, or when the student does just as other
  students would (credit - penalty = right answers - what others' rates predict).

  estimate = sigmoid(w_q · logit(q) + w_s · student + w_st · student_theme + w_r · recent)

Monotone by construction: a student's own answers enter only their own credit and penalty
(every rate above is other students'), so one more right answer never lowers any of their
scores, and one more wrong answer never raises one. The 95 % interval is Wilson's for the
estimate read as a rate over the theme's answers plus 2 · h_st. A row with fewer than
``min_attempts`` answers of the theme in the lookback is ``not_enough_evidence`` (the estimate
is still given, with its wide interval).

Determinism: counts are integers and each question rate becomes an integer number of
millionths before any sum, so every sum is exact whatever the order or partitioning of the
input. A row's estimate is one fixed float expression of its own group's sums and of global
tables (answers' question rates, theme and overall counts) computed from answers up to
``as_of``, rounded half away from zero to 4 places. Partitioned runs pass the whole cohort's
:class:`V1Tables`. Only answers with an ``answered_at`` count; ``as_of`` is inclusive. The
global rates use every answer of the input before the hour (no window): give the kernel the
history it should learn from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import utc
from pipeline.kernel.rate_tables import (
    Cells,
    RateTables,
    cells,
    counts_before,
    rate_hour,
    rate_tables,
)
from pipeline.kernel.replay import COHORT_KEYS, ONE, TIME, History, Period, laplace, prepared
from pipeline.kernel.v1_terms import RATE_UNITS, estimate, output, prior, units

LATEST_BY = ("answered_at", "submitted_at", "question_id", "session_id", "block_id", "year")
SUMS = ("n", "c", "cr", "pe")  # answers, right answers, credit and penalty units
KEY_CODES = ["user", "theme_id", "lead"]
STUDENT_KEYS = {"u": ("user",), "ut": ("user", "theme_id"), "uq": ("user", "question")}
"""The student's own earlier answers (overall, of the theme, of the question), by name."""


@dataclass(frozen=True)
class V1Tables:
    """What v1 learns from the whole cohort up to ``as_of``: every student's answers (right
    ones) before each hour, per question, per theme and overall, and the totals per theme
    (:class:`~pipeline.kernel.rate_tables.RateTables`). Summed from each partition's cells as
    it is read (:func:`cells_and_student`, :func:`tables_of`), so a partition's rows never
    need the whole cohort's frame."""

    rates: RateTables
    counted: pl.DataFrame | None = None
    """For the one partition they are given to, when already found: the student's own counts
    before each of its answered rows (:func:`cells_and_student`), not counted again."""


def answer_values() -> dict[str, pl.Expr]:
    """Per answer, what the student sums add up (``q_units`` must be set)."""
    right = pl.col("correct")
    return {
        "n": ONE,
        "c": right,
        "cr": right * (RATE_UNITS - pl.col("q_units")),
        "pe": (1 - right) * pl.col("q_units"),
    }


def answer_rates(
    history: History, params: ParamsV1, tables: RateTables | None = None
) -> pl.DataFrame:
    """Per answered row (aligned with ``history.rows``): ``base``, ``theme_rate`` and
    ``question_rate`` of other students as they stood at the start of its hour, and
    ``q_units`` (the question rate in integer millionths). ``tables``: the whole cohort's,
    when ``history`` is one partition of it (default: ``history``'s own)."""
    tables = tables if tables is not None else rate_tables([cells(history.rows)])
    return rated(_counts(history.frame, tables), params)


def rate_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each answer's instant at the start of its hour: the student's own
    counts of it are the answers before that hour, as the cohort's are."""
    return frame.with_columns(rate_hour(pl.col(TIME)))


def rated(counts: pl.DataFrame, params: ParamsV1) -> pl.DataFrame:
    """:func:`answer_rates` from the counts before each answer, the cohort's and the
    student's (``<name>_n`` / ``<name>_c`` of each name of
    :data:`~pipeline.kernel.replay.COHORT_KEYS` and :data:`STUDENT_KEYS`)."""
    rated = counts.lazy().select(**rates(params, "g", "u", "t", "ut", "q", "uq"))
    return rated.with_columns(q_units=units(pl.col("question_rate"), RATE_UNITS)).collect()


def cells_and_student(
    attempts: pl.LazyFrame | pl.DataFrame, as_of: datetime
) -> tuple[Cells, pl.DataFrame]:
    """:func:`v1_cells` of one partition and, aligned with its answered rows, the student's
    own answers (right ones) before each one's hour, overall, of its theme and of its question
    (UInt32): the part of a partition's counts that needs no other partition, so a run can
    count it while the cohort is read (the input prepared once for both)."""
    frame = prepared(attempts, answered_until=as_of)
    return cells(frame), History(rate_frame(frame)).tallies(STUDENT_KEYS).cast(pl.UInt32)


def rates(
    params: ParamsV1, every: str, own: str, theme: str, own_theme: str, *question: str
) -> dict[str, pl.Expr]:
    """``base``, ``theme_rate`` (and ``question_rate`` given question and own-question
    prefixes) of other students, from ``<prefix>_n`` / ``<prefix>_c`` counts: everyone's minus
    the student's own."""

    def others(total: str, mine: str, x: str) -> pl.Expr:
        return pl.col(f"{total}_{x}") - pl.col(f"{mine}_{x}")

    base = laplace(others(every, own, "c"), others(every, own, "n"), 0.5, 2.0)
    theme_rate = laplace(
        others(theme, own_theme, "c"), others(theme, own_theme, "n"), base, prior(params, "theme")
    )
    out = {"base": base, "theme_rate": theme_rate}
    if question:
        q, own_q = question
        out["question_rate"] = laplace(
            others(q, own_q, "c"), others(q, own_q, "n"), theme_rate, prior(params, "question")
        )
    return out


def replay_v1(
    history: History, period: Period, params: ParamsV1, tables: RateTables | None = None
) -> pl.DataFrame:
    """Per target (``row``): ``v1`` (the estimate for this question), ``v1_mastery`` (the
    theme's mastery the student had at ``as_of`` = answered_at - 1 µs, as
    :func:`compute_cohort_v1` computes it over the same input), ``v1_attempts`` (answers of the
    theme in the lookback) and ``v1_insufficient`` (fewer than ``min_attempts``); ``tables``
    as in :func:`answer_rates`. (A row's theme rate at ``as_of`` counts every answer up to
    it, as the cohort kernel's rows do; only each answer's rates start at its hour.)"""
    rates_ = answer_rates(history, params, tables).drop("theme_rate")
    now = history.tallies({"u": ("user",), "ut": ("user", "theme_id")}, ("g", "t"))
    rates_ = rates_.with_columns(
        now.select(theme_rate=rates(params, "g", "u", "t", "ut")["theme_rate"])
    )
    valued = history.with_columns(q_units=rates_["q_units"])
    lookback = timedelta(days=params.lookback_days)
    windows = {"s": (("user",), lookback), "st": (("user", "theme_id"), lookback)}
    windows["r"] = (("user",), timedelta(hours=params.recent_hours))
    parts = [
        valued.sums(keys, answer_values(), window).rename({x: f"{p}_{x}" for x in SUMS})
        for p, (keys, window) in windows.items()
    ]
    joined = pl.concat([history.rows.select("row", TIME), rates_, *parts], how="horizontal")
    return joined.filter(period.contains()).select(
        "row",
        v1=estimate(params, pl.col("question_rate")),
        v1_mastery=estimate(params, pl.col("theme_rate")),
        v1_attempts=pl.col("st_n").cast(pl.Int32),
        v1_insufficient=pl.col("st_n") < params.min_attempts,
    )


# --------------------------------------------------------------------------------------------
# the cohort kernel: one row per (user, theme) at as_of, OUTPUT_SCHEMA's columns


def v1_cells(attempts: pl.LazyFrame | pl.DataFrame, as_of: datetime) -> Cells:
    """What the cohort's tables need of one partition: its answers up to ``as_of`` as
    :func:`~pipeline.kernel.rate_tables.cells`."""
    return cells(prepared(attempts, answered_until=as_of))


def tables_of(partials: Iterable[Cells]) -> V1Tables:
    """The cohort's tables from the :func:`v1_cells` of all its partitions."""
    return V1Tables(rate_tables(partials))


def v1_tables(attempts: pl.LazyFrame | pl.DataFrame, as_of: datetime) -> V1Tables:
    """The global tables of the whole cohort at ``as_of`` (pass them to every partition)."""
    return tables_of([v1_cells(attempts, as_of)])


def compute_cohort_v1(
    attempts: pl.LazyFrame | pl.DataFrame,
    params: ParamsV1,
    as_of: datetime,
    tables: V1Tables | None = None,
) -> pl.DataFrame:
    """v1 rows (OUTPUT_SCHEMA) for every (user, theme) answered in the lookback before
    ``as_of``, sorted by (user_id, theme_id); ``tables`` default to the input's own (give the
    whole cohort's when the input is one partition, with its ``counted`` when known). Rows
    without a block are skipped, as in v0; year and block come from the latest answer with a
    block (SPEC §4's rule).

    One group-by per (user code, theme): the windowed sums are sums of masked values, and the
    student's sums over all themes are the sums of their themes' rows (no string keys, no
    re-join of the answers)."""
    as_of = utc(as_of)
    frame = prepared(attempts, answered_until=as_of)
    # the counts before each answer: the frame's own, or the whole cohort's tables'
    cohort = tables.rates if tables is not None else rate_tables([cells(frame)])
    counted = _counts(frame, cohort, tables.counted if tables is not None else None)
    valued = frame.with_columns(q_units=rated(counted, params)["q_units"])
    by_theme, overall = cohort.totals, cohort.overall
    in_window = pl.col(TIME) >= as_of - timedelta(days=params.lookback_days)
    in_recent = pl.col(TIME) >= as_of - timedelta(hours=params.recent_hours)
    masked = {
        f"{prefix}_{x}": pl.when(inside).then(value).otherwise(0)
        for prefix, inside in (("st", in_window), ("r", in_recent))
        for x, value in answer_values().items()
    }
    # the identity's order with answers out of the window first; its leading part as one
    # integer (window, has a block, answered_at) narrows each group to its latest answers
    order = [in_window, pl.col("block_id").is_not_null(), *(pl.col(name) for name in LATEST_BY)]
    lead = (order[0].cast(pl.Int64) * 2**62) + (order[1].cast(pl.Int64) * 2**61)
    lazy = valued.lazy().with_columns(**masked, lead=lead + pl.col(TIME).dt.epoch("us"))
    per_theme = (
        lazy.group_by("user", "theme_id")
        .agg(
            *(pl.col(name).sum() for name in masked),
            ut_n=pl.len().cast(pl.Int64),
            ut_c=pl.col("correct").sum(),
            last_attempt_at=pl.when(in_window).then(pl.col(TIME)).max(),
            lead=pl.col("lead").max(),
        )
        .collect()
    )
    latest = lazy.join(per_theme.lazy().select(KEY_CODES), on=KEY_CODES, how="semi").collect()
    # the (rare) ties left sorted in full: the last row of each group is its identity
    identity = latest.sort(order, nulls_last=False).unique(["user", "theme_id"], keep="last")
    identity = identity.select("user", "theme_id", "user_id", pl.struct("year", "block_id"))
    themes = per_theme.join(identity.rename({"year": "identity"}), on=KEY_CODES[:2]).lazy()
    per_user = {f"s_{x}": pl.col(f"st_{x}").sum() for x in SUMS}
    per_user |= {f"r_{x}": pl.col(f"r_{x}").sum() for x in SUMS}
    per_user |= {"u_n": pl.col("ut_n").sum(), "u_c": pl.col("ut_c").sum()}
    n, c = overall
    rows = (
        themes.drop(f"r_{x}" for x in SUMS)  # the recent sums are the student's (below)
        .join(themes.group_by("user").agg(**per_user), on="user")
        .filter(pl.col("st_n") > 0)
        .join(_prefixed(by_theme, "t").lazy(), on="theme_id", how="left")
        .with_columns(
            pl.col("t_n", "t_c").fill_null(0),
            g_n=pl.lit(n, pl.Int64),
            g_c=pl.lit(c, pl.Int64),
            year=pl.col("identity").struct.field("year").fill_null(1),
            block_id=pl.col("identity").struct.field("block_id"),
        )
        .filter(pl.col("block_id").is_not_null())
        .with_columns(**rates(params, "g", "u", "t", "ut"))
    )
    return output(rows.with_columns(estimate=estimate(params, pl.col("theme_rate"))), params)


def _counts(
    frame: pl.DataFrame, tables: RateTables, student: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The student's and the cohort's counts before the hour of each answered row of
    ``frame``: the student's given (already counted) or counted here."""
    keys = frame.lazy().select("question_id", "theme_id", TIME)  # (not a copy of wide rows)
    cohort = counts_before(keys.filter(pl.col(TIME).is_not_null()).collect(), tables)
    if student is None:
        return History(rate_frame(frame), cohort).tallies(STUDENT_KEYS, tuple(COHORT_KEYS))
    if student.height != cohort.height:
        raise ValueError(f"{student.height} rows of counts for {cohort.height} answers")
    return pl.concat([student.cast(pl.Int64), cohort], how="horizontal")


def _prefixed(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    keys = {"user_id", "theme_id"}
    return frame.rename({x: f"{prefix}_{x}" for x in frame.columns if x not in keys})

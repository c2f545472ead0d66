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
from pipeline.kernel.rate_tables import (
    Cells,
    RateTables,
    cells,
    counts_before,
    rate_hour,
    rate_tables,
)
from pipeline.kernel.replay import COHORT_KEYS, ONE, TIME, History, Period, laplace, prepared
from pipeline.kernel.v1_terms import RATE_UNITS, estimate, prior, units

LATEST_BY = ("answered_at", "submitted_at", "question_id", "session_id", "block_id", "year")
SUMS = ("n", "c", "cr", "pe")  # answers, right answers, credit and penalty units
STUDENT_KEYS = {"u": ("user",), "ut": ("user", "theme_id"), "uq": ("user", "question")}
"""The student's own earlier answers (overall, of the theme, of the question), by name."""


@dataclass(frozen=True)
class V1Tables:
    """What v1 learns from the whole cohort up to ``as_of``: every student's answers (right
    ones) before each hour, per question, per theme and overall, and the totals per theme
    (:class:`~pipeline.kernel.rate_tables.RateTables`). Summed from each partition's cells as
    it is read (:func:`tables_of`), so a partition's rows never need the whole cohort's
    frame."""

    rates: RateTables


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
    :func:`~pipeline.kernel.v1_rows.compute_cohort_v1` computes it over the same input),
    ``v1_attempts`` (answers of the theme in the lookback) and ``v1_insufficient`` (fewer
    than ``min_attempts``); ``tables`` as in :func:`answer_rates`. (A row's theme rate at
    ``as_of`` counts every answer up to it, as the cohort kernel's rows do; only each
    answer's rates start at its hour.)"""
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
# the cohort's tables (the rows: pipeline.kernel.v1_rows)


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


def _counts(frame: pl.DataFrame, tables: RateTables) -> pl.DataFrame:
    """The student's and the cohort's counts before the hour of each answered row of
    ``frame``."""
    keys = frame.lazy().select("question_id", "theme_id", TIME)  # (not a copy of wide rows)
    cohort = counts_before(keys.filter(pl.col(TIME).is_not_null()).collect(), tables)
    return History(rate_frame(frame), cohort).tallies(STUDENT_KEYS, tuple(COHORT_KEYS))

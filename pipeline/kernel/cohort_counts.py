"""The whole cohort's earlier answers, counted once, for a replay one partition at a time.

The base rate, the theme's and the question's rates (v1's and the baselines') count *every*
student's answers before each answer, so a partition of students cannot count them alone. The
narrow answers of all partitions (question, theme, instant, right) are sorted once per name of
:data:`COHORT_KEYS` by one 64-bit key, the keys' code · 2^32 + the instant's place among the
cohort's instants, with the running count of right answers in that order. A partition's row
then finds, by two binary searches, where its keys start and where its (keys, instant)
starts: the answers between are those of its keys strictly before its instant, and the
running count gives the right ones. No join, no per-instant table; integers, so the same
numbers as an unpartitioned replay (``History.count``) whatever the partitioning.

The partitioned backtest's baselines count this way (before each instant); v1's rates are
counted before each hour, from smaller tables (:mod:`pipeline.kernel.rate_tables`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from pipeline.kernel.replay import (
    COHORT_KEYS,
    TIME,
    InstantOrder,
    on_threads,
    prepared,
    regrouped,
)

_SHIFT = 2**32
_NO_QUESTION = 2**32 - 1  # the code of a question the cohort never answered: nothing before it


@dataclass(frozen=True)
class CohortCounts:
    """The cohort's answers in sorted order per name (plain values: a Spark worker in another
    process reads them the same)."""

    instants: pl.Series
    """The distinct answered_at of the cohort, ascending."""
    questions: pl.DataFrame
    """``question_id`` (text) and its ``code`` in the keys (the counted rows' categorical
    code: :func:`attach` looks a partition's questions up by text)."""
    keys: dict[str, pl.Series]
    """Per name, every answer's code · 2^32 + instant place, ascending."""
    right: dict[str, pl.Series]
    """Per name, the right answers before each place of ``keys`` (one more value: the total)."""


def narrow(attempts: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """What the cohort counts need of one partition: its answered rows with a theme, their
    question (categorical: compact), theme, instant and 0/1 outcome (one byte)."""
    rows = prepared(attempts).filter(pl.col(TIME).is_not_null())
    question = pl.col("question_id").cast(pl.Categorical)
    return rows.select(question, "theme_id", TIME, pl.col("correct").cast(pl.UInt8))


def cohort_counts(parts: Iterable[pl.DataFrame]) -> CohortCounts:
    """The counts of :func:`narrow` partitions taken together."""
    sorting = _Sorting(pl.concat(list(parts), how="vertical"))
    names = list(COHORT_KEYS)
    done = dict(zip(names, on_threads(sorting.sorted_by, names), strict=True))
    keys = {name: keys for name, (_, keys, _) in done.items()}
    zero = pl.Series([0], dtype=pl.UInt32)
    right = {name: pl.concat([zero, right.cum_sum()]) for name, (_, _, right) in done.items()}
    return CohortCounts(sorting.instants, sorting.questions, keys, right)


class _Sorting:
    """One sort by instant gives the instants, each row's place among them and the overall
    (``g``) order; the theme's and the question's orders regroup it on demand (on threads).
    Orders are of positions in instant order: the columns are put in that order once, and
    each name's order reads them a group at a time, in order."""

    def __init__(self, rows: pl.DataFrame) -> None:
        self.by_instant = by = InstantOrder.of(rows[TIME])
        self.instants = by.times.filter(by.new_instant)
        asked = rows["question_id"].cast(pl.Categorical)
        seen = asked.unique()
        named = {"question_id": seen.cast(pl.String), "code": seen.to_physical()}
        self.questions = pl.DataFrame(named).sort("question_id")
        columns = {
            "t": (rows["theme_id"].cast(pl.Int64) + 2**31).cast(pl.UInt64),
            "q": asked.to_physical().cast(pl.UInt64),
            "correct": rows["correct"].cast(pl.UInt32),
        }
        timed = pl.DataFrame(columns).select(pl.all().gather(by.index))
        self.timed = timed.with_columns(place=by.in_order.cast(pl.UInt64))

    def sorted_by(self, name: str) -> tuple[pl.Series | None, pl.Series, pl.Series]:
        """Name's order (positions in instant order; None: that order itself), and the rows'
        keys and outcomes (0/1) in it."""
        if name == "g":
            order, ordered = None, self.timed.select("correct", key="place")
        else:
            order = regrouped(self.timed[name])
            key = pl.col(name) * _SHIFT + pl.col("place")
            ordered = self.timed.select(pl.col("correct").gather(order), key=key.gather(order))
        return order, ordered["key"], ordered["correct"]


def attach(rows: pl.DataFrame, counts: CohortCounts) -> pl.DataFrame:
    """``<name>_n`` / ``<name>_c`` of every name, aligned with a partition's answered ``rows``:
    the cohort's answers (right ones) of the row's keys strictly before its instant."""
    coded = _coded(rows, counts.instants, counts.questions)
    out = {}
    for name in COHORT_KEYS:
        key, sorted_keys, right = coded[name], counts.keys[name], counts.right[name]
        start = sorted_keys.search_sorted(key // _SHIFT * _SHIFT, side="left")
        before = sorted_keys.search_sorted(key, side="left")
        out[f"{name}_n"] = (before.cast(pl.Int64) - start.cast(pl.Int64)).alias(f"{name}_n")
        answered = right.gather(before).cast(pl.Int64) - right.gather(start).cast(pl.Int64)
        out[f"{name}_c"] = answered.alias(f"{name}_c")
    return pl.DataFrame(out)


def _coded(rows: pl.DataFrame, instants: pl.Series, questions: pl.DataFrame) -> pl.DataFrame:
    """Per row and name, the 64-bit key: code of its keys · 2^32 + its instant's place (the
    count of cohort instants before it). A question's code is looked up once per distinct
    question of ``rows``, not per row."""
    if rows.is_empty():  # (Polars cannot type the empty replacement's arithmetic)
        return pl.DataFrame(schema=dict.fromkeys(COHORT_KEYS, pl.UInt64))
    place = instants.search_sorted(rows[TIME], side="left")
    asked = rows["question_id"].cast(pl.Categorical)
    seen = asked.unique().to_frame()
    named = seen.with_columns(name=pl.col("question_id").cast(pl.String))
    found = named.join(questions, left_on="name", right_on="question_id", how="left")
    physical = found["question_id"].to_physical()
    code = found["code"].fill_null(_NO_QUESTION).cast(pl.UInt64)
    question = asked.to_physical().replace_strict(physical, code, return_dtype=pl.UInt64)
    theme = (rows["theme_id"].cast(pl.Int64) + 2**31).cast(pl.UInt64)
    place = place.cast(pl.UInt64)
    return pl.DataFrame({"g": place, "t": theme * _SHIFT + place, "q": question * _SHIFT + place})

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

When the partitions to be scored are the very rows counted (a whole-cohort run), the searches
are not needed: :func:`own_counts` reads every row's two places off the sorts themselves and
puts the counts back in the rows' order, to be sliced by partition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from pipeline.kernel.replay import COHORT_KEYS, TIME, on_threads, prepared

_SHIFT = 2**32
_NO_QUESTION = 2**32 - 1  # the code of a question the cohort never answered: nothing before it


@dataclass(frozen=True)
class CohortCounts:
    """The cohort's answers in sorted order per name (plain values: a Spark worker in another
    process reads them the same)."""

    instants: pl.Series
    """The distinct answered_at of the cohort, ascending."""
    questions: pl.DataFrame
    """``question_id`` (text) and its ``code``, the place in ascending order."""
    keys: dict[str, pl.Series]
    """Per name, every answer's code · 2^32 + instant place, ascending."""
    right: dict[str, pl.Series]
    """Per name, the right answers before each place of ``keys`` (one more value: the total)."""


def narrow(attempts: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """What the cohort counts need of one partition: its answered rows with a theme, their
    question (categorical: compact), theme, instant and 0/1 outcome (one byte)."""
    return narrow_columns(prepared(attempts).filter(pl.col(TIME).is_not_null()))


def narrow_columns(rows: pl.DataFrame) -> pl.DataFrame:
    """:func:`narrow`'s columns of answered rows already :func:`prepared`."""
    question = pl.col("question_id").cast(pl.Categorical)
    return rows.select(question, "theme_id", TIME, pl.col("correct").cast(pl.UInt8))


def cohort_counts(parts: Iterable[pl.DataFrame]) -> CohortCounts:
    """The counts of :func:`narrow` partitions taken together."""
    sorting = _Sorting(pl.concat(list(parts), how="vertical"))
    names = list(COHORT_KEYS)
    done = dict(zip(names, on_threads(sorting.sorted_by, names), strict=True))
    keys = {name: keys for name, (_, keys, _) in done.items()}
    right = {name: right for name, (_, _, right) in done.items()}
    return CohortCounts(sorting.instants, sorting.questions, keys, right)


def own_counts(rows: pl.DataFrame) -> pl.DataFrame:
    """What :func:`attach` would give each of the :func:`narrow` ``rows`` against their own
    :func:`cohort_counts` (as UInt32), read off the sorts that make those counts instead of
    searching them: a run whose partitions are the rows counted keeps no table."""
    sorting = _Sorting(rows)

    def counted(name: str) -> dict[str, pl.Series]:
        return _own(*sorting.sorted_by(name), name)  # each name's sort freed once counted

    each = on_threads(counted, list(COHORT_KEYS))
    return pl.DataFrame({column: values for part in each for column, values in part.items()})


class _Sorting:
    """One sort by instant gives the instants, each row's place among them and the overall
    (``g``) order; the theme's and the question's orders are sorted on demand (on threads)."""

    def __init__(self, rows: pl.DataFrame) -> None:
        self.by_time = rows[TIME].arg_sort()
        times = rows[TIME].gather(self.by_time)
        new_instant = (times != times.shift()).fill_null(True)
        self.instants = times.filter(new_instant)
        self.in_order = (new_instant.cast(pl.UInt32).cum_sum() - 1).cast(pl.UInt64)
        place = pl.zeros(rows.height, pl.UInt64, eager=True).scatter(self.by_time, self.in_order)
        names = rows["question_id"].unique().cast(pl.String).sort()
        self.questions = pl.DataFrame({"question_id": names}).with_row_index("code")
        coded = _coded(rows, self.instants, self.questions, place=place)
        self.coded = coded.drop("g")  # (g's order is the instants': ``by_time``)
        self.correct = rows["correct"].cast(pl.UInt32)

    def sorted_by(self, name: str) -> tuple[pl.Series, pl.Series, pl.Series]:
        """Name's order of the rows, their keys in that order, and the running right answers
        (one more value: the total)."""
        order = self.by_time if name == "g" else self.coded[name].arg_sort()
        keys = self.in_order if name == "g" else self.coded[name].gather(order)
        right = self.correct.gather(order).cum_sum()
        return order, keys, pl.concat([pl.Series([0], dtype=pl.UInt32), right])


def _own(order: pl.Series, keys: pl.Series, right: pl.Series, name: str) -> dict[str, pl.Series]:
    """Per row in its own order, ``<name>_n`` / ``<name>_c``: in sorted order, the first
    places of its keys and of its (keys, instant) are where :func:`attach`'s searches land."""
    place = pl.int_range(pl.len(), dtype=pl.UInt32)
    group = pl.col("key") // _SHIFT
    first = {
        "start": (group != group.shift()).fill_null(True),
        "before": (pl.col("key") != pl.col("key").shift()).fill_null(True),
    }
    at = pl.DataFrame({"key": keys}).select(
        pl.when(new).then(place).forward_fill().alias(alias) for alias, new in first.items()
    )
    start, before = at["start"], at["before"]
    # n · 2^32 + c, put back in the rows' order by one scatter, then taken apart
    packed = (before - start).cast(pl.UInt64) * _SHIFT + (
        right.gather(before) - right.gather(start)
    )
    back = pl.zeros(keys.len(), pl.UInt64, eager=True).scatter(order, packed)
    return {
        f"{name}_n": (back // _SHIFT).cast(pl.UInt32),
        f"{name}_c": (back % _SHIFT).cast(pl.UInt32),
    }


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


def _coded(
    rows: pl.DataFrame,
    instants: pl.Series,
    questions: pl.DataFrame,
    place: pl.Series | None = None,
) -> pl.DataFrame:
    """Per row and name, the 64-bit key: code of its keys · 2^32 + its instant's place (the
    count of cohort instants before it; ``place`` when already known). A question's code is
    looked up once per distinct question of ``rows``, not per row."""
    if rows.is_empty():  # (Polars cannot type the empty replacement's arithmetic)
        return pl.DataFrame(schema=dict.fromkeys(COHORT_KEYS, pl.UInt64))
    if place is None:
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

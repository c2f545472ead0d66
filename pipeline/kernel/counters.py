"""Per-attempt counters of Mastery v0 (SPEC §4) and how they are packed for summing.

Each attempt contributes 1 to the count, 1 when correct, and per recency bucket 1 when inside it
and 1 when inside and correct (with difficulty weights, its scaled weight instead). Both ways of
grouping (:mod:`pipeline.kernel`'s hash group-by and :mod:`pipeline.kernel.dense`'s grid) sum the
same packed words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from pipeline.contracts.params import Params
from pipeline.kernel.scoring import difficulty_units

OPTIMISTIC_WIDTH = 15  # four counters per word; a (user, theme) of 32,768 attempts re-runs exact


@dataclass(frozen=True)
class Counters:
    """The counters' output names with one 0/1 flag each, and the weighted sums' expressions."""

    names: list[str]
    flags: list[pl.Expr]
    weighted: dict[str, pl.Expr]


def counters(params: Params, as_of: datetime) -> Counters:
    """The flags of SPEC §4's aggregates; ``weighted`` reads a ``difficulty_weight`` column."""
    correct = pl.col("is_correct").fill_null(False)
    names, flags = ["attempts_total", "correct_total"], [pl.lit(True), correct]
    weighted: dict[str, pl.Expr] = {}
    for index, bucket in enumerate(params.recency_buckets):
        cutoff = as_of - timedelta(days=bucket.days)
        in_bucket = (pl.col("answered_at") >= pl.lit(cutoff)).fill_null(False)
        names += [f"n_{index}", f"c_{index}"]
        flags += [in_bucket, in_bucket & correct]
        if params.use_difficulty:
            weight = pl.when(in_bucket).then(pl.col("difficulty_weight")).otherwise(0)
            weighted[f"w_{index}"] = weight
            weighted[f"wc_{index}"] = pl.when(correct).then(weight).otherwise(0)
    return Counters(names, flags, weighted)


@dataclass(frozen=True)
class CounterLayout:
    """Per-attempt counters packed side by side in UInt64 words, ``width`` bits each: one sum
    per word instead of one per counter.

    The sums stay exact while no group holds ``2**width`` attempts (every counter is at most the
    group's count). The count is the lowest field of the first word, so a count that did wrap
    shows as a smaller total: the totals add up to fewer than the attempts grouped.
    """

    width: int
    fields: int
    may_overflow: bool

    @property
    def per_word(self) -> int:
        return 63 // self.width

    @classmethod
    def for_rows(cls, rows: int, buckets: int) -> CounterLayout:
        """Exact widths for small inputs; 15 bits (checked afterwards) for large ones."""
        exact = cls.exact(rows, buckets)
        if exact.width <= OPTIMISTIC_WIDTH:
            return exact
        return cls(OPTIMISTIC_WIDTH, exact.fields, may_overflow=True)

    @classmethod
    def exact(cls, rows: int, buckets: int) -> CounterLayout:
        return cls(max(rows.bit_length(), 1), 2 + 2 * buckets, may_overflow=False)

    def overflowed(self, groups: pl.DataFrame, rows: int) -> bool:
        return self.may_overflow and int(groups["attempts_total"].sum()) != rows

    def pack(self, flags: list[pl.Expr]) -> dict[str, pl.Expr]:
        words: dict[str, pl.Expr] = {}
        for index, flag in enumerate(flags):
            word, slot = divmod(index, self.per_word)
            value = flag.cast(pl.UInt64) * pl.lit(2 ** (slot * self.width), pl.UInt64)
            name = f"word_{word}"
            words[name] = words[name] + value if name in words else value
        return words

    def unpack(self, names: list[str]) -> dict[str, pl.Expr]:
        fields = {}
        for index, name in enumerate(names):
            word, slot = divmod(index, self.per_word)
            shifted = pl.col(f"word_{word}") // pl.lit(2 ** (slot * self.width), pl.UInt64)
            fields[name] = (shifted % pl.lit(1 << self.width, pl.UInt64)).cast(pl.Int64)
        return fields


def normalized_difficulty() -> pl.Expr:
    return pl.col("difficulty").str.strip_chars().str.to_lowercase()


def difficulty_weight(params: Params, spellings: pl.Series | None = None) -> pl.Expr:
    """Difficulty weight as an integer scaled by 10**difficulty_decimals; 1.0 when unknown.

    Given the distinct raw ``spellings`` that occur, each is normalized once and the rows look
    their raw value up, instead of trimming and lowercasing every row.
    """
    units = difficulty_units(params)
    known = {k: v for k, v in units.items() if k is not None}
    if spellings is None:
        return normalized_difficulty().replace_strict(
            known, default=units[None], return_dtype=pl.Int64
        )
    weights = spellings.to_frame("difficulty").select(
        normalized_difficulty().replace_strict(known, default=units[None], return_dtype=pl.Int64)
    )
    return pl.col("difficulty").replace_strict(
        spellings, weights.to_series(), default=units[None], return_dtype=pl.Int64
    )

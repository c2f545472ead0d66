"""Grouping on a dense (user, theme) grid: sums and maxima scattered into arrays, no hashing.

A cohort is dense: most users practise most themes. Each attempt's group is then a slot
``user rank * themes + (theme_id - lowest theme)``, where the rank is the user's place among the
sorted distinct ids. NumPy's unbuffered ``add.at``/``maximum.at`` sum the packed counters and
take the maxima into arrays indexed by slot — several times cheaper than a hash group-by into
millions of groups — and the occupied slots come out already in output order (user_id, then
theme_id), so no sort follows.

The identity (SPEC §4: block and year of the latest attempt with a block, latest by answered,
then submitted, then question) is a lexicographic maximum taken in stages: the key's parts are
packed into as few Int64 words as fit; the streamed pass takes each slot's first-word maximum;
a second pass keeps the attempts equal to it (about one per slot), whose later words, then
block and year, are maximised in turn — the packed Int128 plan's result (pipeline/identity.py)
without 128-bit arithmetic.

:func:`grid` declines (the kernel then hashes) when the grid has more slots than attempts, when
a user id is null, or when one key part needs more than 62 bits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from pipeline.kernel.counters import CounterLayout, Counters
from pipeline.kernel.identity import KeyPart, ValueRanges, latest_key, tag_parts
from pipeline.kernel.scoring import max_value

WORD_BITS = 62  # Int64 words that stay positive
NO_BLOCK = -1  # identity words of attempts without a block: below every real key
NO_ANSWER = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Grid:
    """The slots: ``names`` are the sorted distinct user ids, themes a contiguous id range.

    A Categorical or Enum ``user_id`` finds its rank through ``rank_of_code`` (one integer
    gather); a String one through an Enum of the names (hashing every id).
    """

    names: pl.Series
    theme_min: int
    themes: int
    rank_of_code: pl.Series | None = None

    @property
    def slots(self) -> int:
        return len(self.names) * self.themes

    def slot(self) -> pl.Expr:
        if self.rank_of_code is None:
            rank = pl.col("user_id").cast(pl.Enum(self.names)).to_physical()
        else:
            rank = pl.lit(self.rank_of_code).gather(pl.col("user_id").to_physical())
        return rank.cast(pl.Int64) * self.themes + (
            pl.col("theme_id").cast(pl.Int64) - self.theme_min
        )


def grid(
    users: pl.Series, theme_min: int | None, theme_max: int | None, *, limit: int | None
) -> Grid | None:
    """The grid of these (distinct) users and themes, unless it has more than ``limit`` slots.

    The kernel's limit is the attempts' count: the grid's arrays then cost less than theirs.
    """
    if users.null_count() or theme_min is None or theme_max is None:
        return None
    themes = theme_max - theme_min + 1
    if len(users) * themes == 0 or (limit is not None and len(users) * themes > max(limit, 1)):
        return None
    if not isinstance(users.dtype, pl.Categorical | pl.Enum):
        return Grid(users.sort(), theme_min, themes)
    names, rank_of_code = ranked(users.to_physical(), users.cast(pl.String))
    return Grid(names, theme_min, themes, rank_of_code)


def ranked(codes: pl.Series, names: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct ``names`` (one per code) sorted, and each code's rank among them, indexed
    by code: a user's place in the output order is then one integer gather."""
    order = names.arg_sort()
    rank_of_code = pl.zeros(max_value(codes) + 1, pl.UInt32, eager=True)
    rank_of_code.scatter(codes.gather(order), pl.int_range(len(codes), dtype=pl.UInt32, eager=True))
    return names.gather(order), rank_of_code


@dataclass(frozen=True)
class IdentityKey:
    """The identity's key packed into words, then block and year (each maximised on its own)."""

    words: list[pl.Expr]
    answered_shift: int  # the first word holds the answered part above this many bits
    block: pl.Expr
    year: pl.Expr
    ranges: ValueRanges


def identity_key(ranges: ValueRanges, window_start: datetime, lookback: timedelta) -> IdentityKey:
    """pipeline/identity.py's key parts packed into Int64 words; attempts without a block get
    :data:`NO_BLOCK`."""
    has_block = pl.col("block_id").is_not_null()
    words: list[list[KeyPart]] = []
    for part in latest_key(ranges, window_start, lookback):
        if words and sum(p.bits for p in words[-1]) + part.bits <= WORD_BITS:
            words[-1].append(part)
        else:
            words.append([part])
    block, year = tag_parts(ranges)
    return IdentityKey(
        words=[pl.when(has_block).then(_packed(word)).otherwise(NO_BLOCK) for word in words],
        answered_shift=sum(p.bits for p in words[0][1:]),
        block=pl.when(has_block).then(block.value).otherwise(NO_BLOCK),
        year=pl.when(has_block).then(year.value).otherwise(NO_BLOCK),
        ranges=ranges,
    )


def fits(ranges: ValueRanges, window_start: datetime, lookback: timedelta) -> bool:
    """Every key part, the block and the year fit one Int64 word each."""
    parts = [*latest_key(ranges, window_start, lookback), *tag_parts(ranges)]
    return max(part.bits for part in parts) <= WORD_BITS


def _packed(parts: list[KeyPart]) -> pl.Expr:
    word = parts[0].value.cast(pl.Int64)
    for part in parts[1:]:
        word = word * pl.lit(2**part.bits, pl.Int64) + part.value.cast(pl.Int64)
    return word


BATCH_ROWS = 1_000_000  # NumPy scatters one batch while Polars computes the next


def group_on_grid(
    kept: pl.LazyFrame,
    found: Grid,
    counters: Counters,
    layout: CounterLayout,
    key: IdentityKey | None,
    *,
    every_attempt_has_block: bool,
) -> pl.DataFrame:
    """One row per occupied slot, in (user_id, theme_id) order: the kernel's grouped columns.

    The per-attempt columns are never materialised: Polars streams them in batches and each
    batch is scattered into the grid's arrays (while Polars computes the next).
    """
    words = layout.pack(counters.flags)
    decode_last = key is not None and every_attempt_has_block
    last = {} if decode_last else {"last_us": pl.col("answered_at").dt.epoch("us")}
    per_row = kept.select(
        slot=found.slot(),
        **words,
        **counters.weighted,
        **({} if key is None else {"id_0": key.words[0]}),
        **{name: value.fill_null(NO_ANSWER) for name, value in last.items()},
    )
    sums: dict[str, np.ndarray] = {name: np.zeros(found.slots, np.uint64) for name in words}
    sums |= {name: np.zeros(found.slots, np.int64) for name in counters.weighted}
    maxima = {"id_0": np.full(found.slots, NO_BLOCK, np.int64)} if key is not None else {}
    if not decode_last:
        maxima["last_us"] = np.full(found.slots, NO_ANSWER, np.int64)
    for batch in per_row.collect_batches(chunk_size=BATCH_ROWS, maintain_order=False):
        for columns in _numpy_chunks(batch):
            slot = columns["slot"]
            for name, total in sums.items():
                np.add.at(total, slot, columns[name])
            for name, most in maxima.items():
                np.maximum.at(most, slot, columns[name])
    present = np.flatnonzero(sums["word_0"])
    grouped = {name: total[present] for name, total in sums.items()}
    if not decode_last:
        grouped["last_us"] = maxima["last_us"][present]
    if key is not None:
        first = maxima["id_0"]
        grouped |= {"id_first": first[present], **_latest(kept, found, key, first, present)}
    del sums, maxima
    rows = pl.DataFrame({"slot": present, **grouped})
    return rows.select(
        user_id=pl.lit(found.names).gather(pl.col("slot") // found.themes),
        theme_id=(pl.col("slot") % found.themes + found.theme_min).cast(pl.Int32),
        **layout.unpack(counters.names),
        **{name: pl.col(name) for name in counters.weighted},
        last_attempt_at=_last_attempt(key, decode_last),
        **_decoded_identity(key),
    )


def _numpy_chunks(batch: pl.DataFrame) -> Iterator[dict[str, np.ndarray]]:
    """The batch's columns as NumPy views, one dict per chunk (no copy when chunks align)."""
    if len({series.n_chunks() for series in batch.iter_columns()}) != 1:
        batch = batch.rechunk()
    chunks = [series.get_chunks() for series in batch.iter_columns()]
    for parts in zip(*chunks, strict=True):
        yield {part.name: part.to_numpy() for part in parts}


def _latest(
    kept: pl.LazyFrame, found: Grid, key: IdentityKey, first: np.ndarray, present: np.ndarray
) -> dict[str, np.ndarray]:
    """Block and year of each slot's latest attempt: a second pass keeps the attempts equal to
    their slot's first-word maximum (ties are rare: about one per slot), then the later words,
    then block and year, are maximised among them."""
    words = {f"id_{i}": word for i, word in enumerate(key.words)}
    tied = (
        kept.select(slot=found.slot(), **words, id_block=key.block, id_year=key.year)
        .filter(pl.col("id_0") == pl.lit(pl.Series(first)).gather(pl.col("slot")))
        .drop("id_0")
        .collect(engine="streaming")
    )
    survivors = {name: series.to_numpy() for name, series in tied.to_dict().items()}
    for name in list(words)[1:]:
        most = _max(survivors["slot"], survivors[name], found.slots)
        survivors = _where(survivors, survivors[name] == most[survivors["slot"]])
    return {
        name: _max(survivors["slot"], survivors[name], found.slots)[present]
        for name in ("id_block", "id_year")
    }


def _where(columns: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    index = np.flatnonzero(keep)
    return {name: values[index] for name, values in columns.items()}


def _max(slot: np.ndarray, values: np.ndarray, slots: int) -> np.ndarray:
    most = np.full(slots, NO_BLOCK, dtype=values.dtype)
    np.maximum.at(most, slot, values)
    return most


def _last_attempt(key: IdentityKey | None, from_identity: bool) -> pl.Expr:
    """The max answered_at: the identity's first word holds it when every attempt has a block."""
    if key is None or not from_identity:
        us = pl.when(pl.col("last_us") != NO_ANSWER).then(pl.col("last_us"))
    else:
        offset = pl.col("id_first") // pl.lit(2**key.answered_shift, pl.Int64)
        us = pl.when(offset > 0).then(offset - 1 + key.ranges.answered_min)
    return us.cast(pl.Datetime("us", "UTC"))


def _decoded_identity(key: IdentityKey | None) -> dict[str, pl.Expr]:
    if key is None:
        return {"block_id": pl.lit(None, pl.Int32), "year": pl.lit(None, pl.Int32)}
    block, year = pl.col("id_block"), pl.col("id_year")
    return {
        "block_id": pl.when(block >= 0).then(block + key.ranges.block_min).cast(pl.Int32),
        "year": pl.when(year > 0).then(year + key.ranges.year_min - 1).cast(pl.Int32),
    }

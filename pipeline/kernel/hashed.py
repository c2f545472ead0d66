"""Grouping by hash: one streaming group-by on a UInt64 (user code, theme) key, then a sort.

The kernel's way for sparse cohorts (more (user, theme) slots than attempts), where the grid of
pipeline/dense.py would cost more than it saves. The counters are the packed words of
pipeline/counters.py; the identity is pipeline/identity.py's packed Int128 maximum (or the
per-group sort when the bits do not fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.kernel.counters import CounterLayout, Counters
from pipeline.kernel.dense import ranked
from pipeline.kernel.identity import IdentityPlan

GROUP_KEY = "group_key"
THEME_OFFSET = 2**31  # theme_id (Int32) + 2**31 fits the key's low 32 bits, in theme order
LOW_32 = 2**32


@dataclass(frozen=True)
class Users:
    """How ``user_id`` becomes a UInt32 code: its own categorical, or the input's."""

    dtype: pl.DataType
    keepalive: pl.Series  # a Categories mapping lives only while some data uses it

    def code(self) -> pl.Expr:
        return pl.col("user_id").cast(self.dtype).to_physical()

    def names(self, codes: pl.Series) -> pl.Series:
        return codes.cat.to(self.dtype).cast(pl.String)


@dataclass(frozen=True)
class GroupPlan:
    """What the group-by computes besides the counters.

    ``last_attempt`` is either an aggregate (the max ``answered_at``) or, when every attempt has
    a block, decoded from the identity's own maximum after the group-by.
    """

    identity: IdentityPlan
    users: Users
    last_attempt: pl.Expr

    @property
    def aggregates(self) -> list[pl.Expr]:
        own = [] if self.decodes_last_attempt else [self.last_attempt.alias("last_attempt_at")]
        return [*own, *self.identity.aggregates]

    @property
    def decoded(self) -> dict[str, pl.Expr]:
        own = {"last_attempt_at": self.last_attempt} if self.decodes_last_attempt else {}
        return {**own, **self.identity.decoded}

    @property
    def decodes_last_attempt(self) -> bool:
        return self.last_attempt is self.identity.latest_answered


def group_attempts(
    kept: pl.LazyFrame, per_attempt: Counters, *, plan: GroupPlan, layout: CounterLayout
) -> pl.DataFrame:
    """One row per (user, theme): counters, latest answer, identity; keyed by one UInt64."""
    identity, users = plan.identity, plan.users
    names, weighted = per_attempt.names, per_attempt.weighted
    words = layout.pack(per_attempt.flags)
    key = users.code().cast(pl.UInt64) * pl.lit(LOW_32, pl.UInt64) + (
        pl.col("theme_id").cast(pl.Int64) + THEME_OFFSET
    ).cast(pl.UInt64)
    grouped = (
        kept.with_columns(**{GROUP_KEY: key}, **words, **weighted, **identity.per_row)
        .group_by(GROUP_KEY)
        .agg(*(pl.col(name).sum() for name in [*words, *weighted]), *plan.aggregates)
    )
    return (
        grouped.with_columns(
            user_code=(pl.col(GROUP_KEY) // pl.lit(LOW_32, pl.UInt64)).cast(pl.UInt32),
            theme_id=(
                (pl.col(GROUP_KEY) % pl.lit(LOW_32, pl.UInt64)).cast(pl.Int64) - THEME_OFFSET
            ).cast(pl.Int32),
            **layout.unpack(names),
            **plan.decoded,
        )
        .drop(*words, *(e.meta.output_name() for e in identity.aggregates))
        .collect(engine="streaming")
    )


def in_output_order(groups: pl.LazyFrame, users: Users) -> pl.DataFrame:
    """Rows sorted by (user_id, theme_id), with ``user_id`` as strings again.

    The sort runs on one UInt64 (each user's rank among the sorted distinct ids, then the
    theme); the ids are sorted once per user, not per row.
    """
    codes = groups.select(pl.col("user_code").unique()).collect().to_series()
    names, rank_of_code = ranked(codes, users.names(codes))
    rank = pl.lit(rank_of_code).gather(pl.col("user_code"))
    return (
        groups.sort(rank.cast(pl.UInt64) * pl.lit(LOW_32, pl.UInt64) + pl.col(GROUP_KEY) % LOW_32)
        .with_columns(user_id=pl.lit(names).gather(rank))
        .drop("user_code", GROUP_KEY, "theme_known", "block_known")
        .collect(engine="in-memory")
    )

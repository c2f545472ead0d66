"""v1's rows at ``as_of`` (issue 16) in two halves: a partition's evidence, then its rows.

Everything a (user, theme) row needs of the partition alone — its answers and right answers
in the windows, its latest answer (year and block), each answer's own earlier counts — is
found before the whole cohort's tables exist (:func:`evidence`); only the credit and penalty
of each answer need the cohort's question rates (:func:`v1_rows`). A partitioned run finds
each partition's evidence while it reads the cohort, and its second pass only rates, sums and
explains; any other caller composes the two (:func:`compute_cohort_v1`). One formula: the
rates and terms are :mod:`pipeline.kernel.v1`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import polars as pl

from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import utc
from pipeline.kernel.rate_tables import Cells, cells, counts_before
from pipeline.kernel.replay import TIME, History, group_code, prepared
from pipeline.kernel.v1 import (
    LATEST_BY,
    STUDENT_KEYS,
    SUMS,
    V1Tables,
    answer_values,
    rate_frame,
    rated,
    rates,
    tables_of,
)
from pipeline.kernel.v1_terms import estimate, output

_T = TypeVar("_T")

OWN = tuple(f"{name}_{x}" for name in STUDENT_KEYS for x in ("n", "c"))
"""The student's own counts before each answer's hour (UInt32), by :data:`STUDENT_KEYS`."""
RATED = {"st": "in_window", "r": "in_recent"}
"""The windows whose credit and penalty need the cohort's rates, and their answers' masks."""


@dataclass(frozen=True)
class Evidence:
    """One partition's part of v1's rows that needs no other partition (:func:`evidence`)."""

    answers: pl.DataFrame
    """The answers in the lookback or the recent window: ``group`` (their (user, theme)),
    ``question`` (a code of ``names``), ``theme_id``, ``answered_at``, ``correct``,
    ``in_window``, ``in_recent`` and the student's own counts (:data:`OWN`)."""
    groups: pl.DataFrame
    """One row per (user, theme) answered up to as_of: ``group``, ``user`` (a code),
    ``user_id``, ``theme_id``, the latest answer's ``identity`` (year, block_id), answers and
    right answers overall (``ut_``), in the lookback (``st_``) and recent (``r_``), and
    ``last_attempt_at`` (the latest in the lookback)."""
    names: pl.DataFrame
    """``code`` and ``question_id`` of the answers' question codes."""


def evidence(attempts: pl.LazyFrame | pl.DataFrame, params: ParamsV1, as_of: datetime) -> Evidence:
    """The :class:`Evidence` of a partition's attempts at ``as_of``."""
    return _evidence(prepared(attempts, answered_until=utc(as_of)), params, utc(as_of))


def evidence_and_cells(
    attempts: pl.LazyFrame | pl.DataFrame, params: ParamsV1, as_of: datetime
) -> tuple[Evidence, Cells]:
    """:func:`evidence` and the partition's :func:`~pipeline.kernel.rate_tables.cells` (its
    part of the cohort's tables), from one preparation of the attempts."""
    return _evidence_beside(attempts, params, as_of, cells)


def compute_cohort_v1(
    attempts: pl.LazyFrame | pl.DataFrame,
    params: ParamsV1,
    as_of: datetime,
    tables: V1Tables | None = None,
) -> pl.DataFrame:
    """v1 rows (OUTPUT_SCHEMA) for every (user, theme) answered in the lookback before
    ``as_of``, sorted by (user_id, theme_id); ``tables`` default to the input's own (give the
    whole cohort's when the input is one partition). Rows without a block are skipped, as in
    v0; year and block come from the latest answer with a block (SPEC §4's rule)."""
    return v1_rows(*evidence_and_tables(attempts, params, as_of, tables), params)


def evidence_and_tables(
    attempts: pl.LazyFrame | pl.DataFrame,
    params: ParamsV1,
    as_of: datetime,
    tables: V1Tables | None,
) -> tuple[Evidence, V1Tables]:
    """A partition's :func:`evidence` and the tables its rows use: the cohort's when given,
    else its own (the partition is the whole cohort)."""
    if tables is not None:
        return evidence(attempts, params, as_of), tables
    return _evidence_beside(attempts, params, as_of, lambda frame: tables_of([cells(frame)]))


def _evidence_beside(
    attempts: pl.LazyFrame | pl.DataFrame,
    params: ParamsV1,
    as_of: datetime,
    beside: Callable[[pl.DataFrame], _T],
) -> tuple[Evidence, _T]:
    """:func:`evidence` and ``beside`` of the same prepared attempts, ``beside`` on a second
    thread: a one-partition run's compute has no read beside it to keep the other core busy
    (Polars releases the GIL)."""
    frame = prepared(attempts, answered_until=utc(as_of))
    with ThreadPoolExecutor(max_workers=1) as pool:
        other = pool.submit(beside, frame)
        return _evidence(frame, params, utc(as_of)), other.result()


def _evidence(frame: pl.DataFrame, params: ParamsV1, as_of: datetime) -> Evidence:
    """One group-by per (user, theme) code: the windowed counts are sums of masks; the latest
    answer of each group is found among the rows of its latest instant only."""
    own = History(rate_frame(frame)).tallies(STUDENT_KEYS).cast(pl.UInt32)
    in_window = pl.col(TIME) >= as_of - timedelta(days=params.lookback_days)
    in_recent = pl.col(TIME) >= as_of - timedelta(hours=params.recent_hours)
    # the identity's order with answers out of the window first; its leading part as one
    # integer (window, has a block, answered_at) narrows each group to its latest answers
    order = [in_window, pl.col("block_id").is_not_null(), *(pl.col(name) for name in LATEST_BY)]
    lead = (order[0].cast(pl.Int64) * 2**62) + (order[1].cast(pl.Int64) * 2**61)
    lazy = pl.concat([frame, own], how="horizontal").lazy()
    lazy = lazy.with_columns(
        group=group_code(frame, ("user", "theme_id")),
        in_window=in_window,
        in_recent=in_recent,
        lead=lead + pl.col(TIME).dt.epoch("us"),
    )
    right = pl.col("correct")
    groups = (
        lazy.group_by("group")
        .agg(
            pl.col("user", "theme_id").first(),
            ut_n=pl.len().cast(pl.Int64),
            ut_c=right.sum(),
            st_n=pl.col("in_window").sum().cast(pl.Int64),
            st_c=(right * pl.col("in_window")).sum(),
            r_n=pl.col("in_recent").sum().cast(pl.Int64),
            r_c=(right * pl.col("in_recent")).sum(),
            last_attempt_at=pl.when("in_window").then(pl.col(TIME)).max(),
            lead=pl.col("lead").max(),
        )
        .collect()
    )
    latest = lazy.join(groups.lazy().select("group", "lead"), on=["group", "lead"], how="semi")
    # the (rare) ties left sorted in full: the last row of each group is its identity
    identity = latest.collect().sort(order, nulls_last=False).unique("group", keep="last")
    identity = identity.select("group", "user_id", pl.struct("year", "block_id").alias("identity"))
    answers = lazy.filter(pl.col("in_window") | pl.col("in_recent")).select(
        "group", "question", "theme_id", TIME, "correct", "in_window", "in_recent", *OWN
    )
    names = frame.group_by("question").agg(pl.col("question_id").first())
    return Evidence(
        answers.collect(),
        groups.drop("lead").join(identity, on="group"),
        names.rename({"question": "code"}),
    )


def v1_rows(found: Evidence, tables: V1Tables, params: ParamsV1) -> pl.DataFrame:
    """The rows of a partition's :class:`Evidence` with the whole cohort's tables: each
    answer's question rate (the cohort's counts before its hour less the student's own), its
    credit and penalty summed per (user, theme), the student's sums over their themes, and
    the estimate with its explanation."""
    answers = found.answers
    cohort = counts_before(answers, tables.rates, found.names)
    counted = pl.concat([answers.select(pl.col(OWN).cast(pl.Int64)), cohort], how="horizontal")
    valued = answers.lazy().with_columns(q_units=rated(counted, params)["q_units"])
    values = answer_values()
    weighed = valued.group_by("group").agg(
        (pl.when(pl.col(inside)).then(values[x]).otherwise(0).sum().alias(f"{p}_{x}"))
        for p, inside in RATED.items()
        for x in ("cr", "pe")
    )
    zero = [f"{p}_{x}" for p in RATED for x in ("cr", "pe")]
    themes = (
        found.groups.lazy()
        .join(weighed, on="group", how="left")
        .with_columns(pl.col(zero).fill_null(0))
    )
    per_user = {f"s_{x}": pl.col(f"st_{x}").sum() for x in SUMS}
    per_user |= {f"r_{x}": pl.col(f"r_{x}").sum() for x in SUMS}
    per_user |= {"u_n": pl.col("ut_n").sum(), "u_c": pl.col("ut_c").sum()}
    n, c = tables.rates.overall
    totals = tables.rates.totals.rename({"n": "t_n", "c": "t_c"})
    rows = (
        themes.drop(f"r_{x}" for x in SUMS)  # the recent sums are the student's (below)
        .join(themes.group_by("user").agg(**per_user), on="user")
        .filter(pl.col("st_n") > 0)
        .join(totals.lazy(), on="theme_id", how="left")
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

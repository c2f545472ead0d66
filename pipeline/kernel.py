"""Mastery v0 (SPEC §4) for a whole cohort at once: LazyFrame in, DataFrame out, no I/O, no clock.

Every number is computed on integers (counts, weights scaled by a power of ten) and rounded
once, half away from zero, on the exact rational value; nothing passes through a float.

The steps (``python -m benchmarks.bench_kernel --stages`` times each): a survey of the
attempts (data-quality counts, difficulty spellings, theme/block pairs); the identity's value
ranges (pipeline/identity.py); one streaming group-by on a UInt64 (user code, theme) key with
packed counters and the packed identity; the kept rows sorted by (user_id, theme_id) on
integers; their output columns, with breakdown text built for scored rows only
(pipeline/scoring.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from pipeline.identity import IdentityPlan, identity_plan
from pipeline.params import Params
from pipeline.scoring import difficulty_units, max_value, output_rows

KEYS = ("user_id", "theme_id")
OUTPUT_COLUMNS = (
    "user_id",
    "theme_id",
    "year",
    "block_id",
    "attempts_total",
    "correct_total",
    "accuracy_pct",
    "mastery_score",
    "last_attempt_at",
    "breakdown_json",
)
UTC_MICROS = pl.Datetime("us", "UTC")
ATTEMPT_SCHEMA = pl.Schema(
    {  # type: ignore[arg-type]
        "user_id": pl.String,
        "session_id": pl.String,
        "question_id": pl.String,
        "year": pl.Int32,
        "block_id": pl.Int32,
        "theme_id": pl.Int32,
        "difficulty": pl.String,
        "is_correct": pl.Boolean,
        "answered_at": UTC_MICROS,
        "submitted_at": UTC_MICROS,
    }
)
DATA_QUALITY_KEYS = (
    "null_theme_dropped",
    "answered_after_as_of",
    "null_answered_at",
    "null_is_correct",
    "unknown_difficulty",
    "no_block_rows_skipped",
    "dangling_theme_rows_skipped",
    "dangling_block_rows_skipped",
    "themes_under_two_blocks",
)


@dataclass(frozen=True)
class CohortResult:
    """Mastery rows plus one count per kind of data-quality issue met on the way.

    ``theme_blocks`` (distinct theme/block pairs of the kept attempts) lets partitioned runs
    count themes under two blocks across partitions.
    """

    rows: pl.DataFrame
    data_quality: dict[str, int] = field(default_factory=dict)
    theme_blocks: pl.DataFrame = field(default_factory=pl.DataFrame)


def compute_mastery(attempts: pl.LazyFrame, params: Params, as_of: datetime) -> pl.DataFrame:
    """Mastery rows for every (user, theme) in ``attempts`` (see :func:`compute_cohort`)."""
    return compute_cohort(attempts, params, as_of).rows


def compute_cohort(
    attempts: pl.LazyFrame,
    params: Params,
    as_of: datetime,
    themes: pl.LazyFrame | None = None,
    blocks: pl.LazyFrame | None = None,
) -> CohortResult:
    """Score resolved attempts; ``themes``/``blocks`` (when given) drop rows with dangling tags.

    ``user_id`` may arrive as String, Categorical or Enum; the group-by runs on its integer code
    and the strings come back only for the output rows.
    """
    as_of = utc(as_of)
    source, users = typed_source(attempts)
    windowed = source.filter(in_lookback_window(params, as_of))
    kept = windowed.filter(pl.col("theme_id").is_not_null() & ~answered_after(as_of))
    survey = survey_attempts(windowed, kept, params, as_of)
    lookback = timedelta(days=params.lookback_days)
    identity = identity_plan(kept, as_of - lookback, lookback)
    if survey.kept_without_block == 0 and identity.latest_answered is not None:
        last_attempt = identity.latest_answered  # every attempt has a block: one max fewer
    else:
        last_attempt = pl.col("answered_at").max()
    layout = CounterLayout.for_rows(survey.kept_rows, len(params.recency_buckets))
    plan = GroupPlan(identity, users, last_attempt, survey.spellings)
    groups = group_attempts(kept, params, as_of, plan=plan, layout=layout)
    if layout.overflowed(groups, survey.kept_rows):
        layout = CounterLayout.exact(survey.kept_rows, len(params.recency_buckets))
        groups = group_attempts(kept, params, as_of, plan=plan, layout=layout)
    tagged = with_known_tags(groups.lazy(), themes, blocks).collect()
    del groups  # each step's input goes as soon as its output exists: peak memory
    row_counts = tagged_counts(tagged)
    ordered = in_output_order(
        tagged.lazy().filter(
            pl.col("block_id").is_not_null() & pl.col("theme_known") & pl.col("block_known")
        ),
        users,
    )
    del tagged
    rows = output_rows(ordered, params)
    quality = {**survey.counts, **row_counts}
    quality["themes_under_two_blocks"] = themes_under_two_blocks(survey.theme_blocks)
    return CohortResult(
        rows=rows,
        data_quality={k: quality[k] for k in DATA_QUALITY_KEYS},
        theme_blocks=survey.theme_blocks,
    )


# collect_all would otherwise cache the subplan its queries share (the filtered attempts, every
# column) in memory: twice the time of scanning the input once per query.
NO_SHARED_SCAN = pl.QueryOptFlags(comm_subplan_elim=False)
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


def typed_source(attempts: pl.LazyFrame) -> tuple[pl.LazyFrame, Users]:
    """The kernel's columns in the kernel's dtypes; a categorical ``user_id`` is kept as is."""
    user_dtype = attempts.collect_schema().get("user_id")
    if not isinstance(user_dtype, pl.Categorical | pl.Enum):
        user_dtype = pl.Categorical(pl.Categories.random())
    columns = [
        pl.col(name) if name == "user_id" else pl.col(name).cast(dtype)
        for name, dtype in ATTEMPT_SCHEMA.items()
        if name != "session_id"
    ]
    users = Users(user_dtype, pl.Series("keepalive", [], dtype=user_dtype))
    return attempts.select(columns), users


@dataclass(frozen=True)
class Survey:
    """What one pass over the attempts tells before the group-by."""

    counts: dict[str, int]
    kept_rows: int
    kept_without_block: int
    theme_blocks: pl.DataFrame
    spellings: pl.Series  # the distinct non-null raw difficulties of the kept attempts


def survey_attempts(
    windowed: pl.LazyFrame, kept: pl.LazyFrame, params: Params, as_of: datetime
) -> Survey:
    """Attempt-level data-quality counts, distinct difficulty spellings, theme/block pairs."""
    after = answered_after(as_of)
    keep = pl.col("theme_id").is_not_null() & ~after
    counts_lf = windowed.select(
        answered_after_as_of=after.sum(),
        null_theme_dropped=(pl.col("theme_id").is_null() & ~after).sum(),
        null_answered_at=(keep & pl.col("answered_at").is_null()).sum(),
        null_is_correct=(keep & pl.col("is_correct").is_null()).sum(),
        kept_rows=keep.sum(),
        kept_without_block=(keep & pl.col("block_id").is_null()).sum(),
    )
    spellings_lf = kept.group_by("difficulty").len()
    theme_blocks_lf = (
        kept.filter(pl.col("block_id").is_not_null()).select("theme_id", "block_id").unique()
    )
    counts, spellings, theme_blocks = pl.collect_all(
        [counts_lf, spellings_lf, theme_blocks_lf], engine="streaming", optimizations=NO_SHARED_SCAN
    )
    values = {k: int(v) for k, v in counts.row(0, named=True).items()}
    known = list(params.difficulty_weights)
    unknown = spellings.filter(
        pl.col("difficulty").is_not_null() & ~normalized_difficulty().is_in(known)
    )["len"].sum()
    values["unknown_difficulty"] = int(unknown)
    kept_rows, without_block = values.pop("kept_rows"), values.pop("kept_without_block")
    raw = spellings["difficulty"].drop_nulls()
    return Survey(values, kept_rows, without_block, theme_blocks, raw)


@dataclass(frozen=True)
class CounterLayout:
    """Per-attempt counters (1, correct, and per bucket in-bucket and in-bucket-correct) packed
    side by side in UInt64 words, ``width`` bits each: one sum per word instead of one per
    counter.

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


OPTIMISTIC_WIDTH = 15  # four counters per word; a (user, theme) of 32,768 attempts re-runs exact


@dataclass(frozen=True)
class GroupPlan:
    """What the group-by computes besides the counters.

    ``last_attempt`` is either an aggregate (the max ``answered_at``) or, when every attempt has
    a block, decoded from the identity's own maximum after the group-by.
    """

    identity: IdentityPlan
    users: Users
    last_attempt: pl.Expr
    difficulty_spellings: pl.Series | None = None

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
    kept: pl.LazyFrame, params: Params, as_of: datetime, *, plan: GroupPlan, layout: CounterLayout
) -> pl.DataFrame:
    """One row per (user, theme): counters, latest answer, identity; keyed by one UInt64."""
    identity, users = plan.identity, plan.users
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
    if params.use_difficulty:  # once per row, not once per bucket
        kept = kept.with_columns(
            difficulty_weight=difficulty_weight(params, plan.difficulty_spellings)
        )
    words = layout.pack(flags)
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


def tagged_counts(tagged: pl.DataFrame) -> dict[str, int]:
    has_block = pl.col("block_id").is_not_null()
    counts = tagged.select(
        no_block_rows_skipped=(~has_block).sum(),
        dangling_theme_rows_skipped=(has_block & ~pl.col("theme_known")).sum(),
        dangling_block_rows_skipped=(
            has_block & pl.col("theme_known") & ~pl.col("block_known")
        ).sum(),
    )
    return {k: int(v) for k, v in counts.row(0, named=True).items()}


def in_output_order(groups: pl.LazyFrame, users: Users) -> pl.DataFrame:
    """Rows sorted by (user_id, theme_id), with ``user_id`` as strings again.

    The sort runs on one UInt64 (each user's rank among the sorted distinct ids, then the
    theme); the ids are sorted once per user, not per row.
    """
    codes = groups.select(pl.col("user_code").unique()).collect().to_series()
    names = users.names(codes)
    order = names.arg_sort()
    rank_of_code = pl.zeros(max_value(codes) + 1, pl.UInt32, eager=True)
    rank_of_code.scatter(codes.gather(order), pl.int_range(len(codes), dtype=pl.UInt32, eager=True))
    rank = pl.lit(rank_of_code).gather(pl.col("user_code"))
    return (
        groups.sort(rank.cast(pl.UInt64) * pl.lit(LOW_32, pl.UInt64) + pl.col(GROUP_KEY) % LOW_32)
        .with_columns(user_id=pl.lit(names.gather(order)).gather(rank))
        .drop("user_code", GROUP_KEY, "theme_known", "block_known")
        .collect(engine="in-memory")
    )


def themes_under_two_blocks(theme_blocks: pl.DataFrame) -> int:
    """Distinct themes whose attempts carry two or more distinct blocks."""
    per_theme = theme_blocks.unique().group_by("theme_id").len()
    return per_theme.filter(pl.col("len") > 1).height


def in_lookback_window(params: Params, as_of: datetime) -> pl.Expr:
    start = as_of - timedelta(days=params.lookback_days)
    return pl.col("submitted_at").is_between(pl.lit(start), pl.lit(as_of), closed="both")


def answered_after(as_of: datetime) -> pl.Expr:
    """Answers after ``as_of`` are excluded; a null ``answered_at`` is not after it."""
    return (pl.col("answered_at") > pl.lit(as_of)).fill_null(False)


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


def with_known_tags(
    groups: pl.LazyFrame, themes: pl.LazyFrame | None, blocks: pl.LazyFrame | None
) -> pl.LazyFrame:
    """Flag ``theme_known``/``block_known``: the tag is in themes/blocks (true if not given)."""
    flags = {}
    for column, table, flag in (
        ("theme_id", themes, "theme_known"),
        ("block_id", blocks, "block_known"),
    ):
        if table is None:
            flags[flag] = pl.lit(True)
            continue
        ids = table.select(pl.col("id").cast(pl.Int32)).unique().collect().to_series()
        flags[flag] = pl.col(column).is_in(ids).fill_null(False)
    return groups.with_columns(**flags)


def utc(moment: datetime) -> datetime:
    """Naive timestamps are UTC (SPEC §4)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

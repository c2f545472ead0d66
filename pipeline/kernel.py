"""Mastery v0 (SPEC §4) for a whole cohort at once: LazyFrame in, DataFrame out, no I/O, no clock.

Every number is computed on integers (counts, weights scaled by a power of ten) and rounded
once, half away from zero, on the exact rational value; nothing passes through a float.

The steps (``python -m benchmarks.bench_kernel --stages`` times each): a survey of the
attempts (data-quality counts, difficulty spellings, theme/block pairs); the identity's value
ranges (pipeline/identity.py); one streaming group-by on a UInt64 (user code, theme) key with
packed counters and the packed identity; the kept rows sorted by (user_id, theme_id) on
integers; their output columns, with breakdown text built for scored rows only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl

from pipeline.identity import IdentityPlan, identity_plan
from pipeline.params import Bucket, Params, plain_decimal

KEYS = ("user_id", "theme_id")
SCORE_SCALE = 10_000  # mastery_score, contributions and bucket accuracies: 4 decimals
PCT_SCALE = 100  # accuracy_pct: 2 decimals
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
    rank_of_code = pl.zeros(_max(codes) + 1, pl.UInt32, eager=True)
    rank_of_code.scatter(codes.gather(order), pl.int_range(len(codes), dtype=pl.UInt32, eager=True))
    rank = pl.lit(rank_of_code).gather(pl.col("user_code"))
    return (
        groups.sort(rank.cast(pl.UInt64) * pl.lit(LOW_32, pl.UInt64) + pl.col(GROUP_KEY) % LOW_32)
        .with_columns(user_id=pl.lit(names.gather(order)).gather(rank))
        .drop("user_code", GROUP_KEY, "theme_known", "block_known")
        .collect(engine="in-memory")
    )


def output_rows(groups: pl.DataFrame, params: Params) -> pl.DataFrame:
    """The output columns from the sorted groups; breakdown text only for the scored rows.

    Every breakdown is a gather from one table (the scored rows' texts, then one short text per
    count below min_attempts): a gather shares the table's bytes, where a when/then over two
    string columns would copy them.
    """
    insufficient = pl.col("attempts_total") < params.min_attempts
    with_score = groups.with_columns(
        score=pl.when(insufficient)
        .then(0)
        .otherwise(pl.sum_horizontal(contributions(params, _max(groups["attempts_total"]))))
    )
    scored = with_score.lazy().filter(~insufficient)
    texts = scored.select(scored_breakdown(params, with_score)).collect().to_series()
    short = insufficient_texts(params, _max(groups["attempts_total"]))
    table = pl.concat([texts, short]).rechunk()  # one chunk of views: no bytes copied
    scored_index = (~insufficient).cast(pl.Int64).cum_sum() - 1
    return with_score.select(
        "user_id",
        "theme_id",
        pl.col("year").fill_null(1),
        "block_id",
        pl.col("attempts_total").cast(pl.Int32),
        pl.col("correct_total").cast(pl.Int32),
        accuracy_pct=pl.lit(_decimals_table(PCT_SCALE, 5, 100 * PCT_SCALE)).gather(
            _ratio_rounded(pl.col("correct_total"), pl.col("attempts_total"), 100 * PCT_SCALE)
        ),
        mastery_score=pl.lit(_decimals_table(SCORE_SCALE, 6, _max_score_units(params))).gather(
            "score"
        ),
        last_attempt_at="last_attempt_at",
        breakdown_json=pl.lit(table).gather(
            pl.when(insufficient)
            .then(len(texts) + pl.col("attempts_total"))
            .otherwise(scored_index)
        ),
    )


def contributions(params: Params, most_attempts: int) -> list[pl.Expr]:
    """Each bucket's contribution in 1/10,000 units."""
    bound = most_attempts
    if params.use_difficulty:
        bound *= max(_difficulty_units(params).values(), default=1)
    return [
        _weighted_ratio_rounded(*_accuracy_terms(params, index), bucket.weight, bound)
        for index, bucket in enumerate(params.recency_buckets)
    ]


def _accuracy_terms(params: Params, index: int) -> tuple[pl.Expr, pl.Expr]:
    if params.use_difficulty:
        return pl.col(f"wc_{index}"), pl.col(f"w_{index}")
    return pl.col(f"c_{index}"), pl.col(f"n_{index}")


def scored_breakdown(params: Params, groups: pl.DataFrame) -> pl.Expr:
    """The breakdown text of SPEC §4 for scored rows (key order and number format as there)."""
    pieces = [
        pl.lit('{"total_attempts":'),
        pl.col("attempts_total").cast(pl.String),
        pl.lit(',"buckets":{'),
    ]
    for index, bucket in enumerate(params.recency_buckets):
        if index:
            pieces.append(pl.lit(","))
        pieces.append(bucket_text(params, index, bucket, _max(groups[f"n_{index}"])))
    pieces += [
        pl.lit('},"mastery_score":'),
        decimal_text(pl.col("score")),
        pl.lit(f',"use_difficulty":{str(params.use_difficulty).lower()}}}'),
    ]
    return pl.concat_str(pieces)


PAIR_TABLE_LIMIT = 400  # bucket texts by table while attempts per bucket stay <= this


def bucket_text(params: Params, index: int, bucket: Bucket, most: int) -> pl.Expr:
    """One bucket's text; without difficulty weights it depends only on (attempts, correct),
    so it is looked up in a table of every pair up to ``most`` attempts."""
    attempts, correct = pl.col(f"n_{index}"), pl.col(f"c_{index}")
    if params.use_difficulty or most > PAIR_TABLE_LIMIT:
        numerator, denominator = _accuracy_terms(params, index)
        return bucket_breakdown(
            bucket,
            attempts,
            correct,
            decimal_text(_ratio_rounded(numerator, denominator, SCORE_SCALE)),
            decimal_text(_weighted_ratio_rounded(numerator, denominator, bucket.weight)),
        )
    pairs = (
        pl.DataFrame({"n": range(most + 1)})
        .with_columns(c=pl.int_ranges(0, pl.col("n") + 1))
        .explode("c")
    )
    n, c = pl.col("n"), pl.col("c")
    table = pairs.select(
        bucket_breakdown(
            bucket,
            n,
            c,
            decimal_text(_ratio_rounded(c, n, SCORE_SCALE)),
            decimal_text(_weighted_ratio_rounded(c, n, bucket.weight, most)),
        )
    ).to_series()
    return pl.lit(table).gather(attempts * (attempts + 1) // 2 + correct)


def insufficient_texts(params: Params, most: int) -> pl.Series:
    """The insufficient breakdown for every count below min_attempts that occurs."""
    actual = pl.int_range(min(params.min_attempts, most + 1), eager=True)
    return pl.select(insufficient_breakdown(params, pl.lit(actual))).to_series()


def _decimals_table(scale: int, precision: int, most: int) -> pl.Series:
    """Decimal(precision, log10(scale)) for every unit count 0..most: a gather, not a division."""
    digits = len(str(scale)) - 1
    values = [Decimal(units).scaleb(-digits) for units in range(most + 1)]
    return pl.Series(values, dtype=pl.Decimal(precision, digits))


def _max_score_units(params: Params) -> int:
    """Each bucket's contribution rounds up by less than one unit over weight * 10,000."""
    return SCORE_SCALE + len(params.recency_buckets)


def _max(series: pl.Series) -> int:
    value = series.max()
    return int(value) if value is not None else 0  # type: ignore[arg-type]


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
    units = _difficulty_units(params)
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


def _difficulty_units(params: Params) -> dict[str | None, int]:
    """Each difficulty's weight scaled to an integer; ``None``: the weight of an unknown one."""
    scale = 10 ** difficulty_decimals(params)
    return {None: scale, **{name: int(w * scale) for name, w in params.difficulty_weights.items()}}


def insufficient_breakdown(params: Params, attempts: pl.Expr) -> pl.Expr:
    """``{"reason":"insufficient_attempts","required":5,"actual":4}``."""
    return pl.concat_str(
        pl.lit(f'{{"reason":"insufficient_attempts","required":{params.min_attempts},"actual":'),
        attempts.cast(pl.String),
        pl.lit("}"),
    )


def bucket_breakdown(
    bucket: Bucket, attempts: pl.Expr, correct: pl.Expr, accuracy: pl.Expr, contribution: pl.Expr
) -> pl.Expr:
    """``accuracy`` and ``contribution`` are already texts (see :func:`decimal_text`)."""
    """``"7d":{"attempts":3,"correct":2,"accuracy":0.6667,"weight":0.5,"contribution":0.3333}``."""
    return pl.concat_str(
        pl.lit(f'"{bucket.label}":{{"attempts":'),
        attempts.cast(pl.String),
        pl.lit(',"correct":'),
        correct.cast(pl.String),
        pl.lit(',"accuracy":'),
        accuracy,
        pl.lit(f',"weight":{plain_decimal(bucket.weight)},"contribution":'),
        contribution,
        pl.lit("}"),
    )


def decimal_text(units: pl.Expr) -> pl.Expr:
    """``units / 10_000`` in [0, 2] as the shortest plain decimal: 8000 -> '0.8', 10000 -> '1'.

    Looked up in a table of all 20,001 texts: a gather is far cheaper than formatting per row
    (and shares the table's bytes). A score can pass 1 by rounding: weights 0.50005 + 0.49995.
    """
    return pl.lit(_UNIT_TEXTS).gather(units)


def _unit_text(units: int) -> str:
    whole, fraction = divmod(units, SCORE_SCALE)
    return f"{whole}.{fraction:04d}".rstrip("0") if fraction else str(whole)


_UNIT_TEXTS = pl.Series("unit_text", [_unit_text(u) for u in range(2 * SCORE_SCALE + 1)])


def difficulty_decimals(params: Params) -> int:
    return max((_decimals(w) for w in params.difficulty_weights.values()), default=0)


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


def _ratio_rounded(numerator: pl.Expr, denominator: pl.Expr, scale: int) -> pl.Expr:
    """round(numerator / denominator, log10(scale)) half up, in units of 1/scale; 0 if empty."""
    rounded = (2 * scale * numerator + denominator) // (2 * denominator)
    return pl.when(denominator > 0).then(rounded).otherwise(0)


def _weighted_ratio_rounded(
    numerator: pl.Expr, denominator: pl.Expr, weight: Decimal, bound: int | None = None
) -> pl.Expr:
    """round(numerator / denominator * weight, 4) on exact integers.

    Int64 when ``bound`` (the largest numerator or denominator) keeps every step below 2**63,
    else Int128.
    """
    places = _decimals(weight)
    weight_units = int(weight * 10**places)
    wide = bound is None or bound * 4 * SCORE_SCALE * 10**places >= 2**63
    dtype = pl.Int128 if wide else pl.Int64
    num = numerator.cast(dtype) * (2 * SCORE_SCALE * weight_units)
    den = denominator.cast(dtype) * 10**places
    rounded = ((num + den) // (2 * den)).cast(pl.Int64)
    return pl.when(denominator > 0).then(rounded).otherwise(0)


def _as_decimal(units: pl.Expr, scale: int, precision: int) -> pl.Expr:
    digits = len(str(scale)) - 1
    exact = pl.Decimal(38, digits)
    return (units.cast(exact) / pl.lit(scale).cast(exact)).cast(pl.Decimal(precision, digits))


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def utc(moment: datetime) -> datetime:
    """Naive timestamps are UTC (SPEC §4)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

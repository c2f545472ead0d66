"""The output columns of Mastery v0 (SPEC §4) from grouped counts: contributions and score,
``accuracy_pct`` and ``mastery_score`` as exact decimals, and ``breakdown_json`` text.

Every number is an integer in units of 1/10,000 (or 1/100) rounded once, half away from zero,
on the exact rational value; texts and decimals are gathered from tables built once per run,
never formatted per row. :mod:`pipeline.kernel` groups the attempts and calls :func:`output_rows`.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from pipeline.contracts.params import Bucket, Params, plain_decimal

SCORE_SCALE = 10_000  # mastery_score, contributions and bucket accuracies: 4 decimals
PCT_SCALE = 100  # accuracy_pct: 2 decimals


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
        .otherwise(pl.sum_horizontal(contributions(params, max_value(groups["attempts_total"]))))
    )
    scored = with_score.lazy().filter(~insufficient)
    texts = scored.select(scored_breakdown(params, with_score)).collect().to_series()
    short = insufficient_texts(params, max_value(groups["attempts_total"]))
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
        bound *= max(difficulty_units(params).values(), default=1)
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
        pieces.append(bucket_text(params, index, bucket, max_value(groups[f"n_{index}"])))
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


def max_value(series: pl.Series) -> int:
    value = series.max()
    return int(value) if value is not None else 0  # type: ignore[arg-type]


def difficulty_units(params: Params) -> dict[str | None, int]:
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


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0

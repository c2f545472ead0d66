"""Mastery v1's estimate from its sums, and each row's explanation (issue 16).

The logit terms and their sigmoid (the formula in :mod:`pipeline.kernel.v1`), the 95 % Wilson
interval, and the stored row's columns with ``breakdown_json``: apart from the sums so that
the replay and the cohort kernel share one formula, and the words stay in one place.
"""

from __future__ import annotations

import polars as pl

from pipeline.contracts.frames import KEYS, OUTPUT_SCHEMA
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.kernel.scoring import decimal_from_units

RATE_UNITS = 1_000_000  # question rates, credits and penalties are summed as integer millionths
Z95 = 1.959963984540054
STUDENT_TERMS = {"student": "s", "student_theme": "st", "recent": "r"}


def prior(params: ParamsV1, term: str) -> float:
    return float(getattr(params.prior_answers, term))


def weight(params: ParamsV1, term: str) -> float:
    return float(getattr(params.weights, term))


def logit(p: pl.Expr) -> pl.Expr:
    return (p / (1 - p)).log()


def comparison(prefix: str, h: float) -> pl.Expr:
    """ln((credit + h) / (penalty + h)) of the ``<prefix>_cr`` / ``<prefix>_pe`` units."""
    credit, penalty = pl.col(f"{prefix}_cr") / RATE_UNITS, pl.col(f"{prefix}_pe") / RATE_UNITS
    return ((credit + h) / (penalty + h)).log()


def terms(params: ParamsV1, question_rate: pl.Expr) -> dict[str, pl.Expr]:
    """Each weighted logit term of the estimate."""
    out = {"question": weight(params, "question") * logit(question_rate)}
    for term, prefix in STUDENT_TERMS.items():
        out[term] = weight(params, term) * comparison(prefix, prior(params, term))
    return out


def estimate(params: ParamsV1, question_rate: pl.Expr) -> pl.Expr:
    """The sigmoid of the sum of :func:`terms`."""
    total = pl.sum_horizontal(terms(params, question_rate).values())
    return 1 / (1 + (-total).exp())


def units(value: pl.Expr, scale: int) -> pl.Expr:
    scaled: pl.Expr = value * scale
    return scaled.round(0, mode="half_away_from_zero").cast(pl.Int64)


def wilson(p: pl.Expr, n: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Wilson's 95 % interval of a rate ``p`` observed over ``n`` (n > 0) answers."""
    z2 = Z95 * Z95
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt() / (1 + z2 / n)
    return (center - half).clip(0, 1), (center + half).clip(0, 1)


def number_text(value: pl.Expr, places: int) -> pl.Expr:
    """``value`` rounded half away from zero to ``places``, as the shortest plain decimal."""
    text = decimal_from_units(units(value, 10**places), places).cast(pl.String)
    return text.str.strip_chars_end("0").str.strip_chars_end(".") if places else text


def _expected(prefix: str) -> pl.Expr:
    """What other students' rates predict: right answers - credit + penalty."""
    units = pl.col(f"{prefix}_c") * RATE_UNITS - pl.col(f"{prefix}_cr") + pl.col(f"{prefix}_pe")
    return units / RATE_UNITS


def _counts_json(prefix: str, span: str) -> list[pl.Expr | str]:
    return [
        '{"attempts":', pl.col(f"{prefix}_n"), ',"correct":', pl.col(f"{prefix}_c"),
        ',"expected":', number_text(_expected(prefix), 1),
        ',"credit":', number_text(pl.col(f"{prefix}_cr") / RATE_UNITS, 2),
        ',"penalty":', number_text(pl.col(f"{prefix}_pe") / RATE_UNITS, 2), f",{span}}}",
    ]  # fmt: skip


def _counts_words(prefix: str, where: str, missing: str) -> pl.Expr:
    said = pl.concat_str(
        pl.col(f"{prefix}_c"), pl.lit(" of "), pl.col(f"{prefix}_n"), pl.lit(f" right {where} ("),
        pl.lit("other students would average "), number_text(_expected(prefix), 1), pl.lit(")"),
    )  # fmt: skip
    return pl.when(pl.col(f"{prefix}_n") > 0).then(said).otherwise(pl.lit(missing))


def _join(parts: list[pl.Expr | str]) -> pl.Expr:
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p.cast(pl.String) for p in parts])


def breakdown(params: ParamsV1) -> pl.Expr:
    """The row's ``breakdown_json``: model, state, estimate, interval, the three sets of counts
    (with what other students' rates predict, the credit and the penalty), the theme's rate,
    each weighted logit term and the explanation in words, keys in this order."""
    days, hours = params.lookback_days, params.recent_hours
    low, high = wilson(pl.col("estimate"), pl.col("st_n") + 2 * prior(params, "student_theme"))
    enough = pl.col("st_n") >= params.min_attempts
    state = pl.when(enough).then(pl.lit("ok")).otherwise(pl.lit("not_enough_evidence"))
    caveat = pl.when(enough).then(pl.lit("")).otherwise(
        pl.concat_str(
            pl.lit("not enough evidence ("), pl.col("st_n"),
            pl.lit(f" answers of this theme, {params.min_attempts} needed): "),
        )
    )  # fmt: skip
    words = pl.concat_str(
        caveat,
        _counts_words("st", f"in this theme in the last {days} days", "no answers in this theme"),
        pl.lit("; "),
        _counts_words("s", "in all themes", "no answers in any theme"),
        pl.lit("; "),
        _counts_words("r", f"in the last {hours} hours", f"no answers in the last {hours} hours"),
        pl.lit("; other students answer this theme's questions right "),
        units(pl.col("theme_rate"), 100).cast(pl.String),
        pl.lit(" % of the time; estimate "),
        number_text(pl.col("estimate"), 2),
        pl.lit(" (95 % interval "),
        number_text(low, 2),
        pl.lit(" to "),
        number_text(high, 2),
        pl.lit(")"),
    )
    logits = [
        part
        for i, (term, value) in enumerate(terms(params, pl.col("theme_rate")).items())
        for part in (f'{"," if i else ""}"{term}":', number_text(value, 2))
    ]
    return _join(
        [
            '{"model":"v1","state":"', state, '","estimate":', number_text(pl.col("estimate"), 4),
            ',"interval":[', number_text(low, 2), ",", number_text(high, 2), '],"theme":',
            *_counts_json("st", f'"days":{days}'), ',"all_themes":',
            *_counts_json("s", f'"days":{days}'), ',"recent":',
            *_counts_json("r", f'"hours":{hours}'), ',"theme_correct_rate":',
            number_text(pl.col("theme_rate"), 2), ',"logits":{', *logits, '},"explanation":"',
            words, '"}',
        ]
    )  # fmt: skip


def output(rows: pl.LazyFrame, params: ParamsV1) -> pl.DataFrame:
    """OUTPUT_SCHEMA's columns: accuracy_pct exact (integer arithmetic), mastery_score the
    estimate rounded half away from zero to 4 places, the breakdown."""
    n, c = pl.col("st_n").cast(pl.Int128), pl.col("st_c").cast(pl.Int128)
    pct_units = (2 * 10**4 * c + n) // (2 * n)
    columns = {
        "user_id": pl.col("user_id"),
        "theme_id": pl.col("theme_id"),
        "year": pl.col("year"),
        "block_id": pl.col("block_id"),
        "attempts_total": pl.col("st_n"),
        "correct_total": pl.col("st_c"),
        "accuracy_pct": decimal_from_units(pct_units, 2),
        "mastery_score": decimal_from_units(units(pl.col("estimate"), 10**4), 4),
        "last_attempt_at": pl.col("last_attempt_at"),
        "breakdown_json": breakdown(params),
    }
    typed = [columns[name].cast(dtype).alias(name) for name, dtype in OUTPUT_SCHEMA.items()]
    return rows.select(typed).sort(KEYS).collect()  # lazy: the breakdown's repeats computed once

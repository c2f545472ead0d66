"""Mastery v1 (issue 16): an explainable estimate of the chance of answering right, from counts.

Nothing is trained: the estimate is a sum of four logits built from counts of earlier answers,
with the fixed, validated constants of :class:`ParamsV1` (k, h: prior answers; w: weights).

* **question**: how often *other* students answered this question right before, shrunk toward
  the theme's rate: q = (c_q + k_q · r) / (n_q + k_q), with the theme's rate
  r = (c_t + k_t · b) / (n_t + k_t) over other students' earlier answers of the theme and their
  base rate b = (c + 1) / (n + 2) over all their earlier answers. For a theme's mastery (no
  particular question) the question is a typical one of the theme: q = r.
* **student**, **student_theme**, **recent**: the student's answers of the last
  ``lookback_days`` (all themes; this theme) and of the last ``recent_hours`` (all themes),
  weighed against other students: a right answer earns *credit* 1 - q (much for a question
  others often miss), a wrong one a *penalty* q (much for a question others usually get right),
  with q each answer's question rate as it stood when it was given. The term is
  ln((credit + h) / (penalty + h)): 0 without answers, or when the student does just as other
  students would (credit - penalty = right answers - what others' rates predict).

  estimate = sigmoid(w_q · logit(q) + w_s · student + w_st · student_theme + w_r · recent)

Monotone by construction: a student's own answers enter only their own credit and penalty
(every rate above is other students'), so one more right answer never lowers any of their
scores, and one more wrong answer never raises one. The 95 % interval is Wilson's for the
estimate read as a rate over the theme's answers plus 2 · h_st. A row with fewer than
``min_attempts`` answers of the theme in the lookback is ``not_enough_evidence`` (the estimate
is still given, with its wide interval).

Determinism: counts are integers and each question rate becomes an integer number of
millionths before any sum, so every sum is exact whatever the order or partitioning of the
input. A row's estimate is one fixed float expression of its own group's sums and of global
tables (answers' question rates, theme and overall counts) computed from answers up to
``as_of``, rounded half away from zero to 4 places. Partitioned runs pass the whole cohort's
:class:`V1Tables`. Only answers with an ``answered_at`` count; ``as_of`` is inclusive. The
global rates use every answer of the input before the instant (no window): give the kernel
the history it should learn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import polars as pl

from pipeline.contracts.frames import KEYS, OUTPUT_SCHEMA
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import utc
from pipeline.kernel.replay import COUNTS, ONE, TIME, History, Period, laplace, prepared

RATE_UNITS = 1_000_000  # question rates, credits and penalties are summed as integer millionths
Z95 = 1.959963984540054
LATEST_BY = ("answered_at", "submitted_at", "question_id", "session_id", "block_id", "year")
STUDENT_TERMS = {"student": "s", "student_theme": "st", "recent": "r"}
SUMS = ("n", "c", "cr", "pe")  # answers, right answers, credit and penalty units


@dataclass(frozen=True)
class V1Tables:
    """What v1 learns from the whole cohort up to ``as_of``: each answer's question rate
    (``session_id``, ``question_id``, ``q_units``), the answers and right answers per theme
    (``theme_id``, ``n``, ``c``) and overall (answers, right answers)."""

    answer_rates: pl.DataFrame
    themes: pl.DataFrame
    overall: tuple[int, int]


def _k(params: ParamsV1, term: str) -> float:
    return float(getattr(params.prior_answers, term))


def _w(params: ParamsV1, term: str) -> float:
    return float(getattr(params.weights, term))


def logit(p: pl.Expr) -> pl.Expr:
    return (p / (1 - p)).log()


def comparison(prefix: str, h: float) -> pl.Expr:
    """ln((credit + h) / (penalty + h)) of the ``<prefix>_cr`` / ``<prefix>_pe`` units."""
    credit, penalty = pl.col(f"{prefix}_cr") / RATE_UNITS, pl.col(f"{prefix}_pe") / RATE_UNITS
    return ((credit + h) / (penalty + h)).log()


def terms(params: ParamsV1, question_rate: pl.Expr) -> dict[str, pl.Expr]:
    """Each weighted logit term of the estimate."""
    out = {"question": _w(params, "question") * logit(question_rate)}
    for term, prefix in STUDENT_TERMS.items():
        out[term] = _w(params, term) * comparison(prefix, _k(params, term))
    return out


def estimate(params: ParamsV1, question_rate: pl.Expr) -> pl.Expr:
    """The sigmoid of the sum of :func:`terms`."""
    total = pl.sum_horizontal(terms(params, question_rate).values())
    return 1 / (1 + (-total).exp())


def answer_values() -> dict[str, pl.Expr]:
    """Per answer, what the student sums add up (``q_units`` must be set)."""
    right = pl.col("correct")
    return {
        "n": ONE,
        "c": right,
        "cr": right * (RATE_UNITS - pl.col("q_units")),
        "pe": (1 - right) * pl.col("q_units"),
    }


def answer_rates(history: History, params: ParamsV1) -> pl.DataFrame:
    """Per answered row (aligned with ``history.rows``): ``base``, ``theme_rate`` and
    ``question_rate`` of other students as they stood just before it was answered, and
    ``q_units`` (the question rate in integer millionths)."""
    parts = [
        history.sums(keys, COUNTS).rename({"n": f"{name}_n", "c": f"{name}_c"})
        for name, keys in (
            ("g", ()),
            ("u", ("user",)),
            ("t", ("theme_id",)),
            ("ut", ("user", "theme_id")),
            ("q", ("question",)),
            ("uq", ("user", "question")),
        )
    ]
    counts = pl.concat(parts, how="horizontal")
    return counts.select(**rates(params, "g", "u", "t", "ut", "q", "uq")).with_columns(
        q_units=_units(pl.col("question_rate"), RATE_UNITS)
    )


def rates(
    params: ParamsV1, every: str, own: str, theme: str, own_theme: str, *question: str
) -> dict[str, pl.Expr]:
    """``base``, ``theme_rate`` (and ``question_rate`` given question and own-question
    prefixes) of other students, from ``<prefix>_n`` / ``<prefix>_c`` counts: everyone's minus
    the student's own."""

    def others(total: str, mine: str, x: str) -> pl.Expr:
        return pl.col(f"{total}_{x}") - pl.col(f"{mine}_{x}")

    base = laplace(others(every, own, "c"), others(every, own, "n"), 0.5, 2.0)
    theme_rate = laplace(
        others(theme, own_theme, "c"), others(theme, own_theme, "n"), base, _k(params, "theme")
    )
    out = {"base": base, "theme_rate": theme_rate}
    if question:
        q, own_q = question
        out["question_rate"] = laplace(
            others(q, own_q, "c"), others(q, own_q, "n"), theme_rate, _k(params, "question")
        )
    return out


def _units(value: pl.Expr, scale: int) -> pl.Expr:
    scaled: pl.Expr = value * scale
    return scaled.round(0, mode="half_away_from_zero").cast(pl.Int64)


def replay_v1(history: History, period: Period, params: ParamsV1) -> pl.DataFrame:
    """Per target (``row``): ``v1`` (the estimate for this question), ``v1_mastery`` (the
    theme's mastery the student had at ``as_of`` = answered_at - 1 µs, as
    :func:`compute_cohort_v1` computes it over the same input), ``v1_attempts`` (answers of the
    theme in the lookback) and ``v1_insufficient`` (fewer than ``min_attempts``)."""
    rates_ = answer_rates(history, params)
    valued = History(history.rows.with_columns(q_units=rates_["q_units"]))
    valued.orderings.update(history.orderings)  # the same rows in the same order
    lookback = timedelta(days=params.lookback_days)
    windows = {"s": (("user",), lookback), "st": (("user", "theme_id"), lookback)}
    windows["r"] = (("user",), timedelta(hours=params.recent_hours))
    parts = [
        valued.sums(keys, answer_values(), window).rename({x: f"{p}_{x}" for x in SUMS})
        for p, (keys, window) in windows.items()
    ]
    joined = pl.concat([history.rows.select("row", TIME), rates_, *parts], how="horizontal")
    return joined.filter(period.contains()).select(
        "row",
        v1=estimate(params, pl.col("question_rate")),
        v1_mastery=estimate(params, pl.col("theme_rate")),
        v1_attempts=pl.col("st_n").cast(pl.Int32),
        v1_insufficient=pl.col("st_n") < params.min_attempts,
    )


# --------------------------------------------------------------------------------------------
# the cohort kernel: one row per (user, theme) at as_of, OUTPUT_SCHEMA's columns


def _answered_until(frame: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    return frame.filter(pl.col(TIME).is_not_null() & (pl.col(TIME) <= as_of))


def v1_tables(attempts: pl.LazyFrame | pl.DataFrame, params: ParamsV1, as_of: datetime) -> V1Tables:
    """The global tables of the whole cohort at ``as_of`` (pass them to every partition)."""
    return _tables(_answered_until(prepared(attempts), utc(as_of)), params)


def _tables(frame: pl.DataFrame, params: ParamsV1) -> V1Tables:
    history = History(frame)
    rates_ = answer_rates(history, params).select("q_units")
    keyed = pl.concat([history.rows.select("session_id", "question_id"), rates_], how="horizontal")
    themes = frame.group_by("theme_id").agg(n=pl.len().cast(pl.Int64), c=pl.col("correct").sum())
    return V1Tables(
        answer_rates=keyed,
        themes=themes.sort("theme_id"),
        overall=(frame.height, int(frame["correct"].sum())),
    )


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
    as_of = utc(as_of)
    frame = _answered_until(prepared(attempts), as_of)
    tables = tables or _tables(frame, params)
    frame = frame.join(tables.answer_rates, on=["session_id", "question_id"], how="left")
    frame = frame.with_columns(**answer_values())
    sums = [pl.col(x).sum().alias(x) for x in SUMS]
    recent = frame.filter(pl.col(TIME) >= as_of - timedelta(hours=params.recent_hours))
    window = frame.filter(pl.col(TIME) >= as_of - timedelta(days=params.lookback_days))
    order = [pl.col("block_id").is_not_null(), *(pl.col(name) for name in LATEST_BY)]
    counts = [pl.len().cast(pl.Int64).alias("n"), pl.col("correct").sum().alias("c")]
    n, c = tables.overall
    rows = (
        _prefixed(window.group_by(KEYS).agg(sums), "st")
        .join(
            window.group_by(KEYS).agg(
                last_attempt_at=pl.col(TIME).max(),
                identity=pl.struct("year", "block_id").sort_by(order, nulls_last=False).last(),
            ),
            on=list(KEYS),
        )
        .join(_prefixed(window.group_by("user_id").agg(sums), "s"), on="user_id")
        .join(_prefixed(recent.group_by("user_id").agg(sums), "r"), on="user_id", how="left")
        .join(_prefixed(frame.group_by(KEYS).agg(counts), "ut"), on=list(KEYS))
        .join(_prefixed(frame.group_by("user_id").agg(counts), "u"), on="user_id")
        .join(_prefixed(tables.themes, "t"), on="theme_id", how="left")
        .with_columns(
            pl.col("^r_.*$", "t_n", "t_c").fill_null(0),
            g_n=pl.lit(n, pl.Int64),
            g_c=pl.lit(c, pl.Int64),
            year=pl.col("identity").struct.field("year").fill_null(1),
            block_id=pl.col("identity").struct.field("block_id"),
        )
        .filter(pl.col("block_id").is_not_null())
    )
    rows = rows.with_columns(**rates(params, "g", "u", "t", "ut"))
    return _output(rows.with_columns(estimate=estimate(params, pl.col("theme_rate"))), params)


def _prefixed(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    keys = {"user_id", "theme_id"}
    return frame.rename({x: f"{prefix}_{x}" for x in frame.columns if x not in keys})


def wilson(p: pl.Expr, n: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Wilson's 95 % interval of a rate ``p`` observed over ``n`` (n > 0) answers."""
    z2 = Z95 * Z95
    center = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt() / (1 + z2 / n)
    return (center - half).clip(0, 1), (center + half).clip(0, 1)


def number_text(value: pl.Expr, places: int) -> pl.Expr:
    """``value`` rounded half away from zero to ``places``, as the shortest plain decimal."""
    units = _units(value, 10**places)
    scale = 10**places
    whole = (units.abs() // scale).cast(pl.String)
    digits = (units.abs() % scale).cast(pl.String).str.zfill(places).str.strip_chars_end("0")
    body = pl.when(digits == "").then(whole).otherwise(pl.concat_str(whole, pl.lit("."), digits))
    return pl.when(units < 0).then(pl.concat_str(pl.lit("-"), body)).otherwise(body)


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
    low, high = wilson(pl.col("estimate"), pl.col("st_n") + 2 * _k(params, "student_theme"))
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
        _units(pl.col("theme_rate"), 100).cast(pl.String),
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


def _output(rows: pl.DataFrame, params: ParamsV1) -> pl.DataFrame:
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
        "accuracy_pct": _decimal(pct_units, 2),
        "mastery_score": _decimal(_units(pl.col("estimate"), 10**4), 4),
        "last_attempt_at": pl.col("last_attempt_at"),
        "breakdown_json": breakdown(params),
    }
    typed = [columns[name].cast(dtype).alias(name) for name, dtype in OUTPUT_SCHEMA.items()]
    return rows.select(typed).sort(KEYS)


def _decimal(units: pl.Expr, places: int) -> pl.Expr:
    return units.cast(pl.Decimal(38, 0)) * pl.lit(Decimal(1).scaleb(-places))

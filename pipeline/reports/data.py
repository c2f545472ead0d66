"""Weak-theme reports (SPEC §6 ``mastery report weak-themes``), read from ``user_theme_mastery``.

Reports never recompute: they show what the last run stored, joined with theme and block names
through the store's SQL (``sql/shared/report_*.sql``). Figures are exact because they are
compared with hand-worked values and between back ends: scores travel as integer units of
0.0001, and every mean, median and share is computed on integers and rounded once, half away
from zero, like the scores themselves (SPEC §4). The cohort view reads a histogram (rows per
theme, block and score) rather than every row, so its cost does not grow with the cohort.

*Scored* rows are those whose breakdown is not ``insufficient_attempts``; *below threshold*
means ``mastery_score < threshold``. Stale rows (no attempt left in the window) carry an
insufficient breakdown with ``actual: 0`` and are counted as insufficient.

JSON shape (``--format json``, :func:`as_json`); ``schema_version`` changes with any field::

    student view
    {"report": "weak-themes", "view": "student", "schema_version": 1,
     "user_id": "<uuid>", "threshold": 0.7,
     "scored": [                # weakest first: mastery_score ascending, then theme_id
       {"rank": 1, "theme_id": 10, "theme_title": "Fractions", "block_id": 1,
        "block_name": "Algebra", "mastery_score": 0.6666, "attempts": 6, "correct": 4,
        "below_threshold": true,
        "buckets": [{"days": 7, "attempts": 6, "correct": 4}, ...],      # narrowest first
        "explanation": "4 of 6 correct in the last 7 days, 4 of 6 in 30 days, ...",
        "last_attempt_at": "2026-11-23T00:00:00Z"}],
     "insufficient": [          # by theme_id
       {"theme_id": 11, "theme_title": "Triangles", "block_id": 2, "block_name": "Geometry",
        "attempts": 3, "required": 5, "explanation": "needs 5 attempts, has 3",
        "last_attempt_at": "2026-11-05T00:00:00Z"}]}

    cohort view
    {"report": "weak-themes", "view": "cohort", "schema_version": 1, "threshold": 0.7,
     "themes": [                # weakest first: mean_mastery ascending (null last), theme_id
       {"theme_id": 10, "theme_title": "Fractions", "block_id": 1, "block_name": "Algebra",
        "students_scored": 2, "mean_mastery": 0.4333, "median_mastery": 0.4333,
        "students_below_threshold": 2, "share_below_threshold_pct": 100,
        "students_insufficient": 0}],
     "blocks": [                # same order, over the rows stored under each block
       {"block_id": 1, "block_name": "Algebra", "themes": 1, "rows_scored": 2,
        "mean_mastery": 0.4333, "median_mastery": 0.4333, "rows_below_threshold": 2,
        "share_below_threshold_pct": 100, "rows_insufficient": 0}]}

Numbers are plain JSON numbers without trailing zeros (``0.2``, not ``"0.2000"``; ``100`` for
100.0 %); a mean, median or share over no scored rows is ``null``. A theme's ``block_*`` is
its current block in ``themes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.scope import checked_user
from pipeline.io.store import Store, open_store
from pipeline.io.url import DatabaseUrl

SCHEMA_VERSION = 1
SCORE_SCALE = 10_000
DEFAULT_THRESHOLD = Decimal("0.7")
REPORT_TABLES = ("users", "blocks", "themes", "user_theme_mastery")
Url = str | DatabaseUrl | None


@dataclass(frozen=True)
class StudentReport:
    """One student's scored themes (weakest first) and the themes still short of attempts."""

    user_id: str
    threshold: Decimal
    scored: pl.DataFrame
    insufficient: pl.DataFrame


@dataclass(frozen=True)
class CohortReport:
    """Per theme and per block: how many are scored, their mean/median, and how many lag."""

    threshold: Decimal
    themes: pl.DataFrame
    blocks: pl.DataFrame


Report = StudentReport | CohortReport


def weak_themes(
    database_url: Url = None,
    *,
    user_id: str | None = None,
    threshold: Decimal | float | str = DEFAULT_THRESHOLD,
) -> Report:
    """The student view for ``user_id``, else the cohort view."""
    if user_id is None:
        return cohort_report(database_url, threshold=threshold)
    return student_report(database_url, user_id, threshold=threshold)


def student_report(
    database_url: Url, user_id: str, *, threshold: Decimal | float | str = DEFAULT_THRESHOLD
) -> StudentReport:
    user, limit = checked_user(user_id), parse_threshold(threshold)
    with open_store(database_url) as store:
        store.require_tables(REPORT_TABLES)
        if not store.fetch_frame("report_user_known", {"user_id": user}).item():
            raise MasteryError(f"unknown user {user}: not in users")
        rows = read_frame(store, "report_student_rows", {"user_id": user})
    if rows.is_empty():
        raise MasteryError(
            f"user {user} has no mastery rows: no attempts in the window of any recompute yet"
        )
    rows = rows.with_columns(_utc("last_attempt_at"), pl.col("insufficient").cast(pl.Boolean))
    names = ("theme_id", "theme_title", "block_id", "block_name")
    scored = rows.filter(~pl.col("insufficient")).sort("mastery_units", "theme_id")
    explained = [explain_breakdown(json.loads(text)) for text in scored["breakdown_json"]]
    scored = scored.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"),
        *_ints(names),
        mastery_score=units_to_decimal(pl.col("mastery_units"), 4, 6),
        attempts=pl.col("attempts_total").cast(pl.Int64),
        correct=pl.col("correct_total").cast(pl.Int64),
        below_threshold=pl.col("mastery_units") < threshold_units(limit),
        buckets=pl.Series([b for b, _ in explained], dtype=BUCKETS_DTYPE),
        explanation=pl.Series([text for _, text in explained], dtype=pl.String),
        last_attempt_at=pl.col("last_attempt_at"),
    )
    short = rows.filter(pl.col("insufficient")).sort("theme_id")
    short = short.select(
        *_ints(names),
        attempts=pl.col("attempts_total").cast(pl.Int64),
        required=pl.col("required_attempts").cast(pl.Int64),
        explanation=pl.format(
            "needs {} attempts, has {}", pl.col("required_attempts"), pl.col("attempts_total")
        ),
        last_attempt_at=pl.col("last_attempt_at"),
    )
    return StudentReport(user_id=user, threshold=limit, scored=scored, insufficient=short)


BUCKETS_DTYPE = pl.List(pl.Struct({"days": pl.Int64, "attempts": pl.Int64, "correct": pl.Int64}))


def explain_breakdown(breakdown: dict[str, Any]) -> tuple[list[dict[str, int]], str]:
    """Buckets narrowest first and the sentence a teacher reads.

    ``"2 of 3 correct in the last 7 days, 4 of 5 in 30 days, 9 of 12 in 90 days"``; an empty
    bucket reads ``"no attempts in the last 7 days"``. Key order does not matter (jsonb).
    """
    buckets = sorted(
        (
            {
                "days": int(label.removesuffix("d")),
                "attempts": b["attempts"],
                "correct": b["correct"],
            }
            for label, b in breakdown["buckets"].items()
        ),
        key=lambda b: b["days"],
    )
    parts: list[str] = []
    for bucket in buckets:
        span = f"{bucket['days']} day{'' if bucket['days'] == 1 else 's'}"
        if not bucket["attempts"]:
            parts.append(f"no attempts in the last {span}")
        elif any(" correct in the last " in part for part in parts):
            parts.append(f"{bucket['correct']} of {bucket['attempts']} in {span}")
        else:
            parts.append(f"{bucket['correct']} of {bucket['attempts']} correct in the last {span}")
    text = ", ".join(parts)
    if breakdown.get("use_difficulty"):
        text += " (accuracy weighted by question difficulty)"
    return buckets, text


def cohort_report(
    database_url: Url = None, *, threshold: Decimal | float | str = DEFAULT_THRESHOLD
) -> CohortReport:
    limit = parse_threshold(threshold)
    with open_store(database_url) as store:
        store.require_tables(REPORT_TABLES)
        histogram = read_frame(store, "report_cohort_histogram")
        themes = read_frame(store, "report_theme_catalog")
        blocks = read_frame(store, "report_block_catalog")
    histogram = histogram.cast(
        {"theme_id": pl.Int64, "block_id": pl.Int64, "mastery_units": pl.Int64, "n": pl.Int64}
    ).with_columns(pl.col("insufficient").cast(pl.Boolean))
    themes = themes.cast({"theme_id": pl.Int64, "block_id": pl.Int64})
    blocks = blocks.cast({"block_id": pl.Int64})
    by_theme = (
        summarize(histogram, "theme_id", limit)
        .join(themes, on="theme_id", how="left")
        .select("theme_id", "theme_title", "block_id", "block_name", *_FIGURES)
        .rename({n: n.replace("rows", "students") for n in _FIGURES if "rows" in n})
    )
    theme_counts = histogram.group_by("block_id").agg(themes=pl.col("theme_id").n_unique())
    by_block = (
        summarize(histogram, "block_id", limit)
        .join(blocks, on="block_id", how="left")
        .join(theme_counts, on="block_id", how="left")
        .select("block_id", "block_name", pl.col("themes").cast(pl.Int64), *_FIGURES)
    )
    return CohortReport(threshold=limit, themes=by_theme, blocks=by_block)


_FIGURES = (
    "rows_scored",
    "mean_mastery",
    "median_mastery",
    "rows_below_threshold",
    "share_below_threshold_pct",
    "rows_insufficient",
)


def summarize(histogram: pl.DataFrame, key: str, threshold: Decimal) -> pl.DataFrame:
    """Exact figures per ``key`` from ``(key, mastery_units, insufficient, n)`` counts.

    mean = round(Σ units / scored), median = round(middle value or mean of the two middle
    values), share = round(1000 · below / scored) tenths of a percent: integers, one rounding
    half away from zero (all values are non-negative, so ``(2p + q) // 2q``). Weakest first.
    """
    scored = (
        histogram.filter(~pl.col("insufficient"))
        .sort(key, "mastery_units")
        .with_columns(
            before=pl.col("n").cum_sum().over(key) - pl.col("n"),
            total=pl.col("n").sum().over(key),
        )
    )
    below = pl.col("mastery_units") < threshold_units(threshold)
    # the k-th smallest (0-based) is the value whose run of n rows covers position k
    covers = (pl.col("before") <= pl.col("k")) & (pl.col("k") < pl.col("before") + pl.col("n"))
    middle = [
        scored.with_columns(k=position).filter(covers).select(key, pl.col("mastery_units"))
        for position in ((pl.col("total") - 1) // 2, pl.col("total") // 2)
    ]
    medians = (
        middle[0]
        .join(middle[1], on=key, suffix="_hi")
        .select(key, half_sum=pl.col("mastery_units") + pl.col("mastery_units_hi"))
    )
    figures = scored.group_by(key).agg(
        rows_scored=pl.col("n").sum(),
        unit_sum=(pl.col("mastery_units") * pl.col("n")).sum(),
        rows_below_threshold=pl.col("n").filter(below).sum(),
    )
    short = (
        histogram.filter(pl.col("insufficient"))
        .group_by(key)
        .agg(rows_insufficient=pl.col("n").sum())
    )
    count = pl.col("rows_scored")
    return (
        histogram.select(key)
        .unique()
        .join(figures, on=key, how="left")
        .join(medians, on=key, how="left")
        .join(short, on=key, how="left")
        .with_columns(
            pl.col("rows_scored", "rows_below_threshold", "rows_insufficient").fill_null(0),
            mean_units=_rounded_ratio(pl.col("unit_sum"), count),
            median_units=_rounded_ratio(pl.col("half_sum"), pl.lit(2)),
            share_tenths=_rounded_ratio(1000 * pl.col("rows_below_threshold"), count),
        )
        .sort(pl.col("mean_units"), key, nulls_last=True)
        .select(
            key,
            pl.col("rows_scored").cast(pl.Int64),
            mean_mastery=units_to_decimal(pl.col("mean_units"), 4, 6),
            median_mastery=units_to_decimal(pl.col("median_units"), 4, 6),
            rows_below_threshold=pl.col("rows_below_threshold").cast(pl.Int64),
            share_below_threshold_pct=units_to_decimal(pl.col("share_tenths"), 1, 4),
            rows_insufficient=pl.col("rows_insufficient").cast(pl.Int64),
        )
    )


def _rounded_ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """round(p / q) half away from zero for p >= 0, q > 0; null when q is 0 or null."""
    rounded = (2 * numerator + denominator) // (2 * denominator)
    return pl.when(denominator > 0).then(rounded).otherwise(None)


def units_to_decimal(units: pl.Expr, places: int, precision: int) -> pl.Expr:
    """Non-negative integer units of ``10**-places`` as an exact Decimal (via its text)."""
    scale = 10**places
    text = pl.format("{}.{}", units // scale, (units % scale).cast(pl.String).str.zfill(places))
    return text.cast(pl.Decimal(precision, places))


def load_mastery(database_url: Url = None) -> pl.DataFrame:
    """Every stored mastery row with theme and block names (for notebooks), scores as Decimal."""
    with open_store(database_url) as store:
        store.require_tables(REPORT_TABLES)
        rows = read_frame(store, "report_mastery_rows")
    return rows.select(
        "user_id",
        *_ints(("theme_id", "theme_title", "block_id", "block_name")),
        pl.col("attempts_total", "correct_total").cast(pl.Int64),
        mastery_score=units_to_decimal(pl.col("mastery_units"), 4, 6),
        insufficient=pl.col("insufficient").cast(pl.Boolean),
        last_attempt_at=_utc("last_attempt_at"),
    ).sort("user_id", "theme_id")


def last_run_as_of(database_url: Url = None) -> datetime | None:
    """``as_of`` of the latest successful all-users run, or None before the first one."""
    with open_store(database_url) as store:
        store.require_tables(("algo_runs",))
        found = store.fetch_frame("report_last_cohort_run")
    if found.is_empty():
        return None
    return datetime.fromisoformat(json.loads(found.item())["as_of"])


def read_frame(store: Store, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """A report query as Arrow columns on both back ends (ADBC on Postgres, not Python tuples)."""
    return store.fetch_arrow(name, params)


def parse_threshold(value: Decimal | float | str) -> Decimal:
    """The threshold as an exact decimal in [0, 1] (a float is read as its shortest repr)."""
    try:
        limit = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise MasteryError(f"threshold {value!r} is not a number") from None
    if not limit.is_finite() or not Decimal(0) <= limit <= Decimal(1):
        raise MasteryError(f"threshold {value} must be between 0 and 1")
    return limit


def threshold_units(threshold: Decimal) -> int:
    """Scores are whole units of 0.0001, so ``units < ceil(threshold * 10000)`` is exact."""
    return int((threshold * SCORE_SCALE).to_integral_value(rounding=ROUND_CEILING))


def as_json(report: Report) -> dict[str, Any]:
    """The documented JSON shape (module docstring): Decimals stay Decimals until dumped."""
    if isinstance(report, StudentReport):
        return _head("student") | {
            "user_id": report.user_id,
            "threshold": report.threshold,
            "scored": [_plain(row) for row in report.scored.iter_rows(named=True)],
            "insufficient": [_plain(row) for row in report.insufficient.iter_rows(named=True)],
        }
    return _head("cohort") | {
        "threshold": report.threshold,
        "themes": report.themes.to_dicts(),
        "blocks": report.blocks.to_dicts(),
    }


def _head(view: str) -> dict[str, Any]:
    return {"report": "weak-themes", "view": view, "schema_version": SCHEMA_VERSION}


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    moment = row.get("last_attempt_at")
    if isinstance(moment, datetime):
        row["last_attempt_at"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return row


def _ints(names: tuple[str, ...]) -> list[pl.Expr]:
    return [pl.col(n).cast(pl.Int64) if n.endswith("_id") else pl.col(n) for n in names]


def _utc(name: str) -> pl.Expr:
    """Back ends hand timestamptz over in their session zone; reports speak UTC."""
    return pl.col(name).cast(pl.Datetime("us", "UTC"))

"""Weak-theme reports (SPEC §6 ``mastery report weak-themes``), read from ``user_theme_mastery``.

Reports never recompute: they show what the runs stored, joined with theme, block and student
names through the store's SQL (``sql/shared/report_*.sql``), under a header naming the run(s),
``as_of``, algorithm and params behind the rows (:mod:`pipeline.reports.source`), with a
warning when those are not the active ones. Each row has a state (:mod:`pipeline.reports.states`):
weak, not practised lately, not enough evidence, or at or above the threshold ("ok"); states
are never sorted together. Figures are exact: scores travel as integer units of 0.0001, and
every mean, median and share is computed on integers and rounded once, half away from zero
(:mod:`pipeline.reports.figures`). Opening a report never creates a DuckDB file.

JSON shape (``--format json``, :func:`as_json`); ``schema_version`` changes with any field::

    both views
    {"report": "weak-themes", "view": "student" | "cohort", "schema_version": 2,
     "threshold": 0.7,
     "source": {"as_of": "2026-11-25T00:00:00Z", "oldest_as_of": "...", "run_id": "<uuid>",
                "runs": 1, "rows": 3, "algorithm": "v0", "params_id": "<uuid>",
                "params_checksum": "<sha256>", "active_algorithm": "v0",
                "active_params_id": "<uuid>", "active_params_checksum": "<sha256>"},
     "warnings": ["3 of 3 rows were computed with v0 params ab01e73aae67, not the active ..."]}

    student view, besides
    {"user_id": "<uuid>", "user_email": "alice@example.org", "user_label": "alice@example.org",
     "themes": [                # by state (weak, not_practised_lately, not_enough_evidence,
                                # ok), then mastery_score ascending, then theme_id
       {"rank": 1, "state": "weak", "theme_id": 10, "theme_title": "Fractions",
        "block_id": 1, "block_name": "Algebra", "mastery_score": 0.6666,
        "interval": null,       # [low, high] when the breakdown carries one
        "attempts": 6, "correct": 4, "required": null, "below_threshold": true,
        "buckets": [{"days": 7, "attempts": 6, "correct": 4}, ...],      # narrowest first
        "explanation": "4 of 6 correct in the last 7 days, 4 of 6 in 30 days, ...",
        "last_attempt_at": "2026-11-23T00:00:00Z"}]}
    (a row short of attempts has "mastery_score": null, "required": 5, "below_threshold": null)

    cohort view, besides
    {"students_without_attempts": 1,   # students in users with no row holding an attempt
     "themes": [                # weakest first: mean_mastery ascending (null last), theme_id
       {"theme_id": 10, "theme_title": "Fractions", "block_id": 1, "block_name": "Algebra",
        "students_scored": 2, "mean_mastery": 0.4333, "median_mastery": 0.4333,
        "students_below_threshold": 2, "share_below_threshold_pct": 100,
        "students_weak": 1, "students_not_practised_lately": 1, "students_insufficient": 0}],
     "blocks": [                # same order, over the rows stored under each block
       {"block_id": 1, "block_name": "Algebra", "themes": 1, "rows_scored": 2,
        "mean_mastery": 0.4333, "median_mastery": 0.4333, "rows_below_threshold": 2,
        "share_below_threshold_pct": 100, "rows_weak": 1, "rows_not_practised_lately": 1,
        "rows_insufficient": 0}]}

*Scored* rows have enough evidence (they include rows not practised lately, whose capped
score is what is stored); ``*_insufficient`` counts the rows with not enough evidence; *below
threshold* means ``mastery_score < threshold``. Numbers are plain JSON numbers without trailing
zeros (``0.2``, not ``"0.2000"``; ``100`` for 100.0 %); a mean, median or share over no scored
rows is ``null``. A theme's ``block_*`` is its current block in ``themes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.scope import checked_user
from pipeline.io.store import Store, open_store
from pipeline.io.url import DatabaseUrl, resolve_database_url
from pipeline.reports.exclusions import student_exclusion_notes
from pipeline.reports.figures import spread, summarize, threshold_units, units_to_decimal
from pipeline.reports.runs import iso_utc
from pipeline.reports.source import ReportSource, read_source
from pipeline.reports.states import (
    MAX_INTERVAL_WIDTH,
    STATE_ORDER,
    explain_breakdown,
    read_breakdown,
    state_of,
)

__all__ = [
    "CohortReport",
    "Report",
    "StudentReport",
    "as_json",
    "cohort_report",
    "explain_breakdown",
    "load_mastery",
    "parse_threshold",
    "student_report",
    "summarize",
    "threshold_units",
    "weak_themes",
]

SCHEMA_VERSION = 2
DEFAULT_THRESHOLD = Decimal("0.7")
LABELS = ("email", "id")
REPORT_TABLES = ("users", "blocks", "themes", "user_theme_mastery", "algo_runs", "algo_params")
Url = str | DatabaseUrl | None


@dataclass(frozen=True)
class StudentReport:
    """One student's themes, grouped by state (``rows``), under the header of their runs."""

    user_id: str
    threshold: Decimal
    rows: pl.DataFrame
    user_email: str | None = None
    label: str = "email"
    source: ReportSource | None = None

    @property
    def user_label(self) -> str:
        """How the report names the student: the email (``label="email"``) or the id."""
        return self.user_email if self.label == "email" and self.user_email else self.user_id


@dataclass(frozen=True)
class CohortReport:
    """Per theme and per block: how many are scored, their mean/median, and each state's count.

    ``spread`` (per theme: min, p25, median, p75, max of the scored rows) feeds the chart."""

    threshold: Decimal
    themes: pl.DataFrame
    blocks: pl.DataFrame
    spread: pl.DataFrame | None = None
    source: ReportSource | None = None
    students_without_attempts: int | None = None


Report = StudentReport | CohortReport


def weak_themes(
    database_url: Url = None,
    *,
    user_id: str | None = None,
    threshold: Decimal | float | str = DEFAULT_THRESHOLD,
    label: str = "email",
) -> Report:
    """The student view for ``user_id`` (a UUID or an email), else the cohort view."""
    if user_id is None:
        return cohort_report(database_url, threshold=threshold)
    return student_report(database_url, user_id, threshold=threshold, label=label)


def student_report(
    database_url: Url,
    user_id: str,
    *,
    threshold: Decimal | float | str = DEFAULT_THRESHOLD,
    label: str = "email",
) -> StudentReport:
    limit = parse_threshold(threshold)
    if label not in LABELS:
        raise MasteryError(f"unknown label {label!r}: use email or id")
    with open_existing(database_url) as store:
        store.require_tables(REPORT_TABLES)
        user, email = _find_user(store, user_id)
        rows = read_frame(store, "report_student_rows", {"user_id": user})
        source = read_source(store, user)
        excluded = tuple(student_exclusion_notes(store, user))
        if excluded:  # evidence left out of the runs is said beside the header
            source = replace(source, warnings=(*source.warnings, *excluded))
    if rows.is_empty():
        raise MasteryError(
            f"user {email or user} has no mastery rows: no attempts in the window of any"
            " recompute yet"
        )
    return StudentReport(user, limit, student_rows(rows, limit), email, label, source)


def student_rows(rows: pl.DataFrame, threshold: Decimal) -> pl.DataFrame:
    """The stored rows of one student, with state, interval and words, grouped by state."""
    readings = [read_breakdown(json.loads(text)) for text in rows["breakdown_json"]]
    below = (rows["mastery_units"] < threshold_units(threshold)).to_list()
    states = [state_of(r.evidence, b) for r, b in zip(readings, below, strict=True)]
    intervals = [None if r.interval is None else [float(v) for v in r.interval] for r in readings]
    unscored = pl.col("evidence") == "insufficient"
    ordered = rows.with_columns(
        _utc("last_attempt_at"),
        state=pl.Series(states, dtype=pl.String),
        evidence=pl.Series([r.evidence for r in readings], dtype=pl.String),
        rank_of_state=pl.Series([STATE_ORDER.index(s) for s in states], dtype=pl.Int32),
        interval=pl.Series(intervals, dtype=pl.List(pl.Float64)),
        buckets=pl.Series([r.buckets for r in readings], dtype=BUCKETS_DTYPE),
        explanation=pl.Series([r.explanation for r in readings], dtype=pl.String),
    ).sort("rank_of_state", "mastery_units", "theme_id")
    return ordered.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("rank"),
        "state",
        *_ints(("theme_id", "theme_title", "block_id", "block_name")),
        mastery_score=pl.when(unscored)
        .then(None)
        .otherwise(units_to_decimal(pl.col("mastery_units"), 4, 6)),
        interval=pl.col("interval"),
        attempts=pl.col("attempts_total").cast(pl.Int64),
        correct=pl.col("correct_total").cast(pl.Int64),
        required=pl.when(unscored).then(pl.col("required_attempts").cast(pl.Int64)),
        below_threshold=pl.when(unscored)
        .then(None)
        .otherwise(pl.col("mastery_units") < threshold_units(threshold)),
        buckets=pl.col("buckets"),
        explanation=pl.col("explanation"),
        last_attempt_at=pl.col("last_attempt_at"),
    )


BUCKETS_DTYPE = pl.List(pl.Struct({"days": pl.Int64, "attempts": pl.Int64, "correct": pl.Int64}))


def _find_user(store: Store, given: str) -> tuple[str, str | None]:
    """``(id, email)`` of the student named by a UUID or an email."""
    if "@" in given:
        found = store.fetch_one("report_user_by_email", {"email": given.strip()})
    else:
        found = store.fetch_one("report_user", {"user_id": checked_user(given)})
    if found is None:
        shown = given.strip() if "@" in given else checked_user(given)
        raise MasteryError(f"unknown user {shown}: not in users")
    return str(found[0]), None if found[1] is None else str(found[1])


def cohort_report(
    database_url: Url = None, *, threshold: Decimal | float | str = DEFAULT_THRESHOLD
) -> CohortReport:
    limit = parse_threshold(threshold)
    with open_existing(database_url) as store:
        store.require_tables(REPORT_TABLES)
        histogram = read_frame(
            store, "report_cohort_histogram", {"max_interval_width": str(MAX_INTERVAL_WIDTH)}
        )
        themes = read_frame(store, "report_theme_catalog")
        blocks = read_frame(store, "report_block_catalog")
        source = read_source(store)
        idle = store.fetch_one("report_students_without_attempts", {"role": "STUDENT"})
    histogram = histogram.cast(
        {"theme_id": pl.Int64, "block_id": pl.Int64, "mastery_units": pl.Int64, "n": pl.Int64}
    )
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
    return CohortReport(
        threshold=limit,
        themes=by_theme,
        blocks=by_block,
        spread=spread(histogram, "theme_id"),
        source=source,
        students_without_attempts=0 if idle is None else int(idle[0]),
    )


_FIGURES = (
    "rows_scored",
    "mean_mastery",
    "median_mastery",
    "rows_below_threshold",
    "share_below_threshold_pct",
    "rows_weak",
    "rows_not_practised_lately",
    "rows_insufficient",
)


def load_mastery(database_url: Url = None) -> pl.DataFrame:
    """Every stored mastery row with theme and block names (for notebooks), scores as Decimal."""
    with open_existing(database_url) as store:
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
    with open_existing(database_url) as store:
        store.require_tables(("algo_runs",))
        found = store.fetch_frame("report_last_cohort_run")
    if found.is_empty():
        return None
    return datetime.fromisoformat(json.loads(found.item())["as_of"])


def open_existing(database_url: Url) -> Store:
    """Open a store to read: a DuckDB path that does not exist is an error, never a new file."""
    url = (
        database_url
        if isinstance(database_url, DatabaseUrl)
        else resolve_database_url(database_url)
    )
    if url.kind == "duckdb" and not url.duckdb_path.is_file():
        raise MasteryError(f"no such DuckDB file: {url.duckdb_path}")
    return open_store(url)


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


def warnings_of(report: Report) -> tuple[str, ...]:
    return () if report.source is None else report.source.warnings


def as_json(report: Report) -> dict[str, Any]:
    """The documented JSON shape (module docstring): Decimals stay Decimals until dumped."""
    head = {
        "report": "weak-themes",
        "view": "student" if isinstance(report, StudentReport) else "cohort",
        "schema_version": SCHEMA_VERSION,
        "threshold": report.threshold,
        "source": (report.source or ReportSource()).as_json(),
        "warnings": list(warnings_of(report)),
    }
    if isinstance(report, StudentReport):
        return head | {
            "user_id": report.user_id,
            "user_email": report.user_email,
            "user_label": report.user_label,
            "themes": [_plain(row) for row in report.rows.iter_rows(named=True)],
        }
    return head | {
        "students_without_attempts": report.students_without_attempts,
        "themes": report.themes.to_dicts(),
        "blocks": report.blocks.to_dicts(),
    }


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    moment = row.get("last_attempt_at")
    if isinstance(moment, datetime):
        row["last_attempt_at"] = iso_utc(moment)
    return row


def _ints(names: tuple[str, ...]) -> list[pl.Expr]:
    return [pl.col(n).cast(pl.Int64) if n.endswith("_id") else pl.col(n) for n in names]


def _utc(name: str) -> pl.Expr:
    """Back ends hand timestamptz over in their session zone; reports speak UTC."""
    return pl.col(name).cast(pl.Datetime("us", "UTC"))

"""Growth view (issue 18): a student's themes over time and a theme's distribution over time,
read from a ``mastery history`` Parquet file (``pipeline.kernel.history.HISTORY_SCHEMA``).

Each history row gets the state every report gives a stored row (:mod:`pipeline.reports.states`:
its breakdown read by :func:`~pipeline.reports.states.read_breakdown`, once per distinct
breakdown): a score is only drawn for rows with enough evidence, and the three states (weak,
not practised lately, not enough evidence) are counted and shown apart, never pooled. A theme's
figures per date (scored students, mean, median, quartiles, counts per state) come from the
exact histogram code of the cohort report (:mod:`pipeline.reports.figures`) keyed by ``as_of``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.reports.figures import SCORE_SCALE, spread, summarize, threshold_units
from pipeline.reports.figures import units_to_decimal as to_decimal
from pipeline.reports.runs import iso_utc
from pipeline.reports.states import NOT_ENOUGH, STATE_ORDER, plain, read_breakdown, state_of

HISTORY_COLUMNS = ("as_of", "user_id", "theme_id", "mastery_score", "breakdown_json")
THEME_FIGURES = (
    "rows_scored",
    "mean_mastery",
    "median_mastery",
    "rows_below_threshold",
    "rows_weak",
    "rows_not_practised_lately",
    "rows_insufficient",
)
QUARTILES = ("min", "p25", "median", "p75", "max")


@dataclass(frozen=True)
class GrowthReport:
    """``student``: per (theme_id, as_of) the student's score (null without enough evidence)
    and state; ``themes``: per (theme_id, as_of) the scored students' figures and quartiles
    and each state's count. Either is None when not asked for."""

    threshold: Decimal
    dates: list[Any]
    user_id: str | None = None
    student: pl.DataFrame | None = None
    themes: pl.DataFrame | None = None


def read_history(path: Path) -> pl.DataFrame:
    """The columns the view needs from a history file, or a clear error."""
    try:
        frame = pl.read_parquet(path, columns=list(HISTORY_COLUMNS))
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise MasteryError(f"cannot read history file {path}: {exc}") from None
    return frame.with_columns(pl.col("as_of").cast(pl.Datetime("us", "UTC")))


def with_states(rows: pl.DataFrame, threshold: Decimal) -> pl.DataFrame:
    """``rows`` plus ``mastery_units``, ``evidence`` and ``state`` (each distinct breakdown
    read once by the reports' own reader)."""
    texts = rows["breakdown_json"].unique()
    evidence = pl.DataFrame(
        {
            "breakdown_json": texts,
            "evidence": [read_breakdown(json.loads(t)).evidence for t in texts],
        },
        schema={"breakdown_json": pl.String, "evidence": pl.String},
    )
    read = rows.with_columns(
        mastery_units=(pl.col("mastery_score").cast(pl.Float64) * SCORE_SCALE)
        .round()
        .cast(pl.Int64)
    ).join(evidence, on="breakdown_json", how="left")
    below = (read["mastery_units"] < threshold_units(threshold)).to_list()
    states = [state_of(e, b) for e, b in zip(read["evidence"], below, strict=True)]
    return read.with_columns(state=pl.Series(states, dtype=pl.String))


def growth_report(
    history: pl.DataFrame,
    threshold: Decimal,
    *,
    user_id: str | None = None,
    theme_ids: Sequence[int] = (),
) -> GrowthReport:
    """The student view (``user_id``) and/or the theme view (``theme_ids``) of ``history``;
    with both, the student view keeps only those themes."""
    if user_id is None and not theme_ids:
        raise MasteryError("give --user UUID (a student's themes) and/or --theme ID")
    dates = history["as_of"].unique().sort().to_list()
    student = themes = None
    if user_id is not None:
        own = history.filter(pl.col("user_id") == user_id)
        if theme_ids:
            own = own.filter(pl.col("theme_id").is_in(list(theme_ids)))
        if own.is_empty():
            raise MasteryError(f"user {user_id} has no rows in the history file")
        student = _student(with_states(own, threshold))
    if theme_ids:
        chosen = history.filter(pl.col("theme_id").is_in(list(theme_ids)))
        missing = sorted(set(theme_ids) - set(chosen["theme_id"].unique().to_list()))
        if missing:
            raise MasteryError(f"theme {missing[0]} has no rows in the history file")
        themes = _themes(with_states(chosen, threshold), threshold)
    return GrowthReport(threshold, dates, user_id, student, themes)


def _student(rows: pl.DataFrame) -> pl.DataFrame:
    scored = pl.col("state") != NOT_ENOUGH
    return rows.sort("theme_id", "as_of").select(
        "theme_id",
        "as_of",
        pl.when(scored).then(to_decimal(pl.col("mastery_units"), 4, 6)).alias("mastery_score"),
        "state",
    )


def _themes(rows: pl.DataFrame, threshold: Decimal) -> pl.DataFrame:
    """Per theme and date: :func:`summarize` and :func:`spread` keyed by ``as_of``."""
    parts = []
    for (theme,), own in rows.partition_by("theme_id", as_dict=True).items():
        histogram = own.group_by("as_of", "mastery_units", "evidence").agg(n=pl.len())
        figures = summarize(histogram, "as_of", threshold).join(
            spread(histogram, "as_of"), on="as_of", how="left"
        )
        parts.append(figures.with_columns(theme_id=pl.lit(theme, dtype=pl.Int32)))
    joined = pl.concat(parts, how="vertical_relaxed")
    return joined.select("theme_id", "as_of", *THEME_FIGURES, *QUARTILES).sort("theme_id", "as_of")


def growth_json(report: GrowthReport) -> dict[str, Any]:
    """Plain JSON: dates as ISO instants, scores as exact decimals until dumped."""

    def dicts(frame: pl.DataFrame | None) -> list[dict[str, Any]] | None:
        if frame is None:
            return None
        return [row | {"as_of": iso_utc(row["as_of"])} for row in frame.iter_rows(named=True)]

    return {
        "report": "growth",
        "threshold": report.threshold,
        "dates": [iso_utc(d) for d in report.dates],
        "user_id": report.user_id,
        "student": dicts(report.student),
        "themes": dicts(report.themes),
        "states": list(STATE_ORDER),
    }


_STATE_CLASS = {state: state.replace("_", "-") for state in STATE_ORDER}
_THEME_COLUMNS = (
    ("As of", "as_of"),
    ("Students scored", "rows_scored"),
    ("Lowest", "min"),
    ("p25", "p25"),
    ("Median", "median_mastery"),
    ("p75", "p75"),
    ("Highest", "max"),
    ("Mean", "mean_mastery"),
    ("Weak", "rows_weak"),
    ("Not practised lately", "rows_not_practised_lately"),
    ("Not enough evidence", "rows_insufficient"),
)


def render_growth(report: GrowthReport, fmt: str) -> str:
    """``json`` or one self-contained ``html`` page (inline SVG charts, no scripts)."""
    if fmt == "json":
        from pipeline.reports.render import json_number

        return json.dumps(growth_json(report), indent=2, default=json_number) + "\n"
    if fmt != "html":
        raise MasteryError(f"the growth view is html or json, not {fmt!r}")
    return _html(report)


def _html(report: GrowthReport) -> str:
    import html

    from pipeline.reports.chart import growth_student_svg, growth_theme_svg
    from pipeline.reports.render import STYLE
    from pipeline.reports.states import state_words

    limit = report.threshold
    first, last = (
        (iso_utc(report.dates[0]), iso_utc(report.dates[-1])) if report.dates else ("", "")
    )
    body = [
        "<h1>Mastery over time</h1>",
        f'<p class="source">{len(report.dates)} dates from {first} to {last}</p>',
        '<p class="note">Weak: enough evidence and a score below '
        f"{format(limit, 'f')}. Not practised lately: no attempt in the shortest recency window,"
        " so the score is capped. Not enough evidence: too few attempts to tell (no score is"
        " drawn).</p>",
    ]
    if report.student is not None:
        who = html.escape(report.user_id or "")
        body += [
            f'<h2 id="student">Themes of {who} over time</h2>',
            f'<figure id="student-chart">{growth_student_svg(report.student, limit, who)}</figure>',
            '<table><thead><tr><th>Theme</th><th>As of</th><th class="num">Score</th>'
            "<th>State</th></tr></thead><tbody>",
        ]
        for row in report.student.iter_rows(named=True):
            score = (
                "\N{EM DASH}" if row["mastery_score"] is None else format(row["mastery_score"], "f")
            )
            body.append(
                f'<tr class="{_STATE_CLASS[row["state"]]}"><td>#{row["theme_id"]}</td>'
                f'<td>{iso_utc(row["as_of"])}</td><td class="num">{score}</td>'
                f"<td>{html.escape(state_words(row['state'], limit))}</td></tr>"
            )
        body.append("</tbody></table>")
    for theme_id, figures in _by_theme(report.themes):
        body += [
            f'<h2 id="theme-{theme_id}">Theme #{theme_id} over time</h2>',
            f'<figure id="theme-{theme_id}-chart">{growth_theme_svg(figures, limit, theme_id)}'
            "</figure>",
            _theme_table(figures),
        ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Mastery over time</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _by_theme(themes: pl.DataFrame | None) -> list[tuple[int, pl.DataFrame]]:
    if themes is None:
        return []
    return [
        (int(theme), part)
        for (theme,), part in sorted(themes.partition_by("theme_id", as_dict=True).items())
    ]


def _theme_table(figures: pl.DataFrame) -> str:
    import html

    head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in _THEME_COLUMNS)
    lines = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for row in figures.iter_rows(named=True):
        cells = "".join(f'<td class="{name}">{_cell(row[name])}</td>' for _, name in _THEME_COLUMNS)
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "\N{EM DASH}"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return plain(Decimal(repr(round(value, 4))))
    if hasattr(value, "astimezone"):
        return str(iso_utc(value))
    return str(value)

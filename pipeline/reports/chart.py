"""The html report's chart: Altair rendered to inline SVG offline by ``vl_convert``.

Cohort view: one box per theme (weakest mean first) over its scored students: the box spans
the middle half (p25 to p75), the line the lowest to the highest score, the tick the median,
with the threshold as a dashed rule, so a reader sees the spread, not just "everyone is weak".
Student view: one bar per scored theme, coloured by state, with the breakdown's interval where
it carries one. Both titles carry the as_of date of the rows.
Growth view (:mod:`pipeline.reports.growth`): a student's scores per theme over the dates of a
history, each point coloured by state (a date without enough evidence draws no point), and a
theme's spread over the dates, drawn like the cohort boxes.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import polars as pl

from pipeline.reports.data import CohortReport, Report, StudentReport
from pipeline.reports.states import NOT_ENOUGH, NOT_PRACTISED, OK, WEAK, state_words

CHART_THEMES = 40  # the chart shows the weakest themes; the tables list them all
STATE_COLOURS = {WEAK: "#d6604d", NOT_PRACTISED: "#f4a582", NOT_ENOUGH: "#bababa", OK: "#4c78a8"}


def chart_svg(report: Report) -> str:
    """The chart of either view as SVG text, or a note when there is nothing to chart."""
    when = _date(report)
    if isinstance(report, StudentReport):
        return _student_chart(report, when)
    if report.spread is None:  # a CohortReport built by hand (notebooks): mean bars
        rows = report.themes.filter(pl.col("mean_mastery").is_not_null()).head(CHART_THEMES)
        points = [
            {"theme": _theme(r), "value": float(r["mean_mastery"]), "group": r["block_name"]}
            for r in rows.iter_rows(named=True)
        ]
        if not points:
            return _NOTHING
        title = f"Mean mastery per theme{when} (weakest first)"
        return bar_chart_svg(points, title=title, threshold=float(report.threshold))
    return _cohort_chart(report, when)


_NOTHING = '<p class="note">No scored themes to chart.</p>'


def _date(report: Report) -> str:
    moment = None if report.source is None else report.source.as_of
    return "" if moment is None else f", as of {moment:%Y-%m-%d}"


def _theme(row: dict[str, Any]) -> str:
    return f"{row['theme_title']} (#{row['theme_id']})"


def _cohort_chart(report: CohortReport, when: str) -> str:
    import altair as alt

    assert report.spread is not None
    rows = (
        report.themes.filter(pl.col("students_scored") > 0)
        .head(CHART_THEMES)
        .join(report.spread, on="theme_id", how="left", maintain_order="left")
    )
    data = [
        {"theme": _theme(r), "block": r["block_name"], "n": r["students_scored"]}
        | {k: r[k] for k in ("min", "p25", "median", "p75", "max")}
        for r in rows.iter_rows(named=True)
    ]
    if not data:
        return _NOTHING
    base = alt.Chart(pl.DataFrame(data, infer_schema_length=None)).encode(
        y=alt.Y("theme:N", sort=None, title=None, axis=alt.Axis(labelLimit=320))
    )
    scale = alt.Scale(domain=[0, 1])
    whisker = base.mark_rule(color="#57606a").encode(
        x=alt.X("min:Q", scale=scale, title="mastery of the scored students"), x2="max:Q"
    )
    box = base.mark_bar(size=18).encode(
        x="p25:Q",
        x2="p75:Q",
        color=alt.Color("block:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["theme:N", "n:Q", "min:Q", "p25:Q", "median:Q", "p75:Q", "max:Q"],
    )
    median = base.mark_tick(color="#1f2328", thickness=2, size=18).encode(x="median:Q")
    title = alt.TitleParams(
        f"Mastery spread per theme{when} (weakest mean first)",
        subtitle="box: middle half of the scored students; line: lowest to highest; tick: "
        f"median; dashed: threshold {format(report.threshold, 'f')}",
        anchor="start",
    )
    chart = (whisker + box + median + _threshold_rule(float(report.threshold))).properties(
        width=560, height=max(60, 26 * len(data)), title=title
    )
    return svg_of(chart)


def _student_chart(report: StudentReport, when: str) -> str:
    import altair as alt

    rows = report.rows.filter(pl.col("mastery_score").is_not_null()).head(CHART_THEMES)
    data = [
        {
            "theme": _theme(r),
            "value": float(r["mastery_score"]),
            "state": state_words(r["state"], report.threshold),
            "low": r["interval"][0] if r["interval"] else None,
            "high": r["interval"][1] if r["interval"] else None,
        }
        for r in rows.iter_rows(named=True)
    ]
    if not data:
        return _NOTHING
    colours = {state_words(k, report.threshold): v for k, v in STATE_COLOURS.items()}
    frame = pl.DataFrame(data, schema_overrides={"low": pl.Float64, "high": pl.Float64})
    base = alt.Chart(frame).encode(
        y=alt.Y("theme:N", sort=None, title=None, axis=alt.Axis(labelLimit=320))
    )
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1]), title="mastery"),
        color=alt.Color(
            "state:N",
            title=None,
            scale=alt.Scale(domain=list(colours), range=list(colours.values())),
            legend=alt.Legend(orient="bottom"),
        ),
    )
    layers = bars + _threshold_rule(float(report.threshold))
    if frame["low"].is_not_null().any():
        spans = base.transform_filter("datum.low != null").mark_rule(color="#1f2328")
        layers += spans.encode(x="low:Q", x2="high:Q")
    title = alt.TitleParams(
        f"Mastery per theme of {report.user_label}{when} (by state, weakest first)",
        anchor="start",
    )
    chart = layers.properties(width=560, height=max(60, 18 * len(data)), title=title)
    return svg_of(chart)


def _threshold_rule(threshold: float) -> Any:
    import altair as alt

    return alt.Chart().mark_rule(color="#a40e26", strokeDash=[4, 3]).encode(x=alt.datum(threshold))


def bar_chart_svg(
    points: Iterable[dict[str, Any]],
    *,
    title: str,
    threshold: float,
    colours: dict[str, str] | None = None,
) -> str:
    """Horizontal bars (``theme``, ``value`` in [0, 1], ``group`` colour) and a threshold rule."""
    import altair as alt

    data = list(points)
    scale = (
        alt.Scale(domain=list(colours), range=list(colours.values())) if colours else alt.Undefined
    )
    bars = (
        alt.Chart(pl.DataFrame(data, infer_schema_length=None))
        .mark_bar()
        .encode(
            x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1]), title="mastery"),
            y=alt.Y("theme:N", sort=None, title=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color("group:N", title=None, scale=scale, legend=alt.Legend(orient="bottom")),
        )
    )
    chart = (bars + _threshold_rule(threshold)).properties(
        width=560, height=max(60, 18 * len(data)), title=title
    )
    return svg_of(chart)


def svg_of(chart: Any) -> str:
    """Render an Altair chart to SVG text offline (no browser, no network)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart.to_json()))


def growth_student_svg(rows: pl.DataFrame, threshold: Decimal, who: str) -> str:
    """A student's themes over time: one line per theme through its scored dates, each point
    coloured by state; a date without enough evidence has no point (it is no score of 0)."""
    import altair as alt

    drawn = rows.filter(pl.col("mastery_score").is_not_null())
    if drawn.is_empty():
        return '<p class="note">No date has enough evidence to draw a score.</p>'
    colours = {state_words(k, threshold): v for k, v in STATE_COLOURS.items()}
    frame = drawn.select(
        pl.format("theme #{}", "theme_id").alias("theme"),
        pl.col("as_of").dt.replace_time_zone(None).alias("as_of"),
        pl.col("mastery_score").cast(pl.Float64).alias("value"),
        pl.col("state").replace_strict(
            {k: state_words(k, threshold) for k in STATE_COLOURS}, return_dtype=pl.String
        ),
    )
    base = alt.Chart(frame).encode(
        x=alt.X("as_of:T", title="as of"),
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title="mastery"),
    )
    lines = base.mark_line(color="#8c959f").encode(detail="theme:N")
    points = base.mark_point(filled=True, size=70).encode(
        color=alt.Color(
            "state:N",
            title=None,
            scale=alt.Scale(domain=list(colours), range=list(colours.values())),
            legend=alt.Legend(orient="bottom"),
        ),
        shape=alt.Shape("theme:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["theme:N", "as_of:T", "value:Q", "state:N"],
    )
    rule = (
        alt.Chart()
        .mark_rule(color="#a40e26", strokeDash=[4, 3])
        .encode(y=alt.datum(float(threshold)))
    )
    title = alt.TitleParams(f"Mastery over time of {who}", anchor="start")
    return svg_of((lines + points + rule).properties(width=560, height=260, title=title))


def growth_theme_svg(figures: pl.DataFrame, threshold: Decimal, theme_id: int) -> str:
    """A theme's distribution over time: per date a box over the scored students (p25 to p75),
    a line from the lowest to the highest, a tick at the median; the threshold dashed."""
    import altair as alt

    drawn = figures.filter(pl.col("rows_scored") > 0)
    if drawn.is_empty():
        return '<p class="note">No date has a scored student of this theme.</p>'
    frame = drawn.select(
        pl.col("as_of").dt.replace_time_zone(None).alias("as_of"),
        pl.col("rows_scored").alias("n"),
        *(pl.col(name) for name in ("min", "p25", "median", "p75", "max")),
    )
    base = alt.Chart(frame).encode(x=alt.X("as_of:T", title="as of"))
    scale = alt.Scale(domain=[0, 1])
    whisker = base.mark_rule(color="#57606a").encode(
        y=alt.Y("min:Q", scale=scale, title="mastery of the scored students"), y2="max:Q"
    )
    box = base.mark_bar(size=14, color="#4c78a8").encode(
        y="p25:Q",
        y2="p75:Q",
        tooltip=["as_of:T", "n:Q", "min:Q", "p25:Q", "median:Q", "p75:Q", "max:Q"],
    )
    median = base.mark_tick(color="#1f2328", thickness=2, size=14).encode(y="median:Q")
    rule = (
        alt.Chart()
        .mark_rule(color="#a40e26", strokeDash=[4, 3])
        .encode(y=alt.datum(float(threshold)))
    )
    title = alt.TitleParams(
        f"Theme #{theme_id}: spread of the scored students over time",
        subtitle="box: middle half; line: lowest to highest; tick: median; dashed: threshold "
        + format(threshold, "f"),
        anchor="start",
    )
    chart = (whisker + box + median + rule).properties(width=560, height=260, title=title)
    return svg_of(chart)

"""Formats of the weak-themes report: rich table, CSV, JSON and one self-contained HTML page.

The HTML page makes no network request when opened (it is mailed and archived): styles are
inline, there are no scripts, fonts or images, and the chart is an Altair bar chart rendered to
inline SVG offline by ``vl_convert``. The only URIs in the file are the SVG ``xmlns`` names.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.contracts.errors import MasteryError
from pipeline.reports.data import CohortReport, Report, StudentReport, as_json

Format = Literal["table", "csv", "json", "html"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json", "html")
CHART_THEMES = 40  # the chart shows the weakest themes; the tables list them all
TEXT_WIDTH = 140


def emit(report: Report, fmt: str, output: Path | None, console: Console) -> None:
    """Write the report to ``output`` (created or replaced), else print it on ``console``."""
    if output is None and fmt == "table":
        for part in table_parts(report):
            console.print(part)
        return
    text = render(report, fmt)
    if output is None:
        console.file.write(text)  # verbatim: no markup, emoji codes or wrapping applied
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MasteryError(f"cannot write {output}: {exc.strerror or exc}") from None


def render(report: Report, fmt: str) -> str:
    if fmt == "table":
        buffer = io.StringIO()
        console = Console(file=buffer, width=TEXT_WIDTH, color_system=None)
        for part in table_parts(report):
            console.print(part)
        return buffer.getvalue()
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return json.dumps(as_json(report), indent=2, default=_json_number) + "\n"
    if fmt == "html":
        return render_html(report)
    raise MasteryError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def _json_number(value: object) -> int | float:
    """Decimals as plain JSON numbers: 0.2000 -> 0.2, 100.0 -> 100 (SPEC §4 number style)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


# (header, column) pairs shared by the table, CSV and HTML forms
def _columns(report: Report, part: str) -> list[tuple[str, str]]:
    limit = format(report.threshold, "f")
    if isinstance(report, StudentReport):
        if part == "scored":
            return [
                ("#", "rank"),
                ("Block", "block_name"),
                ("Theme", "theme_title"),
                ("Score", "mastery_score"),
                ("Attempts", "attempts"),
                (f"Below {limit}", "below_threshold"),
                ("What the score is made of", "explanation"),
            ]
        return [
            ("Block", "block_name"),
            ("Theme", "theme_title"),
            ("Attempts", "attempts"),
            ("Not scored yet", "explanation"),
        ]
    unit = "Students" if part == "themes" else "Rows"
    lead = [("Block", "block_name"), ("Theme", "theme_title")]
    if part == "blocks":
        lead = [("Block", "block_name"), ("Themes", "themes")]
    noun = unit.lower()
    return [
        *lead,
        (f"{unit} scored", f"{noun}_scored"),
        ("Mean", "mean_mastery"),
        ("Median", "median_mastery"),
        (f"Below {limit}", f"{noun}_below_threshold"),
        (f"% below {limit}", "share_below_threshold_pct"),
        ("Too few attempts", f"{noun}_insufficient"),
    ]


def _parts(report: Report) -> list[tuple[str, str, pl.DataFrame]]:
    """(title, part name, rows) of each table in the report, in reading order."""
    if isinstance(report, StudentReport):
        return [
            (f"Scored themes of {report.user_id}, weakest first", "scored", report.scored),
            ("Themes with too few attempts to score", "insufficient", report.insufficient),
        ]
    return [
        ("Themes across the cohort, weakest first", "themes", report.themes),
        ("Blocks (all scored rows of the block)", "blocks", report.blocks),
    ]


def table_parts(report: Report) -> list[Table | Text]:
    """Rich tables; every value goes in as plain Text, so ``[brackets]`` in names stay text."""
    out: list[Table | Text] = []
    for title, part, rows in _parts(report):
        if rows.is_empty():
            out.append(Text(f"{title}: none"))
            continue
        columns = _columns(report, part)
        table = Table(title=Text(title), title_justify="left")
        for header, name in columns:
            table.add_column(header, justify="right" if _numeric(rows, name) else "left")
        for row in rows.iter_rows(named=True):
            table.add_row(*(_cell(row, name) for _, name in columns))
        out.append(table)
    return out


def _cell(row: dict[str, Any], name: str) -> Text:
    """Plain text; the "below threshold" mark of a scored theme in bold red."""
    marked = name == "below_threshold" and row[name] is True
    return Text(_text(row[name]), style="bold red" if marked else "")


def _numeric(rows: pl.DataFrame, name: str) -> bool:
    return rows.schema[name].is_numeric()


def render_csv(report: Report) -> str:
    """One CSV: student rows tagged ``section`` scored/insufficient, cohort rows ``level``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if isinstance(report, StudentReport):
        header = [
            "section",
            "rank",
            "theme_id",
            "theme_title",
            "block_id",
            "block_name",
            "mastery_score",
            "attempts",
            "correct",
            "required",
            "below_threshold",
            "explanation",
            "last_attempt_at",
        ]
        sections = (("scored", report.scored), ("insufficient", report.insufficient))
    else:
        header = [
            "level",
            "theme_id",
            "theme_title",
            "block_id",
            "block_name",
            "themes",
            "scored",
            "mean_mastery",
            "median_mastery",
            "below_threshold",
            "share_below_threshold_pct",
            "insufficient",
        ]
        sections = (("theme", _generic(report.themes)), ("block", _generic(report.blocks)))
    writer.writerow(header)
    for name, rows in sections:
        for row in rows.iter_rows(named=True):
            values = {**row, header[0]: name}
            writer.writerow(_csv_text(values.get(column)) for column in header)
    return buffer.getvalue()


def _generic(rows: pl.DataFrame) -> pl.DataFrame:
    """Cohort figures under one set of names for the CSV (students_* / rows_* -> *)."""
    return rows.rename(
        {n: n.split("_", 1)[1] for n in rows.columns if n.startswith(("students_", "rows_"))}
    )


def _csv_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return _text(value)


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2328; margin: 24px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
p.note { color: #57606a; margin: 4px 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #d0d7de; padding: 4px 10px; text-align: left; }
th { background: #f6f8fa; } .num { text-align: right; font-variant-numeric: tabular-nums; }
tr.below td.flag { color: #a40e26; font-weight: 600; }
figure { margin: 12px 0; }
"""


def render_html(report: Report) -> str:
    if isinstance(report, StudentReport):
        heading = f"Weak themes of student {report.user_id}"
    else:
        heading = "Weak themes across the cohort"
    limit = format(report.threshold, "f")
    notes = [
        "Mastery is a recency-weighted share of correct answers, from 0 to 1, as stored by the"
        " last recompute; themes with too few recent attempts are not scored.",
        f"Threshold {limit}: a score below it is marked.",
    ]
    body = [f"<h1>{html.escape(heading)}</h1>"]
    body += [f'<p class="note">{html.escape(n)}</p>' for n in notes]
    body.append(f'<figure id="chart">{chart_svg(report)}</figure>')
    for title, part, rows in _parts(report):
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.append(_html_table(_columns(report, part), rows, part))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(heading)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _html_table(columns: Sequence[tuple[str, str]], rows: pl.DataFrame, part: str) -> str:
    if rows.is_empty():
        return '<p class="note">None.</p>'
    kinds = [
        ' class="num"'
        if _numeric(rows, name)
        else ' class="flag"'
        if name == "below_threshold"
        else ""
        for _, name in columns
    ]
    head = "".join(
        f"<th{k}>{html.escape(h)}</th>" for k, (h, _) in zip(kinds, columns, strict=True)
    )
    lines = [f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>"]
    for row in rows.iter_rows(named=True):
        cells = "".join(
            f"<td{k}>{html.escape(_text(row[name]))}</td>"
            for k, (_, name) in zip(kinds, columns, strict=True)
        )
        below = part == "scored" and row["below_threshold"]
        lines.append(f'<tr class="below">{cells}</tr>' if below else f"<tr>{cells}</tr>")
    lines.append("</tbody>\n</table>")
    return "\n".join(lines)


def chart_svg(report: Report) -> str:
    """Bar chart of mean mastery per theme (cohort) or score per theme (student), as SVG."""
    if isinstance(report, CohortReport):
        rows = report.themes.filter(pl.col("mean_mastery").is_not_null()).head(CHART_THEMES)
        points = _points(rows, "mean_mastery", "block_name")
        title = "Mean mastery per theme (weakest first)"
    else:
        rows = report.scored.head(CHART_THEMES)
        marks = rows.with_columns(
            block_name=pl.when(pl.col("below_threshold"))
            .then(pl.lit("below threshold"))
            .otherwise(pl.lit("at or above"))
        )
        points = _points(marks, "mastery_score", "block_name")
        title = "Mastery per scored theme (weakest first)"
    if not points:
        return '<p class="note">No scored themes to chart.</p>'
    colours = None if isinstance(report, CohortReport) else _BELOW_COLOURS
    return bar_chart_svg(points, title=title, threshold=float(report.threshold), colours=colours)


_BELOW_COLOURS = {"below threshold": "#d6604d", "at or above": "#4c78a8"}


def _points(rows: pl.DataFrame, value: str, group: str) -> list[dict[str, Any]]:
    return [
        {
            "theme": f"{r['theme_title']} (#{r['theme_id']})",
            "value": float(r[value]),
            "group": r[group],
        }
        for r in rows.iter_rows(named=True)
    ]


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
        alt.Chart(pl.DataFrame(data))
        .mark_bar()
        .encode(
            x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1]), title="mastery"),
            y=alt.Y("theme:N", sort=None, title=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color("group:N", title=None, scale=scale, legend=alt.Legend(orient="bottom")),
        )
    )
    rule = alt.Chart().mark_rule(color="#a40e26", strokeDash=[4, 3]).encode(x=alt.datum(threshold))
    chart = (bars + rule).properties(width=560, height=max(60, 18 * len(data)), title=title)
    return svg_of(chart)


def svg_of(chart: Any) -> str:
    """Render an Altair chart to SVG text offline (no browser, no network)."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(chart.to_json()))

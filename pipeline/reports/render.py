"""Formats of the weak-themes report: rich table, CSV, JSON and one self-contained HTML page.

Every format carries the rows' states (:mod:`pipeline.reports.states`) and, except CSV, the
header of the runs behind them and any warning (the CLI prints a CSV's warnings on stderr).
The HTML page makes no network request when opened (it is mailed and archived): styles are
inline, there are no scripts, fonts or images, and the chart (:mod:`pipeline.reports.chart`)
is inline SVG. The only URIs in the file are the SVG ``xmlns`` names.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.contracts.errors import MasteryError
from pipeline.reports.chart import CHART_THEMES, bar_chart_svg, chart_svg, svg_of
from pipeline.reports.data import CohortReport, Report, StudentReport, as_json, warnings_of
from pipeline.reports.states import NO_VALUE, STATE_ORDER, interval_text, plain

__all__ = [
    "CHART_THEMES",
    "FORMATS",
    "STYLE",
    "bar_chart_svg",
    "chart_svg",
    "emit",
    "json_number",
    "render",
    "svg_of",
]

Format = Literal["table", "csv", "json", "html"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json", "html")
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
        return json.dumps(as_json(report), indent=2, default=json_number) + "\n"
    if fmt == "html":
        return render_html(report)
    raise MasteryError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def json_number(value: object) -> int | float:
    """Decimals as plain JSON numbers: 0.2000 -> 0.2, 100.0 -> 100 (SPEC §4 number style)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _text(value: object, name: str = "") -> str:
    """A cell as a reader sees it: a missing score, interval or mean is an em dash."""
    if name == "interval":
        return interval_text(None if value is None else _pair(value))
    if value is None:
        return NO_VALUE if name in _DASHED else ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _pair(value: Any) -> tuple[Decimal, Decimal]:
    low, high = value
    return Decimal(repr(low)), Decimal(repr(high))


_DASHED = {"mastery_score", "mean_mastery", "median_mastery", "share_below_threshold_pct"}


def heading(report: Report) -> str:
    if isinstance(report, StudentReport):
        return f"Weak themes of {report.user_label}"
    return "Weak themes across the cohort"


def header_lines(report: Report) -> list[str]:
    """Where the rows come from, what the states mean, and who has no attempts at all."""
    limit = format(report.threshold, "f")
    lines = [] if report.source is None else [report.source.header()]
    if isinstance(report, StudentReport) and report.user_email:
        lines.append(f"student {report.user_email} ({report.user_id})")
    lines.append(
        f"Weak: enough evidence and a score below {limit}. Not practised lately: no attempt in"
        " the shortest recency window, so the score is capped. Not enough evidence: too few"
        " attempts, or too wide an interval, to tell."
    )
    if isinstance(report, CohortReport) and report.students_without_attempts is not None:
        count = report.students_without_attempts
        lines.append(
            f"{count:,} student{'' if count == 1 else 's'} with no attempts in the window"
            " (in no figure below)."
        )
    return lines


_STATE_TITLES = {
    "weak": "Weak: enough evidence, score below {limit} (weakest first)",
    "not_practised_lately": "Not practised lately: the score is capped (lowest first)",
    "not_enough_evidence": "Not enough evidence to tell",
    "ok": "At or above {limit}",
}


def _parts(report: Report) -> list[tuple[str, str, pl.DataFrame]]:
    """(title, part name, rows) of each table in the report, in reading order."""
    if isinstance(report, StudentReport):
        limit = format(report.threshold, "f")
        return [
            (
                _STATE_TITLES[state].format(limit=limit),
                state,
                report.rows.filter(pl.col("state") == state),
            )
            for state in STATE_ORDER
        ]
    return [
        ("Themes across the cohort, weakest first", "themes", report.themes),
        ("Blocks (all rows of the block)", "blocks", report.blocks),
    ]


# (header, column) pairs shared by the table, CSV and HTML forms
def _columns(report: Report, part: str) -> list[tuple[str, str]]:
    limit = format(report.threshold, "f")
    if isinstance(report, StudentReport):
        why = "Why it is not scored" if part == "not_enough_evidence" else "What the score is"
        return [
            ("#", "rank"),
            ("Block", "block_name"),
            ("Theme", "theme_title"),
            ("Score", "mastery_score"),
            ("Interval", "interval"),
            ("Attempts", "attempts"),
            (why, "explanation"),
        ]
    unit = "Students" if part == "themes" else "Rows"
    noun = unit.lower()
    lead = [("Block", "block_name"), ("Theme", "theme_title")]
    if part == "blocks":
        lead = [("Block", "block_name"), ("Themes", "themes")]
    return [
        *lead,
        (f"{unit} scored", f"{noun}_scored"),
        ("Mean", "mean_mastery"),
        ("Median", "median_mastery"),
        (f"% below {limit}", "share_below_threshold_pct"),
        ("Weak", f"{noun}_weak"),
        ("Not practised lately", f"{noun}_not_practised_lately"),
        ("Not enough evidence", f"{noun}_insufficient"),
    ]


def table_parts(report: Report) -> list[Table | Text]:
    """Rich tables; every value goes in as plain Text, so ``[brackets]`` in names stay text."""
    out: list[Table | Text] = [Text(heading(report), style="bold")]
    out += [Text(line) for line in header_lines(report)]
    out += [Text(f"warning: {w}", style="bold red") for w in warnings_of(report)]
    for title, part, rows in _parts(report):
        if rows.is_empty():
            out.append(Text(f"{title}: none"))
            continue
        columns = _columns(report, part)
        table = Table(title=Text(title), title_justify="left")
        for header, name in columns:
            table.add_column(header, justify="right" if _numeric(rows, name) else "left")
        for row in rows.iter_rows(named=True):
            table.add_row(*(Text(_text(row[name], name)) for _, name in columns))
        out.append(table)
    return out


def _numeric(rows: pl.DataFrame, name: str) -> bool:
    return rows.schema[name].is_numeric() or name == "interval"


def render_csv(report: Report) -> str:
    """One CSV: student rows tagged by ``state``, cohort rows by ``level``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if isinstance(report, StudentReport):
        header = [
            "state",
            "rank",
            "theme_id",
            "theme_title",
            "block_id",
            "block_name",
            "mastery_score",
            "interval_low",
            "interval_high",
            "attempts",
            "correct",
            "required",
            "below_threshold",
            "explanation",
            "last_attempt_at",
        ]
        writer.writerow(header)
        for row in report.rows.iter_rows(named=True):
            low, high = row["interval"] or (None, None)
            values = {**row, "interval_low": low, "interval_high": high}
            writer.writerow(_csv_text(values.get(column)) for column in header)
        return buffer.getvalue()
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
        "weak",
        "not_practised_lately",
        "insufficient",
    ]
    writer.writerow(header)
    for name, rows in (("theme", _generic(report.themes)), ("block", _generic(report.blocks))):
        for row in rows.iter_rows(named=True):
            values = {**row, "level": name}
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
    if isinstance(value, float):
        return plain(Decimal(repr(value)))
    return _text(value)


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2328; margin: 24px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
p.note { color: #57606a; margin: 4px 0; } p.source { margin: 4px 0; font-weight: 600; }
p.warn { color: #a40e26; font-weight: 600; margin: 8px 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #d0d7de; padding: 4px 10px; text-align: left; }
th { background: #f6f8fa; } .num { text-align: right; font-variant-numeric: tabular-nums; }
tr.weak td { color: #a40e26; }
figure { margin: 12px 0; }
"""


def render_html(report: Report) -> str:
    title = heading(report)
    lines = header_lines(report)
    body = [f"<h1>{html.escape(title)}</h1>"]
    if report.source is not None:
        body.append(f'<p class="source">{html.escape(lines.pop(0))}</p>')
    body += [f'<p class="warn">warning: {html.escape(w)}</p>' for w in warnings_of(report)]
    body += [f'<p class="note">{html.escape(n)}</p>' for n in lines]
    body.append(f'<figure id="chart">{chart_svg(report)}</figure>')
    for caption, part, rows in _parts(report):
        body.append(f"<h2>{html.escape(caption)}</h2>")
        body.append(_html_table(_columns(report, part), rows, part))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _html_table(columns: Sequence[tuple[str, str]], rows: pl.DataFrame, part: str) -> str:
    if rows.is_empty():
        return '<p class="note">None.</p>'
    kinds = [' class="num"' if _numeric(rows, name) else "" for _, name in columns]
    head = "".join(
        f"<th{k}>{html.escape(h)}</th>" for k, (h, _) in zip(kinds, columns, strict=True)
    )
    lines = [f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>"]
    opening = '<tr class="weak">' if part == "weak" else "<tr>"
    for row in rows.iter_rows(named=True):
        cells = "".join(
            f"<td{k}>{html.escape(_text(row[name], name))}</td>"
            for k, (_, name) in zip(kinds, columns, strict=True)
        )
        lines.append(f"{opening}{cells}</tr>")
    lines.append("</tbody>\n</table>")
    return "\n".join(lines)

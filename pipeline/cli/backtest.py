"""``mastery backtest``: how well v0 and v1 predict the next answer, with baselines beside.

Formats: ``table`` (default), ``json`` (one object, also ``--json``) and ``html`` (one
self-contained page: a reliability diagram rendered to inline SVG offline, and the table).
"""

from __future__ import annotations

import html
import json
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.cli.common import (
    DatabaseOption,
    JsonOption,
    note,
    option_name,
    out,
    print_json,
    result_console,
)
from pipeline.contracts.errors import MasteryError

if TYPE_CHECKING:
    from pipeline.run.backtest import BacktestResult


class Algo(StrEnum):
    v0 = "v0"
    v1 = "v1"


class Format(StrEnum):
    table = "table"
    json = "json"
    html = "html"


MIN_BIN_ANSWERS = 20  # the diagram leaves out bins too small to read; the JSON has them all
COLUMNS = (
    ("Model", "name"),
    ("Algo", "algo"),
    ("Attempts scored", "attempts_scored"),
    ("Not enough evidence", "insufficient_evidence"),
    ("AUC", "auc"),
    ("Log loss", "log_loss"),
    ("Brier", "brier"),
    ("ECE", "ece"),
)


def backtest(
    algo: Annotated[
        list[Algo] | None,
        typer.Option("--algo", metavar="VERSION", help="v0 or v1 (repeatable; default both)."),
    ] = None,
    params: Annotated[
        list[Path] | None,
        typer.Option(
            "--params",
            metavar="FILE",
            help="A params JSON file (repeatable): for the --algo at the same position, or "
            "for the one --algo given (default: v0's if it validates as v0 params, else v1's).",
        ),
    ] = None,
    period_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            callback=checked_day_or_instant,
            metavar="DATE",
            help="First day scored (YYYY-MM-DD, UTC) or an ISO 8601 instant.",
        ),
    ] = None,
    period_to: Annotated[
        str | None,
        typer.Option(
            "--to",
            callback=checked_day_or_instant,
            metavar="DATE",
            help="Last day scored, included (YYYY-MM-DD), or the instant the period ends "
            "(excluded). Default: now; --from defaults to 90 days before.",
        ),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", metavar="FORMAT", help="table, json or html.")
    ] = Format.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="FILE",
            help="Also write every attempt's predictions to this Parquet.",
        ),
    ] = None,
    partitions: Annotated[
        int,
        typer.Option(
            "--partitions",
            min=1,
            metavar="N",
            help="Read students in N hash partitions to bound memory (each read twice; the "
            "metrics are the same).",
        ),
    ] = 1,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Replay every answer of the period: did each model's score, just before, predict it?"""
    from pipeline.run.backtest import BacktestOptions
    from pipeline.run.backtest import backtest as run_backtest

    result = run_backtest(
        database_url,
        algos=[a.value for a in algo or ()],
        params_files=list(params or ()),
        period_from=parse_day_or_instant(period_from, "--from"),
        period_to=parse_day_or_instant(period_to, "--to"),
        options=BacktestOptions(output=output, partitions=partitions),
    )
    if as_json or fmt is Format.json:
        print_json(json.dumps(result.as_json()))
    elif fmt is Format.html:
        out.file.write(render_html(result))
    else:
        print_table(result)


def checked_day_or_instant(param: typer.CallbackParam, value: str | None) -> str | None:
    """The text as given, once it reads as a day or an instant (told before the imports)."""
    parse_day_or_instant(value, option_name(param))
    return value


def parse_day_or_instant(text: str | None, option: str) -> date | datetime | None:
    """``YYYY-MM-DD`` as a day, anything else as an ISO 8601 instant."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise MasteryError(
            f"{option} {text!r} is neither YYYY-MM-DD nor an ISO 8601 instant"
        ) from None


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _rows(result: BacktestResult) -> list[dict[str, Any]]:
    return [model.as_json() for model in result.models]


def _heading(result: BacktestResult) -> str:
    period = result.period
    return (
        f"Backtest {period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC: "
        f"{result.attempts:,} attempts, each predicted from the answers before it"
    )


def print_table(result: BacktestResult) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(_heading(result)), title_justify="left")
    for header, name in COLUMNS:
        table.add_column(header, justify="left" if name in ("name", "algo") else "right")
    for row in _rows(result):
        table.add_row(*(Text(_cell(row[name])) for _, name in COLUMNS))
    result_console().print(table)
    note(
        "Not enough evidence: v0 attempts with fewer than min_attempts earlier attempts (not "
        "scored, never counted as 0); v1 attempts scored with state not_enough_evidence."
    )


def reliability_svg(result: BacktestResult) -> str:
    """Mean prediction against observed rate per bin, one line per model, and the diagonal."""
    import altair as alt
    import polars as pl
    import vl_convert

    points = [
        {"model": model.name, **row}
        for model in result.models
        for row in model.metrics.calibration.to_dicts()
        if row["count"] >= MIN_BIN_ANSWERS
    ]
    if not points:
        return '<p class="note">Nothing to chart: no attempt was scored.</p>'
    unit = alt.Scale(domain=[0, 1])
    diagonal = (
        alt.Chart(pl.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(color="#999999", strokeDash=[4, 3])
        .encode(x="x:Q", y="y:Q")
    )
    lines = (
        alt.Chart(pl.DataFrame(points, infer_schema_length=None))
        .mark_line(point=True)
        .encode(
            x=alt.X("mean_predicted:Q", scale=unit, title="mean prediction in the bin"),
            y=alt.Y("observed_rate:Q", scale=unit, title="share answered right"),
            color=alt.Color("model:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=["model:N", "bin:Q", "count:Q"],
        )
    )
    chart = (diagonal + lines).properties(
        width=460,
        height=460,
        title=f"Reliability: predicted against observed (10 bins, {MIN_BIN_ANSWERS}+ answers)",
    )
    return str(vl_convert.vegalite_to_svg(chart.to_json()))


_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
    "th,td{border:1px solid #ccc;padding:4px 8px}td.num,th.num{text-align:right}"
    ".note{color:#555}"
)


def render_html(result: BacktestResult) -> str:
    """One self-contained page: no script, font, image or network request."""
    title = _heading(result)
    head = "".join(
        f"<th{'' if n in ('name', 'algo') else ' class=num'}>{html.escape(h)}</th>"
        for h, n in COLUMNS
    )
    body = []
    for row in _rows(result):
        cells = "".join(
            f"<td{'' if n in ('name', 'algo') else ' class=num'}>{html.escape(_cell(row[n]))}</td>"
            for _, n in COLUMNS
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n<figure>{reliability_svg(result)}</figure>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n"
        "</table>\n<p class=note>AUC: chance a right answer was predicted higher than a wrong "
        "one. Log loss and Brier: lower is better. ECE: mean gap between prediction and "
        "observed rate over 10 bins.</p>\n</body>\n</html>\n"
    )

"""``mastery runs``: the run ledger as JSON records, an 80-column table and one run in full.

Rows come from :func:`pipeline.run.ledger.recent_runs` / ``run_detail`` (a frame with the
summaries as JSON text); this module only shapes them. Every stored text (error messages,
triggers) goes into rich as plain :class:`~rich.text.Text`, never as markup, so an error that
reads ``[/x]`` prints as it is.

JSON record of one run (``mastery runs --json`` prints a list of them)::

    {"run_id": "<uuid>", "status": "SUCCESS", "trigger": "cli", "algorithm": "v0",
     "params_id": "<uuid>", "params_checksum": "<sha256>", "as_of": "2026-11-25T07:00:00Z",
     "scope": {"users": "all" | ["<uuid>", ...], "themes": "all" | [10, ...]},
     "user_id": null, "started_at": "...Z", "completed_at": "...Z", "seconds": 0.31,
     "records_upserted": 3405, "users": 281, "error_message": null,
     "input_summary": {...}, "output_summary": {...}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import polars as pl
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

STAGE_ORDER = ("extract", "spark", "validate_input", "compute", "validate_output", "load")
CHECKSUM_CHARS = 12
ID_CHARS = 8


def run_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """One JSON-ready record per ledger row (shape in the module docstring)."""
    return [_record(row) for row in frame.iter_rows(named=True)]


def _record(row: dict[str, Any]) -> dict[str, Any]:
    given = json.loads(row.get("input_summary_json") or "null") or {}
    done = json.loads(row.get("output_summary_json") or "null") or {}
    as_of = given.get("as_of")
    return {
        "run_id": row["id"],
        "status": row["status"],
        "trigger": row["trigger"],
        "algorithm": row.get("algorithm"),
        "params_id": row.get("params_id"),
        "params_checksum": row.get("params_checksum") or given.get("params_checksum"),
        "as_of": iso_utc(datetime.fromisoformat(as_of)) if as_of else None,
        "scope": given.get("scope"),
        "user_id": row.get("user_id"),
        "started_at": iso_utc(row["started_at"]),
        "completed_at": iso_utc(row["completed_at"]),
        "seconds": row["seconds"],
        "records_upserted": row["records_upserted"],
        "users": row["users"],
        "error_message": row["error_message"],
        "input_summary": given,
        "output_summary": done,
    }


def iso_utc(moment: datetime | None) -> str | None:
    """``2026-11-25T07:00:00Z`` (microseconds only when there are some)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def scope_words(scope: Any) -> str:
    """``all``, ``1 user``, ``3 users`` / ``2 themes`` (one line each) for a stored scope."""
    if not isinstance(scope, dict):
        return "?"
    parts = []
    for key, noun in (("users", "user"), ("themes", "theme")):
        chosen = scope.get(key, "all")
        if isinstance(chosen, list):
            parts.append(f"{len(chosen)} {noun}{'' if len(chosen) == 1 else 's'}")
    return "\n".join(parts) or "all"


def _minute(stamp: str | None) -> str:
    """``2026-11-25 07:08`` from an ISO instant (the table's precision; JSON has it all)."""
    return stamp[:16].replace("T", " ") if stamp else ""


def runs_table(records: Iterable[dict[str, Any]]) -> RenderableType:
    """Two lines a run, fitting 80 columns; the status is never cut, errors are listed below.

    ``run`` is the id's first 8 characters (``mastery runs --run`` takes it), ``params`` the
    checksum's first 12.
    """
    table = Table()
    headers = (
        "run\ntrigger",
        "status",
        "started\nas of (UTC)",
        "seconds\nrows",
        "algorithm\nparams",
    )
    for header in (*headers, "scope"):
        table.add_column(Text(header))
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    table.columns[0].min_width, table.columns[1].min_width = ID_CHARS, len("SUCCESS")
    table.columns[3].justify = "right"
    failures: list[Text] = []
    for record in records:
        seconds = "" if record["seconds"] is None else f"{record['seconds']:.1f}"
        rows = "" if record["records_upserted"] is None else f"{record['records_upserted']:,}"
        short = record["run_id"][:ID_CHARS]
        table.add_row(
            Text(f"{short}\n{record['trigger'] or ''}"),
            Text(record["status"] or ""),
            Text(f"{_minute(record['started_at'])}\n{_minute(record['as_of'])}"),
            Text(f"{seconds}\n{rows}"),
            Text(f"{record['algorithm'] or '?'}\n{(record['params_checksum'] or '')[:12]}"),
            Text(scope_words(record["scope"])),
        )
        if record["error_message"]:
            failures.append(Text(f"{short}: {record['error_message']}", overflow="ellipsis"))
    if not failures:
        return table
    failures = [Text("errors (mastery runs --run ID shows one in full):"), *failures]
    for line in failures:
        line.no_wrap = True
    return Group(table, *failures)


def run_detail_lines(record: dict[str, Any]) -> list[str]:
    """Every fact of one run, one ``name: value`` line each (plain text: print without markup)."""
    given = dict(record["input_summary"])
    done = dict(record["output_summary"])
    lines = [
        f"run: {record['run_id']}",
        f"status: {record['status']}",
        f"trigger: {record['trigger']}",
        f"algorithm: {record['algorithm']}",
        f"params: {record['params_id']} (checksum {record['params_checksum']})",
        f"as of: {record['as_of']}",
        f"scope: {_scope_line(record['scope'])}",
        f"started: {record['started_at']}",
        f"completed: {record['completed_at'] or '-'}",
        f"seconds: {'-' if record['seconds'] is None else record['seconds']}",
    ]
    for key in ("scope", "as_of", "params_checksum", "source_counts"):
        given.pop(key, None)
    lines += [f"input {key}: {_words(value)}" for key, value in given.items()]
    counts = record["input_summary"].get("source_counts")
    if counts:
        lines.append(f"source rows: {_words(counts)}")
    quality = done.pop("data_quality", None)
    stages = done.pop("stage_seconds", None)
    lines += [f"{key.replace('_', ' ')}: {_words(value)}" for key, value in done.items()]
    if quality is not None:
        issues = {k: v for k, v in quality.items() if v}
        lines.append(f"data quality: {_words(issues) if issues else 'clean'}")
    if stages:
        ordered = sorted(stages.items(), key=lambda kv: _stage_rank(kv[0]))
        lines.append("stage seconds: " + ", ".join(f"{k} {v}" for k, v in ordered))
    if record["error_message"]:
        lines.append(f"error: {record['error_message']}")
    return lines


def _scope_line(scope: Any) -> str:
    if not isinstance(scope, dict):
        return "?"
    return "; ".join(f"{key} {_words(value)}" for key, value in scope.items())


def _words(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_words(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _stage_rank(stage: str) -> int:
    """Stages in the order a run goes through them (jsonb stores keys in its own order)."""
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)

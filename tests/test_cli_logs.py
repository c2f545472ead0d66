"""Off a terminal a run logs one stderr line per stage (issue 19 item 2): cron logs are never
empty for minutes, and --log-format json gives one JSON object per line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

MASTERY = str(Path(sys.executable).parent / "mastery")


def _mastery(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MASTERY, *args], capture_output=True, text=True, check=False)


def test_json_log_lines_name_each_stage_and_the_finished_run(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'logs.duckdb'}"
    # the database is set up in this process; the run under test is a real process off a terminal
    setup = CliRunner()
    assert setup.invoke(app, ["init", "--database-url", url]).exit_code == 0
    generated = setup.invoke(
        app, ["generate", "--users", "20", "--themes", "3", "--database-url", url]
    )
    assert generated.exit_code == 0, generated.output
    done = _mastery("--log-format", "json", "recompute", "--json", "--database-url", url)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]
    stages = [e["stage"] for e in events if e["event"] == "stage"]
    assert stages == ["extract", "validate_input", "compute", "validate_output", "load"]
    finished = events[-1]
    summary = json.loads(done.stdout)
    assert finished["event"] == "finished"
    assert finished["run_id"] == summary["run_id"]
    assert finished["rows"] == summary["records_upserted"]


def test_unknown_log_format_is_one_line(tmp_path: Path) -> None:
    done = _mastery("--log-format", "xml", "runs", "--database-url", f"duckdb:///{tmp_path}/x")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: --log-format 'xml': use text or json"

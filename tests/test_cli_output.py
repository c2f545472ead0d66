"""What a scheduler and a new engineer get from the CLI: results on stdout (JSON with --json),
notes on stderr, ``--version``, ``-h`` everywhere, readable metavars, params that round-trip,
and reads that never create a DuckDB file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner, Result

from pipeline import RunOptions, init_database, recompute
from pipeline.cli import app
from pipeline.contracts.params import Params
from tests.cohort import AS_OF, load_small_cohort

MASTERY = Path(sys.executable).parent / "mastery"


def invoke(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(app, list(args), prog_name="mastery")
    if ok:
        assert result.exit_code == 0, (result.output, result.exception)
    return result


def one_json(result: Result) -> Any:
    """stdout holds exactly one JSON document (one line) and nothing else."""
    assert result.stdout.count("\n") == 1, result.stdout
    return json.loads(result.stdout)


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        paths.append((*prefix, name))
        paths += _commands(command, (*prefix, name))
    return paths


ALL_COMMANDS = _commands(typer.main.get_command(app))


def test_version() -> None:
    assert invoke("--version").stdout == f"mastery {version('mastery-pipeline')}\n"


@pytest.mark.parametrize("path", [(), *ALL_COMMANDS], ids=lambda p: " ".join(p) or "mastery")
def test_dash_h_is_help_everywhere(path: tuple[str, ...]) -> None:
    shown = invoke(*path, "-h").stdout
    assert shown.startswith(f"Usage: mastery {' '.join(path)}".rstrip()), shown
    assert "-h, --help" in shown


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_metavars_are_readable(path: tuple[str, ...]) -> None:
    """Every option of every command shows a word for its value, never typer's Python type."""
    shown = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"}).stdout
    options = shown.split("Options:", 1)[1]  # arguments keep typer's "FILE <path>" form
    assert not re.search(r"<[a-z][^>]*>", options), shown  # typer's <str>, <list[str]>, <path>
    assert "--database-url URL" in options or "--database-url" not in options


def test_recompute_help_shows_the_shared_options_readably() -> None:
    shown = CliRunner().invoke(app, ["recompute", "--help"], env={"COLUMNS": "120"}).stdout
    assert "--database-url URL" in shown
    assert "-h, --help" in shown


def test_generate_json(duckdb_url: str) -> None:
    init_database(duckdb_url)
    loaded = one_json(
        invoke("generate", "--users", "20", "--themes", "4", "--days", "10", "--json",
               "--as-of", "2026-11-25T00:00:00Z", "--database-url", duckdb_url)
    )  # fmt: skip
    assert loaded["users"] == 20
    assert loaded["themes"] == 4
    assert set(loaded) >= {"users", "blocks", "themes", "questions", "session_answers"}
    assert all(isinstance(n, int) for n in loaded.values())


def test_runs_json(initialized_url: str) -> None:
    assert one_json(invoke("runs", "--json", "--database-url", initialized_url)) == []
    load_small_cohort(initialized_url)
    recompute(initialized_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    (record,) = one_json(invoke("runs", "--json", "--database-url", initialized_url))
    assert (record["status"], record["trigger"], record["records_upserted"]) == (
        "SUCCESS",
        "test",
        3,
    )
    assert record["as_of"] == "2026-11-25T00:00:00Z"


def test_params_show_prints_the_file_validate_and_activate_accept(
    initialized_url: str, tmp_path: Path
) -> None:
    shown = invoke("params", "show", "--database-url", initialized_url)
    target = tmp_path / "p.json"
    target.write_text(shown.stdout, "utf-8")  # what `mastery params show > p.json` keeps
    checksum = Params.from_json(shown.stdout).checksum()
    assert re.fullmatch(r"params_id \S+ checksum [0-9a-f]{64}\n", shown.stderr), shown.stderr
    assert shown.stderr.endswith(f" checksum {checksum}\n")
    valid = invoke("params", "validate", str(target))
    assert valid.stdout == f"valid; checksum {checksum}\n"
    active = invoke("params", "show", "--json", "--database-url", initialized_url)
    before = one_json(active)["params_id"]
    again = invoke("params", "activate", str(target), "--database-url", initialized_url)
    assert again.stdout == f"active params {before}\n"  # the same row stays the active one


def test_params_json_on_show_validate_and_activate(initialized_url: str, tmp_path: Path) -> None:
    shown = one_json(invoke("params", "show", "--json", "--database-url", initialized_url))
    assert set(shown) == {"params_id", "checksum", "params"}
    assert Params.from_mapping(shown["params"]).checksum() == shown["checksum"]
    target = tmp_path / "three.json"
    target.write_text('{"min_attempts": 3}', "utf-8")
    checksum = Params.from_mapping({"min_attempts": 3}).checksum()
    assert one_json(invoke("params", "validate", str(target), "--json")) == {
        "valid": True,
        "checksum": checksum,
    }
    made = one_json(
        invoke("params", "activate", str(target), "--json", "--database-url", initialized_url)
    )
    assert made["checksum"] == checksum
    assert made["params_id"] != shown["params_id"]
    now = one_json(invoke("params", "show", "--json", "--database-url", initialized_url))
    assert (now["params_id"], now["params"]["min_attempts"]) == (made["params_id"], 3)


def test_params_validate_names_field_and_cross_field_problems_at_once(tmp_path: Path) -> None:
    target = tmp_path / "bad.json"
    target.write_text(
        '{"min_attempts": 0, "recency_buckets": [{"days": 30, "weight": 0.6},'
        ' {"days": 7, "weight": 0.6}]}',
        "utf-8",
    )
    done = subprocess.run(
        [str(MASTERY), "params", "validate", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    (line,) = done.stderr.splitlines()
    for needle in ("min_attempts", "strictly increasing", "weights sum to 1.2"):
        assert needle in line, line


@pytest.mark.parametrize(
    "args", [("report", "weak-themes"), ("runs",), ("params", "show")], ids=" ".join
)
def test_reading_a_missing_duckdb_file_creates_nothing(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTERY_")}
    done = subprocess.run(
        [str(MASTERY), *args, "--database-url", "duckdb:///typo.duckdb"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "error: no such DuckDB file: typo.duckdb\n"
    assert list(tmp_path.iterdir()) == []


def test_init_json_names_what_it_created_and_the_active_params(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    url = f"duckdb:///{tmp_path / 'init.duckdb'}"
    first = CliRunner().invoke(app, ["init", "--json", "--database-url", url])
    assert first.exit_code == 0, first.output
    created = json.loads(first.stdout)
    assert "user_theme_mastery" in created["created"]
    assert created["existing"] == []
    assert len(created["params_checksum"]) == 64
    again = json.loads(CliRunner().invoke(app, ["init", "--json", "--database-url", url]).stdout)
    assert again["created"] == []
    assert again["params_id"] == created["params_id"]

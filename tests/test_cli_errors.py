"""The installed ``mastery`` command on bad input: non-zero exit, one line, no traceback, no secret.

Runs the real console script in a subprocess (a fresh interpreter, as a user would), from a
scratch working directory so nothing lands in the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from pipeline.cli import app

MASTERY = Path(sys.executable).parent / "mastery"
SECRET = "S3cretPw"
WRONG_PASSWORD_URL = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/nope"
UNREACHABLE_URL = f"postgresql://postgres:{SECRET}@127.0.0.1:1/nope"
# What SPEC §6 promises (paths of command names under `mastery`).
SPEC_COMMANDS = {
    ("init",),
    ("generate",),
    ("recompute",),
    ("report", "weak-themes"),
    ("runs",),
    ("params", "show"),
    ("params", "validate"),
    ("params", "activate"),
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


Mastery = Callable[..., Run]


@pytest.fixture
def mastery(tmp_path: Path) -> Iterator[Mastery]:
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTERY_")}
    env["COLUMNS"] = "100"

    def run(*args: str, extra_env: dict[str, str] | None = None) -> Run:
        done = subprocess.run(
            [str(MASTERY), *args],
            cwd=workdir,
            env={**env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    yield run
    # a failing command must not have created the default database in the working directory
    assert not (workdir / "mastery.duckdb").exists()


def assert_one_line_error(result: Run, *needles: str) -> str:
    """Non-zero, exactly one line on stderr naming the problem, nothing else anywhere."""
    assert result.code != 0, result
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything, result.stderr
    assert SECRET not in everything, result
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def test_console_script_is_installed() -> None:
    assert MASTERY.is_file(), f"{MASTERY} missing: is the project installed in this venv?"


def test_wrong_password_url(mastery: Mastery) -> None:
    line = assert_one_line_error(mastery("init", "--database-url", WRONG_PASSWORD_URL))
    assert "127.0.0.1" in line
    assert "nope" in line  # the database it could not use


def test_unreachable_port(mastery: Mastery) -> None:
    line = assert_one_line_error(mastery("init", "--database-url", UNREACHABLE_URL))
    assert "127.0.0.1" in line
    assert "1" in line.split("127.0.0.1", 1)[1]


def test_unreachable_url_from_environment(mastery: Mastery) -> None:
    result = mastery("runs", extra_env={"MASTERY_DATABASE_URL": UNREACHABLE_URL})
    assert_one_line_error(result, "127.0.0.1")


def test_url_encoded_secret_is_not_shown(mastery: Mastery) -> None:
    url = f"postgresql://postgres:{SECRET}%40x@127.0.0.1:1/nope"
    line = assert_one_line_error(mastery("init", "--database-url", url))
    assert "%40x" not in line
    assert "@x" not in line


def test_non_numeric_port(mastery: Mastery) -> None:
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:notaport/nope"
    assert_one_line_error(mastery("init", "--database-url", url), "notaport")


def test_unknown_scheme(mastery: Mastery) -> None:
    url = f"mysql://root:{SECRET}@127.0.0.1:3306/db"
    assert_one_line_error(mastery("init", "--database-url", url), "mysql")


def test_not_a_url(mastery: Mastery) -> None:
    assert_one_line_error(mastery("init", "--database-url", "not a url"), "URL")


def _told_before_imports(tmp_path: Path, *args: str) -> str:
    """``mastery *args`` in a fresh interpreter: it must fail (status 1) without having imported
    the pipeline, Polars or Pandera; returns its stderr."""
    script = (
        "import sys\n"
        "from pipeline.cli import main\n"
        f"sys.argv = ['mastery', *{list(args)!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print(sorted(m for m in ('pipeline.api', 'polars', 'pandera') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.strip() == "[]", done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_malformed_url_is_told_before_the_pipeline_is_imported(tmp_path: Path) -> None:
    """A typo costs no seconds of imports: the URL is checked while the options are read."""
    told = _told_before_imports(tmp_path, "recompute", "--database-url", "not a url")
    assert "invalid database URL 'not a url'" in told


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["recompute", "--as-of", "yesterday"], "--as-of 'yesterday' is not an ISO 8601"),
        (["export-attempts", "--output", "o", "--as-of", "x"], "--as-of 'x' is not an ISO"),
        (["generate", "--as-of", "2026-13-01"], "--as-of '2026-13-01' is not an ISO 8601"),
        (["history", "--every", "7d", "--output", "h.parquet", "--from", "xyz"], "--from 'xyz'"),
        (
            [
                "history",
                "--every",
                "7d",
                "--output",
                "h.parquet",
                "--from",
                "2026-01-01",
                "--to",
                "soon",
            ],
            "--to 'soon' is not an ISO 8601",
        ),
        (["follow", "--once", "--since", "2026-02-30"], "--since '2026-02-30' is not an ISO"),
        (["diff", "--algo", "v1", "--as-of", "now"], "--as-of 'now' is not an ISO 8601"),
        (["backtest", "--from", "1 May"], "--from '1 May' is neither YYYY-MM-DD nor"),
        (["backtest", "--to", "2026-02-30"], "--to '2026-02-30' is neither YYYY-MM-DD nor"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_a_malformed_instant_is_told_under_its_own_option_before_imports(
    tmp_path: Path, args: list[str], told: str
) -> None:
    """Every option that takes an instant or a day is read while the options are parsed, and
    the error names the option the user typed (``--from``, ``--since``), not ``--as-of``."""
    assert told in _told_before_imports(tmp_path, *args)


def test_duckdb_path_in_missing_directory(mastery: Mastery, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    result = mastery("init", "--database-url", f"duckdb:///{missing / 'm.duckdb'}")
    assert_one_line_error(result, str(missing))
    assert not missing.exists()


def test_missing_tables_on_duckdb(mastery: Mastery, tmp_path: Path) -> None:
    import duckdb  # an existing file without tables (reading a missing one creates nothing)

    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    url = f"duckdb:///{tmp_path / 'empty.duckdb'}"
    assert_one_line_error(mastery("runs", "--database-url", url), "algo_runs", "mastery init")


def test_missing_tables_on_postgres_hide_the_password(mastery: Mastery, pg_url: str) -> None:
    """The test server trusts local connections, so a password is accepted and ignored."""
    assert pg_url.startswith("postgresql://postgres@"), "this test needs a password-less URL"
    url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@", 1)
    line = assert_one_line_error(mastery("runs", "--database-url", url), "algo_runs")
    assert "postgres:***@" in line or "postgres@" in line


def test_generate_zero_users_is_a_usage_error(mastery: Mastery, tmp_path: Path) -> None:
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:1/nope"
    result = mastery("generate", "--users", "0", "--database-url", url)
    assert result.code == 2
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything
    assert SECRET not in everything
    # click's standard short usage block: Usage / Try --help / Error naming the option
    assert result.stderr.startswith("Usage: mastery generate")
    [error] = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert "--users" in error
    assert len(result.stderr.strip().splitlines()) <= 5


def test_recompute_as_of_not_an_instant(mastery: Mastery, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'r.duckdb'}"
    result = mastery("recompute", "--as-of", "yesterday", "--database-url", url)
    assert_one_line_error(result, "--as-of", "yesterday")
    assert not (tmp_path / "r.duckdb").exists()


def test_recompute_as_of_not_an_instant_never_connects(mastery: Mastery) -> None:
    result = mastery("recompute", "--as-of", "yesterday", "--database-url", UNREACHABLE_URL)
    assert_one_line_error(result, "--as-of", "yesterday")


def test_params_validate_typo_key(mastery: Mastery, tmp_path: Path) -> None:
    path = tmp_path / "typo.json"
    path.write_text('{"lookback_dayz": 30}', "utf-8")
    assert_one_line_error(mastery("params", "validate", str(path)), "lookback_dayz")


def test_params_validate_names_every_problem(mastery: Mastery, tmp_path: Path) -> None:
    path = tmp_path / "multi.json"
    path.write_text(
        '{"lookback_dayz": 30, "min_attempts": 0, "recency_buckets": [{"days": 7, "weight": 1.5}]}',
        "utf-8",
    )
    result = mastery("params", "validate", str(path))
    assert_one_line_error(result, "lookback_dayz", "min_attempts", "weight")


def test_params_validate_missing_file(mastery: Mastery, tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    assert_one_line_error(mastery("params", "validate", str(path)), "absent.json")


def test_params_validate_not_json(mastery: Mastery, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{bad", "utf-8")
    assert_one_line_error(mastery("params", "validate", str(path)), "JSON")


def test_params_validate_good_file(mastery: Mastery, tmp_path: Path) -> None:
    path = tmp_path / "good.json"
    path.write_text('{"lookback_days": 60, "recency_buckets": [{"days": 30, "weight": 1}]}')
    result = mastery("params", "validate", str(path))
    assert result.code == 0, result
    assert "valid" in result.stdout
    assert result.stderr == ""


# ---------------------------------------------------------------------------------------------
# Help: every command, like sqlite-utils' test_docs
# ---------------------------------------------------------------------------------------------
def _commands(group: object, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in sorted(getattr(group, "commands", {}).items()):
        path = (*prefix, name)
        yield path, command
        yield from _commands(command, path)


ROOT = typer.main.get_command(app)
# what the `mastery` fixture gives the process: no MASTERY_* settings, 100 columns
HELP_ENV: dict[str, str | None] = {
    **{k: None for k in os.environ if k.startswith("MASTERY_")},
    "COLUMNS": "100",
}
COMMANDS = dict(_commands(ROOT))


def test_spec_commands_exist() -> None:
    missing = SPEC_COMMANDS - set(COMMANDS)
    assert not missing, f"SPEC §6 commands missing from the CLI: {sorted(missing)}"


def test_top_level_help(mastery: Mastery) -> None:
    result = mastery("--help")
    assert result.code == 0, result
    assert result.stdout.startswith("Usage: mastery")
    assert "Traceback" not in result.stdout + result.stderr
    for path in COMMANDS:
        if len(path) == 1:
            assert path[0] in result.stdout, path


def test_no_arguments_shows_help(mastery: Mastery) -> None:
    result = mastery()
    assert "Usage: mastery" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_python_dash_m_pipeline_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert "init" in result.stdout


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    """Help text is the app's, not the process's: rendered in this process (the console
    script's own ``--help`` is test_top_level_help), as ``mastery`` at 100 columns."""
    command = COMMANDS[path]
    help_text = (getattr(command, "help", None) or "").strip()
    assert help_text, f"`mastery {' '.join(path)}` has no help text"
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "option":
            assert (param.help or "").strip(), f"`mastery {' '.join(path)}` {param.opts} no help"

    result = CliRunner().invoke(app, [*path, "--help"], prog_name="mastery", env=HELP_ENV)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.startswith(f"Usage: mastery {' '.join(path)}"), result.stdout
    assert help_text.splitlines()[0].strip() in " ".join(result.stdout.split())
    assert "Traceback" not in result.stdout + result.stderr

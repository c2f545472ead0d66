"""The package's shape holds: small modules, a CLI that starts without the heavy libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipeline"
MAX_MODULE_LINES = 400
HEAVY = ("polars", "duckdb", "pandera", "psycopg", "pyarrow", "sqlalchemy", "pyspark", "altair")


@pytest.mark.parametrize(
    "module", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_over_400_lines(module: Path) -> None:
    lines = len(module.read_text("utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module.name} has {lines} lines"


def test_help_imports_no_dataframe_or_database_library() -> None:
    """``mastery --help`` builds the whole command tree; the libraries load only in a command."""
    probe = (
        "import sys\n"
        "from pipeline.cli import app\n"
        "from typer.testing import CliRunner\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_every_command_has_help_text() -> None:
    from typer.main import get_command

    from pipeline.cli import app

    root = get_command(app)
    commands = getattr(root, "commands", {})
    assert commands
    for name, command in commands.items():
        assert (command.help or "").strip(), f"mastery {name} has no help text"
        for sub_name, sub in getattr(command, "commands", {}).items():
            assert (sub.help or "").strip(), f"mastery {name} {sub_name} has no help text"

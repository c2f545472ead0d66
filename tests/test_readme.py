"""The README's replayable session runs as written on a fresh database (issue 19 item 1)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def session_commands() -> list[str]:
    """The lines of the bash block under "## A session to replay"."""
    text = README.read_text("utf-8")
    section = text.split("## A session to replay", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "the section has a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.mark.slow
def test_readme_session_replays_as_written(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MASTERY_DATABASE_URL", None)
    commands = session_commands()
    assert any(c.startswith("mastery recompute") for c in commands)
    script = "set -e\n" + "\n".join(commands) + "\n"
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "what-if.parquet").is_file()
    assert (tmp_path / "cohort.html").is_file()
    assert "valid; checksum" in done.stdout

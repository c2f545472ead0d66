"""The built wheel works on its own: installed (not editable) into a fresh venv, `mastery init`
runs from outside the repository with the SQL files the wheel carries.

To stay fast and offline, the fresh venv gets the *dependencies* from this project's venv via a
``.pth`` line (a path added by a ``.pth`` line is not itself scanned for ``.pth`` files, so the
project's editable-install hook never runs there), while ``pipeline`` itself comes only from the
wheel, installed with pip into the new venv's own site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC_TABLES = {
    "users",
    "blocks",
    "themes",
    "questions",
    "question_versions",
    "test_sessions",
    "session_questions",
    "session_answers",
    "algo_versions",
    "algo_params",
    "algo_runs",
    "user_theme_mastery",
    # SPEC §8 (exclusions) and the incremental run's per-user fingerprints
    "mastery_exclusions",
    "mastery_user_fingerprints",
    "mastery_follow_state",
}
# repository folder -> where its files live once installed (pyproject's package-dir)
INSTALLED_AS = {"pipeline": "pipeline", "sql": "pipeline/sql", "schemas": "pipeline/schemas"}
PACKAGED_SUFFIXES = {".py", ".sql", ".json"}
PROBE = """
import json, sys
from importlib import resources
import pipeline, pipeline.cli, pipeline.io.sqlfiles
found = {"pipeline": pipeline.__file__, "cli": pipeline.cli.__file__, "sys_path": sys.path}
for package in ("pipeline.sql.postgres", "pipeline.sql.duckdb", "pipeline.sql.shared",
                "pipeline.sql.engine", "pipeline.schemas"):
    found[package] = str(resources.files(package))
found["ddl"] = pipeline.io.sqlfiles.ddl_names()
print(json.dumps(found))
"""


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _packaged_files(root: Path) -> dict[str, bytes]:
    """Files of a source tree that the wheel must carry, keyed by their installed path."""
    files = {}
    for folder, target in INSTALLED_AS.items():
        for path in sorted((root / folder).rglob("*")):
            if (
                path.is_file()
                and path.suffix in PACKAGED_SUFFIXES
                and "__pycache__" not in str(path)
            ):
                files[f"{target}/{path.relative_to(root / folder).as_posix()}"] = path.read_bytes()
    return files


@pytest.mark.slow
def test_wheel_installs_and_inits_outside_the_repo(tmp_path: Path) -> None:
    # A snapshot of the source, so the build writes no build/ or egg-info into the repository.
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    for folder in INSTALLED_AS:
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    expected_files = _packaged_files(src)
    assert any(name.endswith("/ddl_01_users.sql") for name in expected_files)

    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(dist)],
        cwd=tmp_path,
    )
    [wheel] = dist.glob("mastery_pipeline-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
        entry_points = next(n for n in in_wheel if n.endswith(".dist-info/entry_points.txt"))
        assert "mastery = pipeline.cli:main" in archive.read(entry_points).decode()
    missing = sorted(set(expected_files) - in_wheel)
    assert not missing, f"files left out of the wheel: {missing}"

    # A fresh venv; the wheel installed by pip into it (not editable, no dependency resolution).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        cwd=tmp_path,
    )
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=tmp_path,
        ).strip()
    )
    assert (site / "pipeline" / "__init__.py").is_file()
    assert not list(site.glob("__editable__*")), "the wheel must not install as editable"
    # dependencies (polars, duckdb, ...) from the project's venv, after the venv's own packages
    (site / "zz_project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MASTERY_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    probe = json.loads(_run([str(python), "-c", PROBE], cwd=outside, env=env))
    for key in (
        "pipeline",
        "cli",
        "pipeline.sql.postgres",
        "pipeline.sql.duckdb",
        "pipeline.sql.shared",
        "pipeline.sql.engine",
        "pipeline.schemas",
    ):
        located = Path(probe[key]).resolve()
        assert located.is_relative_to(site.resolve()), (key, located)
        assert not located.is_relative_to(REPO), (key, located)
    assert str(REPO) not in probe["sys_path"]
    assert len(probe["ddl"]) == len(list((REPO / "sql" / "shared").glob("ddl_*.sql")))
    # the installed SQL and schema files are byte-for-byte the ones the wheel was built from
    for name, content in expected_files.items():
        assert (site / name).read_bytes() == content, name

    database = tmp_path / "data" / "w.duckdb"
    database.parent.mkdir()
    mastery = venv / "bin" / "mastery"
    assert mastery.is_file()
    output = _run(
        [str(mastery), "init", "--database-url", f"duckdb:///{database}"], cwd=outside, env=env
    )
    assert "created:" in output
    assert not (outside / "mastery.duckdb").exists()
    assert not list(outside.iterdir()), "init wrote into the working directory"

    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        versions = con.execute("SELECT algo_key, version, status FROM algo_versions").fetchall()
    finally:
        con.close()
    assert tables == SPEC_TABLES
    assert sorted(versions) == [("mastery", "v0", "ACTIVE"), ("mastery", "v1", "ACTIVE")]

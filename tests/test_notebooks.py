"""The notebooks run green, top to bottom, in a kernel of this virtual environment.

Each notebook reads its inputs from environment variables in its first cell; the test points
them at a fresh DuckDB file (a generated cohort, recomputed at a fixed instant; or an empty
database the ASSISTments notebook imports into). The kernel is a throwaway kernelspec whose
``argv`` is this interpreter, found through ``JUPYTER_PATH``, so a user-level ``python3``
kernel elsewhere on the machine cannot be picked instead. The saved notebooks carry no outputs.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from pipeline import RunOptions, init_database, recompute
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "assist2017_lpp"
KERNEL = "mastery-test-venv"
AS_OF = datetime(2026, 11, 25, 6, tzinfo=UTC)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "mastery venv", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


def run_notebook(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(parts)


@pytest.mark.parametrize(
    "name", ["cohort_analysis.ipynb", "real_data_assistments.ipynb", "backtest_assistments.ipynb"]
)
def test_saved_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


def test_cohort_analysis_runs(
    kernel_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"duckdb:///{tmp_path / 'cohort.duckdb'}"
    init_database(url)
    generate_cohort_into(url, CohortSpec(users=200, themes=12, days=90, seed=7, as_of=AS_OF))
    recompute(url, options=RunOptions(trigger="test"), as_of=AS_OF)
    monkeypatch.setenv("MASTERY_DATABASE_URL", url)
    monkeypatch.setenv("MASTERY_AS_OF", AS_OF.isoformat())
    text = text_of(run_notebook("cohort_analysis.ipynb"))
    assert text.count("<svg") >= 5  # block boxes, weakest themes, heatmap, what-if, theme x week
    assert "difficulty-weighted" in text
    assert "theme x week: 12 themes over 6 weeks" in text


@pytest.mark.skipif(not DATA.is_dir(), reason=f"dataset not found at {DATA}")
def test_real_data_assistments_runs(
    kernel_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTERY_DATABASE_URL", f"duckdb:///{tmp_path / 'assist.duckdb'}")
    monkeypatch.setenv("MASTERY_ASSISTMENTS_DIR", str(DATA))
    text = text_of(run_notebook("real_data_assistments.ipynb"))
    assert "<svg" in text
    assert "23,853" in text  # the README's 90-day window, reproduced


@pytest.mark.skipif(not DATA.is_dir(), reason=f"dataset not found at {DATA}")
def test_backtest_assistments_runs(
    kernel_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTERY_DATABASE_URL", f"duckdb:///{tmp_path / 'assist.duckdb'}")
    monkeypatch.setenv("MASTERY_ASSISTMENTS_DIR", str(DATA))
    text = text_of(run_notebook("backtest_assistments.ipynb"))
    assert "90,586 answers scored" in text
    assert "0.7517" in text  # v1's AUC of benchmarks/RESULTS.md, reproduced
    assert "DKT" in text

"""Mastery pipeline: exact, explainable, whole-cohort mastery per student and theme.

The Python API that the CLI and notebooks share lives in :mod:`pipeline.api`; its names are
re-exported here, imported on first use so that ``mastery --help`` stays fast::

    from pipeline import compute_mastery, extract_attempts, recompute, Params, RunSpec, RunOptions
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BacktestResult",
    "CohortResult",
    "ConcurrentRunError",
    "MasteryError",
    "Params",
    "ParamsError",
    "RunOptions",
    "RunSpec",
    "RunSummary",
    "Scope",
    "SparkOptions",
    "activate_params",
    "backtest",
    "compute_cohort",
    "compute_mastery",
    "default_params",
    "export_attempts",
    "extract_attempts",
    "generate_cohort_into",
    "import_assistments",
    "init_database",
    "list_runs",
    "read_params_file",
    "recompute",
    "show_params",
    "weak_themes",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("pipeline.api"), name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")

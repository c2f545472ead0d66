"""Mastery pipeline: exact, explainable, whole-cohort mastery per student and theme.

The Python API that the CLI and notebooks share lives in :mod:`pipeline.api`; its names are
re-exported here, imported on first use so that ``mastery --help`` stays fast::

    from pipeline import compute_mastery, extract_attempts, recompute, Params, RunSpec, RunOptions
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

BATCH_ALLOCATOR = "dirty_decay_ms:10000,muzzy_decay_ms:10000"
"""jemalloc's settings for Polars in this process, set before Polars is imported (after, they
do nothing). Polars gives freed memory back to the system after 0.5-1 s, which suits an
interactive session; a run frees and allocates partition-sized buffers every few seconds, and
each given back is faulted in again (at L, half the system CPU of a run). jemalloc's own
default of 10 s keeps them for the next partition. A ``_RJEM_MALLOC_CONF`` already set is
appended, so its settings win."""

if "polars" not in sys.modules:
    _given = os.environ.get("_RJEM_MALLOC_CONF")
    os.environ["_RJEM_MALLOC_CONF"] = f"{BATCH_ALLOCATOR},{_given}" if _given else BATCH_ALLOCATOR

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

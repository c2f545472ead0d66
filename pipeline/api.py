"""The Python API that notebooks, schedulers and the CLI share: one import for every task.

Each name lives in its layer (``contracts``, ``kernel``, ``io``, ``run``, ``reports``,
``tools``); this module only gathers them, so callers never reach into a layer's internals.
"""

from __future__ import annotations

from pipeline.contracts.errors import ConcurrentRunError, MasteryError, ParamsError
from pipeline.contracts.params import Params, default_params
from pipeline.contracts.scope import Scope
from pipeline.io.export import export_attempts
from pipeline.io.extract import extract_attempts
from pipeline.kernel import CohortResult, compute_cohort, compute_mastery
from pipeline.reports.data import weak_themes
from pipeline.run.admin import (
    activate_params,
    init_database,
    list_runs,
    read_params_file,
    show_params,
)
from pipeline.run.job import recompute
from pipeline.tools.assistments import import_assistments
from pipeline.tools.loading import generate_cohort_into

__all__ = [
    "CohortResult",
    "ConcurrentRunError",
    "MasteryError",
    "Params",
    "ParamsError",
    "Scope",
    "activate_params",
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

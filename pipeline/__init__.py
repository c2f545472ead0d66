"""Mastery v0 pipeline: exact, explainable, whole-cohort mastery per student and theme.

The Python API that the CLI and notebooks share::

    from pipeline import compute_mastery, extract_attempts, recompute, Params
"""

from pipeline.admin import activate_params, init_database, list_runs, show_params
from pipeline.errors import ConcurrentRunError, MasteryError, ParamsError
from pipeline.extract import extract_attempts
from pipeline.job import recompute
from pipeline.kernel import CohortResult, compute_cohort, compute_mastery
from pipeline.params import Params, default_params

__all__ = [
    "CohortResult",
    "ConcurrentRunError",
    "MasteryError",
    "Params",
    "ParamsError",
    "activate_params",
    "compute_cohort",
    "compute_mastery",
    "default_params",
    "extract_attempts",
    "init_database",
    "list_runs",
    "recompute",
    "show_params",
]

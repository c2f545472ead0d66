"""The Python API that notebooks, schedulers and the CLI share: one import for every task.

Each name lives in its layer (``contracts``, ``kernel``, ``io``, ``run``, ``reports``,
``tools``); this module gathers them, so callers never reach into a layer's internals, and adds
:func:`recompute`, the keyword-friendly front of :func:`pipeline.run.job.run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pipeline.contracts.errors import ConcurrentRunError, MasteryError, ParamsError
from pipeline.contracts.params import Params, default_params
from pipeline.contracts.scope import Scope
from pipeline.io.export import export_attempts
from pipeline.io.extract import extract_attempts
from pipeline.io.url import DatabaseUrl
from pipeline.kernel import CohortResult, compute_cohort, compute_mastery
from pipeline.reports.data import weak_themes
from pipeline.run.admin import (
    activate_params,
    grant_job_role,
    init_database,
    list_runs,
    read_params_file,
    show_params,
)
from pipeline.run.backtest import BacktestResult, backtest
from pipeline.run.job import run
from pipeline.run.spec import RunOptions, RunSpec, RunSummary, SparkOptions
from pipeline.tools.assistments import import_assistments
from pipeline.tools.loading import generate_cohort_into

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
    "grant_job_role",
    "import_assistments",
    "init_database",
    "list_runs",
    "read_params_file",
    "recompute",
    "show_params",
    "weak_themes",
]


def recompute(
    database_url: str | DatabaseUrl | None = None,
    spec: RunSpec | None = None,
    options: RunOptions | None = None,
    *,
    as_of: datetime | None = None,
    users: Sequence[str] = (),
    themes: Sequence[int] = (),
) -> RunSummary:
    """Recompute mastery: one logged run (SPEC §5), or a dry run; returns its summary.

    ``spec`` says what is computed; without one, ``as_of`` (default now), ``users`` and
    ``themes`` (all when empty) make one with the store's active params. ``options`` says how
    it runs (default: for real, in this process, logged with trigger "api")::

        recompute(url, as_of=as_of, users=[student_id])
        recompute(url, RunSpec(as_of=as_of, params=what_if), RunOptions(dry_run=True))
    """
    if spec is None:
        spec = RunSpec.of(as_of or datetime.now(UTC), users, themes)
    elif as_of is not None or len(users) or len(themes):
        raise MasteryError("give as_of, users and themes either in the spec or beside it, not both")
    return run(database_url, spec, options or RunOptions())

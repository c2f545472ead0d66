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
from pipeline.contracts.params_v1 import ParamsV1, default_params_v1
from pipeline.contracts.scope import Scope
from pipeline.io.export import export_attempts
from pipeline.io.extract import extract_attempts
from pipeline.io.url import DatabaseUrl
from pipeline.kernel import CohortResult, compute_cohort, compute_mastery
from pipeline.kernel.v1 import V1Tables, v1_tables
from pipeline.kernel.v1_rows import compute_cohort_v1
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
from pipeline.run.diff import Sides, diff_candidate, diff_runs, publish_preview
from pipeline.run.exclusions import Target as ExclusionTarget
from pipeline.run.exclusions import exclude, include, list_exclusions
from pipeline.run.follow import Follower, FollowOptions, follow
from pipeline.run.fresh import FreshRecomputer, recompute_users
from pipeline.run.history import History, history, history_dates, parse_every
from pipeline.run.incremental import IncrementalResult, recompute_incremental
from pipeline.run.job import run
from pipeline.run.spec import RunOptions, RunSpec, RunSummary, SparkOptions
from pipeline.tools.assistments import import_assistments
from pipeline.tools.loading import generate_cohort_into

__all__ = [
    "BacktestResult",
    "CohortResult",
    "ConcurrentRunError",
    "ExclusionTarget",
    "FollowOptions",
    "Follower",
    "FreshRecomputer",
    "History",
    "IncrementalResult",
    "MasteryError",
    "Params",
    "ParamsError",
    "ParamsV1",
    "RunOptions",
    "RunSpec",
    "RunSummary",
    "Scope",
    "Sides",
    "SparkOptions",
    "V1Tables",
    "activate_params",
    "backtest",
    "compute_cohort",
    "compute_cohort_v1",
    "compute_mastery",
    "default_params",
    "default_params_v1",
    "diff_candidate",
    "diff_runs",
    "exclude",
    "export_attempts",
    "extract_attempts",
    "follow",
    "generate_cohort_into",
    "grant_job_role",
    "history",
    "history_dates",
    "import_assistments",
    "include",
    "init_database",
    "list_exclusions",
    "list_runs",
    "parse_every",
    "publish_preview",
    "read_params_file",
    "recompute",
    "recompute_incremental",
    "recompute_users",
    "show_params",
    "v1_tables",
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

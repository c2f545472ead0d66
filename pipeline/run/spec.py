"""A run as values: what it computes (:class:`RunSpec`), how it runs (:class:`RunOptions`) and
what it reports (:class:`RunSummary`).

Both inputs are frozen and checked when built: a bad value is one :class:`MasteryError` line
naming the field as the API spells it (the CLI names its own flags before it builds them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.contracts.scope import Scope, utc
from pipeline.io.extract import Window
from pipeline.io.store.base import DEFAULT_LOCK_TIMEOUT
from pipeline.run.ledger import TRIGGERS

Progress = Callable[[str], None]
Engine = Literal["polars", "spark"]
WriteMode = Literal["auto", "merge", "rebuild"]
ENGINES: tuple[str, ...] = get_args(Engine)
WRITE_MODES: tuple[str, ...] = get_args(WriteMode)
ALGORITHMS = ("v0", "v1")
DEFAULT_SPARK_BUCKETS = 8


def _algorithm_of(params: Params | ParamsV1) -> str:
    return "v1" if isinstance(params, ParamsV1) else "v0"


def _choices(names: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_seconds(name: str, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
        raise MasteryError(f"{name} must be a positive number of seconds, got {value!r}")


def _require_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise MasteryError(f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """What a run computes: the ``scope`` (users, themes; empty = all), the instant ``as_of``
    (naive means UTC), the ``params`` (None: the store's active params; others only in a dry
    run) and the ``algorithm`` ("v0" or "v1"; None: the one the params are for, else the
    store's active algorithm; another than the active one only in a dry run)."""

    as_of: datetime
    scope: Scope = field(default_factory=Scope)
    params: Params | ParamsV1 | None = None
    algorithm: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.as_of, datetime):
            raise MasteryError(f"as_of must be a datetime, got {self.as_of!r}")
        try:
            object.__setattr__(self, "as_of", utc(self.as_of))
        except OverflowError:
            raise MasteryError(
                f"as_of {self.as_of.isoformat()} is out of range once converted to UTC"
            ) from None
        if not isinstance(self.scope, Scope):
            raise MasteryError(f"scope must be a Scope, got {type(self.scope).__name__}")
        bad = [theme for theme in self.scope.theme_ids if not _is_int(theme)]
        if bad:
            raise MasteryError(f"theme ids must be integers, got {bad[0]!r}")
        object.__setattr__(self, "scope", Scope.checked(self.scope.user_ids, self.scope.theme_ids))
        if self.params is not None and not isinstance(self.params, Params | ParamsV1):
            raise MasteryError(
                f"params must be a Params or ParamsV1 (or None for the active params), "
                f"got {type(self.params).__name__}"
            )
        if self.algorithm is not None and self.algorithm not in ALGORITHMS:
            raise MasteryError(f"unknown algorithm {self.algorithm!r}: use {_choices(ALGORITHMS)}")
        if self.params is not None:
            if self.algorithm is None:
                object.__setattr__(self, "algorithm", _algorithm_of(self.params))
            elif _algorithm_of(self.params) != self.algorithm:
                raise MasteryError(
                    f"params are {_algorithm_of(self.params)}'s, not {self.algorithm}'s"
                )

    @classmethod
    def of(cls, as_of: datetime, users: Sequence[str] = (), themes: Sequence[int] = ()) -> RunSpec:
        """The spec of a run over ``users`` and ``themes`` (all when empty) with active params."""
        if isinstance(users, str) or isinstance(themes, str):
            raise MasteryError("users and themes are lists of ids, not one string")
        return cls(as_of=as_of, scope=Scope(tuple(users), tuple(themes)))

    @property
    def used_params(self) -> Params | ParamsV1:
        """The params rows are computed with; a run fills in the active ones first."""
        if self.params is None:
            raise ValueError("RunSpec.params is unresolved: run() fills in the active params")
        return self.params

    @property
    def used_algorithm(self) -> str:
        """ "v0" or "v1": the algorithm of the (resolved) params."""
        return _algorithm_of(self.used_params)

    def with_params(self, params: Params | ParamsV1) -> RunSpec:
        return replace(self, params=params, algorithm=_algorithm_of(params))

    def resolved(
        self,
        active_algorithm: str,
        active_params: Params | ParamsV1,
        stored: Callable[[str], Params | ParamsV1],
        *,
        dry_run: bool,
    ) -> RunSpec:
        """With its params: given ones, else the active ones, else (a dry run of another
        algorithm) that algorithm's stored params (``stored(version)``). A real run always
        uses the active algorithm."""
        algorithm = self.algorithm or active_algorithm
        if algorithm != active_algorithm and not dry_run:
            raise MasteryError(
                f"the active algorithm is {active_algorithm}: a real run uses it "
                f"({algorithm} only in a dry run, or activate {algorithm}'s params)"
            )
        if self.params is not None:
            return self.with_params(self.params)
        if algorithm == active_algorithm:
            return self.with_params(active_params)
        return self.with_params(stored(algorithm))

    @property
    def window(self) -> Window:
        """The attempts this run reads: its scope over its params' lookback ending at as_of."""
        return Window(self.scope, self.as_of, self.used_params.lookback_days)


@dataclass(frozen=True)
class SparkOptions:
    """Where Spark runs: ``master`` (else the active session or local[*]), extra Spark ``conf``
    settings, and the folder for the exported input and Spark's output, which must be one
    that the driver and every executor see (a shared mount on a cluster)."""

    master: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    work_dir: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How a run runs; none of it changes the rows.

    ``dry_run`` writes nothing to the database (no ledger row either); ``output`` also writes
    the rows to this Parquet file; ``trigger`` is logged on the ledger row; ``wait`` waits for
    a running recompute instead of refusing. ``partitions`` splits users by a stable hash so
    one partition's attempts are in memory at a time (default 1; with ``engine="spark"``, the
    user buckets Spark workers compute, default 8; ``spark`` says where). ``write_mode``:
    "merge" upserts row by row; "rebuild" (Postgres) builds the next table in bulk beside
    the old one and swaps it in (readers never wait long; a merge when the swap cannot be
    done); "auto" rebuilds whole-cohort runs on Postgres and
    merges otherwise. ``lock_timeout`` (seconds) bounds each request for a lock on the output
    table (a few tries with back-off); ``max_wait`` (seconds, None: unbounded) bounds the whole
    run, waits for locks and reads included. ``progress`` is called with each stage's name.
    ``allow_mass_change`` lets a run write although it looks like a mistake: an as_of in the
    future or a year before the newest submission, or more than half of the stored rows in its
    scope left stale. ``snapshot`` (Postgres) pins every attempt read to a snapshot another
    open transaction exported (the incremental's fingerprints were read in it).
    """

    dry_run: bool = False
    output: Path | None = None
    trigger: str = "api"
    wait: bool = False
    partitions: int | None = None
    engine: Engine = "polars"
    spark: SparkOptions | None = None
    write_mode: WriteMode = "auto"
    allow_mass_change: bool = False
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    max_wait: float | None = None
    progress: Progress | None = field(default=None, compare=False, repr=False)
    snapshot: str | None = None

    def __post_init__(self) -> None:
        _require_bool("dry_run", self.dry_run)
        _require_bool("wait", self.wait)
        _require_bool("allow_mass_change", self.allow_mass_change)
        if self.snapshot is not None and not isinstance(self.snapshot, str):
            raise MasteryError(f"snapshot must be a snapshot id, got {self.snapshot!r}")
        if isinstance(self.output, str):
            object.__setattr__(self, "output", Path(self.output))
        if self.output is not None and not isinstance(self.output, Path):
            raise MasteryError(f"output must be a path, got {self.output!r}")
        if self.trigger not in TRIGGERS:
            raise MasteryError(f"unknown trigger {self.trigger!r}: use {_choices(TRIGGERS)}")
        if self.partitions is not None and not _is_int(self.partitions):
            raise MasteryError(f"partitions must be a whole number, got {self.partitions!r}")
        if self.partitions is not None and self.partitions < 1:
            raise MasteryError(f"partitions must be at least 1, got {self.partitions}")
        if self.engine not in ENGINES:
            raise MasteryError(f"unknown engine {self.engine!r}: use {_choices(ENGINES)}")
        if self.spark is not None and not isinstance(self.spark, SparkOptions):
            raise MasteryError(f"spark must be SparkOptions, got {type(self.spark).__name__}")
        if self.write_mode not in WRITE_MODES:
            raise MasteryError(
                f"unknown write mode {self.write_mode!r}: use {_choices(WRITE_MODES)}"
            )
        _require_seconds("lock_timeout", self.lock_timeout)
        if self.max_wait is not None:
            _require_seconds("max_wait", self.max_wait)
        if self.progress is not None and not callable(self.progress):
            raise MasteryError(f"progress must be callable, got {self.progress!r}")

    @property
    def partition_count(self) -> int:
        """``partitions``, else its default for the engine."""
        if self.partitions is not None:
            return self.partitions
        return DEFAULT_SPARK_BUCKETS if self.engine == "spark" else 1

    def as_json(self) -> dict[str, Any]:
        """What the ledger logs of how the run ran."""
        return {
            "partitions": self.partition_count,
            "engine": self.engine,
            "write_mode": self.write_mode,
        }


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """The summary of SPEC §5 (what ``algo_runs.output_summary_json`` holds) plus ``run_id``
    (None for a dry run) and ``dry_run``."""

    themes_computed: int
    records_upserted: int
    users: int
    stale_rows_refreshed: int
    insufficient_rows: int
    data_quality: dict[str, int]
    stage_seconds: dict[str, float]
    run_id: str | None = None
    dry_run: bool = False
    mass_change: str | None = None  # a dry run's note of what a real run would refuse
    write_mode: str | None = None  # the write that happened: "rebuild" or "merge"
    write_note: str | None = None  # why a rebuild asked for became a merge

    def output_summary(self) -> dict[str, Any]:
        """The ledger's ``output_summary_json``: dashboards read these keys, in this order."""
        return {
            "themes_computed": self.themes_computed,
            "records_upserted": self.records_upserted,
            "users": self.users,
            "stale_rows_refreshed": self.stale_rows_refreshed,
            "insufficient_rows": self.insufficient_rows,
            "data_quality": dict(self.data_quality),
            "stage_seconds": dict(self.stage_seconds),
        }

    def as_json(self) -> dict[str, Any]:
        """The summary plus ``run_id``, and ``dry_run: true`` for a dry run (``--json``)."""
        summary = self.output_summary() | {"run_id": self.run_id}
        if self.dry_run:
            summary["dry_run"] = True
        if self.mass_change:
            summary["mass_change"] = self.mass_change
        return summary

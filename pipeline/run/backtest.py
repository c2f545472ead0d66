"""``mastery backtest`` (issue 16): does the score predict the next answer?

For every attempt answered in the period, each model's value for that student and theme just
before the answer (:mod:`pipeline.kernel.replay`, :mod:`pipeline.kernel.v1`) is read as the
chance of answering right and scored against the answer (:mod:`pipeline.kernel.metrics`). Rows
per model: v0 (only where it has ``min_attempts``; the rest are counted as insufficient
evidence, never predicted as 0), v1 (every attempt, its *not enough evidence* count beside),
v1's theme score alone (the stored row, no question), v1 on the attempts v0 scores (same rows
as v0), and three baselines (base rate, the student's accuracy, the theme's accuracy).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params, default_params
from pipeline.contracts.params_v1 import ParamsV1, default_params_v1
from pipeline.contracts.scope import Scope, utc
from pipeline.io.extract import Window, extract_from_store
from pipeline.io.store import Partition, open_store
from pipeline.io.url import DatabaseUrl
from pipeline.kernel.cohort_counts import CohortCounts, attach, cohort_counts, narrow
from pipeline.kernel.metrics import Metrics, evaluate
from pipeline.kernel.rate_tables import RateTables, cells, rate_tables
from pipeline.kernel.replay import (
    BASELINES,
    History,
    Period,
    prepared,
    replay_baselines,
)
from pipeline.kernel.replay_v0 import replay_v0
from pipeline.kernel.v1 import replay_v1

ALGOS = ("v0", "v1")
DEFAULT_DAYS = 90  # the period when --from is not given: the 90 days before --to
BASELINE_LABELS = {
    "base_rate": "base rate",
    "student_accuracy": "student accuracy",
    "theme_accuracy": "theme accuracy",
}


@dataclass(frozen=True)
class Model:
    """One algorithm with its params; ``name`` labels its rows and prediction columns."""

    name: str
    algo: str
    params: Params | ParamsV1

    @property
    def lookback_days(self) -> int:
        return self.params.lookback_days


@dataclass(frozen=True)
class ModelResult:
    name: str
    algo: str | None
    params_checksum: str | None
    metrics: Metrics
    insufficient_evidence: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "algo": self.algo,
            "params_checksum": self.params_checksum,
            **self.metrics.as_json(),
            "insufficient_evidence": self.insufficient_evidence,
        }


@dataclass(frozen=True)
class BacktestResult:
    """Metrics per model and baseline, and every target's predictions (one column each)."""

    period: Period
    attempts: int
    models: tuple[ModelResult, ...]
    predictions: pl.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()},
            "attempts": self.attempts,
            "models": [m.as_json() for m in self.models],
        }


def backtest_frame(
    attempts: pl.DataFrame | pl.LazyFrame, period: Period, models: Sequence[Model]
) -> BacktestResult:
    """Replay and score resolved attempts (the period's plus the history before it)."""
    return backtest_partitions(lambda _: attempts, 1, period, models)


def backtest_partitions(
    read: Callable[[int], pl.DataFrame | pl.LazyFrame],
    partitions: int,
    period: Period,
    models: Sequence[Model],
    *,
    ids: bool = True,
) -> BacktestResult:
    """:func:`backtest_frame` over ``partitions`` partitions of students, ``read(i)`` giving
    the i-th (read twice when more than one): the cohort's counts first
    (:mod:`pipeline.kernel.cohort_counts`: narrow columns of every partition), then each
    partition's replay against them, one partition in memory at a time. The predictions
    are concatenated (unless ``ids``, only what the metrics read: outcome, predictions,
    flags) and scored together: the same metrics, to the digit, whatever the partitioning."""
    started = time.perf_counter()
    counts, rates = None, None
    if partitions > 1:
        narrowed = [narrow(read(index)) for index in range(partitions)]
        if any(model.algo == "v1" for model in models):
            rates = rate_tables(cells(rows) for rows in narrowed)
        counts = cohort_counts(narrowed)
        del narrowed
    kept = None if ids else _scored_columns(models)
    parts = [
        _replayed(read(index), period, models, counts, rates).select(kept or pl.all())
        for index in range(partitions)
    ]
    predictions = pl.concat(parts, how="vertical")
    del parts
    replayed_at = time.perf_counter()
    results: list[ModelResult] = []
    for name in BASELINES:
        results.append(ModelResult(BASELINE_LABELS[name], None, None, evaluate(predictions, name)))
    v0_scored = [m for m in models if m.algo == "v0"]
    for model in models:
        results += _model_rows(predictions, model, v0_scored[0] if v0_scored else None)
    finished = time.perf_counter()
    seconds = {"replay": replayed_at - started, "metrics": finished - replayed_at}
    return BacktestResult(period, predictions.height, tuple(results), predictions, seconds)


def _scored_columns(models: Sequence[Model]) -> list[str]:
    columns = ["correct", *BASELINES]
    for model in models:
        columns += [model.name, f"{model.name}:insufficient"]
        columns += [f"{model.name}:theme"] if model.algo == "v1" else []
    return columns


def _replayed(
    attempts: pl.DataFrame | pl.LazyFrame,
    period: Period,
    models: Sequence[Model],
    counts: CohortCounts | None,
    rates: RateTables | None,
) -> pl.DataFrame:
    """One partition's targets with every model's and baseline's prediction (``counts`` and
    ``rates``: the whole cohort's, when this is one partition of it)."""
    frame = prepared(attempts)
    answered = frame.filter(pl.col("answered_at").is_not_null())
    history = History(frame, None if counts is None else attach(answered, counts))
    targets = history.rows.filter(period.contains()).select(
        "row", "user_id", "session_id", "question_id", "theme_id", "answered_at", "correct"
    )
    predictions = targets.join(replay_baselines(history, period), on="row", how="left")
    for model in models:
        if isinstance(model.params, ParamsV1):
            replayed = replay_v1(history, period, model.params, rates)
        else:
            replayed = replay_v0(history, period, model.params)
        predictions = predictions.join(_named(replayed, model), on="row", how="left")
    return predictions.drop("row")


def _named(replayed: pl.DataFrame, model: Model) -> pl.DataFrame:
    """The model's columns as ``<name>``, ``<name>:evidence``, ``<name>:insufficient``
    (and ``<name>:theme`` for v1's theme score)."""
    algo = model.algo
    columns = {
        model.name: pl.col(algo),
        f"{model.name}:evidence": pl.col(f"{algo}_attempts"),
        f"{model.name}:insufficient": pl.col(f"{algo}_insufficient"),
    }
    if algo == "v1":
        columns[f"{model.name}:theme"] = pl.col("v1_mastery")
    return replayed.select("row", **columns)


def _model_rows(predictions: pl.DataFrame, model: Model, v0: Model | None) -> list[ModelResult]:
    checksum = model.params.checksum()
    flag = pl.col(f"{model.name}:insufficient")
    insufficient = int(predictions.select(flag.sum()).item() or 0)
    rows = [
        ModelResult(
            model.name, model.algo, checksum, evaluate(predictions, model.name), insufficient
        )
    ]
    if model.algo == "v1":
        theme = evaluate(predictions, f"{model.name}:theme")
        rows.append(ModelResult(f"{model.name} theme score", "v1", checksum, theme, insufficient))
        if v0 is not None:
            same = predictions.filter(pl.col(v0.name).is_not_null())
            rows.append(
                ModelResult(
                    f"{model.name} where {v0.name} scores",
                    "v1",
                    checksum,
                    evaluate(same, model.name),
                    int(same.select(flag.sum()).item() or 0),
                )
            )
    return rows


# --------------------------------------------------------------------------------------------
# from a store


def period_of(start: datetime | date | None, end: datetime | date | None, now: datetime) -> Period:
    """A date ``end`` includes that day (the period ends at the next midnight, UTC); instants
    are taken as they are (naive means UTC). Defaults: ``end`` now, ``start`` 90 days before."""
    stop = _instant(end, inclusive_day=True) if end is not None else utc(now)
    begin = _instant(start, inclusive_day=False) if start is not None else None
    try:
        return Period(begin or stop - timedelta(days=DEFAULT_DAYS), stop)
    except ValueError as exc:
        raise MasteryError(f"backtest: {exc}") from None


def _instant(value: datetime | date, *, inclusive_day: bool) -> datetime:
    if isinstance(value, datetime):
        return utc(value)
    midnight = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return midnight + timedelta(days=1) if inclusive_day else midnight


def read_model_params(path: str | Path, algo: str | None) -> tuple[str, Params | ParamsV1]:
    """A params file as ``algo``'s params; without an algo, v0's if it validates, else v1's."""
    source = Path(path)
    if not source.is_file():
        raise MasteryError(f"params file {source} does not exist")
    text = source.read_text("utf-8")
    if algo == "v1":
        return "v1", ParamsV1.from_json(text)
    if algo == "v0":
        return "v0", Params.from_json(text)
    try:
        return "v0", Params.from_json(text)
    except MasteryError:
        return "v1", ParamsV1.from_json(text)


def resolve_models(
    algos: Sequence[str], params_files: Sequence[str | Path], active_v0: Params | None = None
) -> list[Model]:
    """Which models run: each ``--params`` file pairs with the ``--algo`` at its position (one
    ``--algo`` applies to every file; with none, a file is v0's if it validates as v0 params,
    else v1's); without files, each algo (default: v0 and v1) runs with v0's active params
    and v1's defaults."""
    unknown = sorted(set(algos) - set(ALGOS))
    if unknown:
        raise MasteryError(f"unknown --algo {', '.join(unknown)}: use v0 or v1")
    if not params_files:
        chosen = list(dict.fromkeys(algos or ALGOS))
        defaults: dict[str, Params | ParamsV1] = {
            "v0": active_v0 or default_params(),
            "v1": default_params_v1(),
        }
        return [Model(a, a, defaults[a]) for a in chosen]
    if len(algos) > 1 and len(algos) != len(params_files):
        raise MasteryError(
            f"{len(params_files)} --params files for {len(algos)} --algo options: give one "
            "--algo for all files, or one per file in the same order"
        )
    models = []
    for i, path in enumerate(params_files):
        wanted = algos[i] if len(algos) > 1 else (algos[0] if algos else None)
        algo, params = read_model_params(path, wanted)
        name = algo if len(params_files) == 1 else f"{algo} ({Path(path).name})"
        models.append(Model(name, algo, params))
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise MasteryError("two --params files share a name: rename one")
    return models


@dataclass(frozen=True)
class BacktestOptions:
    """``output``: a Parquet file for every target's predictions. ``partitions`` > 1: the
    students are read in that many hash partitions (as a recompute reads them; each read
    twice) to bound memory; the predictions then keep their id columns only with ``output``."""

    output: str | Path | None = None
    partitions: int = 1

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise MasteryError(f"--partitions must be at least 1, not {self.partitions}")


def backtest(
    database_url: str | DatabaseUrl | None = None,
    *,
    algos: Sequence[str] = (),
    params_files: Sequence[str | Path] = (),
    period_from: datetime | date | None = None,
    period_to: datetime | date | None = None,
    options: BacktestOptions | None = None,
) -> BacktestResult:
    """Backtest v0 and/or v1 on the store's attempts of the period (read-only, no run logged).

    Extracts the sessions submitted up to a day after the period (so sessions spanning its
    end are whole) and back to the longest lookback before its start, replays, scores, and
    with ``options.output`` writes every target's predictions to Parquet (see
    :class:`BacktestOptions` for partitions).
    """
    options = options or BacktestOptions()
    partitions, output = options.partitions, options.output
    period = period_of(period_from, period_to, datetime.now(UTC))
    models = resolve_models(
        algos, params_files, _active_v0(database_url) if not params_files else None
    )
    history = max(m.lookback_days for m in models)
    span = period.end - period.start
    lookback = span.days + (1 if span % timedelta(days=1) else 0) + history + 2
    window = Window(Scope(), period.end + timedelta(days=1), lookback)
    extracted = 0.0
    with open_store(database_url) as store:
        store.require_tables(("test_sessions", "session_answers", "session_questions"))

        def read(index: int) -> pl.DataFrame:
            nonlocal extracted
            started = time.perf_counter()
            frame = extract_from_store(store, window, Partition(index, partitions)).attempts
            extracted += time.perf_counter() - started
            return frame

        result = backtest_partitions(
            read, partitions, period, models, ids=partitions == 1 or output is not None
        )
    result.seconds["replay"] -= extracted
    result.seconds["extract"] = extracted
    if output is not None:
        _write(result.predictions, Path(output))
    return result


def _active_v0(database_url: str | DatabaseUrl | None) -> Params | None:
    from pipeline.run.admin import show_params

    try:
        params = show_params(database_url, "v0").params
    except MasteryError:
        return None
    return params if isinstance(params, Params) else None


def _write(predictions: pl.DataFrame, path: Path) -> None:
    try:
        predictions.write_parquet(path)
    except OSError as exc:
        raise MasteryError(f"cannot write {path}: {exc.strerror or exc}") from None

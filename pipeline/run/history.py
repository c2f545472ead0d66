"""``mastery history``: the active algorithm's (v0) scores as of every date of a series.

ONE extract covers every date's window (from the first date's window start to the last date),
the exclusions are left out as in every run, and one vectorized kernel pass
(:func:`pipeline.kernel.history.compute_history`) scores every date. Nothing is written to the
database; the rows go to a Parquet file (or back to the caller).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope, utc
from pipeline.io.extract import Window, extract_from_store
from pipeline.io.store import open_store
from pipeline.io.url import DatabaseUrl
from pipeline.kernel.history import compute_history
from pipeline.run.exclusions import drop_excluded, read_active
from pipeline.run.load import check_output_path

Url = str | DatabaseUrl | None
MAX_DATES = 1000


@dataclass(frozen=True)
class History:
    """Rows per date (``pipeline.kernel.history.HISTORY_SCHEMA``), the dates, the attempts
    left out by exclusions and the seconds each stage took."""

    rows: pl.DataFrame
    dates: list[datetime]
    excluded_attempts: int = 0
    stage_seconds: dict[str, float] = field(default_factory=dict)


def history_dates(start: datetime, end: datetime, every: timedelta) -> list[datetime]:
    """``start``, ``start + every``, ... up to and including ``end``."""
    if every <= timedelta(0):
        raise MasteryError("--every must be a positive duration")
    first, last = utc(start), utc(end)
    if last < first:
        raise MasteryError(f"--to {last.isoformat()} is before --from {first.isoformat()}")
    count = int((last - first) / every) + 1
    if count > MAX_DATES:
        raise MasteryError(f"{count} dates: at most {MAX_DATES} (a longer --every?)")
    return [first + every * n for n in range(count)]


def parse_every(text: str) -> timedelta:
    """``7d``, ``12h``, ``2w`` (days, hours, weeks)."""
    units = {"d": "days", "h": "hours", "w": "weeks"}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not number.isdigit() or int(number) < 1:
        raise MasteryError(f"--every {text!r}: use a whole number and d, h or w, e.g. 7d")
    return timedelta(**{units[unit]: int(number)})


def history(
    database_url: Url,
    dates: Sequence[datetime],
    *,
    users: Sequence[str] = (),
    themes: Sequence[int] = (),
    params: Params | None = None,
    output: Path | None = None,
) -> History:
    """The v0 rows as of each of ``dates`` for the scope (all users and themes when empty),
    with the active params (or ``params``); ``output`` also writes them to Parquet."""
    from pipeline.run.validate import validate_attempts

    if not dates:
        raise MasteryError("no dates to compute")
    if output:
        check_output_path(output)
    instants = sorted({utc(date) for date in dates})
    scope = Scope.checked(tuple(users), tuple(themes))
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    with open_store(database_url) as store:
        chosen = params or store.active_params().params
        if not isinstance(chosen, Params):
            raise MasteryError("history computes v0: activate v0 params, or pass v0 params")
        params = chosen
        span = math.ceil((instants[-1] - instants[0]) / timedelta(days=1))
        window = Window(scope, instants[-1], params.lookback_days + span)
        extracted = extract_from_store(store, window)
        themes_frame = store.fetch_frame("select_themes")
        blocks_frame = store.fetch_frame("select_blocks")
        exclusions = read_active(store)
    seconds["extract"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    attempts = validate_attempts(extracted.attempts)
    attempts, excluded = drop_excluded(attempts, exclusions)
    seconds["validate_input"] = round(time.perf_counter() - clock, 3)
    clock = time.perf_counter()
    rows = compute_history(
        attempts.lazy(), params, instants, themes_frame.lazy(), blocks_frame.lazy()
    )
    seconds["compute"] = round(time.perf_counter() - clock, 3)
    if output:
        try:
            rows.write_parquet(output)
        except OSError as exc:
            raise MasteryError(f"cannot write {output}: {exc.strerror or exc}") from None
    return History(rows, instants, excluded, seconds)

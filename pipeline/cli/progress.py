"""Progress display on a terminal only; silent when output is piped or in CI."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipeline.contracts.errors import MasteryError

_stderr = Console(stderr=True)


class RowProgress:
    """Bar over generated attempts (the bulk of the rows)."""

    def __init__(self, total_attempts: int) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=_stderr,
            disable=not _stderr.is_terminal,
        )
        self._task = self._bar.add_task("generating", total=total_attempts)

    def __enter__(self) -> RowProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def advance(self, table: str, rows: int) -> None:
        self._bar.update(self._task, description=f"loading {table}")
        if table == "session_answers":
            self._bar.advance(self._task, rows)


LOG_FORMATS = ("text", "json")
_log_format = ["text"]


def set_log_format(name: str) -> None:
    """``text`` or ``json`` (``mastery --log-format``); anything else is one clear line."""
    if name not in LOG_FORMATS:
        raise MasteryError(f"--log-format {name!r}: use text or json")
    _log_format[0] = name


def log_line(event: str, **fields: object) -> None:
    """One stderr line for schedulers' logs: ``key=value`` words, or one JSON object."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    if _log_format[0] == "json":
        line = json.dumps({"time": stamp, "event": event, **fields}, default=str)
    else:
        words = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"{stamp} mastery {event} {words}".rstrip()
    _stderr.print(line, markup=False, highlight=False, soft_wrap=True)


class StageProgress:
    """A spinner naming the current stage of a run on a terminal; elsewhere (cron, CI, a
    scheduler's log) one log line as each stage starts, so a long run is never silent."""

    def __init__(self, *, enabled: bool = True) -> None:
        self._log = not _stderr.is_terminal
        self._started = time.perf_counter()
        self._last = ""
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=_stderr,
            transient=True,
            disable=not (enabled and _stderr.is_terminal),
        )
        self._task = self._bar.add_task("starting", total=None)

    def __enter__(self) -> StageProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def stage(self, name: str) -> None:
        self._bar.update(self._task, description=name)
        if self._log and name != self._last:
            self._last = name
            stage, _, part = name.partition(" ")
            elapsed = round(time.perf_counter() - self._started, 3)
            fields: dict[str, object] = {"stage": stage, "elapsed_s": elapsed}
            if part:
                fields["part"] = part
            log_line("stage", **fields)


def log_finished(run_id: str | None, rows: int, stage_seconds: dict[str, float]) -> None:
    """The run's last log line off a terminal: its id, rows written and seconds."""
    if not _stderr.is_terminal:
        seconds = round(sum(v for k, v in stage_seconds.items() if "." not in k), 3)
        log_line("finished", run_id=run_id or "dry-run", rows=rows, seconds=seconds)

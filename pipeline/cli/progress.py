"""Progress display on a terminal only; silent when output is piped or in CI."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

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


class StageProgress:
    """A spinner naming the current stage of a run."""

    def __init__(self, *, enabled: bool = True) -> None:
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

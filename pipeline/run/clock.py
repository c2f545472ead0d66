"""Where a run's time goes: seconds per stage and sub-stage (``stage_seconds`` of the summary)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.run.spec import Progress


class StageClock:
    """Seconds per stage, summed over partitions, in the order the stages first ran."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self._progress = progress

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[None]:
        if self._progress:
            self._progress(f"{name} {detail}".strip())
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    @contextmanager
    def sub(self, name: str) -> Iterator[None]:
        """A sub-stage (``"extract.resolve"``) timed inside its stage, with no progress line."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        """Seconds spent elsewhere (a read in another thread) added under ``name``."""
        self.seconds[name] = round(self.seconds.get(name, 0.0) + seconds, 3)

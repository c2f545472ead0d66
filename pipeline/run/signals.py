"""SIGINT and SIGTERM end a run cleanly: the run rolls back, is marked FAILED, and the CLI
exits 130 or 143 with one line.

The handler raises :class:`Interrupted` (a ``BaseException``, so no ``except Exception`` in a
library swallows it) and also records the signal, so that a run checks once more before it
commits: an interrupt swallowed somewhere on the way can never end in SUCCESS.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

from pipeline.contracts.errors import Interrupted

_received: list[str] = []


def install() -> None:
    """Route SIGINT and SIGTERM to :class:`Interrupted` (main thread only; the CLI calls it)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _raise)


def _raise(number: int, frame: FrameType | None) -> None:
    name = signal.Signals(number).name
    _received.append(name)
    raise Interrupted(name)


def last() -> str | None:
    """The name of the last signal received, if any."""
    return _received[-1] if _received else None


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if a signal arrived since the process started."""
    if _received:
        raise Interrupted(_received[-1])

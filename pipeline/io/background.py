"""Work in a daemon thread, waited for in short slices: how reads run beside the main thread.

The main thread then waits in Python, where SIGINT and SIGTERM reach it at once (a driver's
blocking call would hold them until its query ends; a signal the OS delivered to the reading
thread still runs its Python handler in the main thread within a slice), and a daemon thread
never keeps an interrupted process alive.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

_T = TypeVar("_T")
SLICE_SECONDS = 0.2


def in_background(work: Callable[[], _T], name: str) -> Future[_T]:
    """``work()`` started in a daemon thread named ``name``; its result or exception lands in
    the future, for :func:`result`."""
    future: Future[_T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to the waiting thread, which raises it
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def result(future: Future[_T]) -> _T:
    """The future's result (or its exception raised), waited for in slices."""
    while True:
        try:
            return future.result(timeout=SLICE_SECONDS)
        except TimeoutError:
            continue


def settle(future: Future[Any]) -> None:
    """Wait for the work to end, whatever it ended with (a cancelled read, say)."""
    with contextlib.suppress(BaseException):  # the caller's own error is the one raised
        result(future)

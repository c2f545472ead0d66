"""How a run reads its partitions: how many by default, and the next one read meanwhile."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from typing import TypeVar

from pipeline.io.extract import Window
from pipeline.io.store import Store

_T = TypeVar("_T")

ATTEMPTS_PER_PARTITION = 400_000
"""The default partition count keeps about this many window answers in each partition: the
M cohort (2.5M answers in the window of 13 weekly dates: 7 partitions) peaked under 1 GB."""


def default_partitions(store: Store, window: Window, per: int = ATTEMPTS_PER_PARTITION) -> int:
    """Enough partitions for about ``per`` window answers each, and no more than there are
    users (an empty partition still costs a read of the window)."""
    params = {
        "window_start": window.start.isoformat(),
        "as_of": window.end.isoformat(),
        "user_ids": ",".join(window.scope.user_ids),
    }
    answers = int(store.fetch_frame("count_window_attempts", params)["n"][0])
    scoped = window.scope.user_ids
    users = len(scoped) if scoped else int(store.fetch_frame("count_users")["n"][0])
    return max(1, min(math.ceil(answers / per), users))


def read_ahead(read: Callable[[int], _T], count: int, *, ahead: bool) -> Iterator[Callable[[], _T]]:
    """Per partition, a function giving its rows; with ``ahead``, the next read is under way.

    With ``ahead`` every read runs in a daemon thread, even a single one: the main thread
    waits in Python, where SIGINT and SIGTERM reach it at once (a driver's blocking call would
    hold them until its query ends), and an interrupted process never waits for a read.
    """
    if not ahead:
        yield from (partial(read, index) for index in range(count))
        return
    pending = _in_background(read, 0)
    for index in range(count):
        current = pending
        if index + 1 < count:
            pending = _in_background(read, index + 1)
        yield partial(_result, current)


def _result(future: Future[_T]) -> _T:
    """Wait in short slices: a signal the OS delivered to the reading thread still runs its
    Python handler in the main thread within a slice."""
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue


def _in_background(read: Callable[[int], _T], index: int) -> Future[_T]:
    future: Future[_T] = Future()

    def work() -> None:
        try:
            future.set_result(read(index))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            future.set_exception(exc)

    threading.Thread(target=work, name=f"extract-{index}", daemon=True).start()
    return future

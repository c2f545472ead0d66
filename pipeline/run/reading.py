"""How a run reads its partitions: how many by default, and the next one read meanwhile."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from typing import Generic, TypeVar

from pipeline.io.background import in_background, result
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

    With ``ahead`` every read runs in a daemon thread, even a single one
    (:mod:`pipeline.io.background`: signals reach the waiting main thread at once, and an
    interrupted process never waits for a read).
    """
    if not ahead:
        yield from (partial(read, index) for index in range(count))
        return
    following = in_background(partial(read, 0), "extract-0")
    for index in range(count):
        current = _TakeOnce(following)
        if index + 1 < count:
            following = in_background(partial(read, index + 1), f"extract-{index + 1}")
        else:
            del following  # the last read is its caller's alone
        yield current


class _TakeOnce(Generic[_T]):
    """A read's result, handed over once: afterwards nothing here refers to it, so a partition's
    rows live only as long as its caller keeps them (not until the next read is taken)."""

    def __init__(self, future: Future[_T]) -> None:
        self._future: Future[_T] | None = future

    def __call__(self) -> _T:
        future, self._future = self._future, None
        if future is None:
            raise RuntimeError("a partition's read was taken twice")
        return result(future)

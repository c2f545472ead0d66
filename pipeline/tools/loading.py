"""Loading source tables in bulk, for the synthetic generator and dataset importers."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.io.store import Store, open_store
from pipeline.io.store.tables import SOURCE_TABLES
from pipeline.io.url import DatabaseUrl

if TYPE_CHECKING:
    from pipeline.tools.generate import CohortSpec


def require_empty_sources(store: Store, verb: str) -> None:
    """Refuse to load into source tables that already hold a cohort."""
    store.require_tables(SOURCE_TABLES)
    occupied = [t for t in ("users", "blocks") if store.fetch_frame(f"count_{t}")["n"][0]]
    if occupied:
        raise MasteryError(
            f"source table(s) {', '.join(occupied)} already hold rows: {verb} into a fresh database"
        )


def generate_cohort_into(
    database_url: str | DatabaseUrl | None,
    spec: CohortSpec,
    on_rows: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Bulk-load a synthetic cohort into empty source tables; returns rows per table."""
    from pipeline.tools.generate import generate_cohort

    loaded: dict[str, int] = {}
    with open_store(database_url) as store:
        require_empty_sources(store, "generate")
        lanes = 2 if store.dialect == "postgres" else 1
        with LaneLoader(store, lanes=lanes) as loader:
            for table, frame in generate_cohort(spec):
                loader.load(table, frame)
                loaded[table] = loaded.get(table, 0) + frame.height
                if on_rows:
                    on_rows(table, frame.height)
    return loaded


class LaneLoader:
    """COPYs the two big tables on two connections at once, one frame in flight per table.

    Postgres spends one core per COPY (parsing, index and foreign-key upkeep), so the answers
    and the session questions load side by side. Other tables load first, alone, in order, so
    every foreign key they satisfy is committed before the rows that need it.
    """

    PARALLEL_TABLES = ("session_questions", "session_answers")

    def __init__(self, store: Store, *, lanes: int) -> None:
        self.store = store
        self.lanes = lanes
        self._pool = ThreadPoolExecutor(max_workers=lanes) if lanes > 1 else None
        self._stores: dict[str, Store] = {}
        self._in_flight: dict[str, Future[None]] = {}

    def __enter__(self) -> LaneLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._drain()
        finally:
            if self._pool:
                self._pool.shutdown(wait=True)
            for lane_store in self._stores.values():
                lane_store.close()

    def load(self, table: str, frame: pl.DataFrame) -> None:
        if self._pool is None or table not in self.PARALLEL_TABLES:
            self._drain()
            self.store.append_committed(table, frame)
            return
        if table in self._in_flight:
            self._in_flight.pop(table).result()
        if table not in self._stores:
            self._stores[table] = open_store(self.store.url)
        self._in_flight[table] = self._pool.submit(
            self._stores[table].append_committed, table, frame
        )

    def _drain(self) -> None:
        while self._in_flight:
            self._in_flight.popitem()[1].result()

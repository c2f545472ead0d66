"""Python API behind the CLI's housekeeping commands: init, generate, params, runs."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline import ledger
from pipeline.config import DatabaseUrl
from pipeline.errors import MasteryError
from pipeline.params import Params
from pipeline.store import ActiveParams, InitReport, Store, open_store
from pipeline.store.base import SOURCE_TABLES

if TYPE_CHECKING:
    from pipeline.generate import CohortSpec

Url = str | DatabaseUrl | None


def init_database(database_url: Url = None) -> InitReport:
    """Create every absent table and index and seed the registry; safe to repeat."""
    with open_store(database_url) as store:
        return store.init_schema()


def generate_cohort_into(
    database_url: Url,
    spec: CohortSpec,
    on_rows: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Bulk-load a synthetic cohort into empty source tables; returns rows per table."""
    from pipeline.generate import generate_cohort

    loaded: dict[str, int] = {}
    with open_store(database_url) as store:
        store.require_tables(SOURCE_TABLES)
        occupied = [t for t in ("users", "blocks") if store.fetch_frame(f"count_{t}")["n"][0]]
        if occupied:
            raise MasteryError(
                f"source table(s) {', '.join(occupied)} already hold rows: "
                "generate into a fresh database"
            )
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


def read_params_file(path: str | Path) -> Params:
    source = Path(path)
    if not source.is_file():
        raise MasteryError(f"params file {source} does not exist")
    return Params.from_json(source.read_text("utf-8"))


def show_params(database_url: Url = None) -> ActiveParams:
    with open_store(database_url) as store:
        return store.active_params()


def activate_params(database_url: Url, path: str | Path) -> str:
    params = read_params_file(path)
    with open_store(database_url) as store:
        return store.activate_params(params)


def list_runs(database_url: Url = None, limit: int = 20) -> pl.DataFrame:
    with open_store(database_url) as store:
        store.require_tables(("algo_runs",))
        return ledger.recent_runs(store, limit)

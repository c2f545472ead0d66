"""Housekeeping behind the CLI: init, params, runs."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.io.store import ActiveParams, InitReport, open_store
from pipeline.io.url import DatabaseUrl
from pipeline.run import ledger

Url = str | DatabaseUrl | None


def init_database(database_url: Url = None) -> InitReport:
    """Create every absent table and index and seed the registry; safe to repeat."""
    with open_store(database_url) as store:
        return store.init_schema()


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

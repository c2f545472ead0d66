"""Housekeeping behind the CLI: init, params, runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import ParamsV1
from pipeline.io.store import ActiveParams, InitReport, open_store
from pipeline.io.store.privileges import no_roles_message
from pipeline.io.url import DatabaseUrl, resolve_database_url
from pipeline.run import ledger

Url = str | DatabaseUrl | None


def init_database(database_url: Url = None, *, grant_to: str | None = None) -> InitReport:
    """Create every absent table and index and seed the registry; safe to repeat.

    ``grant_to`` (Postgres) then grants that existing role exactly what a recompute needs
    (:func:`grant_job_role`); a store without roles, or a role that does not exist, is refused
    before anything is written.
    """
    url = (
        database_url
        if isinstance(database_url, DatabaseUrl)
        else resolve_database_url(database_url)
    )
    if grant_to is not None and url.kind != "postgres":
        raise MasteryError(no_roles_message(grant_to))  # before a DuckDB file is created
    with open_store(url) as store:
        if grant_to is not None:
            store.check_grantee(grant_to)
        report = store.init_schema()
        if grant_to is None:
            return report
        return replace(report, granted=store.grant_job_role(grant_to))


def grant_job_role(database_url: Url, role: str) -> tuple[str, ...]:
    """Grant an existing Postgres role what a merge-mode recompute needs, and nothing more:
    USAGE on the schema, TEMPORARY on the database (staging), SELECT on the source and registry
    tables, SELECT/INSERT/UPDATE on ``algo_runs`` and ``user_theme_mastery``. Returns the
    rights granted; run it as the tables' owner."""
    with open_store(database_url) as store:
        return store.grant_job_role(role)


def read_params_file(path: str | Path, algo: str = "v0") -> Params | ParamsV1:
    """A params file validated as ``algo``'s params (v0: :class:`Params`, v1: ParamsV1)."""
    source = Path(path)
    if not source.is_file():
        raise MasteryError(f"params file {source} does not exist")
    text = source.read_text("utf-8")
    if algo == "v1":
        return ParamsV1.from_json(text)
    if algo != "v0":
        raise MasteryError(f"unknown algorithm {algo!r}: use v0 or v1")
    return Params.from_json(text)


def show_params(database_url: Url = None, algo: str | None = None) -> ActiveParams:
    """The active params (``algo`` None), or ``algo``'s: its active row, else its newest."""
    if algo not in (None, "v0", "v1"):
        raise MasteryError(f"unknown algorithm {algo!r}: use v0 or v1")
    with open_store(_existing(database_url)) as store:
        return store.active_params() if algo is None else store.version_params(algo)


def activate_params(database_url: Url, path: str | Path, algo: str = "v0") -> str:
    """Make the file's params (``algo``'s) the one active row of every version: switching
    algorithm is one activation."""
    params = read_params_file(path, algo)
    with open_store(database_url) as store:
        return store.activate_params(params, algo)


def list_runs(
    database_url: Url = None, limit: int = 20, *, run_id: str | None = None
) -> pl.DataFrame:
    """The ``limit`` latest runs, newest first (:func:`pipeline.run.ledger.recent_runs`), or
    the one run whose id is ``run_id`` or starts with it."""
    with open_store(_existing(database_url)) as store:
        store.require_tables(("algo_runs", "algo_versions", "algo_params"))
        if run_id is not None:
            return ledger.run_detail(store, run_id)
        return ledger.recent_runs(store, limit)


def _existing(database_url: Url) -> DatabaseUrl:
    """The URL of a store that already exists: reading never creates a DuckDB file."""
    url = (
        database_url
        if isinstance(database_url, DatabaseUrl)
        else resolve_database_url(database_url)
    )
    if url.kind == "duckdb" and not url.duckdb_path.is_file():
        raise MasteryError(f"no such DuckDB file: {url.duckdb_path}")
    return url

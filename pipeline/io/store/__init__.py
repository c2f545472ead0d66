"""Stores: ``open_store(url)`` picks the back end from the URL's scheme."""

from __future__ import annotations

from pipeline.io.store.base import WHOLE, InitReport, Partition, Store
from pipeline.io.store.registry import ActiveParams
from pipeline.io.url import DatabaseUrl, resolve_database_url


def open_store(url: str | DatabaseUrl | None = None, *, wait_for_lock: bool = False) -> Store:
    """Connect to ``url`` (default: ``MASTERY_DATABASE_URL`` or the local DuckDB file).

    ``wait_for_lock`` matters for DuckDB only, where one process at a time opens the file.
    """
    parsed = url if isinstance(url, DatabaseUrl) else resolve_database_url(url)
    if parsed.kind == "postgres":
        from pipeline.io.store.postgres import PostgresStore

        return PostgresStore(parsed)
    from pipeline.io.store.duckdb import DuckDBStore

    return DuckDBStore(parsed, wait_for_lock=wait_for_lock)


__all__ = ["WHOLE", "ActiveParams", "InitReport", "Partition", "Store", "open_store"]

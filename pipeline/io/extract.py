"""Extract: the attempts of SPEC §4 for a scope, pulled in bulk and resolved to frozen tags."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import polars as pl

from pipeline.contracts.frames import ATTEMPT_SCHEMA
from pipeline.contracts.scope import Scope, utc, window_start
from pipeline.io.store import WHOLE, Partition, Store, open_store
from pipeline.io.store.attempt_tables import RawRead
from pipeline.io.store.base import scope_params
from pipeline.io.tags import extract_quality, resolve_frozen_tags, screen_attempts
from pipeline.io.url import DatabaseUrl

__all__ = [
    "Extracted",
    "RawRead",
    "Window",
    "extract_attempts",
    "extract_from_store",
    "read_existing_keys",
    "read_raw_attempts",
    "read_resolved",
    "resolve_extracted",
]


@dataclass(frozen=True)
class Window:
    """What an extract reads: the scope's attempts in the lookback window ending at ``as_of``."""

    scope: Scope
    as_of: datetime
    lookback_days: int

    @property
    def start(self) -> datetime:
        return window_start(self.as_of, self.lookback_days)

    @property
    def end(self) -> datetime:
        return utc(self.as_of)


@dataclass(frozen=True)
class Extracted:
    attempts: pl.DataFrame
    source_counts: dict[str, int]
    malformed_snapshots: int
    quality: dict[str, int] = field(default_factory=dict)
    """Every count of ``EXTRACT_QUALITY_KEYS`` (``malformed_snapshots`` included)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Where the read took its time (``stage_seconds`` sub-stages such as ``extract.answers``
    and ``extract.resolve``), when it was profiled."""
    validated: bool = False
    """The attempts passed the input contract already (a read kept by v1's tables' pass)."""


def extract_from_store(store: Store, window: Window, partition: Partition = WHOLE) -> Extracted:
    """Window, user scope and partition run in the database; tags resolve in Polars."""
    return resolve_extracted(read_raw_attempts(store, window, partition), window.scope)


def read_raw_attempts(store: Store, window: Window, partition: Partition = WHOLE) -> pl.DataFrame:
    """One partition's attempts in the window and user scope, before tag resolution."""
    return store.extract_raw_attempts(window.start, window.end, window.scope.user_ids, partition)


def read_resolved(store: Store, window: Window, partition: Partition = WHOLE) -> Extracted:
    """:func:`extract_from_store` with its profile in ``seconds``: each read step and the tag
    resolution. A partition's reading thread calls it, so the resolution of the next partition
    overlaps this one's compute and only resolved attempts wait in memory, not the raw read."""
    raw = store.extract_raw(window.start, window.end, window.scope.user_ids, partition)
    began = time.perf_counter()
    extracted = resolve_extracted(raw.frame, window.scope)
    seconds = {**raw.seconds, "extract.resolve": time.perf_counter() - began}
    return replace(extracted, seconds=seconds)


def read_existing_keys(store: Store, scope: Scope, partition: Partition = WHOLE) -> pl.DataFrame:
    """The (user_id, theme_id) keys already in the output table for the scope's users, as
    Arrow (a whole cohort's keys as Python tuples cost more than the rest of the read)."""
    return store.fetch_arrow("select_scope_keys", scope_params(scope.user_ids, partition))


def resolve_extracted(raw: pl.DataFrame, scope: Scope) -> Extracted:
    """Raw attempts (as extracted, or as exported to Parquet) to the kernel's input and counts.

    Pure, so a Spark worker resolves an exported bucket exactly as a local run does.
    """
    counts = raw.select(
        attempt_rows=pl.len(),
        sessions=pl.col("session_id").n_unique(),
        users=pl.col("user_id").n_unique(),
        snapshots_consulted=pl.col("snapshot_json").is_not_null().sum(),
    ).row(0, named=True)
    resolved = resolve_frozen_tags(screen_attempts(raw))
    if scope.theme_ids:
        resolved = resolved.filter(pl.col("theme_id").is_in(list(scope.theme_ids)))
    attempts = resolved.collect()
    quality = extract_quality(attempts)
    return Extracted(
        attempts=attempts.select(*ATTEMPT_SCHEMA.names(), "snapshot_malformed"),
        source_counts={name: int(count) for name, count in counts.items()},
        malformed_snapshots=quality["malformed_snapshots"],
        quality=quality,
    )


def extract_attempts(
    database_url: str | DatabaseUrl | None = None,
    *,
    as_of: datetime,
    lookback_days: int = 90,
    user_ids: Sequence[str] = (),
    theme_ids: Sequence[int] = (),
) -> pl.DataFrame:
    """Resolved attempts (the kernel's input) for notebooks: read-only, no run is logged."""
    with open_store(database_url) as store:
        store.require_tables(("test_sessions", "session_answers", "session_questions"))
        window = Window(Scope(tuple(user_ids), tuple(theme_ids)), as_of, lookback_days)
        return extract_from_store(store, window).attempts

"""``mastery recompute --incremental``: recompute only the users whose rows can have changed.

The last incremental or full run left a baseline (the nil-uuid row of
``mastery_user_fingerprints``: its run, algorithm, params, lookups, fingerprint method and
``as_of``) and, per user, a fingerprint of their attempts in the window. A new run at ``as_of``
asks the database for every user's fingerprint now and for the count of their answers that
crossed a boundary since the baseline, in one ``GROUP BY user_id`` over the extract's joins
(``sql/*/fingerprint_users.sql``: one row per user leaves the database, not the window's
attempts), and recomputes, with :func:`pipeline.run.job.run` over a user scope (the same
lifecycle as any run), exactly:

- users whose fingerprint changed: attempts inserted, deleted, edited, late-arriving with old
  timestamps, re-tagged through their question version, sessions leaving the window;
- users with an answer that crossed a boundary between the two instants: ``answered_at`` past
  the old ``as_of`` but not the new one, or across a recency bucket's cutoff;
- users with a row written by another run since their fingerprint (a per-student or
  theme-scoped run), since that row may be as of another instant.

Anything it cannot vouch for is a full recompute, and the report says why: no baseline, its run
missing or not SUCCESS, another algorithm or params, changed themes/blocks/exclusions, another
fingerprint method, an ``as_of`` before the baseline's, or more than half of the users (or of
the rows) in question. Fingerprints are written after the run commits, so a crash in between
only makes the next run recompute more.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.params import Params
from pipeline.contracts.scope import Scope
from pipeline.io.extract import Window
from pipeline.io.store import ActiveParams, Store, open_store
from pipeline.io.url import DatabaseUrl
from pipeline.run.exclusions import read_active as read_active_exclusions
from pipeline.run.job import run
from pipeline.run.spec import RunOptions, RunSpec, RunSummary

BASELINE_USER = "00000000-0000-0000-0000-000000000000"
EMPTY = "0:0:0"
"""The fingerprint of a user with no attempts in the window."""
MAJORITY = 0.5


@dataclass(frozen=True)
class IncrementalReport:
    """``mode`` "incremental" or "full"; ``reason`` why; ``candidates``: users found whose rows
    can have changed; ``recomputed``: users the run computed; ``changed``: users whose attempts
    in the window changed by content since the baseline."""

    mode: str
    reason: str
    candidates: int
    recomputed: int
    changed: int

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "reason": self.reason,
            "candidates": self.candidates,
            "recomputed": self.recomputed,
            "changed": self.changed,
        }


@dataclass(frozen=True)
class IncrementalResult:
    summary: RunSummary
    incremental: IncrementalReport

    def as_json(self) -> dict[str, Any]:
        return self.summary.as_json() | {"incremental": self.incremental.as_json()}


@dataclass(frozen=True)
class _Seen:
    """What the read phase found (no lock held; the run re-reads its users' attempts in the
    fingerprints' snapshot)."""

    active: ActiveParams
    fingerprints: pl.DataFrame  # user_id, fingerprint: now
    stored: pl.DataFrame  # user_id, fingerprint, run_id: the baseline's
    row_runs: pl.DataFrame  # user_id, run_id, n_rows
    crossed: set[str]
    known_users: set[str]
    baseline: dict[str, Any] | None
    token: str
    full_reason: str | None
    snapshot: str | None = None  # the fingerprints' exported snapshot (Postgres)


FINGERPRINT_METHOD = "sql-1"
"""Names the fingerprint statement's formula: a baseline made by another is not compared."""
EDGE_MARGIN = timedelta(milliseconds=1)
"""Each crossing interval is widened by this on both sides: open or closed ends and float
seconds then never hide a crossing (a wider interval only adds candidates)."""


def crossing_edges(before: datetime, now: datetime, bucket_days: Sequence[int]) -> list[float]:
    """The instants (epoch seconds, ascending) where the intervals an answer crossing a boundary
    between ``before`` and ``now`` lies in start and end: ``(before, now]`` (answered after the
    old as_of, not the new one) and ``[before - d, now - d)`` for each bucket's ``d`` days. The
    intervals are merged where they overlap, so the edges alternate start, end."""
    spans = sorted(
        (start - EDGE_MARGIN, end + EDGE_MARGIN)
        for start, end in [(before, now)]
        + [(before - timedelta(days=d), now - timedelta(days=d)) for d in bucket_days]
    )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [edge.timestamp() for span in merged for edge in span]


def read_fingerprints(
    store: Store, as_of: datetime, lookback_days: int, edges: Sequence[float]
) -> pl.DataFrame:
    """Per user with attempts in the window: ``user_id``, ``fingerprint``, ``crossed`` (answers
    inside the ``edges`` intervals), computed in the database."""
    window = Window(Scope(), as_of, lookback_days)
    store.execute("fingerprint_settings")
    found = store.fetch_frame(
        "fingerprint_users",
        {
            "window_start": window.start.isoformat(),
            "as_of": window.end.isoformat(),
            "edges": ",".join(repr(edge) for edge in edges),
        },
    )
    if not found.height:
        return pl.DataFrame(
            schema={"user_id": pl.String, "fingerprint": pl.String, "crossed": pl.Int64}
        )
    return found.with_columns(pl.col("crossed").cast(pl.Int64))


def recompute_incremental(
    database_url: str | DatabaseUrl | None = None,
    spec: RunSpec | None = None,
    options: RunOptions | None = None,
    *,
    as_of: datetime | None = None,
    full_share: float = MAJORITY,
) -> IncrementalResult:
    """One incremental recompute of the whole cohort as of ``spec.as_of`` (or ``as_of``, default
    now), or a full one, saying why. ``options`` as for any run (default: trigger "api");
    more than ``full_share`` of the users in question makes it a full run."""
    if spec is None:
        spec = RunSpec.of(as_of or datetime.now(UTC))
    elif as_of is not None:
        raise MasteryError("give as_of either in the spec or beside it, not both")
    if spec.scope.user_ids or spec.scope.theme_ids:
        raise MasteryError("--incremental recomputes the whole cohort: drop --user and --theme")
    if spec.params is not None:
        raise MasteryError("--incremental runs with the active params: drop the custom params")
    with open_store(database_url) as store, ExitStack() as pinned:
        seen = _read(store, spec.as_of, pinned)
        # every run below reads its attempts in the snapshot the fingerprints were read in
        options = replace(options or RunOptions(), snapshot=seen.snapshot)
        return _recompute(database_url, seen, spec.as_of, options, full_share)


def _recompute(
    database_url: str | DatabaseUrl | None,
    seen: _Seen,
    as_of: datetime,
    options: RunOptions,
    full_share: float,
) -> IncrementalResult:
    reason = seen.full_reason
    candidates: set[str] = set()
    changed = _changed_users(seen.fingerprints, seen.stored)
    if reason is None:
        foreign = _foreign_row_users(seen.row_runs, seen.stored)
        candidates = (changed | seen.crossed | foreign) & seen.known_users
        reason = _too_many(candidates, seen, full_share, options.allow_mass_change)
        if reason and len(foreign) * 2 > len(candidates):
            reason += f" ({len(foreign):,} have rows another run wrote since the previous one)"
    if reason is not None:
        summary = run(database_url, RunSpec.of(as_of), options)
        report = IncrementalReport("full", reason, summary.users, summary.users, len(changed))
        if not options.dry_run and summary.run_id:
            _write(database_url, seen, as_of, summary.run_id, everyone=True)
        return IncrementalResult(summary, report)
    if not candidates:
        summary = RunSummary(
            themes_computed=0,
            records_upserted=0,
            users=0,
            stale_rows_refreshed=0,
            insufficient_rows=0,
            data_quality={},
            stage_seconds={},
            dry_run=options.dry_run,
        )
        if not options.dry_run and seen.baseline is not None:
            _write(database_url, seen, as_of, str(seen.baseline["run_id"]), users=set())
        return IncrementalResult(summary, IncrementalReport("incremental", "", 0, 0, len(changed)))
    users = sorted(candidates)
    # The mass-change guard is the whole table's: these users' rows are at most half of it.
    scoped = replace(options, allow_mass_change=True)
    summary = run(database_url, RunSpec.of(as_of, users), scoped)
    if not options.dry_run and summary.run_id:
        _write(database_url, seen, as_of, summary.run_id, users=candidates)
    why = f"{len(changed & candidates)} changed, {len(candidates)} in all since {_since(seen)}"
    report = IncrementalReport("incremental", why, len(candidates), len(users), len(changed))
    return IncrementalResult(summary, report)


def _since(seen: _Seen) -> str:
    return str(seen.baseline["as_of"]) if seen.baseline else "-"


def _read(store: Store, as_of: datetime, pinned: ExitStack) -> _Seen:
    """The state, then the fingerprints in a transaction ``pinned`` keeps open: its exported
    snapshot is the one the run reads, so a fingerprint stored after the run describes the
    very attempts its rows came from (a change made, even undone, meanwhile is the next run's).
    Only source tables are read in it: no lock of it delays the run's write."""
    store.require_tables(("test_sessions", "session_answers", "session_questions"))
    active = store.active_params()
    params = active.params
    stored_all = store.fetch_frame("select_user_fingerprints")
    stored_all = stored_all if stored_all.height else _empty_stored()
    baseline_rows = stored_all.filter(pl.col("user_id") == BASELINE_USER)
    baseline = json.loads(baseline_rows["fingerprint"][0]) if baseline_rows.height else None
    token = _token(store, active)
    full_reason = _full_reason(store, baseline, active, token, as_of)
    before = datetime.fromisoformat(baseline["as_of"]) if baseline else as_of
    days = [b.days for b in params.recency_buckets] if isinstance(params, Params) else []
    edges = crossing_edges(min(before, as_of), as_of, days)
    row_runs = store.fetch_frame("select_user_row_runs")
    known = set(store.fetch_frame("select_user_ids")["id"].to_list())
    snapshot = pinned.enter_context(store.exported_snapshot())
    fingerprints = read_fingerprints(store, as_of, params.lookback_days, edges)
    crossed: set[str] = set()
    if full_reason is None and baseline is not None:
        crossed = set(fingerprints.filter(pl.col("crossed") > 0)["user_id"].to_list())
    return _Seen(
        active=active,
        fingerprints=fingerprints.select("user_id", "fingerprint"),
        stored=stored_all.filter(pl.col("user_id") != BASELINE_USER),
        row_runs=row_runs
        if row_runs.height
        else pl.DataFrame(schema={"user_id": pl.String, "run_id": pl.String, "n_rows": pl.Int64}),
        crossed=crossed,
        known_users=known,
        baseline=baseline,
        token=token,
        full_reason=full_reason,
        snapshot=snapshot,
    )


def _empty_stored() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"user_id": pl.String, "fingerprint": pl.String, "run_id": pl.String}
    )


def _token(store: Store, active: ActiveParams) -> str:
    """What else the rows depend on: themes, blocks and the active exclusions."""
    digest = hashlib.sha256()
    for frame in (
        store.fetch_frame("select_themes"),
        store.fetch_frame("select_blocks"),
        read_active_exclusions(store),
    ):
        if frame.height:
            digest.update(frame.sort(frame.columns).write_csv().encode())
        digest.update(b"|")
    return digest.hexdigest()


def _full_reason(
    store: Store,
    baseline: dict[str, Any] | None,
    active: ActiveParams,
    token: str,
    as_of: datetime,
) -> str | None:
    """Why the incremental method cannot vouch for the rows, or None."""
    return next(_reasons(store, baseline, active, token, as_of), None)


def _reasons(
    store: Store,
    baseline: dict[str, Any] | None,
    active: ActiveParams,
    token: str,
    as_of: datetime,
) -> Iterator[str]:
    if not isinstance(active.params, Params):
        yield f"the active algorithm is {active.algorithm}: incremental covers v0 only"
    if baseline is None:
        yield "no previous incremental or full run left fingerprints"
        return
    run_id = baseline["run_id"]
    row = store.fetch_one("select_run_status", {"id": run_id})
    if row is None:
        yield f"the previous run {run_id} is missing from algo_runs"
    elif row[0] != "SUCCESS":
        yield f"the previous run {run_id} is {row[0]}"
    elif (str(row[1]), str(row[2])) != (active.algo_version_id, active.params_id):
        yield "the algorithm or params changed since the previous run"
    if (baseline.get("algo_version_id"), baseline.get("params_id")) != (
        active.algo_version_id,
        active.params_id,
    ):
        yield "the algorithm or params changed since the previous run"
    if baseline.get("token") != token:
        yield "themes, blocks or exclusions changed since the previous run"
    if baseline.get("method") != FINGERPRINT_METHOD:
        yield "the stored fingerprints were made by another method"
    if as_of < datetime.fromisoformat(baseline["as_of"]):
        yield f"as_of is before the previous run's ({baseline['as_of']})"


def _changed_users(now: pl.DataFrame, stored: pl.DataFrame) -> set[str]:
    """Users whose fingerprint differs (a missing side counts as no attempts)."""
    joined = now.join(stored, on="user_id", how="full", coalesce=True, suffix="_stored")
    differ = joined.filter(
        pl.col("fingerprint").fill_null(EMPTY) != pl.col("fingerprint_stored").fill_null(EMPTY)
    )
    return set(differ["user_id"].to_list())


def _foreign_row_users(row_runs: pl.DataFrame, stored: pl.DataFrame) -> set[str]:
    """Users with a row written by a run other than the one that wrote their fingerprint."""
    joined = row_runs.join(
        stored.select("user_id", fp_run="run_id"), on="user_id", how="left", coalesce=True
    )
    foreign = joined.filter(pl.col("fp_run").is_null() | (pl.col("run_id") != pl.col("fp_run")))
    return set(foreign["user_id"].to_list())


def _too_many(
    candidates: set[str], seen: _Seen, full_share: float, allow_mass_change: bool
) -> str | None:
    users = max(1, len(seen.known_users))
    if len(candidates) > users * full_share:
        return f"{len(candidates):,} of {users:,} users changed: a full run is cheaper"
    if allow_mass_change:
        return None
    rows = int(seen.row_runs["n_rows"].sum() or 0)
    theirs = seen.row_runs.filter(pl.col("user_id").is_in(list(candidates)))
    if rows and int(theirs["n_rows"].sum() or 0) > rows * MAJORITY:
        return "the users in question hold most of the rows: the mass-change guard needs a full run"
    return None


def _write(
    database_url: str | DatabaseUrl | None,
    seen: _Seen,
    as_of: datetime,
    run_id: str,
    *,
    users: set[str] | None = None,
    everyone: bool = False,
) -> None:
    """Upsert the fingerprints of ``users`` (everyone's: ``everyone``) and the baseline row."""
    now = seen.fingerprints
    if everyone:
        wanted = set(now["user_id"].to_list()) | set(seen.stored["user_id"].to_list())
    else:
        wanted = users or set()
    frame = (
        pl.DataFrame({"user_id": sorted(wanted)}, schema={"user_id": pl.String})
        .join(now, on="user_id", how="left")
        .with_columns(pl.col("fingerprint").fill_null(EMPTY))
    )
    baseline = {
        "run_id": run_id,
        "algo_version_id": seen.active.algo_version_id,
        "params_id": seen.active.params_id,
        "token": seen.token,
        "method": FINGERPRINT_METHOD,
        "as_of": as_of.isoformat(),
    }
    frame = pl.concat(
        [frame, pl.DataFrame({"user_id": [BASELINE_USER], "fingerprint": [json.dumps(baseline)]})]
    ).with_columns(as_of=pl.lit(as_of.isoformat()), run_id=pl.lit(run_id))
    with open_store(database_url) as store, store.transaction():
        store.execute("create_fingerprint_stage")
        store.bulk_insert("fingerprint_stage", frame)
        store.execute("upsert_fingerprints")

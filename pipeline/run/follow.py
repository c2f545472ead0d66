"""``mastery follow``: a worker that keeps mastery fresh after every submit (issue 17, step 3).

Every ``interval`` seconds it polls ``test_sessions`` for sessions submitted after its watermark
less a safety ``lag`` (``submitted_at > watermark - lag``, up to now), skips the session ids it
has already handled in that overlap, and recomputes the affected users with the per-student
path (:class:`pipeline.run.fresh.FreshRecomputer`), as logged runs of at most ``batch_users``
users each. The watermark advances only after every run of the batch committed, so a failure
(a database restart, a lost connection) loses no user: the worker reconnects with back-off
and the same sessions come back on the next poll. The watermark is also stored in the
database (``mastery_follow_state``, one row per worker name) after each batch, and a worker
started without ``since`` resumes from it: a restarted worker (or one whose process died)
handles the sessions submitted while it was down. A session that arrives
with a ``submitted_at`` older than the overlap is left to the nightly
``recompute --incremental``.

SIGINT and SIGTERM (``pipeline.run.signals``) stop it between or inside runs (a run in flight
ends FAILED and rolls back, as any run); :func:`follow` then returns.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl

from pipeline.contracts.errors import ConcurrentRunError, Interrupted, InterruptedRunError
from pipeline.contracts.scope import utc
from pipeline.io.store.tables import FOLLOW_TABLES
from pipeline.io.url import DatabaseUrl
from pipeline.run.fresh import FreshRecomputer

Log = Callable[[str], None]
MAX_BACKOFF = 60.0
NO_RUN = "00000000-0000-0000-0000-000000000000"
WORKER = "follow"
"""The ``mastery_follow_state`` row of the worker (one worker per database today)."""


@dataclass(frozen=True)
class Batch:
    """One poll's work: ``users`` recomputed in ``runs`` runs taking ``seconds``; ``lag`` is
    the seconds from the oldest new submission to the commit (None: nothing new)."""

    sessions: int
    users: int
    runs: int
    seconds: float
    lag: float | None
    watermark: datetime

    def line(self) -> str:
        lag = "-" if self.lag is None else f"{self.lag:.2f}"
        return (
            f"follow batch sessions={self.sessions} users={self.users} runs={self.runs} "
            f"seconds={self.seconds:.3f} lag={lag} watermark={self.watermark.isoformat()}"
        )


@dataclass
class Follower:
    """The worker's state: its watermark and the sessions already handled in the overlap."""

    database_url: str | DatabaseUrl | None
    watermark: datetime
    lag: float = 30.0
    batch_users: int = 50
    trigger: str = "api"
    resume: bool = False
    """Before the first poll, take the stored watermark (if any) over ``watermark``."""
    seen: dict[str, datetime] = field(default_factory=dict)
    _fresh: FreshRecomputer | None = None

    def close(self) -> None:
        if self._fresh is not None:
            with contextlib.suppress(Exception):
                self._fresh.close()
            self._fresh = None

    def _recomputer(self) -> FreshRecomputer:
        if self._fresh is None:
            self._fresh = FreshRecomputer(self.database_url, trigger=self.trigger, wait=False)
            # a database made before the worker's table: one clear line each retry until init
            self._fresh.store.require_tables(FOLLOW_TABLES)
        return self._fresh

    def cycle(self) -> Batch:
        """Poll once and recompute the new sessions' users; raises on any failure, leaving the
        watermark and the seen set as they were."""
        start = time.perf_counter()
        fresh = self._recomputer()
        if self.resume:
            self.watermark = stored_watermark(fresh) or self.watermark
            self.resume = False
        now = datetime.now(UTC)
        since = self.watermark - timedelta(seconds=self.lag)
        found = fresh.store.fetch_frame(
            "select_submitted_since", {"since": since.isoformat(), "until": now.isoformat()}
        )
        new = _new_sessions(found, self.seen)
        users = sorted(set(new["user_id"].to_list())) if new.height else []
        known = _known(fresh, users)
        runs, last_run = 0, NO_RUN
        for first in range(0, len(known), self.batch_users):
            summary = fresh.recompute(known[first : first + self.batch_users], as_of=now)
            last_run = summary.run_id or last_run
            runs += 1
        lag = None
        if new.height:
            oldest = utc(min(new["submitted_at"].to_list()))
            newest = utc(max(new["submitted_at"].to_list()))
            _store_watermark(fresh, max(self.watermark, newest), last_run)
            lag = (datetime.now(UTC) - oldest).total_seconds()
            self.watermark = max(self.watermark, newest)
            for session, submitted in zip(
                new["session_id"].to_list(), new["submitted_at"].to_list(), strict=True
            ):
                self.seen[session] = utc(submitted)
        floor = self.watermark - timedelta(seconds=self.lag)
        self.seen = {key: at for key, at in self.seen.items() if at > floor}
        return Batch(
            sessions=new.height,
            users=len(known),
            runs=runs,
            seconds=time.perf_counter() - start,
            lag=lag,
            watermark=self.watermark,
        )


def stored_watermark(fresh: FreshRecomputer) -> datetime | None:
    """The watermark the last worker stored, if any."""
    row = fresh.store.fetch_one("follow_select_watermark", {"worker": WORKER})
    return utc(row[0]) if row and isinstance(row[0], datetime) else None


def _store_watermark(fresh: FreshRecomputer, watermark: datetime, run_id: str) -> None:
    fresh.store.execute(
        "follow_upsert_watermark",
        {
            "worker": WORKER,
            "watermark": watermark.isoformat(),
            "run_id": run_id,
        },
    )


def _new_sessions(found: pl.DataFrame, seen: dict[str, datetime]) -> pl.DataFrame:
    if found.is_empty():
        return pl.DataFrame(
            schema={"session_id": pl.String, "user_id": pl.String, "submitted_at": pl.Datetime}
        )
    return found.filter(~pl.col("session_id").is_in(list(seen)))


def _known(fresh: FreshRecomputer, users: list[str]) -> list[str]:
    """The users that still exist (a user deleted meanwhile is no one's to recompute)."""
    if not users:
        return []
    found = fresh.store.fetch_frame("select_known_users", {"user_ids": ",".join(users)})
    return sorted(set(found["id"].to_list())) if found.height else []


@dataclass(frozen=True)
class FollowOptions:
    """``interval`` seconds between polls; ``lag`` seconds of overlap behind the watermark;
    ``since``: the first watermark (default: the stored one, else now); ``once``: one cycle;
    ``batch_users``: at most this many users per logged run."""

    interval: float = 0.5
    lag: float = 30.0
    since: datetime | None = None
    once: bool = False
    batch_users: int = 50


def follow(
    database_url: str | DatabaseUrl | None = None,
    options: FollowOptions | None = None,
    *,
    log: Log = print,
) -> Follower:
    """Run the worker until SIGINT/SIGTERM (or one cycle with ``once``); one log line per batch
    with new sessions (and per failure). Returns the follower (its watermark) when it stops."""
    options = options or FollowOptions()
    interval, once = options.interval, options.once
    start = utc(options.since or datetime.now(UTC))
    follower = Follower(
        database_url,
        start,
        lag=options.lag,
        batch_users=options.batch_users,
        resume=options.since is None,
    )
    backoff = 0.0
    try:
        while True:
            try:
                began = time.monotonic()
                batch = follower.cycle()
            except (Interrupted, InterruptedRunError, KeyboardInterrupt):
                raise
            except ConcurrentRunError as exc:
                log(f"follow busy: {exc}")
                if once:
                    raise
            except Exception as exc:
                follower.close()
                backoff = min(MAX_BACKOFF, max(1.0, backoff * 2))
                log(f"follow error (retrying in {backoff:g} s): {exc}")
                if once:
                    raise
                _sleep(backoff)
                continue
            else:
                backoff = 0.0
                if batch.sessions or once:
                    log(batch.line())
            if once:
                return follower
            # The interval runs from the poll, so a long batch is followed by the next poll at
            # once: under a steady stream the lag is the batch's time, not that plus a sleep.
            _sleep(interval - (time.monotonic() - began))
    except (Interrupted, InterruptedRunError, KeyboardInterrupt) as exc:
        name = exc.signal_name if isinstance(exc, Interrupted) else type(exc).__name__
        log(f"follow stopped ({name}); watermark {follower.watermark.isoformat()}")
        return follower
    finally:
        follower.close()


def _sleep(seconds: float) -> None:
    """Sleep in short slices, so a signal's handler runs promptly."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))

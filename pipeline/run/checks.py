"""What a run refuses before it starts, and the guard against a run that would zero a cohort.

Every check here runs before the ledger's RUNNING row (or, for the stale-row share, before the
write), so a refused run leaves nothing behind but its one-line reason.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from pipeline.contracts.errors import MasteryError

OUTPUT_SUFFIXES = (".parquet",)
AS_OF_FUTURE_SLACK = timedelta(minutes=5)  # clocks of the scheduler and the database differ
AS_OF_TOO_OLD = timedelta(days=365)
STALE_SHARE_LIMIT = 0.5


def check_output(path: Path) -> Path:
    """A Parquet file we can create or replace; refuse folders, devices and unwritable places."""
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise MasteryError(f"output {path} must be a .parquet file (the only format written)")
    if path.is_dir():
        raise MasteryError(f"output {path} is a folder: give a file path ending in .parquet")
    if path.exists() and not path.is_file():
        raise MasteryError(f"output {path} is not a regular file")
    parent = path.parent if str(path.parent) else Path()
    if not parent.is_dir():
        raise MasteryError(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise MasteryError(f"cannot write {path}: permission denied")
    return path


def window_start(as_of: datetime, lookback_days: int) -> datetime:
    """The window's first instant; an as_of too close to year 1 is one clear line."""
    try:
        return as_of - timedelta(days=lookback_days)
    except OverflowError:
        raise MasteryError(
            f"as_of {as_of.isoformat()} minus {lookback_days} days of lookback is before year 1"
        ) from None


def as_of_warning(as_of: datetime, newest: datetime | None, now: datetime) -> str | None:
    """Why an as_of looks like a mistake (in the future, or a year before the newest data)."""
    if as_of > now + AS_OF_FUTURE_SLACK:
        return f"as_of {as_of.isoformat()} is in the future (now {now.isoformat()})"
    if newest is not None and as_of < newest - AS_OF_TOO_OLD:
        return (
            f"as_of {as_of.isoformat()} is more than a year before the newest submission "
            f"({newest.isoformat()}): most rows would lose their attempts"
        )
    return None


def stale_warning(stale: int, existing: int) -> str | None:
    """Why a run's write looks like a mass change: it would zero most of the stored rows."""
    if existing and stale > existing * STALE_SHARE_LIMIT:
        return (
            f"the run would zero {stale:,} of the {existing:,} stored rows in its scope "
            f"(more than {STALE_SHARE_LIMIT:.0%} left without attempts)"
        )
    return None


def refuse_mass_change(reason: str) -> MasteryError:
    return MasteryError(f"{reason}; nothing written — pass allow_mass_change to run it anyway")

"""What a run covers (users, themes) and the instants it is computed at, in UTC."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.contracts.errors import MasteryError


@dataclass(frozen=True)
class Scope:
    """All users and themes when both are empty; otherwise only those listed."""

    user_ids: tuple[str, ...] = ()
    theme_ids: tuple[int, ...] = ()

    @classmethod
    def checked(cls, user_ids: Sequence[str] = (), theme_ids: Sequence[int] = ()) -> Scope:
        """A scope from user input: uuids normalised, themes deduplicated and sorted."""
        return cls(tuple(checked_user(u) for u in user_ids), tuple(sorted(set(theme_ids))))

    @property
    def whole_cohort(self) -> bool:
        return not self.user_ids and not self.theme_ids

    @property
    def single_user(self) -> str | None:
        """The user of a one-student run (its ledger row names them), else None."""
        return self.user_ids[0] if len(self.user_ids) == 1 and not self.theme_ids else None

    def as_json(self) -> dict[str, object]:
        return {"users": list(self.user_ids) or "all", "themes": list(self.theme_ids) or "all"}


def checked_user(user_id: str) -> str:
    """The canonical text of a user uuid; a clear error for anything else."""
    try:
        return str(uuid.UUID(user_id))
    except (ValueError, TypeError, AttributeError):
        raise MasteryError(f"malformed user id {user_id!r}: expected a UUID") from None


def utc(moment: datetime) -> datetime:
    """Naive timestamps are UTC (SPEC §4)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_start(as_of: datetime, lookback_days: int) -> datetime:
    """The first instant of the lookback window ending at ``as_of`` (UTC)."""
    return utc(as_of) - timedelta(days=lookback_days)

"""Evidence set aside (SPEC §8 *Exclusions*): a session, a question, or a student's theme.

Each exclusion is a ``mastery_exclusions`` row with who, when and why; ``include`` revokes it
(the row stays, with who revoked it and when), so the listing is the audit trail. Every run
reads the active ones once (:class:`pipeline.run.batch.Lookups`) and
:func:`drop_excluded` leaves their attempts out before the kernel, on every engine and store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.io.store import Store, open_store
from pipeline.io.url import DatabaseUrl

Url = str | DatabaseUrl | None
Kind = Literal["session", "question", "user_theme"]
TABLE = "mastery_exclusions"
ACTIVE_SCHEMA = pl.Schema(
    {
        "kind": pl.String(),
        "session_id": pl.String(),
        "question_id": pl.String(),
        "user_id": pl.String(),
        "theme_id": pl.Int32(),
        "reason": pl.String(),
    }
)


@dataclass(frozen=True)
class Target:
    """What an exclusion sets aside: exactly one of a session, a question, a user's theme."""

    session_id: str | None = None
    question_id: str | None = None
    user_id: str | None = None
    theme_id: int | None = None

    @property
    def kind(self) -> Kind:
        given = [
            name
            for name, value in (("session", self.session_id), ("question", self.question_id))
            if value is not None
        ]
        pair = self.user_id is not None or self.theme_id is not None
        if pair and (self.user_id is None or self.theme_id is None):
            raise MasteryError("a student's theme needs both --user and --theme")
        if pair:
            given.append("user_theme")
        if len(given) != 1:
            raise MasteryError("give exactly one of --session, --question or --user with --theme")
        kind: Kind = given[0]  # type: ignore[assignment]
        return kind

    def params(self) -> dict[str, Any]:
        self.kind  # noqa: B018  (checks the combination)
        for name in ("session_id", "question_id", "user_id"):
            value = getattr(self, name)
            if value is not None:
                try:
                    uuid.UUID(value)
                except ValueError:
                    raise MasteryError(f"{name} {value!r} is not a UUID") from None
        return {
            "kind": self.kind,
            "session_id": self.session_id,
            "question_id": self.question_id,
            "user_id": self.user_id,
            "theme_id": self.theme_id,
        }


def exclude(database_url: Url, target: Target, *, reason: str, by: str) -> str:
    """Set ``target``'s evidence aside from every later run; returns the exclusion's id."""
    if not reason.strip():
        raise MasteryError("an exclusion needs a reason")
    if not by.strip():
        raise MasteryError("an exclusion needs the name of who sets it (--by)")
    exclusion_id = str(uuid.uuid4())
    with open_store(database_url) as store:
        store.require_tables((TABLE,))
        with store.transaction():
            store.execute(
                "insert_exclusion",
                {
                    "id": exclusion_id,
                    **target.params(),
                    "reason": reason,
                    "created_by": by,
                    "created_at": datetime.now(UTC).isoformat(),
                },
            )
    return exclusion_id


def include(database_url: Url, target: Target, *, by: str) -> int:
    """Revoke the active exclusions of ``target`` (undo); returns how many were revoked."""
    if not by.strip():
        raise MasteryError("an undo needs the name of who does it (--by)")
    with open_store(database_url) as store:
        store.require_tables((TABLE,))
        with store.transaction():
            revoked = store.execute_count(
                "revoke_exclusions",
                {**target.params(), "revoked_at": datetime.now(UTC).isoformat(), "revoked_by": by},
            )
    if not revoked:
        raise MasteryError("no active exclusion matches: nothing to include again")
    return revoked


def list_exclusions(database_url: Url) -> pl.DataFrame:
    """Every exclusion, active and revoked, oldest first, with who, when and why."""
    with open_store(database_url) as store:
        store.require_tables((TABLE,))
        return store.fetch_frame("select_exclusions")


def read_active(store: Store) -> pl.DataFrame:
    """The active exclusions (ACTIVE_SCHEMA); none where the table is absent (an older store)."""
    if TABLE not in store.existing_tables():
        return pl.DataFrame(schema=ACTIVE_SCHEMA)
    frame = store.fetch_frame("select_active_exclusions")
    if frame.is_empty():
        return pl.DataFrame(schema=ACTIVE_SCHEMA)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in ACTIVE_SCHEMA.items())


def drop_excluded(attempts: pl.DataFrame, active: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``attempts`` (resolved, ATTEMPT_SCHEMA) without the excluded ones, and how many went."""
    if active.is_empty():
        return attempts, 0
    excluded = pl.lit(False)
    for kind, columns in (
        ("session", ["session_id"]),
        ("question", ["question_id"]),
        ("user_theme", ["user_id", "theme_id"]),
    ):
        keys = active.filter(pl.col("kind") == kind).select(columns).unique()
        if keys.is_empty():
            continue
        if len(columns) == 1:
            hit = pl.col(columns[0]).is_in(keys[columns[0]].implode())
        else:
            pairs = keys.select(pl.concat_str(columns, separator="|").alias("key"))["key"]
            hit = pl.concat_str(columns, separator="|").is_in(pairs.implode())
        excluded = excluded | hit.fill_null(False)
    kept = attempts.filter(~excluded)
    return kept, attempts.height - kept.height

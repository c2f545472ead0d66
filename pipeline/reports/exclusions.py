"""Exclusions in words: the audit listing, and the notes a student's report carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from pipeline.io.store import Store

TABLE = "mastery_exclusions"


def _when(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def exclusion_records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """One JSON-ready record per exclusion, active or revoked."""
    records = []
    for row in frame.iter_rows(named=True):
        records.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "session_id": row["session_id"],
                "question_id": row["question_id"],
                "user_id": row["user_id"],
                "theme_id": row["theme_id"],
                "reason": row["reason"],
                "created_by": row["created_by"],
                "created_at": _when(row["created_at"]),
                "revoked_at": _when(row["revoked_at"]),
                "revoked_by": row["revoked_by"],
                "active": row["revoked_at"] is None,
            }
        )
    return records


def target_words(record: dict[str, Any]) -> str:
    if record["kind"] == "session":
        return f"session {record['session_id']}"
    if record["kind"] == "question":
        return f"question {record['question_id']}"
    return f"user {record['user_id']} theme {record['theme_id']}"


def exclusion_lines(records: list[dict[str, Any]]) -> list[str]:
    """``active  session …: "reason" by NAME at WHEN`` (and who revoked it, when)."""
    lines = []
    for record in records:
        state = "active " if record["active"] else "revoked"
        line = (
            f"{state} {target_words(record)}: {record['reason']!r} "
            f"by {record['created_by']} at {record['created_at']}"
        )
        if not record["active"]:
            line += f"; revoked by {record['revoked_by']} at {record['revoked_at']}"
        lines.append(line)
    return lines


def student_exclusion_notes(store: Store, user_id: str) -> list[str]:
    """The student's evidence left out: ``2 attempts excluded (reason)`` per exclusion that
    touches them (their theme, one of their sessions, a question they answered)."""
    if TABLE not in store.existing_tables():
        return []
    counts = store.fetch_frame("report_student_exclusions", {"user_id": user_id})
    notes = []
    for row in counts.iter_rows(named=True):
        where = {
            "session": f"session {row['session_id']}",
            "question": f"question {row['question_id']}",
            "user_theme": f"theme {row['theme_id']}",
        }[row["kind"]]
        attempts = int(row["attempts"] or 0)
        noun = "attempt" if attempts == 1 else "attempts"
        notes.append(f"{where}: {attempts} {noun} excluded ({row['reason']})")
    return notes

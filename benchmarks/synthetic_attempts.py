"""Resolved attempts (the kernel's input) made directly in Polars, for kernel-only benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)


def synthetic_attempts(attempts: int, users: int, themes: int, seed: int = 1) -> pl.DataFrame:
    """Uniform-ish cohort: 30 questions per session, answered over the last 90 days."""
    rng = np.random.default_rng(seed)
    sessions = max(-(-attempts // 30), 1)  # the last session may be partial
    session_user = rng.integers(0, users, sessions)
    session_end = rng.integers(0, 90 * 86_400_000_000, sessions)
    session_of = np.repeat(np.arange(sessions), 30)[:attempts]
    user = session_user[session_of]
    theme = rng.integers(1, themes + 1, attempts).astype(np.int32)
    answered = session_end[session_of] + rng.integers(0, 3_600_000_000, attempts)
    as_of_us = int(AS_OF.timestamp() * 1_000_000)
    user_ids = pl.Series(
        [f"00000000-0000-4000-8000-{u:012x}" for u in range(users)], dtype=pl.String
    )
    frame = pl.DataFrame(
        {
            "user_index": user,
            "session_index": session_of,
            "question_index": rng.integers(0, themes * 40, attempts),
            "theme_id": theme,
            "is_correct": rng.random(attempts) < 0.68,
            "answered_us": as_of_us - answered,
            "submitted_us": as_of_us - session_end[session_of],
        }
    )
    difficulty = pl.Series(["easy", "medium", "hard", " Hard"])
    return pl.DataFrame(
        {
            "user_id": user_ids.gather(frame["user_index"]),
            "session_id": frame["session_index"].cast(pl.String),
            "question_id": frame["question_index"].cast(pl.String),
            "year": pl.Series([1] * attempts, dtype=pl.Int32),
            "block_id": ((frame["theme_id"] - 1) // 6 + 1).cast(pl.Int32),
            "theme_id": frame["theme_id"],
            "difficulty": difficulty.gather(frame["question_index"] % 4),
            "is_correct": frame["is_correct"],
            "answered_at": frame["answered_us"].cast(pl.Datetime("us", "UTC")),
            "submitted_at": frame["submitted_us"].cast(pl.Datetime("us", "UTC")),
        }
    )

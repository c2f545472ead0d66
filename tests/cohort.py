"""A small hand-built cohort whose mastery numbers are worked by hand in the tests.

as_of = 2026-11-25T00:00Z, default params (7d/30d/90d at 0.5/0.3/0.2, min 5 attempts).

- ALICE, theme 10 (block 1): one SUBMITTED session 2 days ago, 6 answers, 4 correct.
  Every bucket holds 6 attempts / 4 correct: accuracy 2/3 -> 0.6667;
  contributions round(2/3*0.5)=0.3333, round(2/3*0.3)=0.2, round(2/3*0.2)=0.1333 -> 0.6666.
  accuracy_pct 66.67.
- ALICE, theme 11 (block 2): 3 answers in an EXPIRED session 20 days ago, 2 correct:
  3 < 5 -> score 0, breakdown {"reason":"insufficient_attempts","required":5,"actual":3}.
- BOB, theme 10: 5 answers 40 days ago (SUBMITTED), all correct, one of them snapshot-only
  with theme_id "10" as a digit string: 7d empty (0), 30d empty (0), 90d 5/5 -> 0.2.
- BOB, an ACTIVE session with answers (ignored) and an answer whose theme resolves to null
  (no version, snapshot `[1]`) in his SUBMITTED session: dropped and counted.
- CAROL: only an ACTIVE session -> no rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import polars as pl

from pipeline.io.store import open_store

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
ALICE = "00000000-0000-4000-8000-00000000a11c"
BOB = "00000000-0000-4000-8000-000000000b0b"
CAROL = "00000000-0000-4000-8000-0000000ca201"


def _id(n: int) -> str:
    return str(uuid.UUID(int=0x10000000_0000_4000_8000_000000000000 + n))


UTC_TS = pl.Datetime("us", "UTC")


def load_small_cohort(url: str) -> None:
    """Insert the cohort above into initialized source tables."""
    users = pl.DataFrame(
        {
            "id": [ALICE, BOB, CAROL],
            "email": ["alice@example.org", "bob@example.org", "carol@example.org"],
            "role": ["STUDENT"] * 3,
            "year": [1, 1, 1],
        }
    )
    blocks = pl.DataFrame({"id": [1, 2], "year": [1, 1], "name": ["Algebra", "Geometry"]})
    themes = pl.DataFrame({"id": [10, 11], "block_id": [1, 2], "title": ["Fractions", "Triangles"]})
    questions, versions = [], []
    for n in range(12):
        theme = 10 if n < 8 else 11
        block = 1 if theme == 10 else 2
        questions.append({"id": _id(n), "theme_id": theme + 50, "block_id": 9, "difficulty": "x"})
        versions.append(
            {
                "id": _id(100 + n),
                "question_id": _id(n),
                "version": 1,
                "year": 1,
                "block_id": block,
                "theme_id": theme,
                "difficulty": "medium",
            }
        )
    sessions = [
        {
            "id": _id(200),
            "user_id": ALICE,
            "mode": "TUTOR",
            "status": "SUBMITTED",
            "created_at": AS_OF - timedelta(days=2, hours=1),
            "submitted_at": AS_OF - timedelta(days=2),
        },
        {
            "id": _id(201),
            "user_id": ALICE,
            "mode": "EXAM",
            "status": "EXPIRED",
            "created_at": AS_OF - timedelta(days=20, hours=1),
            "submitted_at": AS_OF - timedelta(days=20),
        },
        {
            "id": _id(202),
            "user_id": BOB,
            "mode": "EXAM",
            "status": "SUBMITTED",
            "created_at": AS_OF - timedelta(days=40, hours=1),
            "submitted_at": AS_OF - timedelta(days=40),
        },
        {
            "id": _id(203),
            "user_id": BOB,
            "mode": "TUTOR",
            "status": "ACTIVE",
            "created_at": AS_OF - timedelta(days=1),
            "submitted_at": None,
        },
        {
            "id": _id(204),
            "user_id": CAROL,
            "mode": "TUTOR",
            "status": "ACTIVE",
            "created_at": AS_OF - timedelta(days=1),
            "submitted_at": None,
        },
    ]
    links, answers = [], []

    def answer(
        session: int,
        *,
        question: int,
        correct: bool | None,
        days: float,
        version: bool = True,
        snapshot: str | None = None,
    ) -> None:
        key = len(links)
        links.append(
            {
                "id": _id(300 + key),
                "session_id": _id(session),
                "question_id": _id(question),
                "question_version_id": _id(100 + question) if version else None,
                "position": key,
                "snapshot_json": snapshot,
            }
        )
        answers.append(
            {
                "id": _id(500 + key),
                "session_id": _id(session),
                "question_id": _id(question),
                "selected_index": 0,
                "is_correct": correct,
                "answered_at": AS_OF - timedelta(days=days),
            }
        )

    for q, correct in enumerate([True, True, False, True, True, False]):
        answer(200, question=q, correct=correct, days=2)
    for q, correct in zip([8, 9, 10], [True, False, True], strict=True):
        answer(201, question=q, correct=correct, days=20)
    for q in range(4):
        answer(202, question=q, correct=True, days=40)
    answer(
        202,
        question=4,
        correct=True,
        days=40,
        version=False,
        snapshot='{"theme_id": "10", "block_id": 1, "year": 1}',
    )
    answer(202, question=5, correct=True, days=40, version=False, snapshot="[1]")
    for q in range(6):
        answer(203, question=q, correct=False, days=1)
        answer(204, question=q, correct=True, days=1)
    with open_store(url) as store:
        store.bulk_insert("users", users)
        store.bulk_insert("blocks", blocks)
        store.bulk_insert("themes", themes)
        store.bulk_insert("questions", pl.DataFrame(questions))
        store.bulk_insert("question_versions", pl.DataFrame(versions))
        store.bulk_insert(
            "test_sessions",
            pl.DataFrame(sessions, schema_overrides={"created_at": UTC_TS, "submitted_at": UTC_TS}),
        )
        store.bulk_insert("session_questions", pl.DataFrame(links))
        store.bulk_insert(
            "session_answers", pl.DataFrame(answers, schema_overrides={"answered_at": UTC_TS})
        )


EXPECTED_SCORES = {
    (ALICE, 10): ("0.6666", "66.67", 6, 4),
    (ALICE, 11): ("0.0000", "66.67", 3, 2),
    (BOB, 10): ("0.2000", "100.00", 5, 5),
}

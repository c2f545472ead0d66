"""The per-user peer: what a first version of this job usually is (issue 7).

For each user: query their attempts through the SQLAlchemy ORM, resolve frozen tags and compute
Mastery v0 in plain Python (the exact reference of tests/reference.py), upsert their rows
through the ORM, commit. Benchmark peer only: no ledger row of its own (it reuses one run id),
no stale-row refresh.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, Numeric, String, Uuid, create_engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from pipeline.io.url import parse_database_url
from tests.reference import reference


class Base(DeclarativeBase):
    pass


class TestSession(Base):
    __tablename__ = "test_sessions"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionQuestion(Base):
    __tablename__ = "session_questions"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    question_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    question_version_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    snapshot_json: Mapped[Any] = mapped_column(JSON)


class SessionAnswer(Base):
    __tablename__ = "session_answers"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    question_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    is_correct: Mapped[bool | None] = mapped_column(Boolean)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class QuestionVersion(Base):
    __tablename__ = "question_versions"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    year: Mapped[int | None] = mapped_column(Integer)
    block_id: Mapped[int | None] = mapped_column(Integer)
    theme_id: Mapped[int | None] = mapped_column(Integer)
    difficulty: Mapped[str | None] = mapped_column(String)


class Mastery(Base):
    __tablename__ = "user_theme_mastery"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    year: Mapped[int] = mapped_column(Integer)
    block_id: Mapped[int] = mapped_column(Integer)
    theme_id: Mapped[int] = mapped_column(Integer)
    attempts_total: Mapped[int] = mapped_column(Integer)
    correct_total: Mapped[int] = mapped_column(Integer)
    accuracy_pct: Mapped[Any] = mapped_column(Numeric(5, 2))
    mastery_score: Mapped[Any] = mapped_column(Numeric(6, 4))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    algo_version_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    params_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    breakdown_json: Mapped[Any] = mapped_column(JSON)


def _snapshot_int(snapshot: Any, key: str) -> int | None:
    value = snapshot.get(key) if isinstance(snapshot, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _attempts(session: Session, user_id: uuid.UUID, as_of: datetime) -> list[dict[str, Any]]:
    start = as_of - timedelta(days=90)
    rows = (
        session.query(SessionAnswer, TestSession, SessionQuestion, QuestionVersion)
        .join(TestSession, TestSession.id == SessionAnswer.session_id)
        .join(
            SessionQuestion,
            (SessionQuestion.session_id == SessionAnswer.session_id)
            & (SessionQuestion.question_id == SessionAnswer.question_id),
        )
        .outerjoin(QuestionVersion, QuestionVersion.id == SessionQuestion.question_version_id)
        .filter(
            TestSession.user_id == user_id,
            TestSession.status.in_(("SUBMITTED", "EXPIRED")),
            TestSession.submitted_at.between(start, as_of),
        )
        .all()
    )
    out = []
    for answer, test_session, link, version in rows:
        snapshot = link.snapshot_json
        tags = {
            key: _snapshot_int(snapshot, key)
            if getattr(version, key, None) is None
            else getattr(version, key)
            for key in ("year", "block_id", "theme_id")
        }
        out.append(
            {
                "user_id": str(user_id),
                "session_id": str(answer.session_id),
                "question_id": str(answer.question_id),
                **tags,
                "difficulty": None,
                "is_correct": answer.is_correct,
                "answered_at": answer.answered_at,
                "submitted_at": test_session.submitted_at,
            }
        )
    return out


def run_per_user_peer(
    url: str, user_ids: list[str], as_of: datetime, run: dict[str, str], known: tuple[set, set]
) -> float:
    """Seconds to recompute and upsert ``user_ids`` one user (and one commit) at a time."""
    engine = create_engine(parse_database_url(url).url.set(drivername="postgresql+psycopg"))
    start = time.perf_counter()
    with Session(engine) as session:
        for user_id in user_ids:
            rows, _ = reference(_attempts(session, uuid.UUID(user_id), as_of), None, as_of, *known)
            for row in rows:
                values = {
                    **row,
                    "id": uuid.uuid4(),
                    "breakdown_json": json.loads(row["breakdown_json"]),
                    "computed_at": as_of,
                    **run,
                }
                update = {k: v for k, v in values.items() if k not in ("id", "user_id", "theme_id")}
                session.execute(
                    insert(Mastery)
                    .values(**values)
                    .on_conflict_do_update(index_elements=["user_id", "theme_id"], set_=update)
                )
            session.commit()
    engine.dispose()
    return time.perf_counter() - start

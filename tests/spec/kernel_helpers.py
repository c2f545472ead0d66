"""Builders for the spec tests: one attempt, a run of the kernel, an expected breakdown text.

Expected values in the tests are literals worked out by hand in their comments; they are never
taken from tests/reference.py (only its frame builders are used, for the right dtypes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from pipeline.contracts.params import Params
from pipeline.kernel import compute_cohort
from tests.reference import DATA_QUALITY_KEYS, attempts_frame

AS_OF = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
_NOW = object()
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def att(
    qid: str,
    days_ago: float | None = 1,
    ok: bool | None = True,
    *,
    user: str = "u1",
    session: str = "s1",
    theme: int | None = 100,
    block: int | None = 10,
    year: int | None = 1,
    difficulty: str | None = None,
    answered: datetime | object | None = _NOW,
    submitted: datetime | None = None,
) -> dict[str, Any]:
    """One resolved attempt; answered ``days_ago`` days before AS_OF unless ``answered`` given."""
    if answered is _NOW:
        answered = None if days_ago is None else AS_OF - timedelta(days=days_ago)
    return {
        "user_id": user,
        "session_id": session,
        "question_id": qid,
        "year": year,
        "block_id": block,
        "theme_id": theme,
        "difficulty": difficulty,
        "is_correct": ok,
        "answered_at": answered,
        "submitted_at": submitted or AS_OF - timedelta(hours=1),
    }


def params(**overrides: Any) -> Params:
    return Params.from_mapping(overrides)


def run(
    attempts: list[dict[str, Any]],
    p: Params | None = None,
    as_of: datetime = AS_OF,
    themes: pl.LazyFrame | None = None,
    blocks: pl.LazyFrame | None = None,
) -> tuple[pl.DataFrame, dict[str, int]]:
    res = compute_cohort(
        attempts_frame(attempts), p or params(), as_of, themes=themes, blocks=blocks
    )
    return res.rows, res.data_quality


def dq_with(**counts: int) -> dict[str, int]:
    """All data-quality keys at 0 except the given ones."""
    return {**dict.fromkeys(DATA_QUALITY_KEYS, 0), **counts}


def one_row(rows: pl.DataFrame) -> dict[str, Any]:
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def breakdown(
    total: int,
    buckets: list[tuple[int, int, int, str, str, str]],
    score: str,
    use_difficulty: bool = False,
) -> str:
    """Expected breakdown text from (days, attempts, correct, accuracy, weight, contribution)."""
    parts = ",".join(
        f'"{d}d":{{"attempts":{n},"correct":{c},"accuracy":{a},"weight":{w},"contribution":{x}}}'
        for d, n, c, a, w, x in buckets
    )
    flag = "true" if use_difficulty else "false"
    return (
        f'{{"total_attempts":{total},"buckets":{{{parts}}},'
        f'"mastery_score":{score},"use_difficulty":{flag}}}'
    )


def insufficient(required: int, actual: int) -> str:
    return f'{{"reason":"insufficient_attempts","required":{required},"actual":{actual}}}'


def worked_example() -> list[dict[str, Any]]:
    """SPEC §4's example. 7d: days 1, 2, 3 -> 3 attempts, 2 correct; 30d: + days 10, 20 (both
    correct) -> 5 attempts, 4 correct; 90d: + days 40..89, 5 of 7 correct -> 12, 9."""
    spec = [
        (1, True), (2, True), (3, False),
        (10, True), (20, True),
        (40, True), (50, True), (60, True), (70, False), (80, False), (85, True), (89, True),
    ]  # fmt: skip
    return [att(f"q{i:02d}", d, ok) for i, (d, ok) in enumerate(spec)]


WORKED_EXAMPLE_BREAKDOWN = (
    '{"total_attempts":12,"buckets":{'
    '"7d":{"attempts":3,"correct":2,"accuracy":0.6667,"weight":0.5,"contribution":0.3333},'
    '"30d":{"attempts":5,"correct":4,"accuracy":0.8,"weight":0.3,"contribution":0.24},'
    '"90d":{"attempts":12,"correct":9,"accuracy":0.75,"weight":0.2,"contribution":0.15}},'
    '"mastery_score":0.7233,"use_difficulty":false}'
)


def difficulty_mix() -> list[dict[str, Any]]:
    return [
        att("q1", ok=True, difficulty="easy"),  # w 0.9
        att("q2", ok=False, difficulty="MEDIUM "),  # w 1.0 (case and trailing blank)
        att("q3", ok=True, difficulty="hard"),  # w 1.1
        att("q4", ok=False, difficulty=" Hard"),  # w 1.1 (" Hard" = hard)
        att("q5", ok=True, difficulty=None),  # w 1.0 (null)
        att("q6", ok=False, difficulty="expert"),  # w 1.0 (unknown)
    ]


def one_bucket(weight: str) -> Params:
    return params(recency_buckets=[{"days": 7, "weight": Decimal(weight)}])


def n_attempts(n: int, correct: int) -> list[dict[str, Any]]:
    return [att(f"q{i:03d}", ok=i < correct) for i in range(n)]


def cohort() -> list[dict[str, Any]]:
    """Three users, several themes, every kind of dropped or skipped attempt."""
    out = worked_example()
    out += [dict(a, user_id="u2", theme_id=200) for a in worked_example()]
    out += difficulty_mix()
    out += [
        att("q1", 3, block=20, user="u3", session="s3", year=2),
        att("q2", 9, block=10, user="u3", session="s3"),
        att("q3", None, block=30, user="u3", session="s3", ok=None),
        att("q4", 40, theme=None, user="u3", session="s3"),
        att("q5", answered=AS_OF + US, user="u3", session="s3"),
        att("q6", 2, theme=300, block=None, user="u3", session="s3"),
    ]
    return out

"""Pandera contracts for attempts: as extracted (``RawAttempts``) and as the kernel reads them
(``ResolvedAttempts``); ``pipeline.contracts.frames`` derives the Polars schemas from both.

Resolved: one row per answered ``session_questions`` row, frozen tags resolved (SPEC §4); tags,
difficulty, correctness and ``answered_at`` may be null (counted as data-quality issues by the
kernel), identities and ``submitted_at`` may not. Extra columns are allowed.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.engines import polars_engine as pe

from .mastery import ROW_FAILURE_CASES, UTC_MICROS, unique_rows

ATTEMPT_KEY = ("session_id", "question_id")


class RawAttempts(pa.DataFrameModel):
    """Extract output: attempts in the window with the version's tags and the snapshot text."""

    user_id: pl.String
    session_id: pl.String
    question_id: pl.String
    is_correct: pl.Boolean = pa.Field(nullable=True)
    answered_at: pe.DateTime = pa.Field(nullable=True, dtype_kwargs=UTC_MICROS)
    submitted_at: pe.DateTime = pa.Field(dtype_kwargs=UTC_MICROS)
    qv_year: pl.Int32 = pa.Field(nullable=True)
    qv_block_id: pl.Int32 = pa.Field(nullable=True)
    qv_theme_id: pl.Int32 = pa.Field(nullable=True)
    qv_difficulty: pl.String = pa.Field(nullable=True)
    snapshot_json: pl.String = pa.Field(nullable=True)


class ResolvedAttempts(pa.DataFrameModel):
    """Kernel input, plus the extractor's optional ``snapshot_malformed`` flag."""

    user_id: pl.String
    session_id: pl.String
    question_id: pl.String
    year: pl.Int32 = pa.Field(nullable=True)
    block_id: pl.Int32 = pa.Field(nullable=True)
    theme_id: pl.Int32 = pa.Field(nullable=True)
    difficulty: pl.String = pa.Field(nullable=True)
    is_correct: pl.Boolean = pa.Field(nullable=True)
    answered_at: pe.DateTime = pa.Field(nullable=True, dtype_kwargs=UTC_MICROS)
    submitted_at: pe.DateTime = pa.Field(dtype_kwargs=UTC_MICROS)
    # pandera reads `X | None` as "column may be absent", not as "nullable".
    snapshot_malformed: pl.Boolean | None = pa.Field(nullable=True)

    class Config:
        strict = False

    @pa.dataframe_check(name="unique(session_id, question_id)", n_failure_cases=ROW_FAILURE_CASES)
    @classmethod
    def one_row_per_session_question(cls, data: PolarsData) -> pl.LazyFrame:
        return unique_rows(data, ATTEMPT_KEY)

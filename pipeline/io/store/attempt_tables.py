"""The raw attempts of a window as separate table reads joined in Polars (issue 20): the frame
and profile one extract returns, and the pure helpers that join the tables and turn uuid bytes
into text. Pure: no connection here; the stores read, these functions shape."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.contracts.frames import RAW_ATTEMPT_SCHEMA


@dataclass(frozen=True)
class RawRead:
    """One extract's raw attempts and its profile (``stage_seconds`` sub-stages, rows read)."""

    frame: pl.DataFrame
    seconds: dict[str, float]
    """Seconds per extract step, keyed as ``stage_seconds`` sub-stages (``extract.answers``)."""
    rows_read: dict[str, int]
    """Rows each source read returned (``sessions``, ``session_answers``, ...)."""


def uuid_text(column: str) -> pl.Expr:
    """16 uuid bytes (ADBC's ``arrow.uuid`` as Polars Binary) as canonical lowercase text,
    vectorized: hex, then dashes at 8-4-4-4-12 (what Postgres' ``CAST(uuid AS text)`` gives)."""
    hexed = pl.col(column).bin.encode("hex")
    parts = [hexed.str.slice(start, length) for start, length in _UUID_GROUPS]
    return pl.concat_str(parts, separator="-").alias(column)


_UUID_GROUPS = ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))


def uuid_list(ids: pl.Series) -> str:
    """Distinct 16-byte uuids as one bound text (hex, comma-separated; Postgres reads
    ``string_to_array(:ids, ',')::uuid[]``), so an id list travels as one parameter."""
    return ",".join(ids.drop_nulls().unique().bin.encode("hex").to_list())


def incomplete_versions(links: pl.DataFrame, versions: pl.DataFrame) -> pl.Series:
    """The version ids session questions name whose row lacks a tag field or is not stored:
    their rows need the snapshot (SPEC §4's per-field fallback)."""
    tags = ("qv_year", "qv_block_id", "qv_theme_id", "qv_difficulty")
    complete = versions.filter(pl.all_horizontal(pl.col(tags).is_not_null()))
    named = links.select(pl.col("question_version_id").drop_nulls().unique())
    missing = named.join(complete, on="question_version_id", how="anti")
    return missing.to_series()


def join_attempt_tables(
    sessions: pl.DataFrame,
    answers: pl.DataFrame,
    links: pl.DataFrame,
    versions: pl.DataFrame,
) -> pl.DataFrame:
    """The separately read tables joined as ``extract_attempts.sql`` joins them, uuids turned to
    text at the end: the same ``RAW_ATTEMPT_SCHEMA`` frame (row order aside).

    Ids are turned to text once per distinct value (a session's with the session, a question's
    through a map of the distinct question ids), not once per attempt.
    """
    keyed_sessions = sessions.with_columns(
        uuid_text("user_id"), uuid_text("session_id").alias("session_text")
    )
    joined = (
        answers.join(keyed_sessions, on="session_id", how="inner")
        .join(links, on=["session_id", "question_id"], how="inner")
        .join(versions, on="question_version_id", how="left")
    )
    questions = joined.select(pl.col("question_id").unique())
    questions = questions.with_columns(uuid_text("question_id").alias("question_text"))
    return (
        joined.join(questions, on="question_id", how="left")
        .with_columns(session_id="session_text", question_id="question_text")
        .select(pl.col(name).cast(dtype) for name, dtype in RAW_ATTEMPT_SCHEMA.items())
    )

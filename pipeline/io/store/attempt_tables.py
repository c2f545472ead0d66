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


def session_id_list(sessions: pl.DataFrame) -> str:
    """The sessions' ids in frame order (the ``extract_session_*.sql`` reads number them by
    position, so the n-th id is ``session_index`` n - 1), as one bound text like
    :func:`uuid_list`."""
    return ",".join(sessions["session_id"].bin.encode("hex").to_list())


def unstored_versions(links: pl.DataFrame, versions: pl.DataFrame) -> pl.Series:
    """The version ids session questions name that have no stored row (possible only without
    the foreign key): their rows need the snapshot, which the session questions' read sent only
    for rows without a version or whose stored version lacks a field (SPEC §4's per-field
    fallback)."""
    named = links.select(pl.col("question_version_id").drop_nulls().unique())
    stored = versions.select("question_version_id")
    return named.join(stored, on="question_version_id", how="anti").to_series()


def with_snapshots(links: pl.DataFrame, redone: pl.Series, snapshots: pl.DataFrame) -> pl.DataFrame:
    """``links`` whose version is in ``redone`` replaced by their re-read rows with snapshot."""
    if redone.is_empty():
        return links
    again = pl.col("question_version_id").is_in(redone.implode()).fill_null(False)
    return pl.concat([links.filter(~again), snapshots], how="vertical_relaxed")


def _int128(column: str) -> pl.Expr:
    """16 uuid bytes as one Int128: a fixed-width key hashes and compares far faster than Binary."""
    return pl.col(column).bin.reinterpret(dtype=pl.Int128, endianness="big")


@dataclass(frozen=True)
class KeyedAnswers:
    """The answers side of the join, prepared while the session questions are still being read:
    each answer keyed by ``session_index · 2³² + question code`` (one UInt64), and the distinct
    questions answered (code, 16-byte id) whose text is made once per question."""

    answers: pl.DataFrame
    questions: pl.DataFrame


def key_answers(answers: pl.DataFrame) -> KeyedAnswers:
    """See :class:`KeyedAnswers`. A session question of a question never answered is no attempt,
    so the answered questions' codes are all the join needs."""
    keyed = answers.with_columns(question_key=_int128("question_id"))
    questions = (
        keyed.select("question_key", "question_id")
        .unique(subset="question_key")
        .drop_nulls("question_key")
        .with_row_index("question_code")
    )
    return KeyedAnswers(
        _attempt_key(keyed.drop("question_id"), questions),
        questions,
    )


def _attempt_key(frame: pl.DataFrame, questions: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (with ``session_index`` and ``question_key``) keyed by one UInt64: rows whose
    question has no code, or whose session or question is null, match nothing and are dropped."""
    codes = questions.select("question_key", "question_code")
    return (
        frame.join(codes, on="question_key", how="inner")
        .with_columns(
            attempt_key=pl.col("session_index").cast(pl.UInt64) * (1 << 32)
            + pl.col("question_code").cast(pl.UInt64)
        )
        .drop("question_key")
        .drop_nulls("attempt_key")
    )


def join_attempt_tables(
    sessions: pl.DataFrame,
    answers: pl.DataFrame | KeyedAnswers,
    links: pl.DataFrame,
    versions: pl.DataFrame,
) -> pl.DataFrame:
    """The separately read tables joined as ``extract_attempts.sql`` joins them, uuids turned to
    text at the end: the same ``RAW_ATTEMPT_SCHEMA`` frame (row order aside).

    ``answers`` and ``links`` carry ``session_index``, the row of their session in ``sessions``
    (the database numbered them), so the one large join is answers ⋈ session questions on a
    single UInt64 key; the session's columns and the ids' text are then gathered by position,
    text made once per distinct session and question, not once per attempt.
    """
    keyed = answers if isinstance(answers, KeyedAnswers) else key_answers(answers)
    keyed_links = _attempt_key(
        links.select(
            "session_index",
            "snapshot_json",
            question_key=_int128("question_id"),
            version_key=_int128("question_version_id"),
        ),
        keyed.questions,
    ).drop("session_index", "question_code")
    tags = versions.select(
        pl.exclude("question_version_id"), version_key=_int128("question_version_id")
    )
    joined = (
        keyed.answers.join(keyed_links, on="attempt_key", how="inner")
        .join(tags, on="version_key", how="left")
        .drop("attempt_key", "version_key")
    )
    by_session = sessions.select(
        uuid_text("user_id"), uuid_text("session_id"), pl.col("submitted_at")
    )
    question_text = keyed.questions.select(uuid_text("question_id")).to_series()
    gathered = by_session.select(pl.all().gather(joined["session_index"].cast(pl.UInt32)))
    joined = joined.with_columns(
        *gathered.get_columns(), question_text.gather(joined["question_code"])
    )
    return joined.select(pl.col(name).cast(dtype) for name, dtype in RAW_ATTEMPT_SCHEMA.items())

"""The Pandera contracts and their one-line errors (pipeline.run.validate, schemas/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.frames import ATTEMPT_SCHEMA, OUTPUT_COLUMNS
from pipeline.contracts.params import default_params
from pipeline.kernel import compute_cohort
from pipeline.run.validate import validate_attempts, validate_mastery

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
MASTERY_SCHEMA = pl.Schema(
    {
        "user_id": pl.String,
        "theme_id": pl.Int32,
        "year": pl.Int32,
        "block_id": pl.Int32,
        "attempts_total": pl.Int32,
        "correct_total": pl.Int32,
        "accuracy_pct": pl.Decimal(5, 2),
        "mastery_score": pl.Decimal(6, 4),
        "last_attempt_at": pl.Datetime("us", "UTC"),
        "breakdown_json": pl.String,
    }
)


def mastery_frame(**changes: list[Any]) -> pl.DataFrame:
    """Three valid kernel rows; keyword arguments replace whole columns."""
    columns: dict[str, list[Any]] = {
        "user_id": ["u1", "u1", "u2"],
        "theme_id": [10, 11, 10],
        "year": [1, 1, 2],
        "block_id": [1, 2, 1],
        "attempts_total": [6, 3, 0],
        "correct_total": [4, 2, 0],
        "accuracy_pct": [Decimal("66.67"), Decimal("66.67"), Decimal("0")],
        "mastery_score": [Decimal("0.6666"), Decimal("0"), Decimal("0")],
        "last_attempt_at": [AS_OF - timedelta(days=2), AS_OF - timedelta(days=20), None],
        "breakdown_json": [
            '{"total_attempts":6,"buckets":{},"mastery_score":0.6666,"use_difficulty":false}',
            '{"reason":"insufficient_attempts","required":5,"actual":3}',
            '{"reason":"insufficient_attempts","required":5,"actual":0}',
        ],
    }
    return pl.DataFrame(columns | changes, schema=MASTERY_SCHEMA)


def attempts_frame(**changes: list[Any]) -> pl.DataFrame:
    """Three valid resolved attempts (two users, one malformed snapshot)."""
    columns: dict[str, list[Any]] = {
        "user_id": ["u1", "u1", "u2"],
        "session_id": ["s1", "s1", "s2"],
        "question_id": ["q1", "q2", "q1"],
        "year": [1, None, 2],
        "block_id": [1, 1, None],
        "theme_id": [10, 10, None],
        "difficulty": ["easy", None, " Hard"],
        "is_correct": [True, None, False],
        "answered_at": [AS_OF - timedelta(days=1), None, AS_OF - timedelta(days=3)],
        "submitted_at": [AS_OF - timedelta(days=1)] * 2 + [AS_OF - timedelta(days=3)],
        "snapshot_malformed": [False, False, True],
    }
    schema = pl.Schema({**ATTEMPT_SCHEMA, "snapshot_malformed": pl.Boolean})
    return pl.DataFrame(columns | changes, schema=schema)


def mastery_error(frame: pl.DataFrame) -> str:
    with pytest.raises(MasteryError) as caught:
        validate_mastery(frame)
    return str(caught.value)


def attempts_error(frame: pl.DataFrame) -> str:
    with pytest.raises(MasteryError) as caught:
        validate_attempts(frame)
    return str(caught.value)


def test_valid_mastery_frame_passes_unchanged() -> None:
    frame = mastery_frame()
    assert validate_mastery(frame) is frame
    assert frame.equals(mastery_frame())


def test_valid_attempts_frame_passes_unchanged() -> None:
    frame = attempts_frame()
    assert validate_attempts(frame) is frame


def test_attempts_without_optional_flag_and_with_extra_columns_pass() -> None:
    frame = attempts_frame().drop("snapshot_malformed").with_columns(extra=pl.lit(1))
    assert validate_attempts(frame) is frame


def test_kernel_output_satisfies_the_contract() -> None:
    attempts = validate_attempts(attempts_frame())
    rows = compute_cohort(attempts.lazy(), default_params(), AS_OF).rows
    assert rows.columns == list(OUTPUT_COLUMNS)
    assert rows.height == 1
    assert validate_mastery(rows) is rows


def test_score_above_one_names_mastery_score() -> None:
    message = mastery_error(mastery_frame(mastery_score=[Decimal("1.2"), Decimal(0), Decimal(0)]))
    assert "mastery_score: in_range(0, 1) failed for 1 row" in message
    assert "user_id=u1, theme_id=10, mastery_score=1.2000" in message


def test_more_correct_than_attempts_names_both_columns() -> None:
    message = mastery_error(mastery_frame(correct_total=[7, 2, 0]))
    assert "correct_total <= attempts_total failed for 1 row (user_id=u1, theme_id=10)" in message


def test_duplicate_user_theme_fails() -> None:
    message = mastery_error(mastery_frame(theme_id=[10, 10, 10]))
    assert "unique(user_id, theme_id) failed for 2 rows" in message
    assert "user_id=u2" not in message


def test_negative_attempts_fails() -> None:
    message = mastery_error(mastery_frame(attempts_total=[6, -3, 0], correct_total=[4, 0, 0]))
    assert "attempts_total: greater_than_or_equal_to(0) failed for 1 row" in message
    assert "theme_id=11, attempts_total=-3" in message


@pytest.mark.parametrize(
    "breakdown",
    [
        '{"reason": "insufficient_attempts"',
        "not json",
        "[1, 2]",
        '"{quoted}"',
        "",
        None,
        '{"score": NaN}',
        '{"a": 1,}',
        "{'a': 1}",
        '{"a": 1} trailing',
        '{"a": "\\ud800"}',
        '{"a": 1}\n{"b": 2}',
        '{"a": 1}\r{"b": 2}',
    ],
    ids=[
        "truncated",
        "not-json",
        "array",
        "json-string",
        "empty",
        "null",
        "nan",
        "trailing-comma",
        "single-quotes",
        "trailing-text",
        "lone-surrogate",
        "two-lines",
        "two-lines-cr",
    ],
)
def test_breakdown_must_be_a_json_object(breakdown: str | None) -> None:
    frame = mastery_frame().with_columns(
        breakdown_json=pl.Series([breakdown, '{"a": {"b": [1]}}', " {} "], dtype=pl.String)
    )
    message = mastery_error(frame)
    assert "breakdown_json:" in message
    assert "theme_id=11" not in message
    assert "theme_id=10, breakdown_json=" in message


def test_a_breakdown_over_several_lines_is_one_json_object() -> None:
    frame = mastery_frame().with_columns(
        breakdown_json=pl.Series(['{"a":\n 1}', '{\r\n"b": [1,\n2]}\n', "{}"], dtype=pl.String)
    )
    assert validate_mastery(frame) is frame


def test_missing_column_fails() -> None:
    message = mastery_error(mastery_frame().drop("year"))
    assert "missing column year" in message


def test_extra_output_column_fails() -> None:
    message = mastery_error(mastery_frame().with_columns(extra=pl.lit(1)))
    assert "unexpected column extra" in message


def test_wrong_decimal_scale_fails() -> None:
    frame = mastery_frame().with_columns(pl.col("mastery_score").cast(pl.Decimal(6, 2)))
    message = mastery_error(frame)
    assert "mastery_score: dtype Decimal(precision=6, scale=2)" in message


def test_attempts_reject_null_user_id() -> None:
    message = attempts_error(attempts_frame(user_id=["u1", None, "u2"]))
    assert "input validation failed (ResolvedAttempts)" in message
    assert "user_id: not_nullable failed for 1 row (session_id=s1, question_id=q2" in message


def test_attempts_reject_duplicated_session_question() -> None:
    message = attempts_error(attempts_frame(question_id=["q1", "q1", "q1"]))
    assert "unique(session_id, question_id) failed for 2 rows" in message
    assert "session_id=s2" not in message


def test_attempts_reject_naive_timestamps() -> None:
    frame = attempts_frame().with_columns(pl.col("submitted_at").dt.replace_time_zone(None))
    message = attempts_error(frame)
    assert "submitted_at: dtype Datetime(time_unit='us', time_zone=None)" in message


def test_message_is_one_line_naming_the_schema_and_every_failure() -> None:
    frame = mastery_frame(
        user_id=["u1", "u1", "u1"],
        theme_id=[10, 10, 12],
        mastery_score=[Decimal("1.5"), Decimal(0), Decimal(0)],
        breakdown_json=["{\n  broken", "{}", "{}"],
    ).drop("year")
    message = mastery_error(frame)
    assert "\n" not in message
    assert "\r" not in message
    assert message.startswith("output validation failed (MasteryRows): ")
    for part in ("missing column year", "mastery_score", "breakdown_json", "unique("):
        assert part in message
    assert "Traceback" not in message
    assert len(message) < 1000

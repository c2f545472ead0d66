"""Frozen-tag resolution against SPEC §4 "Frozen tags".

Per field: the question version's value when set and not null, else the snapshot's, else null.
In ``snapshot_json`` an id or year is a JSON integer, a number with an integral value, or a
string of decimal digits; anything else is null; a snapshot that is not an object counts as
``{}``. Difficulty is passed through raw (the kernel normalizes it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from pipeline.io.tags import resolve_frozen_tags

UTC_US = pl.Datetime("us", "UTC")
RAW_SCHEMA = {
    "user_id": pl.String,
    "session_id": pl.String,
    "question_id": pl.String,
    "is_correct": pl.Boolean,
    "answered_at": UTC_US,
    "submitted_at": UTC_US,
    "qv_year": pl.Int32,
    "qv_block_id": pl.Int32,
    "qv_theme_id": pl.Int32,
    "qv_difficulty": pl.String,
    "snapshot_json": pl.String,
}
ANSWERED = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
SUBMITTED = datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
TAGS = ("year", "block_id", "theme_id", "difficulty")


def raw_row(
    snapshot: str | None = None,
    *,
    qv: dict[str, Any] | None = None,
    qid: str = "q1",
) -> dict[str, Any]:
    qv = qv or {}
    return {
        "user_id": "u1",
        "session_id": "s1",
        "question_id": qid,
        "is_correct": True,
        "answered_at": ANSWERED,
        "submitted_at": SUBMITTED,
        "qv_year": qv.get("year"),
        "qv_block_id": qv.get("block_id"),
        "qv_theme_id": qv.get("theme_id"),
        "qv_difficulty": qv.get("difficulty"),
        "snapshot_json": snapshot,
    }


def resolve(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    frame = pl.DataFrame(list(rows), schema=RAW_SCHEMA, orient="row")
    resolved = resolve_frozen_tags(frame).collect()
    assert resolved.height == len(rows)
    return resolved.sort("question_id").to_dicts()


def tags(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in TAGS)


def snap(**fields: Any) -> str:
    return json.dumps(fields)


def test_output_has_the_kernel_input_columns() -> None:
    frame = pl.DataFrame([raw_row(snap(theme_id=1))], schema=RAW_SCHEMA, orient="row")
    schema = resolve_frozen_tags(frame.lazy()).collect_schema()
    expected = {
        "user_id": pl.String,
        "session_id": pl.String,
        "question_id": pl.String,
        "year": pl.Int32,
        "block_id": pl.Int32,
        "theme_id": pl.Int32,
        "difficulty": pl.String,
        "is_correct": pl.Boolean,
        "answered_at": UTC_US,
        "submitted_at": UTC_US,
        "snapshot_malformed": pl.Boolean,
    }
    for name, dtype in expected.items():
        assert schema.get(name) == dtype, name


def test_other_columns_pass_through() -> None:
    (row,) = resolve(raw_row(snap(theme_id=1)))
    assert row["user_id"] == "u1"
    assert row["session_id"] == "s1"
    assert row["question_id"] == "q1"
    assert row["is_correct"] is True
    assert row["answered_at"] == ANSWERED
    assert row["submitted_at"] == SUBMITTED


def test_version_tags_win_over_snapshot() -> None:
    snapshot = snap(year=1, block_id=10, theme_id=100, difficulty="easy")
    version = {"year": 2, "block_id": 20, "theme_id": 200, "difficulty": "hard"}
    (row,) = resolve(raw_row(snapshot, qv=version))
    assert tags(row) == (2, 20, 200, "hard")


def test_version_null_field_falls_back_to_snapshot_per_field() -> None:
    snapshot = snap(year=1, block_id=10, theme_id=100, difficulty="easy")
    (row,) = resolve(raw_row(snapshot, qv={"block_id": 20, "theme_id": 200}))
    # year and difficulty are null on the version row -> snapshot's; the others -> version's
    assert tags(row) == (1, 20, 200, "easy")


def test_version_without_snapshot() -> None:
    (row,) = resolve(raw_row(None, qv={"year": 3, "theme_id": 7}))
    assert tags(row) == (3, None, 7, None)
    assert row["snapshot_malformed"] is False


def test_null_snapshot_and_no_version_is_all_null() -> None:
    (row,) = resolve(raw_row(None))
    assert tags(row) == (None, None, None, None)
    assert row["snapshot_malformed"] is False


def test_snapshot_only() -> None:
    (row,) = resolve(raw_row(snap(year=2, block_id=10, theme_id=100, difficulty="medium")))
    assert tags(row) == (2, 10, 100, "medium")
    assert row["snapshot_malformed"] is False


def test_snapshot_extra_keys_are_fine() -> None:
    (row,) = resolve(raw_row(snap(theme_id=5, stem="What is 2+2?", options=[1, 2, 3])))
    assert tags(row) == (None, None, 5, None)
    assert row["snapshot_malformed"] is False


@pytest.mark.parametrize("field", ["year", "block_id", "theme_id"])
@pytest.mark.parametrize(
    ("json_value", "expected"),
    [
        ("12", 12),  # JSON integer
        ('"12"', 12),  # string of decimal digits
        ("12.0", 12),  # number with an integral value
        ("1e1", 10),  # number with an integral value, exponent form
        ("12.5", None),  # not integral
        ('"x"', None),
        ("[1]", None),
        ("true", None),
        ('"12.0"', None),  # a string, but not all digits
        ('" 12"', None),  # a string, but not all digits
        ('"-3"', None),  # a string, but not all digits
        ('""', None),
        ('{"id": 1}', None),
    ],
)
def test_snapshot_integer_rules(field: str, json_value: str, expected: int | None) -> None:
    (row,) = resolve(raw_row(f'{{"{field}": {json_value}}}'))
    assert row[field] == expected


def test_snapshot_json_null_value_is_null() -> None:
    (row,) = resolve(raw_row('{"theme_id": null, "difficulty": null, "year": 4}'))
    assert tags(row) == (4, None, None, None)


@pytest.mark.parametrize(
    "snapshot",
    ['[{"theme_id": 1}]', '"{\\"theme_id\\": 1}"', "12", "{theme_id: 1", "not json", "true"],
    ids=["array", "string", "number", "broken-object", "not-json", "bool"],
)
def test_snapshot_not_an_object_counts_as_empty_and_is_flagged(snapshot: str) -> None:
    (row,) = resolve(raw_row(snapshot))
    assert tags(row) == (None, None, None, None)
    assert row["snapshot_malformed"] is True


def test_snapshot_not_an_object_still_uses_version_tags() -> None:
    (row,) = resolve(raw_row("[1, 2]", qv={"year": 2, "block_id": 3, "theme_id": 4}))
    assert tags(row) == (2, 3, 4, None)
    assert row["snapshot_malformed"] is True


@pytest.mark.parametrize(
    ("snapshot", "malformed"),
    [
        (snap(theme_id=1, block_id=2, year=3, difficulty="easy"), False),
        (snap(theme_id="12", block_id=12.0), False),  # usable forms
        (snap(theme_id="x"), True),  # string where a number belongs
        (snap(year=12.5), True),
        (snap(block_id=[1]), True),
        (snap(theme_id=True), True),
        (snap(theme_id="12.0"), True),
        (snap(theme_id={"id": 1}), True),
        ("{}", False),
    ],
)
def test_malformed_flag_on_unusable_tag_values(snapshot: str, malformed: bool) -> None:
    (row,) = resolve(raw_row(snapshot))
    assert row["snapshot_malformed"] is malformed


def test_malformed_flag_even_when_version_overrides_the_field() -> None:
    (row,) = resolve(raw_row(snap(theme_id="x"), qv={"theme_id": 9}))
    assert row["theme_id"] == 9
    assert row["snapshot_malformed"] is True


def test_difficulty_passed_through_raw() -> None:
    rows = resolve(
        raw_row(snap(difficulty=" Hard"), qid="q1"),
        raw_row(snap(difficulty="easy"), qv={"difficulty": "MEDIUM "}, qid="q2"),
        raw_row(snap(difficulty="Unknown-Level"), qid="q3"),
    )
    assert [r["difficulty"] for r in rows] == [" Hard", "MEDIUM ", "Unknown-Level"]


def test_same_snapshot_text_on_many_rows() -> None:
    shared = snap(theme_id="7", year=2)
    rows = resolve(
        raw_row(shared, qid="q1"),
        raw_row(shared, qid="q2", qv={"theme_id": 8}),
        raw_row("[]", qid="q3"),
        raw_row(None, qid="q4"),
        raw_row(shared, qid="q5"),
    )
    assert [(r["theme_id"], r["year"], r["snapshot_malformed"]) for r in rows] == [
        (7, 2, False),
        (8, 2, False),
        (None, None, True),
        (None, None, False),
        (7, 2, False),
    ]


def test_empty_input() -> None:
    frame = pl.DataFrame(schema=RAW_SCHEMA)
    resolved = resolve_frozen_tags(frame).collect()
    assert resolved.height == 0
    assert {"year", "block_id", "theme_id", "difficulty", "snapshot_malformed"} <= set(
        resolved.columns
    )

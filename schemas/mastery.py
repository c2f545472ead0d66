"""Pandera contracts for Mastery v0 output: the kernel's rows and the ``user_theme_mastery`` table.

``MasteryRows`` is what ``pipeline.kernel.compute_cohort`` returns (``OUTPUT_COLUMNS``);
``UserThemeMasteryTable`` is the stored table of SPEC §3: the same columns plus the five the
load step adds. Every field's ``metadata["sql"]`` names its Postgres type, so
``tests/test_schema_drift.py`` can hold both models against the live databases.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.engines import polars_engine as pe

MASTERY_KEY = ("user_id", "theme_id")
UTC_MICROS = {"time_unit": "us", "time_zone": "UTC"}
# Checks over whole rows collect at most this many failing rows: pandera turns each one into a
# Python dict, which would take minutes (and gigabytes) on a cohort-sized bug.
ROW_FAILURE_CASES = 100


def sql_field(sql: str, **kwargs: Any) -> Any:
    """A ``pa.Field`` recording the column's Postgres type for the schema-drift test."""
    return pa.Field(metadata={"sql": sql}, **kwargs)


def unique_rows(data: PolarsData, keys: tuple[str, ...]) -> pl.LazyFrame:
    """False on every row whose ``keys`` occur more than once (all copies, as pandera does)."""
    return data.lazyframe.select(~pl.struct(keys).is_duplicated())


def is_json_object(text: pl.Expr) -> pl.Expr:
    """True where the text is one well-formed JSON object whose numbers are finite doubles;
    vectorized (no per-row Python).

    ``json_path_match("$")`` is null exactly when the text does not parse as JSON or holds a
    number beyond a double's range (``1e400``: Polars, the notebook and a browser read numbers
    as doubles), and a JSON text whose first non-blank character is ``{`` can only be an
    object.
    """
    return text.str.strip_chars().str.starts_with("{") & text.str.json_path_match("$").is_not_null()


def _json_object_pattern(depth: int) -> str:
    """A regular expression of the JSON objects whose values nest at most ``depth`` more
    levels, strings without ``\\u`` escapes (RFC 8259's grammar, whitespace included), and
    numbers bounded to finite doubles: at most 16 digits before the point and a positive
    exponent below 100 (so below 10^116; a negative exponent only underflows). Longer numbers
    go to the parser, which refuses those beyond a double's range (:func:`is_json_object`):
    a text's verdict never depends on the other texts checked with it."""
    ws = r"[ \t\n\r]*"
    string = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt])*"'
    number = r"-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]+)?(?:[eE](?:\+?[0-9]{1,2}|-[0-9]+))?"

    def listed(item: str) -> str:
        return rf"{ws}(?:{item}{ws}(?:,{ws}{item}{ws})*)?"

    def value(level: int) -> str:
        atoms = [string, number, "true", "false", "null"]
        if level > 0:
            inner = value(level - 1)
            atoms += [rf"\{{{listed(rf'{string}{ws}:{ws}{inner}')}\}}", rf"\[{listed(inner)}\]"]
        return f"(?:{'|'.join(atoms)})"

    return rf"^{ws}\{{{listed(rf'{string}{ws}:{ws}{value(depth)}')}\}}{ws}$"


JSON_OBJECT = _json_object_pattern(depth=2)
"""What a breakdown is by grammar alone (a regular expression: a DFA reads the texts three
times as fast as a JSON parser); deeper texts and ``\\u`` escapes go to the parser."""


def json_objects(frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """:func:`is_json_object` of ``column``, three times as fast when every text passes: when
    each text matches :data:`JSON_OBJECT` (which accepts only JSON objects), each is one;
    else (a failing text, a deeper one, or one with a ``\\u`` escape: a lone surrogate must
    be refused) each text is parsed alone."""
    text = pl.col(column)
    fast = frame.select(text.str.contains(JSON_OBJECT).all()).collect().item()
    return frame.select(text.is_not_null() if fast else is_json_object(text))


class MasteryRows(pa.DataFrameModel):
    """One row per (user_id, theme_id), as computed by the kernel (SPEC §4)."""

    user_id: pl.String = sql_field("uuid")
    theme_id: pl.Int32 = sql_field("integer")
    year: pl.Int32 = sql_field("integer")
    block_id: pl.Int32 = sql_field("integer")
    attempts_total: pl.Int32 = sql_field("integer", ge=0)
    correct_total: pl.Int32 = sql_field("integer", ge=0)
    accuracy_pct: pe.Decimal = sql_field(
        "numeric(5,2)",
        in_range={"min_value": 0, "max_value": 100},
        dtype_kwargs={"precision": 5, "scale": 2},
    )
    mastery_score: pe.Decimal = sql_field(
        "numeric(6,4)",
        in_range={"min_value": 0, "max_value": 1},
        dtype_kwargs={"precision": 6, "scale": 4},
    )
    last_attempt_at: pe.DateTime = sql_field("timestamptz", nullable=True, dtype_kwargs=UTC_MICROS)
    breakdown_json: pl.String = sql_field("jsonb")

    class Config:
        strict = True

    @pa.check("breakdown_json", name="json_object")
    @classmethod
    def breakdown_is_json_object(cls, data: PolarsData) -> pl.LazyFrame:
        return json_objects(data.lazyframe, data.key)

    @pa.dataframe_check(name="correct_total <= attempts_total", n_failure_cases=ROW_FAILURE_CASES)
    @classmethod
    def correct_within_attempts(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("correct_total") <= pl.col("attempts_total"))

    @pa.dataframe_check(name="unique(user_id, theme_id)", n_failure_cases=ROW_FAILURE_CASES)
    @classmethod
    def one_row_per_user_theme(cls, data: PolarsData) -> pl.LazyFrame:
        return unique_rows(data, MASTERY_KEY)


class UserThemeMasteryTable(MasteryRows):
    """Table ``user_theme_mastery`` (SPEC §3) as read into Polars: kernel rows plus run columns."""

    id: pl.String = sql_field("uuid")
    computed_at: pe.DateTime = sql_field("timestamptz", dtype_kwargs=UTC_MICROS)
    algo_version_id: pl.String = sql_field("uuid")
    params_id: pl.String = sql_field("uuid")
    run_id: pl.String = sql_field("uuid")

    class Config:
        strict = True

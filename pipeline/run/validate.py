"""Validate the kernel's input and output against their Pandera contracts (SPEC §1, step 3).

Every check runs (``lazy=True``); on failure a :class:`MasteryError` carries ONE line naming the
contract, each failing column/check, how many rows failed and a few of them by key, e.g.
``output validation failed (MasteryRows): mastery_score: in_range(0, 1) failed for 2 rows
(user_id=u1, theme_id=4, mastery_score=1.2000; ...)`` -- never pandera's JSON report.
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.constants import CHECK_OUTPUT_KEY
from pandera.errors import SchemaError, SchemaErrorReason, SchemaErrors

from pipeline.contracts.errors import MasteryError, one_line

# ``pipeline.schemas`` is the top-level ``schemas/`` directory mapped in by setuptools'
# package-dir, an import hook mypy cannot follow (the ignore tolerates a config that can).
from pipeline.schemas.attempts import (  # type: ignore[import-not-found, unused-ignore]
    ATTEMPT_KEY,
    ResolvedAttempts,
)
from pipeline.schemas.mastery import (  # type: ignore[import-not-found, unused-ignore]
    MASTERY_KEY,
    MasteryRows,
)

EXAMPLE_ROWS = 3  # offending rows quoted per failing check
MAX_VALUE_CHARS = 40  # longer values (e.g. a breakdown) are cut with "..."
MAX_ERROR_CHARS = 120  # a check that raised: the start of its exception

__all__ = ["failure_summary", "validate_attempts", "validate_mastery"]


def validate_attempts(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` itself when it satisfies :class:`ResolvedAttempts`, else a one-line MasteryError."""
    return _validate(df, ResolvedAttempts, ATTEMPT_KEY, "input")


def validate_mastery(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` itself when it satisfies :class:`MasteryRows`, else a one-line MasteryError."""
    return _validate(df, MasteryRows, MASTERY_KEY, "output")


def _validate(
    df: pl.DataFrame, model: type[pa.DataFrameModel], keys: tuple[str, ...], stage: str
) -> pl.DataFrame:
    try:
        model.validate(df, lazy=True)
    except SchemaErrors as exc:
        # ``from None``: the chained SchemaErrors would print pandera's multi-line report.
        summary = failure_summary(exc, df, keys)
        raise MasteryError(f"{stage} validation failed ({model.__name__}): {summary}") from None
    return df


def failure_summary(exc: SchemaErrors, df: pl.DataFrame, keys: tuple[str, ...]) -> str:
    """Every failure of ``exc`` in one line, ``; ``-separated, rows quoted by ``keys``."""
    return one_line("; ".join(_describe(err, df, keys) for err in exc.schema_errors))


def _describe(err: SchemaError, df: pl.DataFrame, keys: tuple[str, ...]) -> str:
    column = err.schema.name if isinstance(err.schema, pa.Column) else None
    check = _check_name(err.check)
    if err.reason_code == SchemaErrorReason.COLUMN_NOT_IN_DATAFRAME:
        return f"missing column {err.failure_cases}"
    if err.reason_code == SchemaErrorReason.COLUMN_NOT_IN_SCHEMA:
        return f"unexpected column {err.failure_cases}"
    if err.reason_code == SchemaErrorReason.WRONG_DATATYPE:
        return f"{column}: dtype {err.failure_cases}, expected {err.schema.dtype}"
    where = f"{column}: {check}" if column else check
    if err.reason_code == SchemaErrorReason.CHECK_ERROR:
        return f"{where} could not run ({_text(err.failure_cases, MAX_ERROR_CHARS)})"
    rows = _failing_rows(err.check_output, df.height)
    if rows is None:
        return f"{where} failed ({_text(err.failure_cases)})"
    shown = [*(k for k in keys if k in df.columns), *([column] if column in df.columns else [])]
    examples = "; ".join(
        ", ".join(f"{name}={_text(value)}" for name, value in row.items())
        for row in df.select(list(dict.fromkeys(shown)))
        .gather(rows[:EXAMPLE_ROWS])
        .iter_rows(named=True)
    )
    count = len(rows)
    return f"{where} failed for {count} row{'s' if count != 1 else ''} ({examples})"


def _failing_rows(check_output: Any, height: int) -> pl.Series | None:
    """Positions of the rows a row-wise check rejected; None for frame-level results."""
    if not isinstance(check_output, pl.DataFrame) or check_output.height != height:
        return None
    if CHECK_OUTPUT_KEY not in check_output.columns:
        return None
    passed = check_output.get_column(CHECK_OUTPUT_KEY).fill_null(False)
    return passed.not_().arg_true()


def _check_name(check: Any) -> str:
    """Pandera's own label for a check: its error text, else its name, else ``str()``."""
    if check is None or isinstance(check, str):
        return str(check or "check")
    return str(check.error or check.name or check)


def _text(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    if isinstance(value, pl.DataFrame):
        value = ", ".join(_text(v) for v in value.head(EXAMPLE_ROWS).to_series().to_list())
    text = "null" if value is None else one_line(str(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."

"""The SPEC §2 output tables and the numpy-to-Polars column builders that honour them.

Columns go through Arrow so null masks are applied without a Python pass over the rows, and every
frame is checked against ``TABLE_SCHEMAS``, so a new column cannot drift from the contract.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.io.store.tables import SOURCE_TABLES

TABLE_ORDER = SOURCE_TABLES  # SPEC §2 order is also the foreign-key-safe load order
_TS = pl.Datetime("us", "UTC")
TABLE_SCHEMAS: dict[str, pl.Schema] = {
    "users": pl.Schema(
        {
            "id": pl.String(),
            "email": pl.String(),
            "role": pl.String(),
            "year": pl.Int32(),
            "created_at": _TS,
        }
    ),
    "blocks": pl.Schema(
        {"id": pl.Int32(), "year": pl.Int32(), "name": pl.String(), "order_index": pl.Int32()}
    ),
    "themes": pl.Schema(
        {"id": pl.Int32(), "block_id": pl.Int32(), "title": pl.String(), "order_index": pl.Int32()}
    ),
    "questions": pl.Schema(
        {
            "id": pl.String(),
            "year": pl.Int32(),
            "block_id": pl.Int32(),
            "theme_id": pl.Int32(),
            "difficulty": pl.String(),
            "status": pl.String(),
        }
    ),
    "question_versions": pl.Schema(
        {
            "id": pl.String(),
            "question_id": pl.String(),
            "version": pl.Int32(),
            "year": pl.Int32(),
            "block_id": pl.Int32(),
            "theme_id": pl.Int32(),
            "difficulty": pl.String(),
            "created_at": _TS,
        }
    ),
    "test_sessions": pl.Schema(
        {
            "id": pl.String(),
            "user_id": pl.String(),
            "mode": pl.String(),
            "status": pl.String(),
            "created_at": _TS,
            "submitted_at": _TS,
        }
    ),
    "session_questions": pl.Schema(
        {
            "id": pl.String(),
            "session_id": pl.String(),
            "question_id": pl.String(),
            "question_version_id": pl.String(),
            "position": pl.Int32(),
            "snapshot_json": pl.String(),
        }
    ),
    "session_answers": pl.Schema(
        {
            "id": pl.String(),
            "session_id": pl.String(),
            "question_id": pl.String(),
            "selected_index": pl.Int32(),
            "is_correct": pl.Boolean(),
            "answered_at": _TS,
        }
    ),
}


def arrow_series(array: pa.Array, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series.cast(dtype)


def ints(values: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    return arrow_series(pa.array(values.astype(np.int32), mask=null), pl.Int32)


def times(values_us: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    array = pa.array(values_us.astype(np.int64), mask=null, type=pa.timestamp("us", tz="UTC"))
    return arrow_series(array, _TS)


def bools(values: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    return arrow_series(pa.array(values.astype(np.bool_), mask=null), pl.Boolean)


def pick(labels: tuple[str | None, ...], codes: np.ndarray) -> pl.Series:
    return pl.Series(labels, dtype=pl.String).gather(codes.astype(np.int64))


def table_frame(table: str, columns: dict[str, pl.Series]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    assert list(columns) == list(schema), (table, list(columns))
    return pl.DataFrame([s.alias(name) for name, s in columns.items()]).cast(schema)

"""Schema drift: the Pandera models, the kernel and the live ``user_theme_mastery`` must agree.

Runs against Postgres AND DuckDB (``initialized_url``), reading ``information_schema.columns``,
so a DDL change that the contracts do not follow (or the reverse) fails loudly.
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import polars as pl
import psycopg

from pipeline.contracts.frames import OUTPUT_COLUMNS
from pipeline.io.url import parse_database_url
from pipeline.schemas.mastery import MasteryRows, UserThemeMasteryTable

TABLE = "user_theme_mastery"
RUN_COLUMNS = {"id", "computed_at", "algo_version_id", "params_id", "run_id"}
COLUMNS_SQL = f"""
SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale
FROM information_schema.columns
WHERE table_name = '{TABLE}' AND table_schema = current_schema()
"""
# One spelling per type family, whichever back end (or the model's metadata) names it.
FAMILIES = {
    "uuid": "uuid",
    "integer": "integer",
    "int": "integer",
    "int4": "integer",
    "timestamp with time zone": "timestamptz",
    "timestamptz": "timestamptz",
    "jsonb": "json",
    "json": "json",
}
# The Polars dtype a column of each family is held in.
POLARS_TYPES = {
    "uuid": pl.String,
    "integer": pl.Int32,
    "timestamptz": pl.Datetime("us", "UTC"),
    "json": pl.String,
}


def family(data_type: str, precision: Any = None, scale: Any = None) -> str:
    """``numeric(p,s)`` with its precision and scale, else the family name of the type."""
    text = data_type.strip().lower()
    decimal = re.fullmatch(r"(?:numeric|decimal)\s*(?:\((\d+)\s*,\s*(\d+)\))?", text)
    if decimal:
        p, s = decimal.groups() if decimal.group(1) else (precision, scale)
        return f"numeric({int(p)},{int(s)})"
    return FAMILIES.get(text, text)


def live_columns(url: str) -> dict[str, tuple[str, bool]]:
    """``{column: (type family, nullable)}`` of the table in the database at ``url``."""
    parsed = parse_database_url(url)
    if parsed.kind == "postgres":
        with psycopg.connect(parsed.libpq_uri) as conn:
            rows = conn.execute(COLUMNS_SQL).fetchall()
    else:
        with duckdb.connect(str(parsed.duckdb_path), read_only=True) as con:
            rows = con.execute(COLUMNS_SQL).fetchall()
    return {name: (family(dtype, p, s), nullable == "YES") for name, dtype, nullable, p, s in rows}


def model_columns() -> dict[str, tuple[str, bool]]:
    """The same view of ``UserThemeMasteryTable``, from each field's ``metadata["sql"]``."""
    columns = UserThemeMasteryTable.to_schema().columns
    return {
        name: (family(column.metadata["sql"]), bool(column.nullable))
        for name, column in columns.items()
    }


def test_table_model_matches_live_table(initialized_url: str) -> None:
    live = live_columns(initialized_url)
    assert live, f"{TABLE} not found"
    assert model_columns() == live


def test_kernel_output_is_table_minus_run_columns(initialized_url: str) -> None:
    live = set(live_columns(initialized_url))
    assert live >= RUN_COLUMNS
    assert sorted(OUTPUT_COLUMNS) == sorted(live - RUN_COLUMNS)
    assert len(OUTPUT_COLUMNS) == len(set(OUTPUT_COLUMNS))


def test_output_model_is_kernel_output() -> None:
    assert list(MasteryRows.to_schema().columns) == list(OUTPUT_COLUMNS)
    assert MasteryRows.to_schema().strict is True


def test_output_model_is_table_model_restricted() -> None:
    rows = MasteryRows.to_schema().columns
    table = UserThemeMasteryTable.to_schema().columns
    assert set(table) - set(rows) == RUN_COLUMNS
    for name, column in rows.items():
        assert (column.dtype, column.nullable, column.metadata) == (
            table[name].dtype,
            table[name].nullable,
            table[name].metadata,
        ), name


def test_model_dtypes_fit_their_sql_types() -> None:
    wrong = {}
    for name, column in UserThemeMasteryTable.to_schema().columns.items():
        sql = family(column.metadata["sql"])
        decimal = re.fullmatch(r"numeric\((\d+),(\d+)\)", sql)
        expected = pl.Decimal(int(decimal[1]), int(decimal[2])) if decimal else POLARS_TYPES[sql]
        if column.dtype.type != expected:
            wrong[name] = (sql, str(column.dtype))
    assert wrong == {}

"""SQL lives in ``sql/`` (installed as ``pipeline.sql``), one file each, loaded by name.

A statement both stores run alike lives once in ``sql/shared/``; the few words Postgres and
DuckDB spell differently are ``{{tokens}}`` (or ``{{token(column)}}``) filled in per dialect
below: DuckDB has no ``jsonb``, cannot declare ``ON DELETE CASCADE``, has no partial indexes,
and spells list membership and hashing its own way. A statement that
differs in substance has one file per dialect, which wins over the shared one.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Literal

Dialect = Literal["postgres", "duckdb", "shared", "engine"]
StoreDialect = Literal["postgres", "duckdb"]

DIALECT_TOKENS: dict[StoreDialect, dict[str, str]] = {
    "postgres": {
        "json": "jsonb",
        "on_delete_cascade": " ON DELETE CASCADE",
        "one_active_params_per_version": (
            "CREATE UNIQUE INDEX IF NOT EXISTS ux_algo_params_one_active\n"
            "    ON algo_params (algo_version_id) WHERE is_active;"
        ),
        "create_temp_table": "CREATE TEMP TABLE",
        "on_commit_drop": " ON COMMIT DROP",
        "user_in_scope": (
            "(CAST(:user_ids AS text) = '' "
            "OR {column} = ANY (CAST(string_to_array(:user_ids, ',') AS uuid[])))"
        ),
        "user_in_partition": (
            "(CAST(:partitions AS int) = 1 OR mod(hashtext(CAST({column} AS text)) & 2147483647,"
            " CAST(:partitions AS int)) = CAST(:partition AS int))"
        ),
    },
    "duckdb": {
        "json": "JSON",
        "on_delete_cascade": "",
        "one_active_params_per_version": "",
        "create_temp_table": "CREATE OR REPLACE TEMP TABLE",
        "on_commit_drop": "",
        "user_in_scope": (
            "(CAST(:user_ids AS text) = '' "
            "OR list_contains(string_split(:user_ids, ','), CAST({column} AS text)))"
        ),
        "user_in_partition": (
            "(CAST(:partitions AS INTEGER) = 1 OR hash(CAST({column} AS text))"
            " % CAST(:partitions AS INTEGER) = CAST(:partition AS INTEGER))"
        ),
    },
}
SHARED_TOKENS = {
    # SPEC §4's window: a session counts when submitted (or expired) in [window_start, as_of]
    "session_in_window": (
        "{column}.status IN ('SUBMITTED', 'EXPIRED')\n"
        "    AND {column}.submitted_at IS NOT NULL\n"
        "    AND {column}.submitted_at >= CAST(:window_start AS timestamptz)\n"
        "    AND {column}.submitted_at <= CAST(:as_of AS timestamptz)"
    ),
    # An answered_at outside [1900-01-01, 9999-12-31 23:59:59.999999) UTC (infinity,
    # -infinity, year 1, 4713 BC) leaves the database as the upper bound, or as one microsecond
    # before 1900: plain instants every driver carries (ADBC turns Postgres' infinity into a
    # negative number), which pipeline.io.tags.screen_attempts counts as out of range (the
    # bounds are ANSWERED_AT_LATEST and ANSWERED_AT_EARLIEST in pipeline/io/store/base.py).
    "answered_at_clamped": (
        "CASE\n"
        "    WHEN {column}.answered_at >= CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)\n"
        "        THEN CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)\n"
        "    WHEN {column}.answered_at < CAST('1900-01-01 00:00:00+00' AS timestamptz)\n"
        "        THEN CAST('1899-12-31 23:59:59.999999+00' AS timestamptz)\n"
        "    ELSE {column}.answered_at\n"
        "END"
    ),
    # the staging table's columns: a run's rows before the merge (create_mastery_stage.sql,
    # and the per-student path's kept table, fresh_create_stage.sql)
    "mastery_stage_columns": (
        "user_id uuid NOT NULL,\n"
        "    theme_id int NOT NULL,\n"
        "    year int,\n"
        "    block_id int,\n"
        "    attempts_total int NOT NULL,\n"
        "    correct_total int NOT NULL,\n"
        "    accuracy_pct numeric(5, 2) NOT NULL,\n"
        "    mastery_score numeric(6, 4) NOT NULL,\n"
        "    last_attempt_at timestamptz,\n"
        "    breakdown_json text NOT NULL,\n"
        "    stale boolean NOT NULL"
    ),
}
"""Tokens both dialects spell alike: pieces several statements repeat, written once."""
_TOKEN = re.compile(r"\{\{(\w+)(?:\(([\w.]+)\))?\}\}")


@cache
def load_sql(dialect: Dialect, name: str) -> str:
    """Text of ``sql/<dialect>/<name>.sql``; a missing file is a programming error."""
    return resources.files(f"pipeline.sql.{dialect}").joinpath(f"{name}.sql").read_text("utf-8")


@cache
def statement(dialect: StoreDialect, name: str) -> str:
    """The dialect's own file if it has one, else the shared one with its tokens filled in."""
    try:
        text = load_sql(dialect, name)
    except FileNotFoundError:
        text = load_sql("shared", name)
    return _TOKEN.sub(lambda match: _token(dialect, match.group(1), match.group(2)), text)


def _token(dialect: StoreDialect, name: str, column: str | None) -> str:
    """A dialect's spelling of ``{{name}}``, or of ``{{name(column)}}`` for a column."""
    spelling = SHARED_TOKENS.get(name) or DIALECT_TOKENS[dialect][name]
    return spelling.replace("{column}", column) if column else spelling


def ddl_names() -> list[str]:
    """DDL file names in creation order (their numeric prefix)."""
    files = resources.files("pipeline.sql.shared").iterdir()
    return sorted(f.name.removesuffix(".sql") for f in files if f.name.startswith("ddl_"))

"""SQL lives in ``sql/`` (installed as ``pipeline.sql``), one file each, loaded by name.

A statement both stores run alike lives once in ``sql/shared/``; the few words Postgres and
DuckDB spell differently are ``{{tokens}}`` filled in per dialect below (DuckDB has no
``jsonb``, cannot declare ``ON DELETE CASCADE`` and has no partial indexes). A statement that
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
    },
    "duckdb": {
        "json": "JSON",
        "on_delete_cascade": "",
        "one_active_params_per_version": "",
        "create_temp_table": "CREATE OR REPLACE TEMP TABLE",
        "on_commit_drop": "",
    },
}
_TOKEN = re.compile(r"\{\{(\w+)\}\}")


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
    return _TOKEN.sub(lambda match: DIALECT_TOKENS[dialect][match.group(1)], text)


def ddl_names() -> list[str]:
    """DDL file names in creation order (their numeric prefix)."""
    files = resources.files("pipeline.sql.shared").iterdir()
    return sorted(f.name.removesuffix(".sql") for f in files if f.name.startswith("ddl_"))

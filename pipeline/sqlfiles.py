"""SQL lives in ``sql/`` (installed as ``pipeline.sql``), one file each, loaded by name."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

Dialect = Literal["postgres", "duckdb", "shared", "engine"]


@cache
def load_sql(dialect: Dialect, name: str) -> str:
    """Text of ``sql/<dialect>/<name>.sql``; a missing file is a programming error."""
    return resources.files(f"pipeline.sql.{dialect}").joinpath(f"{name}.sql").read_text("utf-8")


def ddl_names(dialect: Dialect) -> list[str]:
    """DDL file names of a dialect in creation order (their numeric prefix)."""
    files = resources.files(f"pipeline.sql.{dialect}").iterdir()
    return sorted(f.name.removesuffix(".sql") for f in files if f.name.startswith("ddl_"))

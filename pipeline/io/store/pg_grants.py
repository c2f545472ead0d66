"""``mastery init --grant-to ROLE`` on Postgres: exactly the rights a run needs, then checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import psycopg
import psycopg.sql

from pipeline.contracts.errors import MasteryError
from pipeline.io.sqlfiles import statement
from pipeline.io.store.privileges import JOB_PRIVILEGES

if TYPE_CHECKING:
    from pipeline.io.store.postgres import PostgresStore


def grant_job_role(store: PostgresStore, role: str) -> tuple[str, ...]:
    """USAGE on the schema, TEMPORARY on the database and :data:`JOB_PRIVILEGES`, in one
    transaction; then checked, since a GRANT by a non-owner only warns."""
    store.check_grantee(role)
    schema, database = store._schema
    names = {"role": role, "schema": schema, "database": database}
    granted = [f"USAGE on schema {schema}", f"TEMPORARY on database {database}"]
    with store.transaction():
        _grant(store, "grant_schema_usage", names)
        _grant(store, "grant_temporary", names)
        for table, privileges in JOB_PRIVILEGES.items():
            keywords = psycopg.sql.SQL(", ").join(psycopg.sql.SQL(p) for p in privileges)
            _grant(store, "grant_table", {**names, "table": table}, privileges=keywords)
            granted.append(f"{', '.join(privileges)} on {table}")
    missing = store.missing_privileges(store.job_rights(), role=role, with_database=True)
    if missing:
        privilege, target, _ = missing[0]
        raise MasteryError(
            f"could not grant {privilege} on {target} to {role}: run `mastery init "
            f"--grant-to {role}` as the owner of the tables (or a superuser)"
        )
    return tuple(granted)


def _grant(
    store: PostgresStore, name: str, identifiers: Mapping[str, str], **sql: psycopg.sql.Composable
) -> None:
    query = psycopg.sql.SQL(statement(store.dialect, name)).format(
        **{key: psycopg.sql.Identifier(value) for key, value in identifiers.items()}, **sql
    )
    try:
        store.conn.execute(query)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise MasteryError(
            f"cannot grant to {identifiers['role']}: {store.describe(exc)}; run it as the "
            "owner of the tables (or a superuser)"
        ) from None

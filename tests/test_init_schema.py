"""`mastery init` builds exactly the tables of SPEC §2-§3, idempotently, on both back ends.

The expected structure below is written by hand from SPEC §2/§3 (not read from ``sql/``); the
live structure is read from each database's own catalog with raw driver connections, so this
test does not trust the store code it checks.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.contracts.params_v1 import default_params_v1
from pipeline.run.admin import init_database

# ---------------------------------------------------------------------------------------------
# Expected structure (SPEC §2 and §3), by hand.
# Type families: uuid, integer, text, boolean, timestamptz, json (jsonb on Postgres, JSON on
# DuckDB) and numeric(p,s). Nullable=True unless the SPEC says "not null" or "pk".
# ---------------------------------------------------------------------------------------------
UUID, INT, TEXT, BOOL, TSTZ, JSONB = "uuid", "integer", "text", "boolean", "timestamptz", "json"
NOT_NULL, NULL = False, True

EXPECTED_COLUMNS: dict[str, list[tuple[str, str, bool]]] = {
    "users": [
        ("id", UUID, NOT_NULL),
        ("email", TEXT, NOT_NULL),
        ("role", TEXT, NOT_NULL),
        ("year", INT, NULL),
        ("created_at", TSTZ, NOT_NULL),
    ],
    "blocks": [
        ("id", INT, NOT_NULL),
        ("year", INT, NOT_NULL),
        ("name", TEXT, NOT_NULL),
        ("order_index", INT, NOT_NULL),
    ],
    "themes": [
        ("id", INT, NOT_NULL),
        ("block_id", INT, NOT_NULL),
        ("title", TEXT, NOT_NULL),
        ("order_index", INT, NOT_NULL),
    ],
    "questions": [
        ("id", UUID, NOT_NULL),
        ("year", INT, NULL),
        ("block_id", INT, NULL),
        ("theme_id", INT, NULL),
        ("difficulty", TEXT, NULL),
        ("status", TEXT, NULL),
    ],
    "question_versions": [
        ("id", UUID, NOT_NULL),
        ("question_id", UUID, NOT_NULL),
        ("version", INT, NOT_NULL),
        ("year", INT, NULL),
        ("block_id", INT, NULL),
        ("theme_id", INT, NULL),
        ("difficulty", TEXT, NULL),
        ("created_at", TSTZ, NOT_NULL),
    ],
    "test_sessions": [
        ("id", UUID, NOT_NULL),
        ("user_id", UUID, NOT_NULL),
        ("mode", TEXT, NOT_NULL),
        ("status", TEXT, NOT_NULL),
        ("created_at", TSTZ, NOT_NULL),
        ("submitted_at", TSTZ, NULL),
    ],
    "session_questions": [
        ("id", UUID, NOT_NULL),
        ("session_id", UUID, NOT_NULL),
        ("question_id", UUID, NOT_NULL),
        ("question_version_id", UUID, NULL),
        ("position", INT, NOT_NULL),
        ("snapshot_json", JSONB, NULL),
    ],
    "session_answers": [
        ("id", UUID, NOT_NULL),
        ("session_id", UUID, NOT_NULL),
        ("question_id", UUID, NOT_NULL),
        ("selected_index", INT, NULL),
        ("is_correct", BOOL, NULL),
        ("answered_at", TSTZ, NULL),
    ],
    "algo_versions": [
        ("id", UUID, NOT_NULL),
        ("algo_key", TEXT, NOT_NULL),
        ("version", TEXT, NOT_NULL),
        ("status", TEXT, NOT_NULL),
        ("description", TEXT, NULL),
        ("created_at", TSTZ, NULL),
    ],
    "algo_params": [
        ("id", UUID, NOT_NULL),
        ("algo_version_id", UUID, NOT_NULL),
        ("params_json", JSONB, NOT_NULL),
        ("checksum", TEXT, NOT_NULL),
        ("is_active", BOOL, NOT_NULL),
        ("created_at", TSTZ, NULL),
    ],
    "algo_runs": [
        ("id", UUID, NOT_NULL),
        ("algo_version_id", UUID, NULL),
        ("params_id", UUID, NULL),
        ("user_id", UUID, NULL),
        ("trigger", TEXT, NULL),
        ("status", TEXT, NULL),
        ("started_at", TSTZ, NULL),
        ("completed_at", TSTZ, NULL),
        ("input_summary_json", JSONB, NULL),
        ("output_summary_json", JSONB, NULL),
        ("error_message", TEXT, NULL),
    ],
    "user_theme_mastery": [
        ("id", UUID, NOT_NULL),
        ("user_id", UUID, NOT_NULL),
        ("year", INT, NOT_NULL),
        ("block_id", INT, NOT_NULL),
        ("theme_id", INT, NOT_NULL),
        ("attempts_total", INT, NOT_NULL),
        ("correct_total", INT, NOT_NULL),
        ("accuracy_pct", "numeric(5,2)", NOT_NULL),
        ("mastery_score", "numeric(6,4)", NOT_NULL),
        ("last_attempt_at", TSTZ, NULL),
        ("computed_at", TSTZ, NOT_NULL),
        ("algo_version_id", UUID, NOT_NULL),
        ("params_id", UUID, NOT_NULL),
        ("run_id", UUID, NOT_NULL),
        ("breakdown_json", JSONB, NOT_NULL),
    ],
    # Issue 18 (SPEC §8 Exclusions): evidence set aside, with who, when and why.
    "mastery_exclusions": [
        ("id", UUID, NOT_NULL),
        ("kind", TEXT, NOT_NULL),
        ("session_id", UUID, NULL),
        ("question_id", UUID, NULL),
        ("user_id", UUID, NULL),
        ("theme_id", INT, NULL),
        ("reason", TEXT, NOT_NULL),
        ("created_by", TEXT, NOT_NULL),
        ("created_at", TSTZ, NOT_NULL),
        ("revoked_at", TSTZ, NULL),
        ("revoked_by", TEXT, NULL),
    ],
    # Issue 17 (`recompute --incremental`): per-user fingerprints of the window's attempts.
    "mastery_user_fingerprints": [
        ("user_id", UUID, NOT_NULL),
        ("fingerprint", TEXT, NOT_NULL),
        ("as_of", TSTZ, NOT_NULL),
        ("run_id", UUID, NOT_NULL),
    ],
    # Issue 17 (`mastery follow`): where a worker stopped, so a restart loses no user.
    "mastery_follow_state": [
        ("worker", TEXT, NOT_NULL),
        ("watermark", TSTZ, NOT_NULL),
        ("run_id", UUID, NOT_NULL),
        ("updated_at", TSTZ, NOT_NULL),
    ],
}
ALL_TABLES = set(EXPECTED_COLUMNS)

# Uniqueness other than the primary key (compared as column sets: uniqueness is order-free).
EXPECTED_UNIQUE: dict[str, set[frozenset[str]]] = {table: set() for table in ALL_TABLES}
EXPECTED_UNIQUE["users"] = {frozenset({"email"})}
EXPECTED_UNIQUE["session_questions"] = {frozenset({"session_id", "question_id"})}
EXPECTED_UNIQUE["session_answers"] = {frozenset({"session_id", "question_id"})}
EXPECTED_UNIQUE["algo_versions"] = {frozenset({"algo_key", "version"})}
EXPECTED_UNIQUE["user_theme_mastery"] = {frozenset({"user_id", "theme_id"})}
EXPECTED_PRIMARY_KEYS = {
    "mastery_user_fingerprints": ("user_id",),
    "mastery_follow_state": ("worker",),
}

# SPEC §3 indexes on user_theme_mastery, as ordered column lists (names are free).
EXPECTED_MASTERY_INDEXES = {
    ("user_id",),
    ("user_id", "mastery_score"),
    ("user_id", "computed_at"),
    ("theme_id", "mastery_score"),
    ("algo_version_id",),
    ("params_id",),
    ("run_id",),
}

# Foreign keys (table, column) -> (referenced table, ON DELETE CASCADE?).
EXPECTED_FKS: dict[tuple[str, str], tuple[str, bool]] = {
    ("themes", "block_id"): ("blocks", False),
    ("question_versions", "question_id"): ("questions", False),
    ("test_sessions", "user_id"): ("users", True),
    ("session_questions", "session_id"): ("test_sessions", True),
    ("session_questions", "question_version_id"): ("question_versions", False),
    ("session_answers", "session_id"): ("test_sessions", True),
    ("algo_params", "algo_version_id"): ("algo_versions", False),
    ("user_theme_mastery", "user_id"): ("users", True),
    ("user_theme_mastery", "block_id"): ("blocks", False),
    ("user_theme_mastery", "theme_id"): ("themes", False),
    ("user_theme_mastery", "algo_version_id"): ("algo_versions", False),
    ("user_theme_mastery", "params_id"): ("algo_params", False),
    ("user_theme_mastery", "run_id"): ("algo_runs", False),
}
# §2 lists algo_runs.algo_version_id / params_id without an arrow: a reference there is
# allowed but not required, so algo_runs is left out of the exact foreign-key comparison.
FK_FREE_FORM_TABLES = {"algo_runs"}

DEFAULT_PARAMS = {
    "lookback_days": 90,
    "min_attempts": 5,
    "recency_buckets": [
        {"days": 7, "weight": Decimal("0.50")},
        {"days": 30, "weight": Decimal("0.30")},
        {"days": 90, "weight": Decimal("0.20")},
    ],
    "difficulty_weights": {
        "easy": Decimal("0.90"),
        "medium": Decimal("1.00"),
        "hard": Decimal("1.10"),
    },
    "use_difficulty": False,
}

# ---------------------------------------------------------------------------------------------
# Reading the live structure
# ---------------------------------------------------------------------------------------------
PG_TYPES = {
    "uuid": UUID,
    "integer": INT,
    "text": TEXT,
    "boolean": BOOL,
    "timestamp with time zone": TSTZ,
    "jsonb": JSONB,
}
DUCK_TYPES = {
    "UUID": UUID,
    "INTEGER": INT,
    "VARCHAR": TEXT,
    "BOOLEAN": BOOL,
    "TIMESTAMP WITH TIME ZONE": TSTZ,
    "JSON": JSONB,
}


@dataclass
class LiveSchema:
    columns: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    uniques: dict[str, set[frozenset[str]]] = field(default_factory=dict)
    # ordered column lists of plain (non-partial, non-expression) indexes, per table
    indexes: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    # (table, column) -> (referenced table, referenced column, on delete cascade?)
    fks: dict[tuple[str, str], tuple[str, str, bool]] = field(default_factory=dict)
    # everything, raw, for before/after comparisons
    snapshot: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


def _is_pg(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _duck_path(url: str) -> str:
    return url.removeprefix("duckdb:///")


@contextmanager
def pg_conn(url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@contextmanager
def duck_conn(url: str) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(_duck_path(url))
    try:
        yield con
    finally:
        con.close()


def run_sql(url: str, *statements: str) -> None:
    """Run statements on a raw connection (committed), outside the code under test."""
    if _is_pg(url):
        with pg_conn(url) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]
    else:
        with duck_conn(url) as con:
            for statement in statements:
                con.execute(statement)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if _is_pg(url):
        with pg_conn(url) as conn:
            return conn.execute(sql).fetchall()  # type: ignore[arg-type]
    with duck_conn(url) as con:
        return con.execute(sql).fetchall()


def live_schema(url: str) -> LiveSchema:
    return _pg_schema(url) if _is_pg(url) else _duck_schema(url)


def _pg_schema(url: str) -> LiveSchema:
    schema = LiveSchema()
    with pg_conn(url) as conn:
        columns = conn.execute(
            """
            SELECT table_name, column_name, ordinal_position, data_type, is_nullable,
                   column_default, numeric_precision, numeric_scale, character_maximum_length
            FROM information_schema.columns
            WHERE table_schema = current_schema()
            ORDER BY table_name, ordinal_position
            """
        ).fetchall()
        for table, column, _pos, data_type, nullable, _d, precision, scale, _len in columns:
            family = PG_TYPES.get(data_type, data_type)
            if data_type == "numeric":
                family = f"numeric({precision},{scale})"
            schema.columns.setdefault(table, []).append((column, family, nullable == "YES"))
        indexes = conn.execute(
            """
            SELECT t.relname, i.relname, x.indisprimary, x.indisunique,
                   x.indpred IS NOT NULL, x.indexprs IS NOT NULL,
                   ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
                         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                         ORDER BY k.n)
            FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            WHERE t.relnamespace = current_schema()::regnamespace
            """
        ).fetchall()
        for table, _name, primary, unique, partial, expression, cols in indexes:
            if partial or expression:
                continue
            if primary:
                schema.primary_keys[table] = tuple(cols)
            elif unique:
                schema.uniques.setdefault(table, set()).add(frozenset(cols))
            schema.indexes.setdefault(table, set()).add(tuple(cols))
        fks = conn.execute(
            """
            SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, c.confdeltype,
                   ARRAY(SELECT a.attname FROM unnest(c.conkey) AS k(attnum)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum),
                   ARRAY(SELECT a.attname FROM unnest(c.confkey) AS k(attnum)
                         JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum)
            FROM pg_constraint c
            WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
            """
        ).fetchall()
        for table, ref_table, on_delete, cols, ref_cols in fks:
            assert len(cols) == 1, f"unexpected multi-column foreign key on {table}: {cols}"
            schema.fks[(table, cols[0])] = (ref_table, ref_cols[0], on_delete == "c")
        schema.snapshot = {
            "columns": columns,
            "constraints": conn.execute(
                """
                SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
                FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
                ORDER BY 1, 2
                """
            ).fetchall(),
            "indexes": conn.execute(
                """
                SELECT tablename, indexname, indexdef FROM pg_indexes
                WHERE schemaname = current_schema() ORDER BY 1, 2
                """
            ).fetchall(),
            "tables": conn.execute(
                """
                SELECT table_name, table_type FROM information_schema.tables
                WHERE table_schema = current_schema() ORDER BY 1
                """
            ).fetchall(),
        }
    return schema


def _duck_columns_list(text: str) -> tuple[str, ...]:
    """``duckdb_indexes().expressions`` is text like ``[theme_id, mastery_score]``."""
    return tuple(part.strip().strip('"') for part in text.strip("[]").split(","))


def _duck_schema(url: str) -> LiveSchema:
    schema = LiveSchema()
    with duck_conn(url) as con:
        columns = con.execute(
            """
            SELECT table_name, column_name, ordinal_position, data_type, is_nullable,
                   column_default, numeric_precision, numeric_scale, character_maximum_length
            FROM information_schema.columns
            WHERE table_schema = 'main'
            ORDER BY table_name, ordinal_position
            """
        ).fetchall()
        for table, column, _pos, data_type, nullable, _d, precision, scale, _len in columns:
            family = DUCK_TYPES.get(data_type, data_type)
            if data_type.startswith("DECIMAL"):
                family = f"numeric({precision},{scale})"
            schema.columns.setdefault(table, []).append((column, family, nullable == "YES"))
        constraints = con.execute(
            """
            SELECT table_name, constraint_type, constraint_column_names, referenced_table,
                   referenced_column_names, constraint_name, constraint_text
            FROM duckdb_constraints()
            WHERE schema_name = 'main'
            ORDER BY table_name, constraint_index, constraint_type
            """
        ).fetchall()
        for table, kind, cols, ref_table, ref_cols, _name, _text in constraints:
            if kind == "PRIMARY KEY":
                schema.primary_keys[table] = tuple(cols)
            elif kind == "UNIQUE":
                schema.uniques.setdefault(table, set()).add(frozenset(cols))
            elif kind == "FOREIGN KEY":
                assert len(cols) == 1, f"unexpected multi-column foreign key on {table}: {cols}"
                # DuckDB has no ON DELETE CASCADE at all.
                schema.fks[(table, cols[0])] = (ref_table, ref_cols[0], False)
        indexes = con.execute(
            """
            SELECT table_name, index_name, is_unique, is_primary, expressions, sql
            FROM duckdb_indexes() WHERE schema_name = 'main' ORDER BY table_name, index_name
            """
        ).fetchall()
        for table, _name, unique, _primary, expressions, sql in indexes:
            if " WHERE " in (sql or "").upper():
                continue
            cols = _duck_columns_list(expressions)
            if unique:
                schema.uniques.setdefault(table, set()).add(frozenset(cols))
            schema.indexes.setdefault(table, set()).add(cols)
        schema.snapshot = {
            "columns": columns,
            "constraints": constraints,
            "indexes": indexes,
            "tables": con.execute(
                """
                SELECT table_name, table_type FROM information_schema.tables
                WHERE table_schema = 'main' ORDER BY 1
                """
            ).fetchall(),
        }
    return schema


def _table_snapshot(snapshot: dict[str, list[tuple[Any, ...]]], table: str) -> dict[str, list]:
    return {kind: [row for row in rows if row[0] == table] for kind, rows in snapshot.items()}


def cli_init(url: str) -> str:
    result = CliRunner().invoke(app, ["init", "--database-url", url])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def test_init_creates_every_spec_table_with_exact_columns(store_url: str) -> None:
    output = cli_init(store_url)
    assert "created:" in output
    live = live_schema(store_url)
    assert set(live.columns) == ALL_TABLES
    for table, expected in EXPECTED_COLUMNS.items():
        assert live.columns[table] == expected, table


def test_init_creates_primary_keys_and_unique_constraints(store_url: str) -> None:
    init_database(store_url)
    live = live_schema(store_url)
    for table in sorted(ALL_TABLES):
        assert live.primary_keys.get(table) == EXPECTED_PRIMARY_KEYS.get(table, ("id",)), table
        assert live.uniques.get(table, set()) == EXPECTED_UNIQUE[table], table


def test_init_creates_mastery_indexes(store_url: str) -> None:
    init_database(store_url)
    live = live_schema(store_url)
    indexed = live.indexes.get("user_theme_mastery", set())
    missing = EXPECTED_MASTERY_INDEXES - indexed
    assert not missing, f"user_theme_mastery lacks indexes on {sorted(missing)}"


def test_init_creates_foreign_keys(store_url: str) -> None:
    init_database(store_url)
    live = live_schema(store_url)
    actual = {key: value for key, value in live.fks.items() if key[0] not in FK_FREE_FORM_TABLES}
    if _is_pg(store_url):
        expected = {key: (ref, "id", cascade) for key, (ref, cascade) in EXPECTED_FKS.items()}
        assert actual == expected
    else:
        # DuckDB cannot ON DELETE CASCADE, so a reference the SPEC wants cascading may be left
        # out there (a plain one would block deleting a user); every other one must exist.
        expected = {
            key: (ref, "id", False) for key, (ref, cascade) in EXPECTED_FKS.items() if not cascade
        }
        cascading = {key for key, (_ref, cascade) in EXPECTED_FKS.items() if cascade}
        assert {k: v for k, v in actual.items() if k not in cascading} == expected
        for key in cascading & set(actual):
            assert actual[key][:2] == (EXPECTED_FKS[key][0], "id"), key


def test_deleting_a_user_cascades_to_sessions_answers_and_mastery(pg_url: str) -> None:
    """Postgres only: DuckDB has no ON DELETE CASCADE."""
    init_database(pg_url)
    user, session = uuid.uuid4(), uuid.uuid4()
    run = uuid.uuid4()
    run_sql(
        pg_url,
        f"INSERT INTO users (id, email, role) VALUES ('{user}', 'a@example.org', 'STUDENT')",
        "INSERT INTO blocks (id, year, name) VALUES (1, 1, 'b')",
        "INSERT INTO themes (id, block_id, title) VALUES (10, 1, 't')",
        f"""INSERT INTO test_sessions (id, user_id, mode, status, created_at, submitted_at)
            VALUES ('{session}', '{user}', 'TUTOR', 'SUBMITTED', now(), now())""",
        f"""INSERT INTO session_questions (id, session_id, question_id, position)
            VALUES ('{uuid.uuid4()}', '{session}', '{uuid.uuid4()}', 1)""",
        f"""INSERT INTO session_answers (id, session_id, question_id, is_correct, answered_at)
            VALUES ('{uuid.uuid4()}', '{session}', '{uuid.uuid4()}', true, now())""",
        f"""INSERT INTO algo_runs (id, algo_version_id, params_id, trigger, status)
            SELECT '{run}', algo_version_id, id, 'test', 'SUCCESS'
            FROM algo_params WHERE is_active""",
        f"""INSERT INTO user_theme_mastery
              (id, user_id, year, block_id, theme_id, attempts_total, correct_total,
               accuracy_pct, mastery_score, computed_at, algo_version_id, params_id, run_id,
               breakdown_json)
            SELECT '{uuid.uuid4()}', '{user}', 1, 1, 10, 1, 1, 100, 0, now(),
                   algo_version_id, params_id, id, '{{}}'
            FROM algo_runs WHERE id = '{run}'""",
        f"DELETE FROM users WHERE id = '{user}'",
    )
    for table in ("test_sessions", "session_questions", "session_answers", "user_theme_mastery"):
        assert query(pg_url, f"SELECT count(*) FROM {table}") == [(0,)], table


def test_spec_column_defaults(store_url: str) -> None:
    init_database(store_url)
    before = datetime.now(UTC) - timedelta(minutes=5)
    user, question = uuid.uuid4(), uuid.uuid4()
    run_sql(
        store_url,
        f"INSERT INTO users (id, email, role) VALUES ('{user}', 'd@example.org', 'ADMIN')",
        "INSERT INTO blocks (id, year, name) VALUES (1, 2, 'b')",
        "INSERT INTO themes (id, block_id, title) VALUES (3, 1, 't')",
        f"INSERT INTO questions (id) VALUES ('{question}')",
        f"""INSERT INTO question_versions (id, question_id, version)
            VALUES ('{uuid.uuid4()}', '{question}', 1)""",
    )
    assert query(store_url, "SELECT order_index FROM blocks") == [(0,)]
    assert query(store_url, "SELECT order_index FROM themes") == [(0,)]
    for table in ("users", "question_versions"):
        [(created_at,)] = query(store_url, f"SELECT created_at FROM {table}")
        assert created_at is not None, table
        assert created_at.tzinfo is not None, table
        assert created_at >= before, table


def test_init_seeds_registry_with_default_params(store_url: str) -> None:
    report = init_database(store_url)
    versions = query(
        store_url,
        "SELECT CAST(id AS text), algo_key, version, status FROM algo_versions ORDER BY version",
    )
    assert [row[1:] for row in versions] == [
        ("mastery", "v0", "ACTIVE"),
        ("mastery", "v1", "ACTIVE"),
    ]
    params = query(
        store_url,
        """SELECT CAST(id AS text), CAST(algo_version_id AS text), CAST(params_json AS text),
                  checksum, is_active FROM algo_params ORDER BY is_active DESC""",
    )
    assert len(params) == 2
    # v1's default params are seeded inactive: v0 stays the algorithm that writes rows.
    v1_row = params[1]
    assert v1_row[1] == versions[1][0]
    assert v1_row[4] is False
    assert v1_row[3] == default_params_v1().checksum()
    params_id, version_id, params_json, checksum, is_active = params[0]
    assert is_active is True
    assert version_id == versions[0][0]
    assert report.params_id == params_id
    assert report.params_checksum == checksum
    # Values: exactly the SPEC §4 defaults (Decimal compares 0.5 == 0.50, 1 == 1.00).
    assert json.loads(params_json, parse_float=Decimal) == DEFAULT_PARAMS
    # Checksum: sha256 of the canonical form, computed independently of the pipeline.
    canonical = json.dumps(json.loads(params_json), sort_keys=True, separators=(",", ":"))
    assert checksum == hashlib.sha256(canonical.encode()).hexdigest()


def test_init_twice_changes_nothing(store_url: str) -> None:
    first = init_database(store_url)
    assert set(first.created) == ALL_TABLES
    assert first.existing == ()
    schema_before = live_schema(store_url).snapshot
    registry_query = """
        SELECT CAST(v.id AS text), v.algo_key, v.version, v.status, v.description,
               v.created_at, CAST(p.id AS text), CAST(p.params_json AS text), p.checksum,
               p.is_active, p.created_at
        FROM algo_versions v JOIN algo_params p ON p.algo_version_id = v.id
        ORDER BY v.version
    """
    registry_before = query(store_url, registry_query)

    output = cli_init(store_url)
    second = init_database(store_url)

    assert "none (all tables existed)" in output
    assert second.created == ()
    assert set(second.existing) == ALL_TABLES
    assert (second.params_id, second.params_checksum) == (first.params_id, first.params_checksum)
    assert live_schema(store_url).snapshot == schema_before
    assert query(store_url, registry_query) == registry_before
    assert len(registry_before) == 2
    assert query(store_url, "SELECT count(*) FROM algo_versions") == [(2,)]
    assert query(store_url, "SELECT count(*) FROM algo_params WHERE is_active") == [(1,)]


def test_init_never_alters_an_existing_table(store_url: str) -> None:
    user = uuid.uuid4()
    # Not the SPEC's users: an extra column and no DEFAULT on created_at.
    run_sql(
        store_url,
        """CREATE TABLE users (
               id uuid PRIMARY KEY,
               email text NOT NULL UNIQUE,
               role text NOT NULL,
               year int,
               created_at timestamptz NOT NULL,
               nickname text
           )""",
        f"""INSERT INTO users (id, email, role, year, created_at, nickname)
            VALUES ('{user}', 'n@example.org', 'STUDENT', 2,
                    TIMESTAMPTZ '2024-01-02 03:04:05+00', 'nick')""",
    )
    users_before = _table_snapshot(live_schema(store_url).snapshot, "users")

    report = init_database(store_url)

    assert "users" in report.existing
    assert "users" not in report.created
    assert set(report.created) == ALL_TABLES - {"users"}
    live = live_schema(store_url)
    assert _table_snapshot(live.snapshot, "users") == users_before
    assert [c[0] for c in live.columns["users"]][-1] == "nickname"
    rows = query(store_url, "SELECT CAST(id AS text), email, nickname FROM users")
    assert rows == [(str(user), "n@example.org", "nick")]
    # every other table is there as the SPEC says
    for table in ALL_TABLES - {"users"}:
        assert live.columns[table] == EXPECTED_COLUMNS[table], table


def _insert_params_sql(version_id: str, *, active: bool) -> str:
    return f"""INSERT INTO algo_params (id, algo_version_id, params_json, checksum, is_active)
               VALUES ('{uuid.uuid4()}', '{version_id}', '{{}}', 'x', {str(active).lower()})"""


def test_postgres_allows_one_active_params_row_per_version(pg_url: str) -> None:
    # Postgres only: DuckDB has no partial indexes; there the rule is kept by the pipeline's
    # own deactivate-then-activate transaction (see the params tests).
    init_database(pg_url)
    v0_id = "SELECT CAST(id AS text) FROM algo_versions WHERE version = 'v0'"
    [(version_id,)] = query(pg_url, v0_id)
    run_sql(pg_url, _insert_params_sql(version_id, active=False))  # inactive rows: any number
    with pytest.raises(psycopg.errors.UniqueViolation):
        run_sql(pg_url, _insert_params_sql(version_id, active=True))
    assert query(pg_url, "SELECT count(*) FROM algo_params WHERE is_active") == [(1,)]
    # the rule is per version: another version may have its own active row
    other = str(uuid.uuid4())
    run_sql(
        pg_url,
        f"""INSERT INTO algo_versions (id, algo_key, version, status)
            VALUES ('{other}', 'mastery', 'v2', 'ACTIVE')""",
        _insert_params_sql(other, active=True),
    )
    assert query(pg_url, "SELECT count(*) FROM algo_params WHERE is_active") == [(2,)]


def test_algo_versions_key_is_unique(store_url: str) -> None:
    init_database(store_url)
    duplicate = f"""INSERT INTO algo_versions (id, algo_key, version, status)
                    VALUES ('{uuid.uuid4()}', 'mastery', 'v0', 'ACTIVE')"""
    with pytest.raises((psycopg.errors.UniqueViolation, duckdb.ConstraintException)):
        run_sql(store_url, duplicate)

"""The Postgres extract pulls the source tables separately and joins them in Polars (issue 20):
it must return exactly the frame of the one-statement join it replaced.

The reference below is that join, kept here only, as an independent statement run through
psycopg (not the store's ADBC path). DuckDB keeps its own one-join extract and must give the
same frame on the same data. Rows read per table (``RawRead.rows_read``) show a long
history outside the window is never sent.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta

import polars as pl
import psycopg
import pytest

from pipeline import init_database
from pipeline.contracts.errors import MasteryError
from pipeline.contracts.frames import RAW_ATTEMPT_SCHEMA
from pipeline.contracts.scope import window_start
from pipeline.io.store import WHOLE, Partition, open_store, pg_extract
from pipeline.io.store.attempt_tables import RawRead
from pipeline.io.url import parse_database_url
from pipeline.tools.generate.spec import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.cohort import ALICE, AS_OF, BOB, load_small_cohort
from tests.dbutil import execute, query

REFERENCE_SQL = """
SELECT
    CAST(s.user_id AS text) AS user_id,
    CAST(a.session_id AS text) AS session_id,
    CAST(a.question_id AS text) AS question_id,
    a.is_correct,
    CASE
        WHEN a.answered_at >= CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
            THEN CAST('9999-12-31 23:59:59.999999+00' AS timestamptz)
        WHEN a.answered_at < CAST('1900-01-01 00:00:00+00' AS timestamptz)
            THEN CAST('1899-12-31 23:59:59.999999+00' AS timestamptz)
        ELSE a.answered_at
    END AS answered_at,
    s.submitted_at,
    qv.year AS qv_year,
    qv.block_id AS qv_block_id,
    qv.theme_id AS qv_theme_id,
    substr(qv.difficulty, 1, 1000) AS qv_difficulty,
    CASE
        WHEN qv.year IS NULL OR qv.block_id IS NULL OR qv.theme_id IS NULL OR qv.difficulty IS NULL
        THEN CAST(sq.snapshot_json AS text)
    END AS snapshot_json
FROM test_sessions AS s
JOIN session_answers AS a ON a.session_id = s.id
JOIN session_questions AS sq ON sq.session_id = a.session_id AND sq.question_id = a.question_id
LEFT JOIN question_versions AS qv ON qv.id = sq.question_version_id
WHERE s.status IN ('SUBMITTED', 'EXPIRED')
    AND s.submitted_at IS NOT NULL
    AND s.submitted_at >= %(window_start)s
    AND s.submitted_at <= %(as_of)s
    AND (%(partitions)s = 1
         OR mod(hashtext(CAST(s.user_id AS text)) & 2147483647, %(partitions)s) = %(partition)s)
"""
LOOKBACK = 90
SORT = list(RAW_ATTEMPT_SCHEMA.names())


def reference(url: str, as_of: datetime = AS_OF, partition: Partition = WHOLE) -> pl.DataFrame:
    values = {
        "window_start": window_start(as_of, LOOKBACK),
        "as_of": as_of,
        "partitions": partition.count,
        "partition": partition.index,
    }
    with psycopg.connect(parse_database_url(url).libpq_uri) as conn:
        rows = conn.execute(REFERENCE_SQL, values).fetchall()
    return pl.DataFrame(rows, schema=RAW_ATTEMPT_SCHEMA, orient="row").sort(SORT)


def extract(url: str, as_of: datetime = AS_OF, partition: Partition = WHOLE) -> RawRead:
    with open_store(url) as store:
        return store.extract_raw(window_start(as_of, LOOKBACK), as_of, (), partition)


def frame(read: RawRead) -> pl.DataFrame:
    return read.frame.select(SORT).sort(SORT)


def same_json(raw: pl.DataFrame) -> pl.DataFrame:
    """Snapshot texts with sorted keys (jsonb stores keys in its own order)."""
    canonical = pl.col("snapshot_json").map_elements(
        lambda text: json.dumps(json.loads(text), sort_keys=True), return_dtype=pl.String
    )
    return raw.with_columns(canonical)


def _id(n: int) -> str:
    return str(uuid.UUID(int=0x30000000_0000_4000_8000_000000000000 + n))


def test_golden_cohort_equals_the_reference_join(pg_url: str) -> None:
    init_database(pg_url)
    load_small_cohort(pg_url)
    read = extract(pg_url)
    expected = reference(pg_url)
    assert expected.height > 0
    assert frame(read).equals(expected)
    assert read.frame.schema == RAW_ATTEMPT_SCHEMA
    assert {"extract.sessions", "extract.answers", "extract.join"} <= set(read.seconds)
    assert read.rows_read["test_sessions"] == 3


@pytest.mark.parametrize("seed", [3, 17])
def test_random_cohort_equals_the_reference_and_duckdb(
    pg_url: str, duckdb_url: str, seed: int
) -> None:
    spec = CohortSpec(users=40, themes=6, days=120, seed=seed, as_of=AS_OF)
    for url in (pg_url, duckdb_url):
        init_database(url)
        generate_cohort_into(url, spec)
    expected = reference(pg_url)
    assert expected.height > 100
    assert frame(extract(pg_url)).equals(expected)
    # Postgres' jsonb gives a snapshot's keys in its own order: the same JSON, other text
    assert same_json(frame(extract(duckdb_url))).equals(same_json(expected))
    part = Partition(1, 3)
    assert frame(extract(pg_url, partition=part)).equals(reference(pg_url, partition=part))


def test_window_edges(pg_url: str) -> None:
    """A session submitted exactly at as_of - lookback is in, one a microsecond earlier or
    after as_of is out; an answer after as_of is sent (the kernel excludes and counts it)."""
    init_database(pg_url)
    load_small_cohort(pg_url)
    start = window_start(AS_OF, LOOKBACK)
    edges = {
        600: (ALICE, start),
        601: (ALICE, start - timedelta(microseconds=1)),
        602: (BOB, AS_OF),
        603: (BOB, AS_OF + timedelta(microseconds=1)),
    }
    statements = []
    for n, (user, submitted) in edges.items():
        statements.append(
            "INSERT INTO test_sessions (id, user_id, mode, status, created_at, submitted_at)"
            f" VALUES ('{_id(n)}', '{user}', 'EXAM', 'SUBMITTED', '{submitted.isoformat()}',"
            f" '{submitted.isoformat()}');"
        )
        question = "00000000-0000-4000-8000-000000000000"  # question 0 of tests.cohort
        answered = AS_OF + timedelta(days=1) if n == 602 else submitted
        statements.append(
            "INSERT INTO session_questions (id, session_id, question_id, question_version_id,"
            f" position) VALUES ('{_id(n + 100)}', '{_id(n)}', '{question}', NULL, 0);"
            "INSERT INTO session_answers (id, session_id, question_id, is_correct, answered_at)"
            f" VALUES ('{_id(n + 200)}', '{_id(n)}', '{question}', true,"
            f" '{answered.isoformat()}');"
        )
    execute(pg_url, "\n".join(statements))
    read = frame(extract(pg_url))
    assert read.equals(reference(pg_url))
    sessions = set(read["session_id"].to_list())
    assert {_id(600), _id(602)} <= sessions
    assert not {_id(601), _id(603)} & sessions
    late = read.filter(pl.col("session_id") == _id(602))["answered_at"].item()
    assert late > AS_OF


def test_a_long_history_does_not_raise_the_rows_read(pg_url: str) -> None:
    """Sessions far outside the window (years of history) are never read out of Postgres."""
    init_database(pg_url)
    load_small_cohort(pg_url)
    before = extract(pg_url)
    execute(
        pg_url,
        f"""
        INSERT INTO test_sessions (id, user_id, mode, status, created_at, submitted_at)
        SELECT gen_random_uuid(), '{ALICE}', 'EXAM', 'SUBMITTED',
               TIMESTAMPTZ '2020-01-01' + g * INTERVAL '1 hour',
               TIMESTAMPTZ '2020-01-01' + g * INTERVAL '1 hour'
        FROM generate_series(1, 2000) AS g;
        INSERT INTO session_questions (id, session_id, question_id, question_version_id, position,
                                       snapshot_json)
        SELECT gen_random_uuid(), s.id, q.id, NULL, 0, '{{"theme_id": 10}}'
        FROM test_sessions AS s CROSS JOIN questions AS q
        WHERE s.submitted_at < TIMESTAMPTZ '2021-01-01';
        INSERT INTO session_answers (id, session_id, question_id, is_correct, answered_at)
        SELECT gen_random_uuid(), sq.session_id, sq.question_id, true, TIMESTAMPTZ '2020-06-01'
        FROM session_questions AS sq
        JOIN test_sessions AS s ON s.id = sq.session_id
        WHERE s.submitted_at < TIMESTAMPTZ '2021-01-01';
        ANALYZE;
        """,
    )
    after = extract(pg_url)
    assert after.rows_read == before.rows_read
    assert frame(after).equals(frame(before))
    assert frame(after).equals(reference(pg_url))


def _one_answered_link(url: str) -> tuple[str, str]:
    """(session question id, its version id) of an answered session question in the window."""
    found = query(
        url,
        "SELECT CAST(sq.id AS text) AS link, CAST(sq.question_version_id AS text) AS version"
        " FROM session_questions AS sq JOIN session_answers AS a"
        " ON a.session_id = sq.session_id AND a.question_id = sq.question_id"
        " WHERE sq.question_version_id IS NOT NULL ORDER BY sq.id LIMIT 1",
    )
    assert found.height == 1
    return found["link"][0], found["version"][0]


def test_a_stored_version_lacking_a_field_needs_no_second_read(pg_url: str) -> None:
    """The session questions' read sends the snapshot of every row whose stored version
    lacks a tag field, so the snapshot re-read is not run at all."""
    init_database(pg_url)
    load_small_cohort(pg_url)
    link, version = _one_answered_link(pg_url)
    execute(
        pg_url,
        f"UPDATE question_versions SET difficulty = NULL WHERE id = '{version}';"
        f"""UPDATE session_questions SET snapshot_json = '{{"difficulty": "hard"}}'"""
        f" WHERE id = '{link}'",
    )
    read = extract(pg_url)
    assert frame(read).equals(reference(pg_url))
    fallback = read.frame.filter(
        pl.col("qv_year").is_not_null() & pl.col("qv_difficulty").is_null()
    )
    assert '{"difficulty": "hard"}' in fallback["snapshot_json"].to_list()
    assert "session_questions_with_snapshot" not in read.rows_read


def test_a_version_that_is_not_stored_is_read_again_with_its_snapshot(pg_url: str) -> None:
    """Without the foreign key a session question may name a version with no row: its tags
    come from its snapshot, read again for those rows only."""
    init_database(pg_url)
    load_small_cohort(pg_url)
    link, _ = _one_answered_link(pg_url)
    execute(
        pg_url,
        "ALTER TABLE session_questions"
        " DROP CONSTRAINT session_questions_question_version_id_fkey;"
        f"UPDATE session_questions SET question_version_id = '{_id(950)}',"
        """ snapshot_json = '{"year": 2026, "block_id": 1, "theme_id": 10, "difficulty": "easy"}'"""
        f" WHERE id = '{link}'",
    )
    read = extract(pg_url)
    assert frame(read).equals(reference(pg_url))
    assert read.rows_read["session_questions_with_snapshot"] == 1
    missing = read.frame.filter(pl.col("qv_year").is_null() & pl.col("snapshot_json").is_not_null())
    assert '"theme_id": 10' in "".join(missing["snapshot_json"].to_list())


def test_an_empty_window_gives_an_empty_frame_of_the_schema(pg_url: str) -> None:
    init_database(pg_url)
    load_small_cohort(pg_url)
    read = extract(pg_url, as_of=AS_OF - timedelta(days=3650))
    assert read.frame.is_empty()
    assert read.frame.schema == RAW_ATTEMPT_SCHEMA
    assert read.rows_read["test_sessions"] == 0


def test_both_connections_read_one_snapshot(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The extract reads on two connections. A session committed after the sessions
    were read, but before the second connection starts, is seen by neither: the second one
    reads the first one's exported snapshot. Its id sorts first, so a second connection reading
    the new state would number every session differently (session_index) and join answers to
    the wrong session questions."""
    init_database(pg_url)
    load_small_cohort(pg_url)
    expected = reference(pg_url)
    early = "00000000-0000-0000-0000-000000000001"
    question = "00000000-0000-4000-8000-000000000000"  # question 0 of tests.cohort
    submitted = (AS_OF - timedelta(days=1)).isoformat()
    imported = pg_extract._import_snapshot

    def commit_a_session_first(reader: pg_extract._Reader, snapshot: str) -> None:
        execute(
            pg_url,
            "INSERT INTO test_sessions (id, user_id, mode, status, created_at, submitted_at)"
            f" VALUES ('{early}', '{BOB}', 'EXAM', 'SUBMITTED', '{submitted}', '{submitted}');"
            "INSERT INTO session_questions (id, session_id, question_id, position)"
            f" VALUES ('{_id(900)}', '{early}', '{question}', 0);"
            "INSERT INTO session_answers (id, session_id, question_id, is_correct, answered_at)"
            f" VALUES ('{_id(901)}', '{early}', '{question}', true, '{submitted}');",
        )
        imported(reader, snapshot)

    with monkeypatch.context() as patched:
        patched.setattr(pg_extract, "_import_snapshot", commit_a_session_first)
        read = extract(pg_url)
    assert frame(read).equals(expected)
    assert early not in set(read.frame["session_id"].to_list())
    assert early in set(frame(extract(pg_url))["session_id"].to_list())


def test_a_failed_read_leaves_no_connection_open(pg_url: str) -> None:
    """The answers read fails (its table is locked past the statement timeout of a bounded
    run): the session questions read on the other connection is cancelled, both connections
    are closed, and the error is one line."""
    init_database(pg_url)
    load_small_cohort(pg_url)
    libpq = parse_database_url(pg_url).libpq_uri
    with psycopg.connect(libpq) as holder:
        holder.execute("LOCK TABLE session_answers IN ACCESS EXCLUSIVE MODE")
        with open_store(pg_url) as store:
            store.limit_waits(lock_timeout=1.0, max_wait=1.5)
            with pytest.raises(MasteryError, match="read from Postgres failed"):
                store.extract_raw(window_start(AS_OF, LOOKBACK), AS_OF, (), WHOLE)
        holder.rollback()
        deadline = time.monotonic() + 10  # a closed connection's backend exits just after
        while True:
            left = holder.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
            holder.rollback()
            if left == (0,) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert left == (0,)

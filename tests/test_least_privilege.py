"""Least privilege (issue 15, item 8): ``mastery init --grant-to ROLE`` grants an existing role
exactly what a recompute needs, a merge-mode run as that role succeeds, and each right taken
away again is named on one line (not "run `mastery init`", not a traceback).

The machine's server trusts local logins, so connecting as the role needs no password
(``postgresql://ROLE@host:port/db``); the rights are what is under test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from pipeline import MasteryError, recompute
from pipeline.cli import app
from tests.cohort import ALICE, AS_OF, load_small_cohort
from tests.dbutil import query, runs

MASTERY = Path(sys.executable).parent / "mastery"
SOURCE = (
    "users",
    "blocks",
    "themes",
    "questions",
    "question_versions",
    "test_sessions",
    "session_questions",
    "session_answers",
)
# What a merge-mode run needs, by hand from the SQL it runs (SPEC §8 "exactly what runs need").
EXPECTED_TABLE_RIGHTS = {
    **{table: {"SELECT"} for table in SOURCE},
    "algo_versions": {"SELECT"},
    "algo_params": {"SELECT"},
    "algo_runs": {"SELECT", "INSERT", "UPDATE"},
    "user_theme_mastery": {"SELECT", "INSERT", "UPDATE"},
}
ALL_TABLE_RIGHTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@dataclass(frozen=True)
class Job:
    role: str
    url: str  # connects as the role
    owner_url: str  # connects as the owner (postgres)
    database: str


def as_owner(job: Job, statement: sql.Composable | str) -> None:
    with psycopg.connect(job.owner_url, autocommit=True) as conn:
        conn.execute(statement)


def mastery(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTERY_")}
    return subprocess.run(
        [str(MASTERY), *args, "--database-url", url],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run(url: str) -> Any:
    try:
        from pipeline.api import RunOptions  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return recompute(url, as_of=AS_OF, trigger="test")  # type: ignore[call-arg, unused-ignore]
    return recompute(url, options=RunOptions(trigger="test"), as_of=AS_OF)


@pytest.fixture
def job(pg_url: str, tmp_path: Path) -> Iterator[Job]:
    """A fresh login role with no rights, the cohort loaded and ``init --grant-to`` run."""
    role = f"mastery_job_{uuid.uuid4().hex[:10]}"
    database = str(psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"])
    role_url = pg_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)
    job = Job(role, role_url, pg_url, database)
    assert job.url != pg_url
    as_owner(job, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        # in this process (the CLI's own command): the tests below are about the rights; the
        # refusals at the end run the real process
        granted = CliRunner().invoke(app, ["init", "--grant-to", role, "--database-url", pg_url])
        assert granted.exit_code == 0, granted.output
        assert f"granted to {role}: USAGE on schema public; TEMPORARY on database" in granted.output
        load_small_cohort(pg_url)
        yield job
    finally:
        as_owner(job, sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        as_owner(job, sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def table_rights(job: Job) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    with psycopg.connect(job.owner_url) as conn:
        for table in EXPECTED_TABLE_RIGHTS:
            for right in ALL_TABLE_RIGHTS:
                row = conn.execute(
                    "SELECT has_table_privilege(%s, %s, %s)", (job.role, table, right)
                ).fetchone()
                if row and row[0]:
                    found.setdefault(table, set()).add(right)
    return found


def test_grant_gives_exactly_what_runs_need(job: Job) -> None:
    assert table_rights(job) == EXPECTED_TABLE_RIGHTS
    with psycopg.connect(job.owner_url) as conn:
        acl = conn.execute(
            "SELECT a.privilege_type FROM pg_database AS d, aclexplode(d.datacl) AS a "
            "WHERE d.datname = current_database() AND a.grantee = CAST(%s AS regrole)",
            (job.role,),
        ).fetchall()
        schema = conn.execute(
            "SELECT a.privilege_type FROM pg_namespace AS n, aclexplode(n.nspacl) AS a "
            "WHERE n.nspname = 'public' AND a.grantee = CAST(%s AS regrole)",
            (job.role,),
        ).fetchall()
    assert acl == [("TEMPORARY",)]
    assert schema == [("USAGE",)]


def test_a_merge_run_as_the_job_role_succeeds(job: Job, tmp_path: Path) -> None:
    first, second = run(job.url), run(job.url)
    ledger = runs(job.owner_url)
    assert ledger["status"].to_list() == ["SUCCESS", "SUCCESS"]
    assert [json.loads(s)["write_mode"] for s in ledger["input_summary_json"]] == ["merge"] * 2
    assert query(job.owner_url, "SELECT count(*) AS n FROM user_theme_mastery")["n"][0] == 3
    for summary in (first, second):
        upserted = (
            summary["records_upserted"] if isinstance(summary, dict) else summary.records_upserted
        )
        assert upserted == 3
    for command in (("runs",), ("report", "weak-themes", "--user", ALICE), ("params", "show")):
        done = mastery(*command, url=job.url, cwd=tmp_path)
        assert done.returncode == 0, (command, done.stderr)
    refused = mastery("recompute", "--write-mode", "rebuild", url=job.url, cwd=tmp_path)
    assert refused.returncode == 1
    assert "must own user_theme_mastery" in refused.stderr


def revoke_table(right: str, table: str) -> Any:
    return lambda job: sql.SQL("REVOKE {} ON {} FROM {}").format(
        sql.SQL(right), sql.Identifier(table), sql.Identifier(job.role)
    )


def revoke_from_everyone(statement: str) -> Any:
    """Rights PUBLIC also holds by default (TEMPORARY on a database, USAGE on public)."""
    return lambda job: sql.SQL(statement).format(
        database=sql.Identifier(job.database), role=sql.Identifier(job.role)
    )


REVOKED = {
    "select_session_answers": (
        revoke_table("SELECT", "session_answers"),
        "SELECT on session_answers",
    ),
    "select_themes": (revoke_table("SELECT", "themes"), "SELECT on themes"),
    "select_algo_params": (revoke_table("SELECT", "algo_params"), "SELECT on algo_params"),
    "insert_algo_runs": (revoke_table("INSERT", "algo_runs"), "INSERT on algo_runs"),
    "update_algo_runs": (revoke_table("UPDATE", "algo_runs"), "UPDATE on algo_runs"),
    "select_mastery": (
        revoke_table("SELECT", "user_theme_mastery"),
        "SELECT on user_theme_mastery",
    ),
    "insert_mastery": (
        revoke_table("INSERT", "user_theme_mastery"),
        "INSERT on user_theme_mastery",
    ),
    "update_mastery": (
        revoke_table("UPDATE", "user_theme_mastery"),
        "UPDATE on user_theme_mastery",
    ),
    "temporary": (
        revoke_from_everyone("REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC, {role}"),
        "TEMPORARY on database",
    ),
    "schema_usage": (
        revoke_from_everyone("REVOKE USAGE ON SCHEMA public FROM PUBLIC, {role}"),
        "USAGE on schema public",
    ),
}


@pytest.mark.parametrize("name", sorted(REVOKED))
def test_a_missing_right_is_named_on_one_line(job: Job, name: str) -> None:
    revoke, named = REVOKED[name]
    as_owner(job, revoke(job))
    with pytest.raises(MasteryError) as caught:
        run(job.url)
    message = str(caught.value)
    assert f"permission denied: the job needs {named}" in message
    assert f"connected as {job.role}" in message
    assert "\n" not in message
    assert "mastery init` first" not in message
    assert "SUCCESS" not in runs(job.owner_url)["status"].to_list()


def test_the_cli_names_the_missing_right(job: Job, tmp_path: Path) -> None:
    as_owner(job, revoke_table("INSERT", "algo_runs")(job))
    done = mastery("recompute", "--as-of", AS_OF.isoformat(), url=job.url, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: permission denied: the job needs INSERT on algo_runs (connected as {job.role}); "
        f"the tables' owner can grant what runs need with `mastery init --grant-to {job.role}`"
    )


def test_grant_to_a_role_that_does_not_exist(pg_url: str, tmp_path: Path) -> None:
    done = mastery("init", "--grant-to", "no_such_role_x", url=pg_url, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: --grant-to no_such_role_x: no such role; create it first "
        "(CREATE ROLE no_such_role_x LOGIN ...)"
    )
    assert (
        query(pg_url, "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")["n"][0]
        == 0
    )


def test_grant_to_on_duckdb_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    done = mastery("init", "--grant-to", "anyone", url=f"duckdb:///{path}", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: --grant-to anyone: DuckDB has no roles or grants (whoever can open the file may "
        "do everything); grant to a role on a Postgres --database-url"
    )
    assert not path.exists()

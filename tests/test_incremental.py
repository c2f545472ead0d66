"""`mastery recompute --incremental` (issue 17): only the users whose rows can have changed, and
the table always equal to a full recompute's."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline import MasteryError, RunOptions, RunSummary, recompute
from pipeline.api import activate_params, recompute_incremental, recompute_users
from pipeline.cli import app
from pipeline.io.store import open_store
from pipeline.run import incremental
from tests.cohort import ALICE, AS_OF, BOB, load_small_cohort
from tests.dbutil import execute, mastery_rows, runs
from tests.harness import fresh_postgres_database

VOLATILE = ("id", "computed_at", "run_id")
OPTIONS = RunOptions(trigger="test", allow_mass_change=True)


def _rows(url: str) -> pl.DataFrame:
    return mastery_rows(url).drop(VOLATILE)


@pytest.fixture
def cohort_url(duckdb_url: str) -> str:
    with open_store(duckdb_url) as store:
        store.init_schema()
    load_small_cohort(duckdb_url)
    return duckdb_url


def _session(url: str, user: str, submitted: datetime, answers: list[tuple[int, bool]]) -> str:
    """A SUBMITTED session of ``user`` answering the small cohort's questions (by number)."""
    session = str(uuid.uuid4())
    at = submitted.isoformat()
    sql = [
        f"INSERT INTO test_sessions VALUES ('{session}', '{user}', 'TUTOR', 'SUBMITTED', "
        f"TIMESTAMPTZ '{at}', TIMESTAMPTZ '{at}')"
    ]
    for position, (question, correct) in enumerate(answers):
        qid = str(uuid.UUID(int=0x10000000_0000_4000_8000_000000000000 + question))
        vid = str(uuid.UUID(int=0x10000000_0000_4000_8000_000000000000 + 100 + question))
        sql.append(
            f"INSERT INTO session_questions VALUES ('{uuid.uuid4()}', '{session}', '{qid}', "
            f"'{vid}', {position}, NULL)"
        )
        sql.append(
            f"INSERT INTO session_answers VALUES ('{uuid.uuid4()}', '{session}', '{qid}', 0, "
            f"{str(correct).lower()}, TIMESTAMPTZ '{at}')"
        )
    execute(url, ";\n".join(sql))
    return session


def _delete_session(url: str, session: str) -> None:
    execute(
        url,
        f"""DELETE FROM session_answers WHERE session_id = '{session}';
            DELETE FROM session_questions WHERE session_id = '{session}';
            DELETE FROM test_sessions WHERE id = '{session}'""",
    )


def test_first_run_is_full_then_nothing_changed(cohort_url: str) -> None:
    first = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert first.incremental.mode == "full"
    assert "no previous" in first.incremental.reason
    second = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert (second.incremental.mode, second.incremental.candidates) == ("incremental", 0)
    assert second.summary.run_id is None


def test_new_session_recomputes_exactly_its_user(cohort_url: str) -> None:
    recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    _session(cohort_url, BOB, AS_OF - timedelta(days=100), [(0, True)])  # outside the window
    _session(cohort_url, ALICE, AS_OF - timedelta(days=50), [(1, False), (2, True)])  # late
    result = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert result.incremental.as_json() | {"reason": ""} == {
        "mode": "incremental",
        "reason": "",
        "candidates": 1,
        "recomputed": 1,
        "changed": 1,
    }
    assert result.summary.users == 1
    incremental = _rows(cohort_url)
    recompute(cohort_url, options=OPTIONS, as_of=AS_OF)
    assert incremental.equals(_rows(cohort_url))


@pytest.fixture
def candidate_pg_url(initialized_pg_url: str) -> str:
    """The small cohort on Postgres after a first incremental run, ALICE's rows since made
    candidates by a late session."""
    load_small_cohort(initialized_pg_url)
    recompute_incremental(initialized_pg_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    _session(initialized_pg_url, ALICE, AS_OF - timedelta(days=50), [(1, False)])
    return initialized_pg_url


def _before_the_run(monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], object]) -> None:
    """``meanwhile`` happens after the incremental read its fingerprints, before its run."""
    job_run = incremental.run

    def run(*args: Any, **kwargs: Any) -> RunSummary:
        meanwhile()
        return job_run(*args, **kwargs)

    monkeypatch.setattr(incremental, "run", run)


def test_a_change_made_and_undone_while_the_run_reads_is_not_in_its_rows(
    candidate_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run reads in the snapshot its fingerprints were read in: a session committed after
    them (and deleted after the run) never reaches the rows, which the stored fingerprint
    would otherwise vouch for."""
    url = candidate_pg_url
    transient: list[str] = []
    late = [(2, True), (0, True)]
    _before_the_run(
        monkeypatch,
        lambda: transient.append(_session(url, ALICE, AS_OF - timedelta(days=2), late)),
    )
    result = recompute_incremental(url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert (result.incremental.mode, result.incremental.recomputed) == ("incremental", 1)
    _delete_session(url, transient[0])
    stored = _rows(url)
    recompute(url, options=OPTIONS, as_of=AS_OF)
    assert stored.equals(_rows(url))


def test_a_pinned_snapshot_lost_before_the_run_reads_fails_the_run_in_one_line(
    candidate_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = candidate_pg_url
    terminate = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND state = 'idle in transaction'"
    )
    _before_the_run(monkeypatch, lambda: execute(url, terminate))
    with pytest.raises(MasteryError) as failure:
        recompute_incremental(url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert "is gone: the transaction that exported it ended" in str(failure.value)
    assert "\n" not in str(failure.value)
    assert runs(url)["status"].to_list() == ["SUCCESS", "FAILED"]


def test_a_read_snapshot_is_refused_where_it_cannot_apply(
    cohort_url: str, initialized_pg_url: str
) -> None:
    with pytest.raises(MasteryError, match="a read snapshot is a Postgres one"):
        recompute(cohort_url, options=RunOptions(trigger="test", snapshot="00000003-1"))
    with pytest.raises(MasteryError, match='not a Postgres snapshot id: "1\'; DROP"'):
        recompute(initialized_pg_url, options=RunOptions(trigger="test", snapshot="1'; DROP"))


def test_params_change_and_other_runs(cohort_url: str, tmp_path: Path) -> None:
    recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    recompute_users(cohort_url, [BOB], as_of=AS_OF, trigger="test")
    later = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert (later.incremental.mode, later.incremental.candidates) == ("incremental", 1)
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"min_attempts": 3}))
    activate_params(cohort_url, params)
    changed = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF, full_share=1.0)
    assert changed.incremental.mode == "full"
    assert "params" in changed.incremental.reason


def test_a_plain_full_run_in_between_makes_the_next_one_full(cohort_url: str) -> None:
    recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF)
    recompute(cohort_url, options=OPTIONS, as_of=AS_OF)
    after = recompute_incremental(cohort_url, options=OPTIONS, as_of=AS_OF)
    assert after.incremental.mode == "full"
    assert "another run wrote" in after.incremental.reason


def test_cli_incremental_json_has_the_extra_key(cohort_url: str) -> None:
    args = ["recompute", "--incremental", "--json", "--as-of", AS_OF.isoformat()]
    result = CliRunner().invoke(app, [*args, "--trigger", "test", "--database-url", cohort_url])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["incremental"]["mode"] == "full"
    assert summary["records_upserted"] == 3


# ---------------------------------------------------------------------------------------------
# Property: random steps, the incremental table equals a full recompute's after each.
# ---------------------------------------------------------------------------------------------
@dataclass
class World:
    """Two stores with the same source rows: one kept by --incremental, one by full runs."""

    urls: tuple[str, str]
    as_of: datetime = AS_OF
    sessions: list[str] = field(default_factory=list)

    def sql(self, text: str) -> None:
        for url in self.urls:
            execute(url, text)


users = st.sampled_from([ALICE, BOB])
steps = st.one_of(
    st.tuples(
        st.just("insert"),
        users,
        st.integers(0, 95),  # days before as_of (a late arrival when large)
        st.lists(
            st.tuples(st.integers(0, 11), st.booleans()),
            min_size=1,
            max_size=6,
            unique_by=lambda answer: answer[0],
        ),
    ),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("retag"), st.integers(0, 11), st.sampled_from([10, 11])),
    st.tuples(st.just("advance"), st.integers(1, 24 * 40)),
)


def _apply(world: World, step: tuple) -> None:
    kind = step[0]
    if kind == "insert":
        _, user, days, answers = step
        submitted = world.as_of - timedelta(days=days, minutes=1)
        session = _session(world.urls[0], user, submitted, answers)
        text = _session_sql_copy(world.urls[0], session)
        execute(world.urls[1], text)
        world.sessions.append(session)
    elif kind == "delete" and world.sessions:
        session = world.sessions.pop(step[1] % len(world.sessions))
        for url in world.urls:
            _delete_session(url, session)
    elif kind == "retag":
        _, question, theme = step
        vid = str(uuid.UUID(int=0x10000000_0000_4000_8000_000000000000 + 100 + question))
        block = 1 if theme == 10 else 2
        world.sql(
            f"UPDATE question_versions SET theme_id = {theme}, block_id = {block} "
            f"WHERE id = '{vid}'"
        )
    elif kind == "advance":
        world.as_of += timedelta(hours=step[1])


def _session_sql_copy(url: str, session: str) -> str:
    """The inserts that recreate ``session`` (same ids) in the other store."""
    with open_store(url) as store:
        parts = []
        for table, key in (
            ("test_sessions", "id"),
            ("session_questions", "session_id"),
            ("session_answers", "session_id"),
        ):
            rows = store._fetch_frame(f"SELECT * FROM {table} WHERE {key} = '{session}'", None)
            for row in rows.iter_rows():
                values = ", ".join(_literal(value) for value in row)
                parts.append(f"INSERT INTO {table} VALUES ({values})")
    return ";\n".join(parts)


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.astimezone(UTC).isoformat()}'"
    return f"'{value}'"


@settings(max_examples=6, deadline=None)
@given(st.lists(steps, min_size=1, max_size=4))
def test_incremental_equals_full_after_every_step(plan: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check_plan((f"duckdb:///{folder}/inc.duckdb", f"duckdb:///{folder}/full.duckdb"), plan)


@pytest.mark.integration
@settings(max_examples=3, deadline=None)
@given(st.lists(steps, min_size=1, max_size=4))
def test_incremental_equals_full_after_every_step_on_postgres(plan: list[tuple]) -> None:
    """The same property through Postgres' own fingerprint statement."""
    with fresh_postgres_database() as inc_url, fresh_postgres_database() as full_url:
        _check_plan((inc_url, full_url), plan)


def _check_plan(urls: tuple[str, str], plan: list[tuple]) -> None:
    for url in urls:
        with open_store(url) as store:
            store.init_schema()
        load_small_cohort(url)
    world = World(urls)
    recompute_incremental(urls[0], options=OPTIONS, as_of=world.as_of, full_share=1.0)
    recompute(urls[1], options=OPTIONS, as_of=world.as_of)
    for step in plan:
        _apply(world, step)
        result = recompute_incremental(urls[0], options=OPTIONS, as_of=world.as_of, full_share=1.0)
        recompute(urls[1], options=OPTIONS, as_of=world.as_of)
        incremental, full = _rows(urls[0]), _rows(urls[1])
        assert incremental.equals(full), (step, result.incremental, incremental, full)

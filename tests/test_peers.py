"""Independent implementations agree: Mastery v0 as one Postgres statement and the per-user
ORM job (the benchmark peers) write the same rows as the pipeline, on the hand-worked cohort
and on generated ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks.peers import io_floor, output_rows, run_sql_peer
from benchmarks.per_user_peer import run_per_user_peer
from pipeline import RunOptions, default_params, init_database, recompute
from pipeline.io.store import open_store
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.cohort import ALICE, AS_OF, BOB, load_small_cohort

GENERATED_AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _pipeline_then_peer(url: str, as_of: datetime) -> tuple[list, list]:
    recompute(url, options=RunOptions(trigger="test"), as_of=as_of)
    pipeline_rows = output_rows(url)
    run_sql_peer(url, as_of, default_params())
    return pipeline_rows, output_rows(url)


def test_sql_peer_equals_pipeline_on_the_hand_worked_cohort(pg_url: str) -> None:
    init_database(pg_url)
    load_small_cohort(pg_url)
    ours, peer = _pipeline_then_peer(pg_url, AS_OF)
    assert len(ours) == 3
    assert peer == ours


@pytest.mark.slow
def test_sql_peer_equals_pipeline_on_a_generated_cohort(pg_url: str) -> None:
    init_database(pg_url)
    generate_cohort_into(
        pg_url, CohortSpec(users=150, themes=12, days=90, seed=13, as_of=GENERATED_AS_OF)
    )
    ours, peer = _pipeline_then_peer(pg_url, GENERATED_AS_OF)
    assert len(ours) > 800
    assert peer == ours


def test_io_floor_reports_each_movement(pg_url: str) -> None:
    init_database(pg_url)
    load_small_cohort(pg_url)
    recompute(pg_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    floor = io_floor(pg_url, AS_OF, 90)
    assert set(floor) == {"copy_attempts_out", "copy_rows_in", "merge_rows", "floor"}
    assert floor["floor"] >= floor["merge_rows"] >= 0


def _peer_run(url: str) -> dict[str, str]:
    from tests.dbutil import runs

    with open_store(url) as store:
        active = store.active_params()
    return {
        "run_id": runs(url)["id"][0],
        "algo_version_id": active.algo_version_id,
        "params_id": active.params_id,
    }


def _known(url: str) -> tuple[set, set]:
    with open_store(url) as store:
        themes = set(store.fetch_frame("select_themes")["id"].to_list())
        blocks = set(store.fetch_frame("select_blocks")["id"].to_list())
    return themes, blocks


def test_per_user_peer_equals_pipeline_on_the_hand_worked_cohort(pg_url: str) -> None:
    init_database(pg_url)
    load_small_cohort(pg_url)
    recompute(pg_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    ours = output_rows(pg_url)
    run_per_user_peer(pg_url, [ALICE, BOB], AS_OF, _peer_run(pg_url), _known(pg_url))
    assert output_rows(pg_url) == ours


@pytest.mark.slow
def test_per_user_peer_equals_pipeline_on_a_generated_cohort(pg_url: str) -> None:
    init_database(pg_url)
    generate_cohort_into(
        pg_url, CohortSpec(users=60, themes=12, days=90, seed=17, as_of=GENERATED_AS_OF)
    )
    recompute(pg_url, options=RunOptions(trigger="test"), as_of=GENERATED_AS_OF)
    ours = output_rows(pg_url)
    users = sorted({row[0] for row in ours})
    run_per_user_peer(pg_url, users, GENERATED_AS_OF, _peer_run(pg_url), _known(pg_url))
    assert output_rows(pg_url) == ours

"""A third implementation agrees: Mastery v0 as one Postgres statement (the benchmark peer)
writes the same rows as the pipeline, on the hand-worked cohort and on a generated one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks.peers import io_floor, output_rows, run_sql_peer
from pipeline import default_params, init_database, recompute
from pipeline.admin import generate_cohort_into
from pipeline.generate import CohortSpec
from tests.cohort import AS_OF, load_small_cohort

GENERATED_AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)


def _pipeline_then_peer(url: str, as_of: datetime) -> tuple[list, list]:
    recompute(url, as_of=as_of, trigger="test")
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
    recompute(pg_url, as_of=AS_OF, trigger="test")
    floor = io_floor(pg_url, AS_OF, 90)
    assert set(floor) == {"copy_attempts_out", "copy_rows_in", "merge_rows", "floor"}
    assert floor["floor"] >= floor["merge_rows"] >= 0

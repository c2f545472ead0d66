"""``--partitions N``: users split by a stable hash give the same rows and summary as one pass."""

from __future__ import annotations

import gc
import time
import weakref
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from pipeline import MasteryError, RunOptions, RunSummary, init_database, recompute
from pipeline.run.reading import read_ahead
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.dbutil import mastery_rows, runs

AS_OF = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = CohortSpec(users=90, themes=10, days=90, seed=5, as_of=AS_OF)
PER_RUN = ("run_id", "stage_seconds")


def _same(first: RunSummary, second: RunSummary) -> None:
    assert {k: v for k, v in first.as_json().items() if k not in PER_RUN} == {
        k: v for k, v in second.as_json().items() if k not in PER_RUN
    }


@pytest.fixture
def cohort_url(store_url: str) -> str:
    init_database(store_url)
    generate_cohort_into(store_url, SPEC)
    return store_url


def _rows_without_run(url: str):
    return mastery_rows(url).drop("run_id", "computed_at")


def test_partitioned_run_writes_the_same_rows_and_summary(cohort_url: str) -> None:
    whole = recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    before = _rows_without_run(cohort_url)
    split = recompute(cohort_url, options=RunOptions(trigger="test", partitions=4), as_of=AS_OF)
    assert before.height > 300
    assert _rows_without_run(cohort_url).equals(before)
    assert set(mastery_rows(cohort_url)["run_id"]) == {split.run_id}
    _same(whole, split)


def test_partitioned_stale_refresh_matches_one_pass(cohort_url: str) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    later = AS_OF + timedelta(days=200)
    split = recompute(
        cohort_url,
        options=RunOptions(allow_mass_change=True, trigger="test", partitions=3),
        as_of=later,
    )
    after_split = _rows_without_run(cohort_url)
    whole = recompute(
        cohort_url, options=RunOptions(allow_mass_change=True, trigger="test"), as_of=later
    )
    assert split.stale_rows_refreshed == after_split.height > 0
    assert _rows_without_run(cohort_url).equals(after_split)
    _same(whole, split)


def test_partition_count_is_logged_in_the_input_summary(cohort_url: str) -> None:
    recompute(cohort_url, options=RunOptions(trigger="test", partitions=2), as_of=AS_OF)
    assert '"partitions":2' in runs(cohort_url)["input_summary_json"][0].replace(" ", "")


def test_source_counts_reach_the_ledger(cohort_url: str) -> None:
    summary = recompute(cohort_url, options=RunOptions(trigger="test", partitions=2), as_of=AS_OF)
    stored = runs(cohort_url)["input_summary_json"][0].replace(" ", "")
    assert '"attempt_rows":' in stored
    assert summary.users > 0


def test_partitions_below_one_are_refused() -> None:
    with pytest.raises(MasteryError, match="partitions must be at least 1, got 0"):
        recompute("duckdb:///unused.duckdb", options=RunOptions(partitions=0))


def test_read_ahead_keeps_order_and_at_most_one_read_in_advance() -> None:
    started: list[int] = []
    reads = read_ahead(lambda i: started.append(i) or pl.DataFrame({"i": [i]}), 4, ahead=True)
    seen = []
    for get in reads:
        seen.append(get()["i"].item())
        time.sleep(0.05)
        assert started[-1] == min(seen[-1] + 1, 3), "the next read runs while this one is used"
    assert seen == started == [0, 1, 2, 3]


def test_read_ahead_lets_a_taken_read_go_when_its_caller_does() -> None:
    class Rows:  # a weak reference tells whether anything still holds a partition's rows
        pass

    made: dict[int, weakref.ref[Rows]] = {}

    def read(index: int) -> Rows:
        rows = Rows()
        made[index] = weakref.ref(rows)
        return rows

    for index, get in enumerate(read_ahead(read, 3, ahead=True)):
        rows = get()
        assert made[index]() is rows
        del rows
        gc.collect()
        assert made[index]() is None, "the read-ahead still holds a partition it handed over"


def test_read_ahead_off_reads_only_when_asked() -> None:
    started: list[int] = []
    reads = read_ahead(lambda i: started.append(i) or pl.DataFrame({"i": [i]}), 3, ahead=False)
    first = next(reads)
    assert started == []
    assert first()["i"].item() == 0
    assert started == [0]

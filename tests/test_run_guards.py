"""A run refuses what would surely be a mistake before it writes (SPEC §8, issue 15 items 5 and 6).

Each refusal is one line, leaves no RUNNING row and leaves the output table as it was.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import MasteryError, RunOptions, RunSpec, recompute
from pipeline.io.store import open_store
from pipeline.run import ledger
from tests.cohort import ALICE, AS_OF, load_small_cohort
from tests.dbutil import execute, mastery_rows, runs

TEST = RunOptions(trigger="test")


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    return initialized_url


def _refused(url: str, match: str, **kwargs: object) -> None:
    before = runs(url).height
    with pytest.raises(MasteryError, match=match) as refused:
        recompute(url, **kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(refused.value)
    assert runs(url).height == before, "a refused run writes no ledger row"


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("rows.csv", r"must be a \.parquet file"),
        ("missing-folder/rows.parquet", "does not exist"),
    ],
)
def test_bad_output_path_is_refused_before_the_run(
    cohort_url: str, tmp_path: Path, name: str, match: str
) -> None:
    options = RunOptions(trigger="test", output=tmp_path / name)
    _refused(cohort_url, match, options=options, as_of=AS_OF)


def test_output_folder_is_refused(cohort_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "out.parquet"
    folder.mkdir()
    options = RunOptions(trigger="test", output=folder)
    _refused(cohort_url, "is a folder", options=options, as_of=AS_OF)


def test_output_device_is_refused(cohort_url: str, tmp_path: Path) -> None:
    """/dev/full accepts an open and fails every write: refused by name before any work."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    device = tmp_path / "rows.parquet"
    device.symlink_to("/dev/full")
    options = RunOptions(trigger="test", output=device)
    _refused(cohort_url, "is not a regular file", options=options, as_of=AS_OF)


@pytest.mark.parametrize(
    "as_of",
    [datetime(1, 1, 1, tzinfo=UTC), datetime(1, 3, 1, tzinfo=UTC)],
    ids=["year-1", "year-1-march"],
)
def test_as_of_whose_window_starts_before_year_1_is_one_line(
    cohort_url: str, as_of: datetime
) -> None:
    _refused(cohort_url, "before year 1", options=TEST, as_of=as_of)


def test_as_of_out_of_range_in_utc_is_one_line() -> None:
    from datetime import timezone

    late = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
    with pytest.raises(MasteryError, match="out of range"):
        RunSpec(as_of=late)


def test_as_of_in_the_future_is_refused_unless_allowed(cohort_url: str) -> None:
    future = datetime.now(UTC) + timedelta(days=30)
    _refused(cohort_url, "in the future", options=TEST, as_of=future)
    allowed = RunOptions(trigger="test", allow_mass_change=True)
    assert recompute(cohort_url, options=allowed, as_of=future).run_id


def test_as_of_a_year_before_the_newest_submission_is_refused(cohort_url: str) -> None:
    long_ago = AS_OF - timedelta(days=400)
    _refused(
        cohort_url, "more than a year before the newest submission", options=TEST, as_of=long_ago
    )


def test_dry_run_reports_a_mass_change_without_stopping(cohort_url: str) -> None:
    dry = RunOptions(trigger="test", dry_run=True)
    summary = recompute(cohort_url, options=dry, as_of=AS_OF - timedelta(days=400))
    assert summary.mass_change is not None
    assert "more than a year" in summary.as_json()["mass_change"]


def test_run_that_would_zero_most_stored_rows_is_refused(cohort_url: str) -> None:
    """The cohort has 3 rows, 2 of them ALICE's; with her sessions gone they would go stale."""
    recompute(cohort_url, options=TEST, as_of=AS_OF)
    stored = mastery_rows(cohort_url)
    assert stored.height == 3
    for table in ("session_answers", "session_questions"):
        execute(
            cohort_url,
            f"DELETE FROM {table} WHERE session_id IN "
            f"(SELECT id FROM test_sessions WHERE user_id = '{ALICE}')",
        )
    execute(cohort_url, f"DELETE FROM test_sessions WHERE user_id = '{ALICE}'")
    with pytest.raises(MasteryError, match=r"would zero 2 of the 3 stored rows in its scope"):
        recompute(cohort_url, options=TEST, as_of=AS_OF)
    assert mastery_rows(cohort_url).equals(stored)
    assert runs(cohort_url)["status"].to_list() == ["SUCCESS", "FAILED"]
    allowed = RunOptions(trigger="test", allow_mass_change=True)
    summary = recompute(cohort_url, options=allowed, as_of=AS_OF)
    assert summary.stale_rows_refreshed == 2


def test_unknown_user_is_refused_with_its_id(cohort_url: str) -> None:
    stranger = "5e1f0000-0000-4000-8000-000000000000"
    _refused(cohort_url, f"unknown user {stranger}: not in users", options=TEST, users=[stranger])


def test_partitions_are_capped_at_the_number_of_users(cohort_url: str) -> None:
    options = RunOptions(trigger="test", partitions=1_000_000_000)
    summary = recompute(cohort_url, options=options, as_of=AS_OF, users=[ALICE])
    assert summary.records_upserted == 2
    logged = json.loads(runs(cohort_url).row(-1, named=True)["input_summary_json"])
    assert logged["partitions"] == 1


def test_success_only_replaces_running(cohort_url: str) -> None:
    """A run another run marked abandoned meanwhile cannot turn SUCCESS: its writes roll back."""
    with open_store(cohort_url) as store:
        active = store.active_params()
        logged = ledger.start_run(
            store,
            algo_version_id=active.algo_version_id,
            params_id=active.params_id,
            user_id=None,
            trigger="test",
            input_summary={},
        )
        execute(cohort_url, "UPDATE algo_runs SET status = 'FAILED' WHERE status = 'RUNNING'")
        with pytest.raises(MasteryError, match="no longer RUNNING"), store.transaction():
            ledger.finish_run(store, logged, {}, {})
    statuses = runs(cohort_url)["status"].to_list()
    assert statuses == ["FAILED"]

"""``mastery history`` (issue 18): one extract and one pass equal a dry run as of each date.

pipeline/kernel/history.py (the kernel's own per-date steps stacked by date) is proved here
equal, row for row and digit for digit, to the kernel as of each date (pure, with and without
difficulty weights) and to a separate dry run per date (both stores), whatever the partition
count.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import api
from pipeline.api import ExclusionTarget, RunOptions, RunSpec, recompute
from pipeline.cli import app
from pipeline.contracts.errors import MasteryError
from pipeline.contracts.frames import OUTPUT_COLUMNS
from pipeline.contracts.params import Params
from pipeline.contracts.params_v1 import default_params_v1
from pipeline.contracts.scope import Scope
from pipeline.io.extract import Window, extract_from_store, read_raw_attempts
from pipeline.io.store import open_store
from pipeline.kernel import compute_cohort
from pipeline.kernel.history import compute_history
from pipeline.run.history import history_dates, parse_every
from pipeline.run.reading import default_partitions
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.cohort import ALICE, AS_OF, load_small_cohort

END = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = CohortSpec(users=40, themes=6, days=150, seed=7, as_of=END)
DATES = history_dates(END - timedelta(days=56), END, timedelta(days=7))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A generated cohort's resolved attempts over every date's window, and the themes."""
    url = f"duckdb:///{tmp_path_factory.mktemp('history') / 'g.duckdb'}"
    api.init_database(url)
    generate_cohort_into(url, SPEC)
    with open_store(url) as store:
        window = Window(api.Scope(), END, 90 + 56)
        attempts = extract_from_store(store, window).attempts
        themes = store.fetch_frame("select_themes")
    return attempts, themes


@pytest.mark.parametrize("use_difficulty", [False, True])
def test_history_equals_the_kernel_as_of_each_date(
    generated: tuple[pl.DataFrame, pl.DataFrame], use_difficulty: bool
) -> None:
    attempts, themes = generated
    params = Params.from_mapping({"use_difficulty": use_difficulty, "min_attempts": 3})
    rows = compute_history(attempts.lazy(), params, DATES, themes.lazy())
    assert rows["as_of"].unique().sort().to_list() == DATES
    for date in DATES:
        expected = compute_cohort(attempts.lazy(), params, date, themes.lazy()).rows
        got = rows.filter(pl.col("as_of") == date).drop("as_of")
        assert got.height > 0
        assert got.equals(expected), date


def test_history_of_no_dates_and_no_attempts_is_empty() -> None:
    assert compute_history(pl.LazyFrame(), Params.from_mapping({}), []).is_empty()


def test_dates_and_every() -> None:
    assert parse_every("7d") == timedelta(days=7)
    assert parse_every("12h") == timedelta(hours=12)
    assert parse_every("2w") == timedelta(weeks=2)
    with pytest.raises(MasteryError, match="--every"):
        parse_every("7")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert history_dates(start, start + timedelta(days=14), timedelta(days=7)) == [
        start,
        start + timedelta(days=7),
        start + timedelta(days=14),
    ]
    assert len(history_dates(start, start + timedelta(days=13), timedelta(days=7))) == 2
    with pytest.raises(MasteryError, match="before"):
        history_dates(start, start - timedelta(days=1), timedelta(days=7))


def dry_rows(url: str, as_of: datetime, tmp_path: Path) -> pl.DataFrame:
    target = tmp_path / f"{as_of:%Y%m%d%H}.parquet"
    recompute(url, RunSpec.of(as_of), RunOptions(dry_run=True, output=target))
    return pl.read_parquet(target).filter(~pl.col("stale")).select(OUTPUT_COLUMNS)


@pytest.fixture
def history_url(initialized_url: str) -> str:
    spec = CohortSpec(users=25, themes=4, days=120, seed=3, as_of=END)
    generate_cohort_into(initialized_url, spec)
    return initialized_url


@pytest.fixture
def small_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    return initialized_url


def test_history_equals_a_dry_run_per_date(history_url: str, tmp_path: Path) -> None:
    dates = history_dates(END - timedelta(days=42), END, timedelta(days=7))
    result = api.history(history_url, dates, output=tmp_path / "h.parquet")
    stored = pl.read_parquet(tmp_path / "h.parquet")
    assert stored.equals(result.rows)
    for date in dates:
        got = result.rows.filter(pl.col("as_of") == date).drop("as_of")
        assert got.equals(dry_rows(history_url, date, tmp_path)), date


def test_history_is_the_same_whatever_the_partition_count(history_url: str, tmp_path: Path) -> None:
    """Users never span partitions: 1, 3 and 7 partitions give the same file, row for row and
    in the same order (by as_of, user, theme), and the same rows held in memory."""
    dates = history_dates(END - timedelta(days=28), END, timedelta(days=7))
    one = api.history(history_url, dates, output=tmp_path / "1.parquet", partitions=1)
    assert one.partitions == 1
    assert one.row_count > 0
    assert one.rows["user_id"].n_unique() > 10  # enough users to fill every partition
    for count in (3, 7):
        split = api.history(
            history_url, dates, output=tmp_path / f"{count}.parquet", partitions=count
        )
        assert split.partitions == count
        assert pl.read_parquet(tmp_path / f"{count}.parquet").equals(one.rows), count
        assert api.history(history_url, dates, partitions=count).rows.equals(one.rows), count
    expected_order = one.rows.sort("as_of", "user_id", "theme_id")
    assert one.rows.equals(expected_order)


def test_default_partitions_follow_the_window_answers(history_url: str) -> None:
    """About ``per`` answers of the window per partition, never more partitions than users."""
    dates = history_dates(END - timedelta(days=28), END, timedelta(days=7))
    assert api.history(history_url, dates).partitions == 1  # a small cohort: one partition
    window = Window(api.Scope(), END, 90 + 28)
    with open_store(history_url) as store:
        raw = read_raw_attempts(store, window)  # one row per answer of the window's sessions
        users = raw["user_id"].n_unique()
        assert default_partitions(store, window, per=raw.height) == 1
        assert default_partitions(store, window, per=-(-raw.height // 3)) == 3
        assert default_partitions(store, window, per=1) == 25  # capped: the cohort's users
    assert raw.height > 3 * users > 0


def test_history_scope_exclusions_and_cli(small_url: str, tmp_path: Path) -> None:
    history_url = small_url
    dates = history_dates(AS_OF - timedelta(days=14), AS_OF, timedelta(days=7))
    api.exclude(history_url, ExclusionTarget(user_id=ALICE, theme_id=11), reason="r", by="ann")
    whole = api.history(history_url, dates)
    # ALICE's 3 theme-11 answers (20 days before AS_OF) are in the one extract, and left out
    assert whole.excluded_attempts == 3
    assert whole.rows.filter(pl.col("theme_id") == 11).is_empty()
    result = api.history(history_url, dates, scope=api.Scope((ALICE,), (10,)))
    assert set(result.rows["user_id"]) == {ALICE}
    assert set(result.rows["theme_id"]) == {10}
    last = result.rows.filter(pl.col("as_of") == AS_OF)
    assert str(last["mastery_score"].item()) == "0.6666"  # tests/cohort.py's hand-work
    first = result.rows.filter(pl.col("as_of") == dates[0])
    assert first.is_empty()  # ALICE's theme-10 session is 2 days before AS_OF
    target = tmp_path / "cli.parquet"
    out = CliRunner().invoke(
        app,
        [
            "history",
            "--every",
            "7d",
            "--from",
            dates[0].isoformat(),
            "--to",
            AS_OF.isoformat(),
            "--user",
            ALICE,
            "--output",
            str(target),
            "--json",
            "--partitions",
            "2",
            "--database-url",
            history_url,
        ],
    )
    assert out.exit_code == 0, out.output
    assert '"dates":3' in out.stdout.replace(" ", "")
    assert '"partitions":2' in out.stdout.replace(" ", "")
    assert pl.read_parquet(target)["user_id"].unique().to_list() == [ALICE]


def test_v1_history_equals_a_v1_dry_run_per_date(history_url: str, tmp_path: Path) -> None:
    """With v1 active, history scores v1: each date's rows are the rows a dry run as of that
    date writes, and a student's rows do not depend on the scope (v1's question term reads
    every student's answers whatever the scope)."""
    with open_store(history_url) as store:
        store.activate_params(default_params_v1(), "v1")
    dates = history_dates(END - timedelta(days=28), END, timedelta(days=14))
    result = api.history(history_url, dates)
    assert result.rows["as_of"].unique().sort().to_list() == dates
    for date in dates:
        got = result.rows.filter(pl.col("as_of") == date).drop("as_of")
        expected = dry_rows(history_url, date, tmp_path)
        assert got.height > 0
        assert '"model":"v1"' in got["breakdown_json"][0]
        assert got.equals(expected), date
    user = result.rows["user_id"][0]
    alone = api.history(history_url, dates, scope=Scope(user_ids=(user,))).rows
    assert alone.equals(result.rows.filter(pl.col("user_id") == user))
    # v1 reads the whole cohort at once: asking for partitions is refused, not ignored
    with pytest.raises(MasteryError, match="partitions 3: v1's history reads the whole cohort"):
        api.history(history_url, dates, partitions=3)

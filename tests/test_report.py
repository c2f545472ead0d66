"""``mastery report weak-themes`` on the hand-built cohort of tests/cohort.py, every format.

Hand-worked numbers (as_of 2026-11-25, default params, threshold 0.7 unless said):

- ALICE theme 10 Fractions (block 1 Algebra): 6 attempts 2 days ago, 4 correct, in all three
  buckets -> 0.6666, below 0.7: weak; last attempt 2026-11-23. Theme 11 Triangles (block 2
  Geometry): 3 attempts -> not enough evidence, "needs 5 attempts, has 3"; last 2026-11-05.
- BOB theme 10: 5 of 5 correct 40 days ago: 7d and 30d empty, 90d 5/5 -> 0.2000; the 7-day
  bucket is empty, so not practised lately (capped at 0.2, the 90-day weight).
- CAROL: no attempts at all -> the one student without attempts in the window.
- Cohort, theme 10: two scored students (0.6666, 0.2000): mean = 0.8666 / 2 = 0.4333 exactly;
  median of two = their mean = 0.4333; both < 0.7 -> 2 of 2 = 100.0 %; at threshold 0.5 only
  BOB -> 1 of 2 = 50.0 %; at 0.2 nobody (0.2 is not below 0.2) -> 0.0 %; states: ALICE weak,
  BOB not practised lately. Theme 11: nobody scored (no mean/median/share), ALICE not enough
  evidence -> 1. Blocks: Algebra holds theme 10's
  rows, Geometry theme 11's, so the roll-up repeats those figures with ``themes`` = 1 each.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import MasteryError, RunOptions, init_database, recompute
from pipeline.reports.data import (
    cohort_report,
    explain_breakdown,
    load_mastery,
    parse_threshold,
    student_report,
    summarize,
    threshold_units,
    weak_themes,
)
from pipeline.reports.figures import spread
from pipeline.reports.render import render
from pipeline.tools.generate import CohortSpec
from pipeline.tools.loading import generate_cohort_into
from tests.cohort import ALICE, AS_OF, BOB, CAROL, load_small_cohort
from tests.dbutil import execute
from tests.harness import fresh_postgres_database

db = pytest.mark.integration
ALICE_10 = "4 of 6 correct in the last 7 days, 4 of 6 in 30 days, 4 of 6 in 90 days"
BOB_10 = (
    "not practised lately: no attempts in the last 30 days, so the score cannot exceed 0.2;"
    " 5 of 5 correct in the last 90 days"
)
ALICE_11 = "not enough evidence: needs 5 attempts, has 3"
SVG_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


@pytest.fixture(scope="module")
def small_cohorts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The small cohort recomputed once per back end; reports only read it."""
    with fresh_postgres_database() as pg_url:
        duck_url = f"duckdb:///{tmp_path_factory.mktemp('report') / 'small.duckdb'}"
        for url in (pg_url, duck_url):
            init_database(url)
            load_small_cohort(url)
            recompute(url, options=RunOptions(trigger="test"), as_of=AS_OF)
        yield {"postgres": pg_url, "duckdb": duck_url}


@pytest.fixture(params=["postgres", "duckdb"])
def cohort_url(request: pytest.FixtureRequest, small_cohorts: dict[str, str]) -> str:
    return small_cohorts[request.param]


def rendered(url: str, fmt: str, user: str | None = None, threshold: str = "0.7") -> str:
    return render(weak_themes(url, user_id=user, threshold=threshold), fmt)


def table_rows(text: str) -> list[list[str]]:
    """Cells of every body row of a rich table (lines drawn with │)."""
    return [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if "│" in line]


# --------------------------------------------------------------------------- student view


@db
def test_student_json_alice(cohort_url: str) -> None:
    report = json.loads(rendered(cohort_url, "json", ALICE))
    source = report.pop("source")
    assert (source["as_of"], source["runs"], source["rows"], source["algorithm"]) == (
        "2026-11-25T00:00:00Z",
        1,
        2,
        "v0",
    )
    assert report == {
        "report": "weak-themes",
        "view": "student",
        "schema_version": 2,
        "threshold": 0.7,
        "warnings": [],
        "user_id": ALICE,
        "user_email": "alice@example.org",
        "user_label": "alice@example.org",
        "themes": [
            {
                "rank": 1,
                "state": "weak",
                "theme_id": 10,
                "theme_title": "Fractions",
                "block_id": 1,
                "block_name": "Algebra",
                "mastery_score": 0.6666,
                "interval": None,
                "attempts": 6,
                "correct": 4,
                "required": None,
                "below_threshold": True,
                "buckets": [
                    {"days": 7, "attempts": 6, "correct": 4},
                    {"days": 30, "attempts": 6, "correct": 4},
                    {"days": 90, "attempts": 6, "correct": 4},
                ],
                "explanation": ALICE_10,
                "last_attempt_at": "2026-11-23T00:00:00Z",
            },
            {
                "rank": 2,
                "state": "not_enough_evidence",
                "theme_id": 11,
                "theme_title": "Triangles",
                "block_id": 2,
                "block_name": "Geometry",
                "mastery_score": None,
                "interval": None,
                "attempts": 3,
                "correct": 2,
                "required": 5,
                "below_threshold": None,
                "buckets": [],
                "explanation": ALICE_11,
                "last_attempt_at": "2026-11-05T00:00:00Z",
            },
        ],
    }


@db
def test_student_json_bob_not_practised_lately_whatever_the_threshold(cohort_url: str) -> None:
    report = json.loads(rendered(cohort_url, "json", BOB, threshold="0.2"))
    (row,) = report["themes"]
    assert (row["state"], row["mastery_score"], row["attempts"], row["correct"]) == (
        "not_practised_lately",
        0.2,
        5,
        5,
    )
    assert row["explanation"] == BOB_10
    assert row["below_threshold"] is False  # 0.2 is not below 0.2
    below = json.loads(rendered(cohort_url, "json", BOB))["themes"][0]
    assert (below["state"], below["below_threshold"]) == ("not_practised_lately", True)


@db
def test_student_threshold_is_compared_exactly(cohort_url: str) -> None:
    # 0.6666 < 0.66665 (ceil(6666.5) = 6667 units) but 0.6666 is not below 0.6666
    below = {
        t: student_report(cohort_url, ALICE, threshold=t)
        .rows.filter(pl.col("theme_id") == 10)["state"]
        .item()
        for t in ("0.66665", "0.6666", "0.6667")
    }
    assert below == {"0.66665": "weak", "0.6666": "ok", "0.6667": "weak"}


@db
def test_student_csv(cohort_url: str) -> None:
    assert rendered(cohort_url, "csv", ALICE) == (
        "state,rank,theme_id,theme_title,block_id,block_name,mastery_score,interval_low,"
        "interval_high,attempts,correct,required,below_threshold,explanation,last_attempt_at\n"
        f'weak,1,10,Fractions,1,Algebra,0.6666,,,6,4,,true,"{ALICE_10}",2026-11-23T00:00:00Z\n'
        f'not_enough_evidence,2,11,Triangles,2,Geometry,,,,3,2,5,,"{ALICE_11}",'
        "2026-11-05T00:00:00Z\n"
    )


@db
def test_student_table(cohort_url: str) -> None:
    text = rendered(cohort_url, "table", ALICE)
    rows = table_rows(text)
    assert ["1", "Algebra", "Fractions", "0.6666", "—", "6", ALICE_10] in rows
    assert ["2", "Geometry", "Triangles", "—", "—", "3", ALICE_11] in rows
    assert text.index("Weak: enough evidence") < text.index("Not enough evidence to tell")
    assert "Not practised lately: the score is capped (lowest first): none" in text


@db
def test_student_html(cohort_url: str) -> None:
    page = rendered(cohort_url, "html", ALICE)
    assert_self_contained(page)
    assert "<h1>Weak themes of alice@example.org</h1>" in page
    assert (
        '<tr class="weak"><td class="num">1</td><td>Algebra</td><td>Fractions</td>'
        '<td class="num">0.6666</td><td class="num">—</td>'
    ) in page
    assert f"<td>{ALICE_10}</td>" in page
    assert f"<td>{ALICE_11}</td>" in page


@db
def test_unknown_user_and_malformed_uuid(cohort_url: str) -> None:
    stranger = "00000000-0000-4000-8000-00000000dead"
    with pytest.raises(MasteryError, match=f"^unknown user {stranger}: not in users$"):
        weak_themes(cohort_url, user_id=stranger)
    with pytest.raises(MasteryError, match=r"^user carol@example\.org has no mastery rows"):
        weak_themes(cohort_url, user_id=CAROL)
    with pytest.raises(MasteryError, match=r"^unknown user nobody@example\.org: not in users$"):
        weak_themes(cohort_url, user_id="nobody@example.org")
    with pytest.raises(MasteryError, match=r"^malformed user id 'nope': expected a UUID$"):
        weak_themes(cohort_url, user_id="nope")
    with pytest.raises(MasteryError, match="between 0 and 1"):
        weak_themes(cohort_url, threshold="1.5")


@db
def test_empty_cohort_is_an_empty_report(duckdb_url: str) -> None:
    init_database(duckdb_url)  # a successful run over no students stores no rows either
    assert json.loads(rendered(duckdb_url, "json"))["themes"] == []
    assert rendered(duckdb_url, "csv").count("\n") == 1  # the header only
    assert "No scored themes to chart." in rendered(duckdb_url, "html")


@db
def test_stale_rows_count_as_insufficient(initialized_url: str) -> None:
    load_small_cohort(initialized_url)
    recompute(initialized_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    # 200 days later nothing is in the window: every stored row becomes the zero-attempt result
    recompute(
        initialized_url,
        options=RunOptions(allow_mass_change=True, trigger="test"),
        as_of=AS_OF + timedelta(days=200),
    )
    alice = student_report(initialized_url, ALICE)
    assert alice.rows.select("state", "theme_id", "explanation").rows() == [
        ("not_enough_evidence", 10, "not enough evidence: needs 5 attempts, has 0"),
        ("not_enough_evidence", 11, "not enough evidence: needs 5 attempts, has 0"),
    ]
    themes = cohort_report(initialized_url).themes
    assert themes.select("theme_id", "students_scored", "students_insufficient").rows() == [
        (10, 0, 2),
        (11, 0, 1),
    ]


# --------------------------------------------------------------------------- cohort view


COHORT_THEMES = [
    {
        "theme_id": 10,
        "theme_title": "Fractions",
        "block_id": 1,
        "block_name": "Algebra",
        "students_scored": 2,
        "mean_mastery": 0.4333,
        "median_mastery": 0.4333,
        "students_below_threshold": 2,
        "share_below_threshold_pct": 100,
        "students_weak": 1,
        "students_not_practised_lately": 1,
        "students_insufficient": 0,
    },
    {
        "theme_id": 11,
        "theme_title": "Triangles",
        "block_id": 2,
        "block_name": "Geometry",
        "students_scored": 0,
        "mean_mastery": None,
        "median_mastery": None,
        "students_below_threshold": 0,
        "share_below_threshold_pct": None,
        "students_weak": 0,
        "students_not_practised_lately": 0,
        "students_insufficient": 1,
    },
]


@db
def test_cohort_json(cohort_url: str) -> None:
    figures = ("mean_mastery", "median_mastery", "share_below_threshold_pct")
    report = json.loads(rendered(cohort_url, "json"))
    source = report.pop("source")
    assert (source["as_of"], source["rows"], source["params_id"]) == (
        "2026-11-25T00:00:00Z",
        3,
        source["active_params_id"],
    )
    assert report == {
        "report": "weak-themes",
        "view": "cohort",
        "schema_version": 2,
        "threshold": 0.7,
        "warnings": [],
        "students_without_attempts": 1,  # CAROL
        "themes": COHORT_THEMES,
        "blocks": [
            {
                "block_id": 1,
                "block_name": "Algebra",
                "themes": 1,
                "rows_scored": 2,
                **{k: COHORT_THEMES[0][k] for k in figures},
                "rows_below_threshold": 2,
                "rows_weak": 1,
                "rows_not_practised_lately": 1,
                "rows_insufficient": 0,
            },
            {
                "block_id": 2,
                "block_name": "Geometry",
                "themes": 1,
                "rows_scored": 0,
                **dict.fromkeys(figures),
                "rows_below_threshold": 0,
                "rows_weak": 0,
                "rows_not_practised_lately": 0,
                "rows_insufficient": 1,
            },
        ],
    }


@db
def test_cohort_share_below_other_thresholds(cohort_url: str) -> None:
    half = cohort_report(cohort_url, threshold="0.5").themes.row(0, named=True)
    assert (half["students_below_threshold"], half["share_below_threshold_pct"]) == (
        1,
        Decimal("50.0"),
    )
    low = cohort_report(cohort_url, threshold=0.2).themes.row(0, named=True)
    assert (low["students_below_threshold"], low["share_below_threshold_pct"]) == (
        0,
        Decimal("0.0"),
    )


@db
def test_cohort_csv(cohort_url: str) -> None:
    assert rendered(cohort_url, "csv") == (
        "level,theme_id,theme_title,block_id,block_name,themes,scored,mean_mastery,"
        "median_mastery,below_threshold,share_below_threshold_pct,weak,not_practised_lately,"
        "insufficient\n"
        "theme,10,Fractions,1,Algebra,,2,0.4333,0.4333,2,100.0,1,1,0\n"
        "theme,11,Triangles,2,Geometry,,0,,,0,,0,0,1\n"
        "block,,,1,Algebra,1,2,0.4333,0.4333,2,100.0,1,1,0\n"
        "block,,,2,Geometry,1,0,,,0,,0,0,1\n"
    )


@db
def test_cohort_table(cohort_url: str) -> None:
    text = rendered(cohort_url, "table")
    rows = table_rows(text)
    assert ["Algebra", "Fractions", "2", "0.4333", "0.4333", "100.0", "1", "1", "0"] in rows
    assert ["Geometry", "Triangles", "0", "—", "—", "—", "0", "0", "1"] in rows
    assert ["Algebra", "1", "2", "0.4333", "0.4333", "100.0", "1", "1", "0"] in rows
    assert "as of 2026-11-25 00:00 UTC · run " in text
    assert "1 student with no attempts in the window" in text


@db
def test_cohort_html_has_tables_and_inline_chart(cohort_url: str) -> None:
    page = rendered(cohort_url, "html")
    assert_self_contained(page)
    assert page.count("<svg") == 1
    assert "Mastery spread per theme, as of 2026-11-25" in page  # the chart's title, as SVG text
    assert "Fractions (#10)" in page  # the box's axis label
    assert (
        '<td>Algebra</td><td>Fractions</td><td class="num">2</td><td class="num">0.4333</td>'
        in page
    )
    assert '<p class="source">as of 2026-11-25 00:00 UTC · run ' in page


def assert_self_contained(page: str) -> None:
    """No request when opened: no URL but the SVG xmlns names, no src/href/script/css url."""
    assert page.startswith("<!DOCTYPE html>")
    assert set(re.findall(r"https?://[^\"'\s)>]*", page)) <= SVG_NAMESPACES
    for needle in ("src=", "href=", "<script", "<link", "<img", "url(", "@import", "//cdn"):
        assert needle not in page.lower(), needle


@db
def test_json_keys_are_the_documented_ones(cohort_url: str) -> None:
    """Every key the JSON carries is spelled out in pipeline.reports.data's docstring."""
    import pipeline.reports.data

    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    found = keys(json.loads(rendered(cohort_url, "json", ALICE)))
    found |= keys(json.loads(rendered(cohort_url, "json")))
    assert {k for k in found if f'"{k}"' not in (pipeline.reports.data.__doc__ or "")} == set()
    assert len(found) > 30


@db
def test_same_report_from_postgres_and_duckdb(small_cohorts: dict[str, str]) -> None:
    def same_ids(url: str, text: str) -> str:
        """Each store has its own run and params ids: name them alike before comparing."""
        source = weak_themes(url).source
        assert source is not None
        assert source.run_id
        assert source.params_id
        return text.replace(source.run_id, "<run>").replace(source.params_id, "<params>")

    for user in (ALICE, BOB, None):
        for fmt in ("json", "csv", "table", "html"):
            outputs = {
                name: same_ids(url, rendered(url, fmt, user)) for name, url in small_cohorts.items()
            }
            assert outputs["postgres"] == outputs["duckdb"], (user, fmt)
    frames = [load_mastery(url) for url in small_cohorts.values()]
    assert frames[0].equals(frames[1])


@db
def test_load_mastery_rows(cohort_url: str) -> None:
    rows = load_mastery(cohort_url).select(
        "user_id", "theme_id", "mastery_score", "attempts_total", "insufficient"
    )
    assert rows.rows() == [
        (BOB, 10, Decimal("0.2000"), 5, False),
        (ALICE, 10, Decimal("0.6666"), 6, False),
        (ALICE, 11, Decimal("0"), 3, True),
    ]


@db
def test_names_are_shown_verbatim_in_every_format(duckdb_url: str) -> None:
    init_database(duckdb_url)
    load_small_cohort(duckdb_url)
    recompute(duckdb_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    odd = "[red]Fr<b>ac</b>tions[/red] :smile: & co"
    execute(duckdb_url, f"UPDATE themes SET title = '{odd}' WHERE id = 10")
    assert odd in rendered(duckdb_url, "table", ALICE)
    assert json.loads(rendered(duckdb_url, "json"))["themes"][0]["theme_title"] == odd
    assert odd in rendered(duckdb_url, "csv")
    page = rendered(duckdb_url, "html")
    assert "<b>" not in page
    assert "[red]Fr&lt;b&gt;ac&lt;/b&gt;tions[/red] :smile: &amp; co" in page
    from pipeline.cli import app

    shown = CliRunner().invoke(
        app, ["report", "weak-themes", "--format", "json", "--database-url", duckdb_url]
    )
    assert json.loads(shown.stdout)["themes"][0]["theme_title"] == odd


# --------------------------------------------------------------------------- CLI


@db
def test_cli_formats_and_output_file(cohort_url: str, tmp_path: Path) -> None:
    from pipeline.cli import app

    runner = CliRunner()
    base = ["report", "weak-themes", "--database-url", cohort_url]
    shown = runner.invoke(app, [*base, "--user", ALICE, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["themes"][0]["mastery_score"] == 0.6666
    table = runner.invoke(app, base)
    assert table.exit_code == 0, table.output
    assert "0.4333" in table.output
    target = tmp_path / "cohort.csv"
    written = runner.invoke(app, [*base, "--format", "csv", "--output", str(target)])
    assert (written.exit_code, written.output) == (0, "")
    assert list(csv.reader(io.StringIO(target.read_text())))[1][:3] == ["theme", "10", "Fractions"]
    bad = runner.invoke(app, [*base, "--user", "nope"])
    assert isinstance(bad.exception, MasteryError)
    nowhere = runner.invoke(app, [*base, "--output", str(tmp_path / "absent" / "r.html")])
    assert isinstance(nowhere.exception, MasteryError)
    assert "cannot write" in str(nowhere.exception)


@db
def test_console_script_error_is_one_line(cohort_url: str) -> None:
    command = [str(Path(sys.executable).parent / "mastery"), "report", "weak-themes"]
    done = subprocess.run(
        [*command, "--user", "not-a-uuid", "--database-url", cohort_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == "error: malformed user id 'not-a-uuid': expected a UUID\n"


# --------------------------------------------------------------------------- exact figures


def test_summarize_rounds_half_away_on_exact_integers() -> None:
    hist = pl.DataFrame(
        [
            # theme 1: 0.0002 and 0.0003: mean = median = 0.00025 -> 0.0003 (half-even: 0.0002);
            # both below 0.5 -> 100 %; the second not practised lately, so one weak
            (1, 2, "scored", 1),
            (1, 3, "stale", 1),
            # theme 2: 0.1, 0.1, 0.4, 0.9, 0.9: median 0.4; mean 2.4 / 5 = 0.48; 3 of 5 < 0.5
            (2, 1000, "scored", 2),
            (2, 4000, "scored", 1),
            (2, 9000, "scored", 2),
            # theme 3: one 0 and fifteen 1.0: mean 15/16 = 0.9375, median 1, 1 of 16 = 6.25 %
            # -> 6.3 % (half-even: 6.2); plus 4 rows short of attempts and 1 too unsure
            (3, 0, "scored", 1),
            (3, 10000, "scored", 15),
            (3, 0, "insufficient", 4),
            (3, 2000, "unsure", 1),
            # theme 4: only insufficient rows -> no figures
            (4, 0, "insufficient", 2),
        ],
        schema=["theme_id", "mastery_units", "evidence", "n"],
        orient="row",
    )
    got = summarize(hist, "theme_id", Decimal("0.5"))
    assert got.rows() == [
        (1, 2, Decimal("0.0003"), Decimal("0.0003"), 2, Decimal("100.0"), 1, 1, 0),
        (2, 5, Decimal("0.4800"), Decimal("0.4000"), 3, Decimal("60.0"), 3, 0, 0),
        (3, 16, Decimal("0.9375"), Decimal("1.0000"), 1, Decimal("6.3"), 1, 0, 5),
        (4, 0, None, None, 0, None, 0, 0, 2),
    ]
    # the chart's spread, interpolated between ranks: theme 2 quartiles at ranks 1 and 3
    assert spread(hist, "theme_id").filter(pl.col("theme_id") == 2).row(0)[1:] == (
        0.1,
        0.1,
        0.4,
        0.9,
        0.9,
    )


def test_threshold_parsing() -> None:
    assert parse_threshold(0.7) == Decimal("0.7")
    assert threshold_units(Decimal("0.7")) == 7000
    assert threshold_units(Decimal("0.66665")) == 6667
    assert threshold_units(Decimal("0")) == 0
    for bad in ("x", "-0.1", "1.01", "nan"):
        with pytest.raises(MasteryError):
            parse_threshold(bad)


def test_explanation_reads_buckets_in_days_order_whatever_the_key_order() -> None:
    jsonb_order = {
        "buckets": {
            "7d": {"weight": 0.5, "correct": 2, "attempts": 3},
            "30d": {"weight": 0.3, "correct": 4, "attempts": 5},
            "90d": {"weight": 0.2, "correct": 9, "attempts": 12},
        },
        "mastery_score": 0.7233,
    }
    buckets, text = explain_breakdown(jsonb_order)
    assert text == "2 of 3 correct in the last 7 days, 4 of 5 in 30 days, 9 of 12 in 90 days"
    assert [b["days"] for b in buckets] == [7, 30, 90]
    one_day = {
        "buckets": {"14d": {"attempts": 4, "correct": 2}, "1d": {"attempts": 0, "correct": 0}},
        "use_difficulty": True,
    }
    assert explain_breakdown(one_day)[1] == (
        "no attempts in the last 1 day, 2 of 4 correct in the last 14 days"
        " (accuracy weighted by question difficulty)"
    )


@db
def test_cohort_figures_match_an_exact_reference_on_a_generated_cohort(tmp_path: Path) -> None:
    """Every theme's figures equal a Fraction computation over all stored rows."""
    url = f"duckdb:///{tmp_path / 'gen.duckdb'}"
    as_of = datetime(2026, 3, 1, 12, tzinfo=AS_OF.tzinfo)
    init_database(url)
    generate_cohort_into(url, CohortSpec(users=150, themes=6, days=60, seed=5, as_of=as_of))
    recompute(url, options=RunOptions(trigger="test"), as_of=as_of)
    rows = load_mastery(url)
    limit = Fraction(3, 5)
    report = cohort_report(url, threshold="0.6").themes
    assert report.height == rows["theme_id"].n_unique()
    for theme in report.iter_rows(named=True):
        mine = rows.filter(pl.col("theme_id") == theme["theme_id"])
        scores = sorted(Fraction(s) for s in mine.filter(~pl.col("insufficient"))["mastery_score"])
        n = len(scores)
        assert theme["students_scored"] == n
        assert theme["students_insufficient"] == mine["insufficient"].sum()
        if not n:
            continue
        median = (scores[(n - 1) // 2] + scores[n // 2]) / 2
        below = sum(s < limit for s in scores)
        assert theme["mean_mastery"] == half_up(sum(scores) / n, 4)
        assert theme["median_mastery"] == half_up(median, 4)
        assert theme["share_below_threshold_pct"] == half_up(Fraction(100 * below, n), 1)
    means = [m for m in report["mean_mastery"].to_list() if m is not None]
    assert means == sorted(means)
    busiest = rows.filter(~pl.col("insufficient"))["user_id"].mode().sort()[0]
    mine = student_report(url, busiest).rows
    states = ["weak", "not_practised_lately", "not_enough_evidence", "ok"]
    ranks = [states.index(s) for s in mine["state"]]
    assert ranks == sorted(ranks)  # grouped by state, never mixed
    scored = mine.filter(pl.col("mastery_score").is_not_null())
    for state in states:
        group = scored.filter(pl.col("state") == state)
        order = list(zip(group["mastery_score"], group["theme_id"], strict=True))
        assert order == sorted(order)  # weakest first, ties by theme_id
    assert scored.height > 3
    assert mine["rank"].to_list() == list(range(1, mine.height + 1))


def half_up(value: Fraction, places: int) -> Decimal:
    scaled = value * 10**places
    units = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(units).scaleb(-places)

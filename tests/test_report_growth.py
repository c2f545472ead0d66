"""The growth view (issue 18) of a hand-made history: what it shows, worked out by hand.

Two dates, theme 10 with five students in every state, and one student's two themes. The
quartiles are numpy's default (linear between the two nearest ranks) over the scored students
(the ones not practised lately included, with their capped score), as in the cohort chart;
weak, not practised lately and not enough evidence are counted apart, never pooled.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import api
from pipeline.cli import app
from pipeline.contracts.errors import MasteryError
from pipeline.reports.growth import growth_json, growth_report, read_history, render_growth
from pipeline.run.history import history_dates
from tests.cohort import ALICE, AS_OF, load_small_cohort

D1 = datetime(2026, 11, 1, tzinfo=UTC)
D2 = datetime(2026, 11, 8, tzinfo=UTC)
U1, U2, U3, U4, U5 = (f"00000000-0000-0000-0000-00000000000{i}" for i in range(1, 6))
LIMIT = Decimal("0.7")


def scored(score: str, recent: int = 3) -> str:
    """A v0 breakdown; ``recent`` attempts in the 7-day bucket (0: not practised lately)."""
    bucket = {"attempts": 6, "correct": 3, "accuracy": 0.5, "weight": 0.3, "contribution": 0.15}
    buckets = {"7d": bucket | {"attempts": recent}, "30d": bucket, "90d": bucket}
    return json.dumps(
        {"total_attempts": 6, "buckets": buckets, "mastery_score": float(score)}
        | {"use_difficulty": False}
    )


SHORT = json.dumps({"reason": "insufficient_attempts", "required": 5, "actual": 2})
ROWS = [  # as_of, user, theme, score, breakdown
    (D1, U1, 10, "0.5", scored("0.5")),  # weak
    (D1, U2, 10, "0.8", scored("0.8")),  # ok
    (D1, U3, 10, "0.2", scored("0.2", recent=0)),  # not practised lately
    (D1, U4, 10, "0", SHORT),  # not enough evidence
    (D1, U5, 10, "0.6", scored("0.6")),  # weak
    (D2, U1, 10, "0.75", scored("0.75")),  # ok
    (D2, U2, 10, "0.9", scored("0.9")),  # ok
    (D2, U3, 10, "0.3", scored("0.3")),  # weak
    (D2, U4, 10, "0.3", scored("0.3", recent=0)),  # not practised lately, same score as U3
    (D1, U1, 11, "0", SHORT),
    (D2, U1, 11, "0.2", scored("0.2", recent=0)),
]


def history_frame() -> pl.DataFrame:
    return pl.DataFrame(
        [(a, u, t, Decimal(s), b) for a, u, t, s, b in ROWS],
        schema={
            "as_of": pl.Datetime("us", "UTC"),
            "user_id": pl.String,
            "theme_id": pl.Int32,
            "mastery_score": pl.Decimal(6, 4),
            "breakdown_json": pl.String,
        },
        orient="row",
    )


def test_a_students_themes_over_time() -> None:
    report = growth_report(history_frame(), LIMIT, user_id=U1)
    assert report.themes is None
    assert report.student is not None
    got = [
        (r["theme_id"], r["as_of"], r["mastery_score"], r["state"])
        for r in report.student.iter_rows(named=True)
    ]
    assert got == [
        (10, D1, Decimal("0.5"), "weak"),
        (10, D2, Decimal("0.75"), "ok"),
        (11, D1, None, "not_enough_evidence"),  # no score drawn, not a score of 0
        (11, D2, Decimal("0.2"), "not_practised_lately"),  # low, but not called weak
    ]


def test_a_themes_distribution_over_time() -> None:
    report = growth_report(history_frame(), LIMIT, theme_ids=[10])
    assert report.student is None
    assert report.themes is not None
    d1, d2 = report.themes.iter_rows(named=True)
    # D1 scored: 0.2 (stale), 0.5, 0.6, 0.8; U4 has not enough evidence
    assert (d1["as_of"], d1["rows_scored"]) == (D1, 4)
    assert (d1["min"], d1["max"]) == pytest.approx((0.2, 0.8))
    assert d1["p25"] == pytest.approx(0.2 + 0.75 * (0.5 - 0.2))
    assert d1["p75"] == pytest.approx(0.6 + 0.25 * (0.8 - 0.6))
    assert d1["median_mastery"] == Decimal("0.55")
    assert d1["mean_mastery"] == Decimal("0.525")
    assert (d1["rows_weak"], d1["rows_not_practised_lately"], d1["rows_insufficient"]) == (2, 1, 1)
    # D2 scored: 0.3 (weak), 0.3 (stale), 0.75, 0.9; U5 has no row
    assert d2["rows_scored"] == 4
    assert (d2["min"], d2["p25"], d2["max"]) == pytest.approx((0.3, 0.3, 0.9))
    assert d2["p75"] == pytest.approx(0.75 + 0.25 * (0.9 - 0.75))
    assert d2["median_mastery"] == Decimal("0.525")
    assert (d2["rows_weak"], d2["rows_not_practised_lately"], d2["rows_insufficient"]) == (1, 1, 0)


def cells(page: str, name: str) -> list[str]:
    return re.findall(rf'<td class="{name}">([^<]*)</td>', page)


def test_html_shows_both_views_with_the_states_apart() -> None:
    report = growth_report(history_frame(), LIMIT, user_id=U1, theme_ids=[10, 11])
    page = render_growth(report, "html")
    assert page.count("<svg") == 3  # the student's chart, theme 10's and theme 11's
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    student = re.findall(
        r'<tr class="([a-z-]+)"><td>#(\d+)</td><td>([^<]*)</td>'
        r'<td class="num">([^<]*)</td><td>([^<]*)</td>',
        page,
    )
    assert student == [
        ("weak", "10", "2026-11-01T00:00:00Z", "0.5000", "weak (below 0.7)"),
        ("ok", "10", "2026-11-08T00:00:00Z", "0.7500", "at or above 0.7"),
        ("not-enough-evidence", "11", "2026-11-01T00:00:00Z", "\N{EM DASH}", "not enough evidence"),
        ("not-practised-lately", "11", "2026-11-08T00:00:00Z", "0.2000", "not practised lately"),
    ]
    chart = page.split('<figure id="student-chart">')[1].split("</figure>")[0]
    points = re.findall(r'aria-label="([^"]*)"[^>]*aria-roledescription="point"', chart)
    assert len(points) == 3  # theme 11 at D1 has no score to draw
    assert sum("state: weak (below 0.7)" in p for p in points) == 1
    assert sum("state: not practised lately" in p for p in points) == 1
    assert not any("not enough evidence" in p for p in points)
    # theme 10 at D1, D2, then theme 11 (U1 alone: not enough evidence, then not practised)
    dash = "\N{EM DASH}"
    assert cells(page, "rows_scored") == ["4", "4", "0", "1"]
    assert cells(page, "rows_weak") == ["2", "1", "0", "0"]
    assert cells(page, "rows_not_practised_lately") == ["1", "1", "0", "1"]
    assert cells(page, "rows_insufficient") == ["1", "0", "1", "0"]
    assert cells(page, "median_mastery") == ["0.5500", "0.5250", dash, "0.2000"]
    assert cells(page, "p25") == ["0.425", "0.3", dash, "0.2"]


def test_cli_and_errors(tmp_path: Path) -> None:
    source = tmp_path / "history.parquet"
    history_frame().write_parquet(source)
    out = CliRunner().invoke(
        app,
        ["report", "growth", "--history", str(source), "--user", U1, "--format", "json"],
    )
    assert out.exit_code == 0, out.output
    shown: dict[str, Any] = json.loads(out.stdout)
    assert shown["dates"] == ["2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"]
    assert [r["mastery_score"] for r in shown["student"]] == [0.5, 0.75, None, 0.2]
    assert shown["themes"] is None
    page = tmp_path / "growth.html"
    out = CliRunner().invoke(
        app, ["report", "growth", "--history", str(source), "--theme", "10", "--output", str(page)]
    )
    assert out.exit_code == 0, out.output
    assert page.read_text("utf-8").count("<svg") == 1
    frame = read_history(source)
    with pytest.raises(MasteryError, match="--user"):
        growth_report(frame, LIMIT)
    with pytest.raises(MasteryError, match="theme 12"):
        growth_report(frame, LIMIT, theme_ids=[12])
    with pytest.raises(MasteryError, match="no rows"):
        growth_report(frame, LIMIT, user_id=U5.replace("5", "9"))
    with pytest.raises(MasteryError, match="cannot read"):
        read_history(tmp_path / "missing.parquet")


def test_growth_of_a_real_history(duckdb_url: str, tmp_path: Path) -> None:
    """From ``mastery history`` to the view: ALICE's theme 10 is 0.6666 and weak as of AS_OF
    (tests/cohort.py's hand-work), and has no row a week before (her session is 2 days old)."""
    api.init_database(duckdb_url)
    load_small_cohort(duckdb_url)
    target = tmp_path / "h.parquet"
    api.history(
        duckdb_url,
        history_dates(AS_OF - timedelta(days=7), AS_OF, timedelta(days=7)),
        output=target,
    )
    report = growth_report(read_history(target), LIMIT, user_id=ALICE, theme_ids=[10])
    shown = growth_json(report)
    alice = [r for r in shown["student"] if r["theme_id"] == 10]
    assert [(r["as_of"], str(r["mastery_score"]), r["state"]) for r in alice] == [
        (AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ"), "0.6666", "weak")
    ]

"""``mastery diff`` (issue 18): old and new score per row, weak flags that flip, and why.

The pure fixture below has known flips each way (threshold 0.7; weak = enough evidence, the
7d bucket practised, score below the threshold), worked by hand:

- U1 theme 1: 0.6666 (weak) → 0.75 (ok): from weak; 7d 0.3333 → 0.375, 30d 0.2 → 0.225,
  90d 0.1333 → 0.15.
- U2 theme 1: 0.8 (ok) → 0.6 (weak): to weak.
- U3 theme 2: too few attempts on both sides, same breakdown: unchanged.
- U4 theme 2: 0.5 (weak) → no row: from weak, "row gone".
- U5 theme 1: no row → 0.3 (weak): to weak, "new row".
- U6 theme 2: not practised lately (7d empty) 0.2 → 0.15: changed, no flip (never weak).

So 6 rows compared, 5 changed, 2 flips to weak, 2 from weak; theme 1: 3 changed, 2 to weak,
1 from weak; theme 2: 2 changed, 0 to weak, 1 from weak.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import api
from pipeline.cli import app
from pipeline.contracts.errors import MasteryError
from pipeline.reports.diff import diff_rows, diff_summary, reason_words, render_diff
from tests.cohort import ALICE, AS_OF, BOB, load_small_cohort


def scored(score: str, contributions: tuple[str, str, str], first_attempts: int = 6) -> str:
    buckets = {
        label: {
            "attempts": first_attempts if label == "7d" else 6,
            "correct": 4 if first_attempts or label != "7d" else 0,
            "contribution": float(c),
        }
        for label, c in zip(("7d", "30d", "90d"), contributions, strict=True)
    }
    return json.dumps({"total_attempts": 6, "buckets": buckets, "mastery_score": float(score)})


SHORT = json.dumps({"reason": "insufficient_attempts", "required": 5, "actual": 3})


def frame(rows: list[tuple[str, int, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["user_id", "theme_id", "mastery_score", "breakdown_json"], orient="row"
    )


OLD = frame(
    [
        ("u1", 1, "0.6666", scored("0.6666", ("0.3333", "0.2", "0.1333"))),
        ("u2", 1, "0.8000", scored("0.8", ("0.4", "0.24", "0.16"))),
        ("u3", 2, "0", SHORT),
        ("u4", 2, "0.5", scored("0.5", ("0.25", "0.15", "0.1"))),
        ("u6", 2, "0.2", scored("0.2", ("0", "0", "0.2"), first_attempts=0)),
    ]
)
NEW = frame(
    [
        ("u1", 1, "0.75", scored("0.75", ("0.375", "0.225", "0.15"))),
        ("u2", 1, "0.6", scored("0.6", ("0.3", "0.18", "0.12"))),
        ("u3", 2, "0.0000", SHORT),
        ("u5", 1, "0.3", scored("0.3", ("0.15", "0.09", "0.06"))),
        ("u6", 2, "0.15", scored("0.15", ("0", "0", "0.15"), first_attempts=0)),
    ]
)


def test_diff_rows_flags_flips_each_way_with_reasons() -> None:
    diff = diff_rows(OLD, NEW, Decimal("0.7"))
    got = {
        row["user_id"]: (row["changed"], row["flip"], row["old_state"], row["new_state"])
        for row in diff.iter_rows(named=True)
    }
    assert got == {
        "u1": (True, "from_weak", "weak", "ok"),
        "u2": (True, "to_weak", "ok", "weak"),
        "u3": (False, None, "not_enough_evidence", "not_enough_evidence"),
        "u4": (True, "from_weak", "weak", "absent"),
        "u5": (True, "to_weak", "absent", "weak"),
        "u6": (True, None, "not_practised_lately", "not_practised_lately"),
    }
    reasons = dict(zip(diff["user_id"], diff["reason"], strict=True))
    assert reasons["u1"] == (
        "7d contribution 0.3333 → 0.375; 30d contribution 0.2 → 0.225; "
        "90d contribution 0.1333 → 0.15"
    )
    assert reasons["u4"] == "row gone"
    assert reasons["u5"] == "new row"
    assert reasons["u3"] == ""
    assert diff.filter(pl.col("user_id") == "u1")["old_score"].item() == Decimal("0.6666")


def test_diff_summary_counts_per_cohort_and_theme() -> None:
    summary = diff_summary(diff_rows(OLD, NEW, Decimal("0.7")))
    assert summary == {
        "rows_compared": 6,
        "rows_changed": 5,
        "flipped_to_weak": 2,
        "flipped_from_weak": 2,
        "themes": [
            {
                "theme_id": 1,
                "rows_compared": 3,
                "rows_changed": 3,
                "flipped_to_weak": 2,
                "flipped_from_weak": 1,
            },
            {
                "theme_id": 2,
                "rows_compared": 3,
                "rows_changed": 2,
                "flipped_to_weak": 0,
                "flipped_from_weak": 1,
            },
        ],
    }


def test_threshold_moves_the_flips() -> None:
    summary = diff_summary(diff_rows(OLD, NEW, Decimal("0.9")))
    # at 0.9, u1 stays weak (0.6666 and 0.75), u2 stays weak (0.8 and 0.6)
    assert (summary["flipped_to_weak"], summary["flipped_from_weak"]) == (1, 1)


def test_reason_words_for_evidence_changes() -> None:
    more = json.dumps({"reason": "insufficient_attempts", "required": 5, "actual": 4})
    assert reason_words(json.loads(SHORT), json.loads(more)) == "attempts 3 → 4"
    words = reason_words(json.loads(SHORT), json.loads(scored("0.6", ("0.3", "0.18", "0.12"))))
    assert words.startswith("attempts 3 → 6; now enough attempts; 7d contribution none → 0.3")


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "html"])
def test_every_format_renders_the_changed_rows(fmt: str) -> None:
    diff = diff_rows(OLD, NEW, Decimal("0.7"))
    text = render_diff(diff, diff_summary(diff), fmt)
    assert "u1" in text
    assert "u3" not in text
    if fmt == "json":
        assert json.loads(text)["summary"]["rows_changed"] == 5
    if fmt == "table":
        assert text.splitlines()[0] == (
            "5 of 6 rows change; weak flag flips: 2 to weak, 2 from weak"
        )


# ---------------------------------------------------------------------------------------------
# on both stores, tests/cohort.py's small cohort

ONLY_90D = '{"recency_buckets": [{"days": 90, "weight": 0.2}]}'
"""One 90-day bucket: BOB theme 10 (5 of 5, 40 days ago) is no longer "not practised lately":
0.2 scored, weak: a flip to weak. ALICE theme 10: 2/3 · 0.2 = 0.1333, weak on both sides."""


@pytest.fixture
def cohort_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    api.recompute(initialized_url, as_of=AS_OF)
    return initialized_url


def test_candidate_params_diff_against_stored_rows(cohort_url: str, tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text(ONLY_90D)
    sides = api.diff_candidate(cohort_url, params=api.read_params_file(params))
    assert sides.as_of == AS_OF
    diff = diff_rows(sides.old, sides.new)
    result = diff_summary(diff)
    rows = {(r["user_id"], r["theme_id"]): r for r in diff.iter_rows(named=True)}
    assert rows[(BOB, 10)]["flip"] == "to_weak"
    assert rows[(BOB, 10)]["new_score"] == Decimal("0.2")
    assert rows[(ALICE, 10)]["new_score"] == Decimal("0.1333")
    assert rows[(ALICE, 10)]["reason"] == (
        "7d contribution 0.3333 → none; 30d contribution 0.2 → none"
    )
    assert (result["flipped_to_weak"], result["flipped_from_weak"]) == (1, 0)
    out = CliRunner().invoke(
        app, ["diff", "--params", str(params), "--format", "csv", "--database-url", cohort_url]
    )
    assert out.exit_code == 0, out.output
    assert BOB in out.stdout


def test_activate_shows_the_diff_and_needs_yes_for_flips(cohort_url: str, tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text(ONLY_90D)
    runner = CliRunner()
    args = ["params", "activate", str(params), "--database-url", cohort_url]
    refused = runner.invoke(app, args)
    assert refused.exit_code != 0
    assert "1 of 3 rows" not in refused.stdout
    assert "--yes" in str(refused.exception) or "--yes" in refused.output
    shown = api.show_params(cohort_url)
    assert shown.params.min_attempts == 5
    assert len(shown.params.recency_buckets) == 3  # still the old params
    done = runner.invoke(app, [*args, "--yes"])
    assert done.exit_code == 0, done.output
    assert "1 to weak, 0 from weak" in done.stderr
    assert len(api.show_params(cohort_url).params.recency_buckets) == 1


def test_two_runs_recomputed_and_compared(cohort_url: str, tmp_path: Path) -> None:
    first = api.list_runs(cohort_url)["id"][0]
    params = tmp_path / "p.json"
    params.write_text(ONLY_90D)
    api.activate_params(cohort_url, params)
    api.recompute(cohort_url, as_of=AS_OF)
    second = next(i for i in api.list_runs(cohort_url)["id"] if i != first)
    sides = api.diff_runs(cohort_url, first[:8], second)
    result = diff_summary(diff_rows(sides.old, sides.new))
    assert (result["flipped_to_weak"], result["flipped_from_weak"]) == (1, 0)
    sides = api.diff_runs(cohort_url, second, first)
    back = diff_summary(diff_rows(sides.old, sides.new))
    assert (back["flipped_to_weak"], back["flipped_from_weak"]) == (0, 1)
    with pytest.raises(MasteryError, match="no run"):
        api.diff_runs(cohort_url, "abcdef12", second)


def test_algo_v0_against_its_own_rows_changes_nothing(cohort_url: str) -> None:
    out = CliRunner().invoke(
        app, ["diff", "--algo", "v0", "--format", "json", "--database-url", cohort_url]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["rows"] == []
    assert (result["summary"]["rows_compared"], result["summary"]["rows_changed"]) == (3, 0)
    bad = CliRunner().invoke(app, ["diff", "--run", "abcd1234", "--database-url", cohort_url])
    assert bad.exit_code != 0

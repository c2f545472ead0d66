"""``mastery runs``: the ledger at 80 columns, as JSON, and one run in full, on both stores.

Each test recomputes the small cohort of tests/cohort.py (one whole-cohort run, one run over
ALICE and theme 10) and leaves a FAILED run whose stored error holds rich markup (``[/x]``),
written through the ledger as a failing run writes it.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from pipeline import RunOptions, recompute
from pipeline.cli import app
from pipeline.io.store import open_store
from pipeline.run import ledger
from tests.cohort import ALICE, AS_OF, load_small_cohort

ODD_ERROR = "extract failed: [/x] closing tag [bold]not markup[/bold] :smile:"
RECORD_KEYS = {
    "run_id",
    "status",
    "trigger",
    "algorithm",
    "params_id",
    "params_checksum",
    "as_of",
    "scope",
    "user_id",
    "started_at",
    "completed_at",
    "seconds",
    "records_upserted",
    "users",
    "error_message",
    "input_summary",
    "output_summary",
}


@pytest.fixture
def ledger_url(initialized_url: str) -> str:
    load_small_cohort(initialized_url)
    recompute(initialized_url, options=RunOptions(trigger="test"), as_of=AS_OF)
    recompute(
        initialized_url,
        options=RunOptions(trigger="schedule"),
        as_of=AS_OF,
        users=[ALICE],
        themes=[10],
    )
    with open_store(initialized_url) as store:
        active = store.active_params()
        failed = ledger.start_run(
            store,
            algo_version_id=active.algo_version_id,
            params_id=active.params_id,
            user_id=None,
            trigger="cli",
            input_summary={"scope": {"users": "all", "themes": "all"}, "as_of": AS_OF.isoformat()},
        )
        ledger.fail_run(store, failed, ODD_ERROR)
    return initialized_url


def mastery(url: str, *args: str, columns: int = 80) -> Result:
    result = CliRunner().invoke(
        app, [*args, "--database-url", url], env={"COLUMNS": str(columns)}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result


def test_runs_fit_80_columns_with_whole_statuses(ledger_url: str) -> None:
    shown = mastery(ledger_url, "runs").stdout
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 80, shown
    cells = [c.strip() for line in lines for c in line.split("│")]
    assert cells.count("SUCCESS") == 2, shown
    assert cells.count("FAILED") == 1, shown
    assert not [line for line in lines if "│" in line and "…" in line], shown
    for needle in ("v0", "ab01e73aae67", "2026-11-25 00:00", "all", "1 user", "1 theme"):
        assert needle in shown, needle


def test_stored_error_with_markup_prints_verbatim(ledger_url: str) -> None:
    shown = mastery(ledger_url, "runs", columns=200).stdout
    assert ODD_ERROR in shown
    detail = mastery(ledger_url, "runs", "--run", _ids(ledger_url)[0][:8]).stdout
    assert f"error: {ODD_ERROR}" in detail.splitlines()


def test_runs_json_is_a_list_of_records(ledger_url: str) -> None:
    records = json.loads(mastery(ledger_url, "runs", "--json").stdout)
    assert [r["status"] for r in records] == ["FAILED", "SUCCESS", "SUCCESS"]
    assert all(set(r) == RECORD_KEYS for r in records)
    failed, scoped, whole = records
    assert failed["error_message"] == ODD_ERROR
    assert scoped["scope"] == {"users": [ALICE], "themes": [10]}
    assert (scoped["trigger"], scoped["records_upserted"], scoped["users"]) == ("schedule", 1, 1)
    assert whole["scope"] == {"users": "all", "themes": "all"}
    assert (whole["as_of"], whole["algorithm"], whole["records_upserted"]) == (
        "2026-11-25T00:00:00Z",
        "v0",
        3,
    )
    assert len(whole["params_checksum"]) == 64
    assert whole["output_summary"]["data_quality"]["null_theme_dropped"] == 1
    assert whole["seconds"] > 0


def test_one_run_in_full(ledger_url: str) -> None:
    whole_id = _ids(ledger_url)[2]
    lines = mastery(ledger_url, "runs", "--run", whole_id).stdout.splitlines()
    assert lines[:3] == [f"run: {whole_id}", "status: SUCCESS", "trigger: test"]
    for expected in ("as of: 2026-11-25T00:00:00Z", "scope: users all; themes all"):
        assert expected in lines
    text = "\n".join(lines)
    assert "records upserted: 3" in text
    assert "data quality: null_theme_dropped 1" in text
    assert "source rows: " in text
    assert "stage seconds: extract " in text


def test_one_run_as_json_by_prefix(ledger_url: str) -> None:
    scoped_id = _ids(ledger_url)[1]
    record = json.loads(mastery(ledger_url, "runs", "--run", scoped_id[:8], "--json").stdout)
    assert (record["run_id"], record["user_id"], record["scope"]["themes"]) == (
        scoped_id,
        None,
        [10],
    )
    assert set(record) == RECORD_KEYS


def test_unknown_and_malformed_run_ids(ledger_url: str) -> None:
    runner = CliRunner()
    for given, message in (
        ("00000000", "no run 00000000 in algo_runs"),
        ("x'; drop", "malformed run id"),
    ):
        result = runner.invoke(app, ["runs", "--run", given, "--database-url", ledger_url])
        assert result.exit_code != 0
        assert message in str(result.exception)


def _ids(url: str) -> list[str]:
    """Run ids newest first: the failed run, the scoped run, the whole-cohort run."""
    records = json.loads(mastery(url, "runs", "--json").stdout)
    return [r["run_id"] for r in records]

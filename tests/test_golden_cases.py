"""Golden cases of SPEC §4 (tests/cases/*.json): hand-worked rows and counts, run through the
pure kernel, the exact reference (tests/reference.py) and a real recompute on both stores.

The expected values in the case files are worked by hand from the SPEC (each case's "why");
nothing here derives them from the product. A case marked ``"pending"`` names a SPEC rule the
product has not landed yet: it runs as xfail(strict=False).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl
import pytest

from pipeline.contracts.params import Params
from pipeline.io.store import open_store
from pipeline.kernel import compute_cohort
from tests import reference as ref
from tests.dbutil import mastery_by_key
from tests.golden import (
    ATTEMPT_KEYS,
    CASE_KEYS,
    OPTIONAL_ATTEMPT_KEYS,
    OPTIONAL_CASE_KEYS,
    ROW_KEYS,
    STORE_ONLY_QUALITY_KEYS,
    TAGS,
    Case,
    catalog,
    computed_rows,
    expected_rows,
    instant,
    is_attempt,
    kernel_attempts,
    kernel_frame,
    load_cases,
    quality_differences,
    resolved_tags,
    row_differences,
    run_recompute,
    source_frames,
    stored_rows,
    summary_value,
)

CASES = load_cases()
INT32 = (-(2**31), 2**31 - 1)


def params_of(cases: Iterable[Case], *, why_pending: str = "") -> list[Any]:
    """One pytest param per case, id = its title; pending cases xfail (not strictly)."""
    out = []
    for case in cases:
        marks = []
        if case.pending:
            reason = f"pending: {case.pending} (new in SPEC §4){why_pending}"
            marks.append(pytest.mark.xfail(strict=False, reason=reason))
        out.append(pytest.param(case, id=case.title, marks=marks))
    return out


def fail_with(problems: list[str], case: Case) -> None:
    if problems:
        pytest.fail(f"{case.file}: {case.title}\n" + "\n".join(problems), pytrace=False)


# ---------------------------------------------------------------------------------------------
# the pure kernel


def _groupings() -> tuple[str | None, ...]:
    """Both grouping paths of the kernel where it offers the choice, else its one path."""
    if "grouping" in inspect.signature(compute_cohort).parameters:
        return ("grid", "hash")
    return (None,)


@pytest.mark.parametrize("case", params_of(c for c in CASES if c.only != "store"))
def test_kernel(case: Case) -> None:
    themes, blocks = catalog(case)
    expected = expected_rows(case, ordered_breakdown=True)
    quality = {k: v for k, v in case.expected_quality.items() if k not in STORE_ONLY_QUALITY_KEYS}
    problems = []
    for grouping in _groupings():
        result = compute_cohort(
            kernel_frame(kernel_attempts(case)),
            Params.from_mapping(case.params),
            case.as_of,
            themes=pl.LazyFrame({"id": list(themes)}, schema={"id": pl.Int32}),
            blocks=pl.LazyFrame({"id": blocks}, schema={"id": pl.Int32}),
            **({"grouping": grouping} if grouping else {}),
        )
        found = row_differences(expected, computed_rows(result.rows.iter_rows(named=True)))
        found += quality_differences(quality, result.data_quality, ref.DATA_QUALITY_KEYS)
        problems += [f"[grouping={grouping}] {p}" if grouping else p for p in found]
    fail_with(problems, case)


# ---------------------------------------------------------------------------------------------
# the exact reference: an independent check of the hand-work


@pytest.mark.parametrize(
    "case",
    params_of(
        (c for c in CASES if c.prior_as_of is None),
        why_pending="; tests/reference.py must implement it too",
    ),
)
def test_reference_agrees_with_the_hand_work(case: Case) -> None:
    themes, blocks = catalog(case)
    rows, quality = ref.reference(
        kernel_attempts(case), case.params, case.as_of, set(themes), set(blocks)
    )
    expected_quality = {
        k: v for k, v in case.expected_quality.items() if k not in STORE_ONLY_QUALITY_KEYS
    }
    problems = row_differences(expected_rows(case, ordered_breakdown=True), computed_rows(rows))
    problems += quality_differences(expected_quality, quality, ref.DATA_QUALITY_KEYS)
    fail_with(problems, case)


# ---------------------------------------------------------------------------------------------
# both stores: source rows in, a logged recompute, rows read back


def load_source(url: str, case: Case) -> None:
    """Into an initialized store: the case's params, then its source rows."""
    with open_store(url) as store:
        if case.params:
            store.activate_params(Params.from_mapping(case.params))
        with store.transaction():
            for table, frame in source_frames(case).items():
                if frame.height:
                    store.bulk_insert(table, frame)


STORE_CASES = [c for c in CASES if not c.skip_store or os.environ.get("GOLDEN_ALL_STORES")]


@pytest.mark.parametrize("case", params_of(STORE_CASES))
def test_store(case: Case, initialized_url: str) -> None:
    load_source(initialized_url, case)
    if case.prior_as_of is not None:
        run_recompute(initialized_url, case.prior_as_of)
    summary = run_recompute(initialized_url, case.as_of)
    problems = row_differences(
        expected_rows(case, ordered_breakdown=False), stored_rows(mastery_by_key(initialized_url))
    )
    quality = summary_value(summary, "data_quality")
    problems += quality_differences(case.expected_quality, quality, quality)
    for name, value in case.expected_summary.items():
        if summary_value(summary, name) != value:
            problems.append(f"summary {name}: expected {value}, got {summary_value(summary, name)}")
    fail_with(problems, case)


# ---------------------------------------------------------------------------------------------
# the case files themselves


SCORED_KEYS = ["total_attempts", "buckets", "mastery_score", "use_difficulty"]
BUCKET_KEYS = ["attempts", "correct", "accuracy", "weight", "contribution"]
INSUFFICIENT_KEYS = ["reason", "required", "actual"]


def test_case_files_are_well_formed() -> None:
    assert CASES, "no case files in tests/cases"
    problems: list[str] = []
    titles = [c.title for c in CASES]
    problems += [
        f"title used twice: {t!r}" for t in sorted({t for t in titles if titles.count(t) > 1})
    ]
    for case in CASES:
        problems += [f"{case.file}: {case.title}: {p}" for p in case_problems(case)]
    assert not problems, "\n".join(problems)


def case_problems(case: Case) -> list[str]:
    raw = case.raw
    problems = [f"missing key {k!r}" for k in CASE_KEYS if k not in raw]
    problems += [f"unknown key {k!r}" for k in raw if k not in CASE_KEYS + OPTIONAL_CASE_KEYS]
    if problems:
        return problems
    if not str(raw["spec"]).startswith("§"):
        problems.append("'spec' names no SPEC section")
    if not str(raw["why"]).startswith("hand-worked"):
        problems.append("'why' does not show the hand-work")
    if raw.get("only") not in (None, "store"):
        problems.append(f"'only' must be 'store', got {raw['only']!r}")
    if raw.get("skip_store") is not None and (raw.get("only") or not raw["skip_store"]):
        problems.append("'skip_store' needs a reason, and a store-only case cannot skip the store")
    try:
        instant(raw["as_of"])
        Params.from_mapping(case.params)
    except Exception as exc:  # a case must be valid input
        problems.append(f"bad as_of or params: {exc}")
        return problems
    problems += attempt_problems(case)
    problems += [p for row in raw["expected_rows"] for p in row_problems(case, row)]
    keys = [(r.get("user_id"), r.get("theme_id")) for r in raw["expected_rows"]]
    if keys != sorted(keys, key=lambda k: (str(k[0]), int(k[1] or 0))):
        problems.append("expected_rows are not in (user_id, theme_id) order")
    for key, count in case.expected_quality.items():
        if key not in (*ref.DATA_QUALITY_KEYS, *STORE_ONLY_QUALITY_KEYS):
            problems.append(f"unknown data-quality key {key!r}")
        if not isinstance(count, int) or count <= 0:
            problems.append(f"expected_data_quality lists only non-zero counts: {key}={count!r}")
    return problems


def attempt_problems(case: Case) -> list[str]:
    problems = []
    sessions: dict[str, tuple[Any, ...]] = {}
    links = set()
    for n, a in enumerate(case.attempts):
        where = f"attempt {n}"
        problems += [f"{where}: missing {k!r}" for k in ATTEMPT_KEYS if k not in a]
        problems += [
            f"{where}: unknown key {k!r}"
            for k in a
            if k not in ATTEMPT_KEYS + OPTIONAL_ATTEMPT_KEYS
        ]
        if any(k not in a for k in ATTEMPT_KEYS):
            continue
        for k in ("user", "session", "question"):
            if not (isinstance(a[k], str) and a[k].isascii() and 0 < len(a[k]) <= 12):
                problems.append(f"{where}: {k} must be a short ASCII name, got {a[k]!r}")
        for k in ("year", "block_id", "theme_id"):
            value = a[k]
            if value is not None and not (
                isinstance(value, int)
                and not isinstance(value, bool)
                and INT32[0] <= value <= INT32[1]
            ):
                problems.append(f"{where}: {k} must be an int32 or null, got {value!r}")
        if a["difficulty"] is not None and not isinstance(a["difficulty"], str):
            problems.append(f"{where}: difficulty must be text or null")
        if a["is_correct"] not in (True, False, None):
            problems.append(f"{where}: is_correct must be true, false or null")
        try:
            instant(a["answered_at"])
            instant(a["submitted_at"])
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: bad timestamp: {exc}")
        if a.get("stored_as") is not None and resolved_tags(a) != {t: a[t] for t in TAGS}:
            problems.append(
                f"{where}: stored_as resolves to {resolved_tags(a)}, not the attempt's tags"
            )
        if not is_attempt(a) and case.only != "store":
            problems.append(
                f"{where}: not an attempt by its session alone: mark the case store-only"
            )
        session = (a["user"], a["submitted_at"], a.get("status", "SUBMITTED"))
        if sessions.setdefault(a["session"], session) != session:
            problems.append(f"{where}: session {a['session']} has two users/submitted_at/status")
        link = (a["session"], a["question"])
        if link in links:
            problems.append(f"{where}: question {a['question']} twice in session {a['session']}")
        links.add(link)
    if case.prior_as_of is not None and case.only != "store":
        problems.append("a case with prior_as_of needs earlier runs: mark it store-only")
    return problems


PLAIN_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$")


def row_problems(case: Case, row: dict[str, Any]) -> list[str]:
    where = f"row ({row.get('user_id')}, {row.get('theme_id')})"
    problems = [f"{where}: missing {k!r}" for k in ROW_KEYS if k not in row]
    problems += [f"{where}: unknown key {k!r}" for k in row if k not in ROW_KEYS]
    if problems:
        return problems
    if not re.fullmatch(r"(100|[1-9]?[0-9])\.[0-9]{2}", str(row["accuracy_pct"])):
        problems.append(f"{where}: accuracy_pct must be text with 2 decimals in [0, 100]")
    if not re.fullmatch(r"(0\.[0-9]{4}|1\.0000)", str(row["mastery_score"])):
        problems.append(f"{where}: mastery_score must be text with 4 decimals in [0, 1]")
    if row["correct_total"] > row["attempts_total"]:
        problems.append(f"{where}: correct_total > attempts_total")
    params = ref.normalize_params(case.params)
    breakdown = row["breakdown"]
    if list(breakdown) == INSUFFICIENT_KEYS:
        if breakdown != {
            "reason": "insufficient_attempts",
            "required": params["min_attempts"],
            "actual": row["attempts_total"],
        }:
            problems.append(f"{where}: insufficient breakdown disagrees with the row or params")
        if row["attempts_total"] >= params["min_attempts"] or row["mastery_score"] != "0.0000":
            problems.append(f"{where}: insufficient breakdown on a row with enough attempts")
        return problems
    if list(breakdown) != SCORED_KEYS:
        return [*problems, f"{where}: breakdown keys {list(breakdown)} are not SPEC §4's"]
    if row["attempts_total"] < params["min_attempts"]:
        problems.append(f"{where}: scored breakdown below min_attempts")
    if breakdown["total_attempts"] != row["attempts_total"]:
        problems.append(f"{where}: total_attempts differs from attempts_total")
    if breakdown["use_difficulty"] is not params["use_difficulty"]:
        problems.append(f"{where}: use_difficulty differs from the params")
    labels = [f"{b['days']}d" for b in params["recency_buckets"]]
    if list(breakdown["buckets"]) != labels:
        problems.append(f"{where}: bucket labels {list(breakdown['buckets'])}, params say {labels}")
        return problems
    total = Decimal(0)
    previous = 0
    for bucket, label in zip(params["recency_buckets"], labels, strict=True):
        values = breakdown["buckets"][label]
        if list(values) != BUCKET_KEYS:
            problems.append(f"{where}: {label} keys {list(values)} are not SPEC §4's")
            continue
        for key, value in values.items():
            if isinstance(value, bool) or not PLAIN_NUMBER.match(str(value)):
                problems.append(f"{where}: {label}.{key} = {value} is not a plain JSON number")
        if Fraction(str(values["weight"])) != bucket["weight"]:
            problems.append(f"{where}: {label} weight differs from the params")
        if values["correct"] > values["attempts"] or values["attempts"] < previous:
            problems.append(f"{where}: {label} counts are not cumulative or exceed attempts")
        if values["attempts"] > row["attempts_total"]:
            problems.append(f"{where}: {label} holds more attempts than the row")
        previous = values["attempts"]
        total += Decimal(str(values["contribution"]))
    if not PLAIN_NUMBER.match(str(breakdown["mastery_score"])):
        problems.append(f"{where}: breakdown mastery_score is not a plain JSON number")
    if Decimal(str(breakdown["mastery_score"])) != Decimal(row["mastery_score"]):
        problems.append(f"{where}: breakdown mastery_score differs from the row's")
    if total != Decimal(row["mastery_score"]):
        problems.append(f"{where}: contributions sum to {total}, not {row['mastery_score']}")
    return problems

"""Mastery v0 reference, written from SPEC §4 alone: plain Python, exact ``Fraction`` arithmetic.

Deliberately slow and obvious: one loop per rule, no dataframes. The kernel under test must
equal it digit for digit (tests/test_kernel_property.py).

Input: a list of attempt dicts (the kernel's input columns), params as a plain dict (missing keys
take the SPEC defaults; weights as ``Decimal``, ``str``, ``int`` or ``float`` are read exactly as
the decimal they are written as), ``as_of`` (naive means UTC), and optional sets of the theme ids /
block ids that exist. Output: ``(rows, data_quality)``; rows are dicts with the kernel's output
columns in order, sorted by ``(user_id, theme_id)``.

Interpretations of points the SPEC leaves open (they follow the kernel contract in the brief):

* an answer with ``answered_at > as_of`` is not an attempt at all, so it is counted only as
  ``answered_after_as_of`` (never also as ``null_theme_dropped``);
* attempt-level counts (``null_answered_at``, ``null_is_correct``, ``unknown_difficulty``,
  ``themes_under_two_blocks``) are over the *kept* attempts (in the window, not answered after
  ``as_of``, theme not null), including attempts of rows later skipped for block reasons;
* ``themes_under_two_blocks`` pools all users: distinct theme ids whose kept attempts carry two
  or more distinct non-null block ids;
* a row is first checked for a block (``no_block_rows_skipped``), then for a dangling theme,
  then (theme known) for a dangling block.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl

DEFAULTS: dict[str, Any] = {
    "lookback_days": 90,
    "min_attempts": 5,
    "recency_buckets": [
        {"days": 7, "weight": "0.50"},
        {"days": 30, "weight": "0.30"},
        {"days": 90, "weight": "0.20"},
    ],
    "difficulty_weights": {"easy": "0.90", "medium": "1.00", "hard": "1.10"},
    "use_difficulty": False,
}

OUTPUT_COLUMNS = (
    "user_id",
    "theme_id",
    "year",
    "block_id",
    "attempts_total",
    "correct_total",
    "accuracy_pct",
    "mastery_score",
    "last_attempt_at",
    "breakdown_json",
)

DATA_QUALITY_KEYS = (
    "null_theme_dropped",
    "answered_after_as_of",
    "null_answered_at",
    "null_is_correct",
    "unknown_difficulty",
    "no_block_rows_skipped",
    "dangling_theme_rows_skipped",
    "dangling_block_rows_skipped",
    "themes_under_two_blocks",
)


# ---------------------------------------------------------------------------------------------
# exact numbers


def exact(value: Any) -> Fraction:
    """The exact rational a params number is written as (``0.35`` -> 7/20, never a binary float)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, Fraction):
        return value
    return Fraction(str(value))


def round_half_away(value: Fraction, places: int) -> Fraction:
    """Round an exact value to ``places`` decimals, ties away from zero."""
    scale = 10**places
    scaled = abs(value) * scale
    units = scaled.numerator * 2 + scaled.denominator  # floor(scaled + 1/2) ...
    units //= scaled.denominator * 2  # ... computed in integers
    return Fraction(units if value >= 0 else -units, scale)


def plain(value: Fraction) -> str:
    """Shortest plain decimal text of a terminating decimal: 0 -> '0', 4/5 -> '0.8', 1 -> '1'."""
    if value < 0:
        return "-" + plain(-value)
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
        if places > 30:
            raise ValueError(f"{value} is not a short terminating decimal")
    units = int(value * 10**places)
    if places == 0:
        return str(units)
    digits = str(units).rjust(places + 1, "0")
    text = f"{digits[:-places]}.{digits[-places:]}".rstrip("0")
    return text.rstrip(".")


def to_decimal(value: Fraction, places: int) -> Decimal:
    """An already-rounded Fraction as a Decimal with exactly ``places`` decimals."""
    units = value * 10**places
    assert units.denominator == 1, value
    return Decimal(int(units)).scaleb(-places)


# ---------------------------------------------------------------------------------------------
# params


def normalize_params(raw: dict[str, Any] | None) -> dict[str, Any]:
    """SPEC defaults for missing keys; numbers as exact Fractions; difficulty keys normalized."""
    merged = {**DEFAULTS, **(raw or {})}
    return {
        "lookback_days": int(merged["lookback_days"]),
        "min_attempts": int(merged["min_attempts"]),
        "recency_buckets": [
            {"days": int(b["days"]), "weight": exact(b["weight"])}
            for b in merged["recency_buckets"]
        ],
        "difficulty_weights": {
            str(k).strip().lower(): exact(v) for k, v in merged["difficulty_weights"].items()
        },
        "use_difficulty": bool(merged["use_difficulty"]),
    }


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def norm_difficulty(value: str | None) -> str | None:
    return None if value is None else value.strip().lower()


# ---------------------------------------------------------------------------------------------
# the algorithm


def latest_block_attempt(attempts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest attempt with a non-null block: answered_at (nulls first), submitted_at,
    question_id, session_id."""
    with_block = [a for a in attempts if a["block_id"] is not None]
    if not with_block:
        return None

    def key(a: dict[str, Any]) -> tuple[Any, ...]:
        answered = a["answered_at"]
        return (
            answered is not None,  # nulls first: a null answered_at is the earliest
            answered or datetime.min.replace(tzinfo=UTC),
            a["submitted_at"],
            a["question_id"],
            a["session_id"],
        )

    ordered = sorted(with_block, key=key)
    last = ordered[-1]
    for other in ordered[:-1]:
        if key(other) == key(last) and (other["block_id"], other["year"]) != (
            last["block_id"],
            last["year"],
        ):
            raise ValueError("a tie the SPEC does not break: generate distinct keys")
    return last


def accuracy(bucket: list[dict[str, Any]], params: dict[str, Any]) -> Fraction:
    """a_b: plain or difficulty-weighted accuracy of a bucket; 0 when it is empty."""
    if not bucket:
        return Fraction(0)
    if not params["use_difficulty"]:
        return Fraction(sum(1 for a in bucket if a["is_correct"] is True), len(bucket))
    weights = params["difficulty_weights"]
    total = Fraction(0)
    correct = Fraction(0)
    for a in bucket:
        name = norm_difficulty(a["difficulty"])
        w = weights.get(name, Fraction(1)) if name is not None else Fraction(1)
        total += w
        if a["is_correct"] is True:
            correct += w
    return correct / total


def score_row(
    attempts: list[dict[str, Any]], params: dict[str, Any], as_of: datetime
) -> tuple[Fraction, str]:
    """(mastery_score, breakdown_json) of one (user, theme) group."""
    total = len(attempts)
    if total < params["min_attempts"]:
        breakdown = (
            '{"reason":"insufficient_attempts",'
            f'"required":{params["min_attempts"]},"actual":{total}}}'
        )
        return Fraction(0), breakdown
    parts = []
    score = Fraction(0)
    for b in params["recency_buckets"]:
        cutoff = as_of - timedelta(days=b["days"])
        bucket = [
            a for a in attempts if a["answered_at"] is not None and a["answered_at"] >= cutoff
        ]
        correct = sum(1 for a in bucket if a["is_correct"] is True)
        a_b = accuracy(bucket, params)
        contribution = round_half_away(a_b * b["weight"], 4)
        score += contribution
        parts.append(
            f'"{b["days"]}d":{{"attempts":{len(bucket)},"correct":{correct},'
            f'"accuracy":{plain(round_half_away(a_b, 4))},"weight":{plain(b["weight"])},'
            f'"contribution":{plain(contribution)}}}'
        )
    score = round_half_away(score, 4)
    breakdown = (
        f'{{"total_attempts":{total},"buckets":{{{",".join(parts)}}},'
        f'"mastery_score":{plain(score)},'
        f'"use_difficulty":{"true" if params["use_difficulty"] else "false"}}}'
    )
    return score, breakdown


def reference(
    attempts: list[dict[str, Any]],
    raw_params: dict[str, Any] | None,
    as_of: datetime,
    theme_ids: set[int] | None = None,
    block_ids: set[int] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Mastery v0 rows and data-quality counts for resolved attempts (SPEC §4)."""
    params = normalize_params(raw_params)
    as_of = utc(as_of)
    window_start = as_of - timedelta(days=params["lookback_days"])
    dq = dict.fromkeys(DATA_QUALITY_KEYS, 0)

    kept: list[dict[str, Any]] = []
    for given in attempts:
        a = {**given}
        a["submitted_at"] = utc(a["submitted_at"])
        if a.get("answered_at") is not None:
            a["answered_at"] = utc(a["answered_at"])
        else:
            a["answered_at"] = None
        if not (window_start <= a["submitted_at"] <= as_of):
            continue  # not an attempt
        if a["answered_at"] is not None and a["answered_at"] > as_of:
            dq["answered_after_as_of"] += 1
            continue
        if a.get("theme_id") is None:
            dq["null_theme_dropped"] += 1
            continue
        kept.append(a)

    blocks_of_theme: dict[int, set[int]] = defaultdict(set)
    groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for a in kept:
        if a["answered_at"] is None:
            dq["null_answered_at"] += 1
        if a.get("is_correct") is None:
            dq["null_is_correct"] += 1
        name = norm_difficulty(a.get("difficulty"))
        if name is not None and name not in params["difficulty_weights"]:
            dq["unknown_difficulty"] += 1
        if a.get("block_id") is not None:
            blocks_of_theme[a["theme_id"]].add(a["block_id"])
        groups[(a["user_id"], a["theme_id"])].append(a)
    dq["themes_under_two_blocks"] = sum(1 for b in blocks_of_theme.values() if len(b) >= 2)

    rows = []
    for (user_id, theme_id), group in sorted(groups.items()):
        latest = latest_block_attempt(group)
        if latest is None:
            dq["no_block_rows_skipped"] += 1
            continue
        block_id = latest["block_id"]
        year = latest["year"] if latest.get("year") is not None else 1
        if theme_ids is not None and theme_id not in theme_ids:
            dq["dangling_theme_rows_skipped"] += 1
            continue
        if block_ids is not None and block_id not in block_ids:
            dq["dangling_block_rows_skipped"] += 1
            continue
        total = len(group)
        correct = sum(1 for a in group if a["is_correct"] is True)
        pct = round_half_away(Fraction(100 * correct, total), 2) if total else Fraction(0)
        score, breakdown = score_row(group, params, as_of)
        answered = [a["answered_at"] for a in group if a["answered_at"] is not None]
        rows.append(
            {
                "user_id": user_id,
                "theme_id": theme_id,
                "year": year,
                "block_id": block_id,
                "attempts_total": total,
                "correct_total": correct,
                "accuracy_pct": to_decimal(pct, 2),
                "mastery_score": to_decimal(score, 4),
                "last_attempt_at": max(answered) if answered else None,
                "breakdown_json": breakdown,
            }
        )
    return rows, dq


# ---------------------------------------------------------------------------------------------
# polars adapters for the tests (not part of the algorithm)

UTC_US = pl.Datetime("us", "UTC")
ATTEMPT_SCHEMA = pl.Schema(
    {
        "user_id": pl.String,
        "session_id": pl.String,
        "question_id": pl.String,
        "year": pl.Int32,
        "block_id": pl.Int32,
        "theme_id": pl.Int32,
        "difficulty": pl.String,
        "is_correct": pl.Boolean,
        "answered_at": UTC_US,
        "submitted_at": UTC_US,
    }
)
OUTPUT_SCHEMA = pl.Schema(
    {
        "user_id": pl.String,
        "theme_id": pl.Int32,
        "year": pl.Int32,
        "block_id": pl.Int32,
        "attempts_total": pl.Int32,
        "correct_total": pl.Int32,
        "accuracy_pct": pl.Decimal(5, 2),
        "mastery_score": pl.Decimal(6, 4),
        "last_attempt_at": UTC_US,
        "breakdown_json": pl.String,
    }
)


def attempts_frame(attempts: list[dict[str, Any]]) -> pl.LazyFrame:
    """Attempt dicts as the kernel's input LazyFrame (missing keys are null)."""
    columns = {name: [a.get(name) for a in attempts] for name in ATTEMPT_SCHEMA}
    return pl.DataFrame(columns, schema=ATTEMPT_SCHEMA).lazy()


def rows_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Reference rows as a frame of the kernel's output schema."""
    columns = {name: [r[name] for r in rows] for name in OUTPUT_SCHEMA}
    return pl.DataFrame(columns, schema=OUTPUT_SCHEMA)

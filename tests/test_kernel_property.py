"""The kernel equals the exact reference (tests/reference.py) on random cohorts and params.

Every column, the breakdown_json text digit for digit, and every data-quality count.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipeline.contracts.params import Params
from pipeline.kernel import compute_cohort
from tests.reference import attempts_frame, normalize_params, reference, rows_frame

AS_OFS = (
    datetime(2025, 6, 30, 12, 0, tzinfo=UTC),
    datetime(2025, 3, 30, 1, 30, 15, 123457, tzinfo=UTC),  # a DST night elsewhere; odd micros
    datetime(2024, 2, 29, 23, 59, 59, 999999),  # naive means UTC
)
US = timedelta(microseconds=1)
USERS = ("u1", "u2", "u10")
QUESTIONS = tuple(f"q{i}" for i in range(8))
DIFFICULTIES = (
    None, "easy", "medium", "hard", " Hard", "EASY", "Medium ", "\thard\t", "expert", "", "x",
)  # fmt: skip
DIFFICULTY_KEYS = {
    "easy": ("easy", "Easy", " EASY "),
    "medium": ("medium", "MEDIUM"),
    "hard": ("hard", " Hard"),
    "expert": ("expert",),
}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def decimal_text(units: int, places: int, pad: bool) -> Decimal:
    """units / 10**places written with ``places`` decimals, sometimes padded to 3 (0.350)."""
    value = Decimal(units).scaleb(-places)
    return value.quantize(Decimal("0.001")) if pad else value


@st.composite
def raw_params(draw: st.DrawFn) -> dict[str, Any]:
    """Valid params as a plain dict, some keys left to their defaults."""
    lookback = draw(st.sampled_from([1, 2, 7, 30, 45, 90, 100]) | st.integers(1, 100))
    n_buckets = draw(st.integers(1, min(4, lookback)))
    days = sorted(
        draw(st.lists(st.integers(1, lookback), min_size=n_buckets, max_size=n_buckets,
                      unique=True))
    )  # fmt: skip
    if draw(st.booleans()):
        days[-1] = lookback if lookback not in days[:-1] else days[-1]
    budget = 1000  # thousandths: weights sum <= 1
    bucket_weights: list[Decimal | float] = []
    for _ in days:
        places = draw(st.integers(1, 3))
        step = 10 ** (3 - places)
        units = draw(st.integers(0, budget // step))
        budget -= units * step
        weight = decimal_text(units, places, draw(st.booleans()))
        bucket_weights.append(float(weight) if draw(st.booleans()) else weight)
    bucket_weights = draw(st.permutations(bucket_weights))
    buckets = [{"days": d, "weight": w} for d, w in zip(days, bucket_weights, strict=True)]
    weights = {}
    for spellings in DIFFICULTY_KEYS.values():
        if draw(st.booleans()):
            places = draw(st.integers(0, 3))
            units = draw(st.integers(1, 3 * 10**places))
            weights[draw(st.sampled_from(spellings))] = decimal_text(units, places, False)
    raw: dict[str, Any] = {
        "lookback_days": lookback,
        "min_attempts": draw(st.integers(1, 6)),
        "recency_buckets": buckets,
        "difficulty_weights": weights,
        "use_difficulty": draw(st.booleans()),
    }
    for key in list(raw):  # missing keys take the defaults
        if draw(st.integers(0, 9)) == 0:
            del raw[key]
    if "lookback_days" not in raw and days[-1] > 90:
        raw["lookback_days"] = lookback
    if "recency_buckets" not in raw and raw.get("lookback_days", 90) < 90:
        raw["recency_buckets"] = buckets
    return raw


@st.composite
def cohort(draw: st.DrawFn) -> tuple[dict[str, Any], datetime, list[dict[str, Any]], Any, Any]:
    raw = draw(raw_params())
    as_of = draw(st.sampled_from(AS_OFS))
    aware = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of
    full = normalize_params(raw)
    lookback = full["lookback_days"]
    anchors = [aware, aware - timedelta(days=lookback)]
    anchors += [aware - timedelta(days=b["days"]) for b in full["recency_buckets"]]

    day = 86_400_000_000  # microseconds
    anchored = st.builds(
        lambda a, o: a + o, st.sampled_from(anchors), st.sampled_from([-US, US * 0, US])
    )
    inside = st.integers(0, lookback * day).map(lambda us: aware - timedelta(microseconds=us))
    around = st.integers(-2 * day, (lookback + 3) * day).map(
        lambda us: aware - timedelta(microseconds=us)
    )
    moment = st.one_of(anchored, inside, inside, around)
    submitted = {
        # sessions of one user may share a submitted_at: identity ties reach session_id
        user: draw(st.lists(moment, min_size=3, max_size=3))
        for user in USERS
    }
    attempt = st.fixed_dictionaries(
        {
            "user_id": st.sampled_from(USERS),
            "session": st.integers(0, 2),
            "question_id": st.sampled_from(QUESTIONS),
            "year": st.sampled_from([None, 1, 2, 3, INT32_MIN, INT32_MAX]),
            "block_id": st.sampled_from([None, 10, 10, 20, INT32_MIN, INT32_MAX]),
            "theme_id": st.sampled_from([None, 1, 1, 2, 3, INT32_MIN, INT32_MAX]),
            "difficulty": st.sampled_from(DIFFICULTIES),
            "is_correct": st.sampled_from([None, True, True, False]),
            "answered_at": st.none() | moment | st.sampled_from([FAR_PAST, FAR_FUTURE]),
        }
    )
    drawn = draw(
        st.lists(
            attempt,
            min_size=draw(st.integers(0, 30)),
            max_size=40,
            unique_by=lambda a: (a["user_id"], a["session"], a["question_id"]),
        )
    )
    attempts = []
    for a in drawn:
        session = a.pop("session")
        a["session_id"] = f"{a['user_id']}-s{session}"
        a["submitted_at"] = submitted[a["user_id"]][session]
        attempts.append(a)
    theme_ids = draw(
        st.one_of(st.none(), st.none(), st.sets(st.sampled_from([1, 2, 3]), min_size=2), st.sets(
            st.sampled_from([1, 2, 3, INT32_MAX])))
    )  # fmt: skip
    block_ids = draw(
        st.one_of(
            st.none(), st.none(), st.just({10}), st.sets(st.sampled_from([10, 20, INT32_MIN]))
        )
    )
    return raw, as_of, attempts, theme_ids, block_ids


def frames(theme_ids: set[int] | None, block_ids: set[int] | None) -> tuple[Any, Any]:
    themes = None
    if theme_ids is not None:
        ids = sorted(theme_ids)
        themes = pl.LazyFrame(
            {"id": ids, "block_id": [10] * len(ids)}, schema={"id": pl.Int32, "block_id": pl.Int32}
        )
    blocks = None
    if block_ids is not None:
        blocks = pl.LazyFrame({"id": sorted(block_ids)}, schema={"id": pl.Int32})
    return themes, blocks


@given(cohort())
def test_kernel_equals_exact_reference(case: tuple[Any, ...]) -> None:
    raw, as_of, attempts, theme_ids, block_ids = case
    expected_rows, expected_dq = reference(attempts, raw, as_of, theme_ids, block_ids)
    themes, blocks = frames(theme_ids, block_ids)
    result = compute_cohort(
        attempts_frame(attempts), Params.from_mapping(raw), as_of, themes=themes, blocks=blocks
    )
    assert_frame_equal(result.rows, rows_frame(expected_rows))
    assert result.data_quality == expected_dq


@given(cohort(), st.randoms(use_true_random=False))
def test_kernel_ignores_input_order(case: tuple[Any, ...], rng: random.Random) -> None:
    raw, as_of, attempts, theme_ids, block_ids = case
    themes, blocks = frames(theme_ids, block_ids)
    params = Params.from_mapping(raw)
    shuffled = attempts[:]
    rng.shuffle(shuffled)
    first, second = (
        compute_cohort(attempts_frame(these), params, as_of, themes=themes, blocks=blocks)
        for these in (attempts, shuffled)
    )
    assert_frame_equal(first.rows, second.rows)
    assert first.data_quality == second.data_quality


TIE_PRONE_COUNTS = (2, 4, 5, 8, 10, 16, 20, 25, 32, 40, 50, 64, 80, 125, 160)


@st.composite
def tie_prone_case(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One user and theme, every attempt in every bucket, counts whose ratios end in 5s."""
    n = draw(st.sampled_from(TIE_PRONE_COUNTS))
    correct = draw(st.integers(0, n))
    n_buckets = draw(st.integers(1, 3))
    budget = 1000
    buckets = []
    for days in (7, 30, 90)[:n_buckets]:
        units = draw(st.sampled_from([5, 25, 125, 175, 225, 275, 300, 350, 375, 500, 625, 875])
                     | st.integers(0, 1000))  # fmt: skip
        units = min(units, budget)
        budget -= units
        buckets.append({"days": days, "weight": Decimal(units).scaleb(-3)})
    use_difficulty = draw(st.booleans())
    half = st.sampled_from(["0.5", "1", "1.5", "2", "2.5", "0.25", "1.25", "0.125", "0.4"])
    weights = {name: Decimal(draw(half)) for name in ("easy", "medium", "hard")}
    difficulty = st.sampled_from(["easy", "medium", "hard", None])
    as_of = AS_OFS[0]
    attempts = [
        {
            "user_id": "u1",
            "session_id": "s1",
            "question_id": f"q{i:03d}",
            "year": 1,
            "block_id": 10,
            "theme_id": 1,
            "difficulty": draw(difficulty),
            "is_correct": i < correct,
            "answered_at": as_of - timedelta(hours=1),
            "submitted_at": as_of,
        }
        for i in range(n)
    ]
    raw = {
        "min_attempts": 1,
        "recency_buckets": buckets,
        "difficulty_weights": weights,
        "use_difficulty": use_difficulty,
    }
    return raw, attempts


@given(tie_prone_case())
def test_kernel_rounds_ties_like_the_reference(case: tuple[Any, ...]) -> None:
    raw, attempts = case
    expected_rows, expected_dq = reference(attempts, raw, AS_OFS[0])
    result = compute_cohort(attempts_frame(attempts), Params.from_mapping(raw), AS_OFS[0])
    assert_frame_equal(result.rows, rows_frame(expected_rows))
    assert result.data_quality == expected_dq

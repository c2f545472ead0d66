"""Params validation, defaults and canonical checksum against SPEC §4."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from pipeline.contracts.params import DEFAULT_PARAMS, Params, ParamsError

# SPEC §4 default params, written out by hand with numbers normalized (0.50 -> 0.5, 1.00 -> 1)
DEFAULT_OBJ: dict[str, Any] = {
    "lookback_days": 90,
    "min_attempts": 5,
    "recency_buckets": [
        {"days": 7, "weight": 0.5},
        {"days": 30, "weight": 0.3},
        {"days": 90, "weight": 0.2},
    ],
    "difficulty_weights": {"easy": 0.9, "medium": 1, "hard": 1.1},
    "use_difficulty": False,
}
DEFAULT_CANONICAL = (
    '{"difficulty_weights":{"easy":0.9,"hard":1.1,"medium":1},"lookback_days":90,'
    '"min_attempts":5,"recency_buckets":[{"days":7,"weight":0.5},{"days":30,"weight":0.3},'
    '{"days":90,"weight":0.2}],"use_difficulty":false}'
)


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def error_of(raw: Any) -> str:
    with pytest.raises(ParamsError) as info:
        Params.from_mapping(raw)
    return str(info.value)


def bucket(days: Any, weight: Any) -> dict[str, Any]:
    return {"days": days, "weight": weight}


# -----------------------------------------------------------------------------------------------
# invalid params: each problem raises ParamsError naming it


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("lookback-zero", {"lookback_days": 0}, "lookback_days"),
    ("lookback-negative", {"lookback_days": -5}, "lookback_days"),
    ("lookback-string", {"lookback_days": "90"}, "lookback_days"),
    ("lookback-float", {"lookback_days": 1.5}, "lookback_days"),
    ("lookback-bool", {"lookback_days": True}, "lookback_days"),
    ("lookback-null", {"lookback_days": None}, "lookback_days"),
    ("min-attempts-zero", {"min_attempts": 0}, "min_attempts"),
    ("min-attempts-negative", {"min_attempts": -1}, "min_attempts"),
    ("min-attempts-string", {"min_attempts": "5"}, "min_attempts"),
    ("min-attempts-float", {"min_attempts": 2.5}, "min_attempts"),
    ("min-attempts-bool", {"min_attempts": True}, "min_attempts"),
    ("buckets-empty", {"recency_buckets": []}, "recency_buckets"),
    ("buckets-not-a-list", {"recency_buckets": bucket(7, 0.5)}, "recency_buckets"),
    ("buckets-null", {"recency_buckets": None}, "recency_buckets"),
    ("bucket-not-an-object", {"recency_buckets": [7]}, "recency_buckets"),
    ("bucket-days-zero", {"recency_buckets": [bucket(0, 0.5)]}, "days"),
    ("bucket-days-negative", {"recency_buckets": [bucket(-7, 0.5)]}, "days"),
    ("bucket-days-string", {"recency_buckets": [bucket("7", 0.5)]}, "days"),
    ("bucket-days-float", {"recency_buckets": [bucket(7.5, 0.5)]}, "days"),
    ("bucket-days-missing", {"recency_buckets": [{"weight": 0.5}]}, "days"),
    ("bucket-weight-negative", {"recency_buckets": [bucket(7, -0.1)]}, "weight"),
    ("bucket-weight-above-1", {"recency_buckets": [bucket(7, 1.5)]}, "weight"),
    ("bucket-weight-string", {"recency_buckets": [bucket(7, "0.5")]}, "weight"),
    ("bucket-weight-bool", {"recency_buckets": [bucket(7, True)]}, "weight"),
    ("bucket-weight-null", {"recency_buckets": [bucket(7, None)]}, "weight"),
    ("bucket-weight-missing", {"recency_buckets": [{"days": 7}]}, "weight"),
    ("difficulty-zero", {"difficulty_weights": {"easy": 0}}, "difficulty_weights"),
    ("difficulty-negative", {"difficulty_weights": {"hard": -1.1}}, "difficulty_weights"),
    ("difficulty-string", {"difficulty_weights": {"easy": "0.9"}}, "difficulty_weights"),
    ("difficulty-bool", {"difficulty_weights": {"easy": True}}, "difficulty_weights"),
    ("difficulty-null", {"difficulty_weights": {"easy": None}}, "difficulty_weights"),
    ("difficulty-not-a-map", {"difficulty_weights": ["easy"]}, "difficulty_weights"),
    ("use-difficulty-string", {"use_difficulty": "yes"}, "use_difficulty"),
    ("use-difficulty-int", {"use_difficulty": 1}, "use_difficulty"),
    ("use-difficulty-null", {"use_difficulty": None}, "use_difficulty"),
    ("unknown-key-typo", {"min_attempt": 5}, "min_attempt"),
    ("unknown-key", {"decay": 0.5}, "decay"),
]


@pytest.mark.parametrize(("raw", "needle"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_field_raises_params_error_naming_it(raw: dict[str, Any], needle: str) -> None:
    assert needle in error_of(raw)


@pytest.mark.parametrize(("raw", "needle"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_field_from_json_too(raw: dict[str, Any], needle: str) -> None:
    with pytest.raises(ParamsError) as info:
        Params.from_json(json.dumps(raw))
    assert needle in str(info.value)


CROSS_FIELD: list[tuple[str, dict[str, Any], str]] = [
    (
        "days-not-increasing",
        {"recency_buckets": [bucket(30, 0.3), bucket(7, 0.5)]},
        r"increas|ascend|order",
    ),
    (
        "days-repeated",
        {"recency_buckets": [bucket(7, 0.3), bucket(7, 0.5)]},
        r"increas|ascend|order|unique|duplicate",
    ),
    ("days-above-lookback", {"recency_buckets": [bucket(91, 0.5)]}, r"lookback"),
    (
        "days-above-custom-lookback",
        {"lookback_days": 30, "recency_buckets": [bucket(7, 0.5), bucket(31, 0.1)]},
        r"lookback",
    ),
    (
        "default-buckets-above-lookback",  # missing buckets take the defaults: 90 > 30
        {"lookback_days": 30},
        r"lookback",
    ),
    ("weights-sum-above-1", {"recency_buckets": [bucket(7, 0.6), bucket(30, 0.5)]}, r"sum|total"),
    (
        "weights-sum-just-above-1",
        {"recency_buckets": [bucket(7, 0.5), bucket(30, 0.3), bucket(90, 0.201)]},
        r"sum|total",
    ),
]


@pytest.mark.parametrize(
    ("raw", "pattern"), [c[1:] for c in CROSS_FIELD], ids=[c[0] for c in CROSS_FIELD]
)
def test_cross_field_rule_raises_params_error(raw: dict[str, Any], pattern: str) -> None:
    message = error_of(raw)
    assert re.search(pattern, message, re.IGNORECASE), message


def test_several_problems_named_in_one_error() -> None:
    message = error_of({"lookback_days": 0, "min_attempts": "x", "use_difficulty": "yes"})
    for name in ("lookback_days", "min_attempts", "use_difficulty"):
        assert name in message, message


def test_several_bucket_and_field_problems_in_one_error() -> None:
    message = error_of(
        {
            "min_attempts": 0,
            "recency_buckets": [bucket(0, 0.5), bucket(30, 2)],
            "difficulty_weights": {"easy": -1},
            "min_attempt": 3,
        }
    )
    for name in ("min_attempts", "days", "weight", "difficulty_weights", "min_attempt"):
        assert name in message, message


def test_several_cross_field_problems_in_one_error() -> None:
    message = error_of({"recency_buckets": [bucket(30, 0.6), bucket(7, 0.6), bucket(100, 0.1)]})
    assert re.search(r"increas|ascend|order", message, re.IGNORECASE), message
    assert re.search(r"lookback", message), message
    assert re.search(r"sum|total", message, re.IGNORECASE), message


def test_params_error_is_one_line() -> None:
    message = error_of({"lookback_days": 0, "min_attempts": 0, "recency_buckets": []})
    assert "\n" not in message


@pytest.mark.parametrize("raw", [[1, 2], "lookback_days=90", 42])
def test_non_mapping_rejected(raw: Any) -> None:
    with pytest.raises(ParamsError):
        Params.from_mapping(raw)


@pytest.mark.parametrize(
    "text",
    ["[]", '"x"', "{not json", "", '{"lookback_days": 90,}', '{"recency_buckets": '
     '[{"days": 7, "weight": NaN}]}', '{"recency_buckets": [{"days": 7, "weight": Infinity}]}'],
)  # fmt: skip
def test_bad_json_rejected(text: str) -> None:
    with pytest.raises(ParamsError):
        Params.from_json(text)


# -----------------------------------------------------------------------------------------------
# valid params


def test_empty_mapping_takes_all_defaults() -> None:
    p = Params.from_mapping({})
    assert p.lookback_days == 90
    assert p.min_attempts == 5
    assert p.use_difficulty is False
    assert [(b.days, b.weight) for b in p.recency_buckets] == [
        (7, Decimal("0.5")),
        (30, Decimal("0.3")),
        (90, Decimal("0.2")),
    ]
    assert p.difficulty_weights == {
        "easy": Decimal("0.9"),
        "medium": Decimal("1"),
        "hard": Decimal("1.1"),
    }


def test_missing_keys_take_defaults() -> None:
    p = Params.from_mapping({"min_attempts": 3, "use_difficulty": True})
    assert (p.min_attempts, p.use_difficulty, p.lookback_days) == (3, True, 90)
    assert [b.days for b in p.recency_buckets] == [7, 30, 90]
    assert p.difficulty_weights["hard"] == Decimal("1.1")


def test_default_params_dict_is_the_spec_default() -> None:
    assert Params.from_mapping(DEFAULT_PARAMS).canonical_json() == canonical(DEFAULT_OBJ)


def test_boundary_values_are_valid() -> None:
    p = Params.from_mapping(
        {"lookback_days": 1, "min_attempts": 1, "recency_buckets": [bucket(1, 1)]}
    )
    assert (p.lookback_days, p.min_attempts, p.recency_buckets[0].days) == (1, 1, 1)
    assert p.recency_buckets[0].weight == 1
    p = Params.from_mapping({"recency_buckets": [bucket(7, 0), bucket(90, 0)]})
    assert [b.weight for b in p.recency_buckets] == [0, 0]


def test_weights_summing_to_exactly_1_are_valid_despite_floats() -> None:
    # 0.1 + 0.2 + 0.7 is 1.0000000000000002 in binary floats, exactly 1 in decimals
    raw = {"recency_buckets": [bucket(7, 0.1), bucket(30, 0.2), bucket(90, 0.7)]}
    p = Params.from_mapping(raw)
    assert sum(b.weight for b in p.recency_buckets) == Decimal(1)
    p = Params.from_json(json.dumps(raw))
    assert [b.weight for b in p.recency_buckets] == [Decimal("0.1"), Decimal("0.2"), Decimal("0.7")]


def test_float_and_json_weights_are_exact_decimals() -> None:
    text = '{"recency_buckets": [{"days": 7, "weight": 0.35}, {"days": 30, "weight": 0.15}]}'
    for p in (Params.from_json(text), Params.from_mapping(json.loads(text))):
        weights = [b.weight for b in p.recency_buckets]
        assert all(isinstance(w, Decimal) for w in weights)
        assert weights == [Decimal("0.35"), Decimal("0.15")]
        assert weights[0].as_tuple().exponent >= -3  # not Decimal(0.35) with 50 digits


def test_difficulty_weight_keys_lower_cased_and_trimmed() -> None:
    p = Params.from_mapping({"difficulty_weights": {" Hard ": 1.2, "EASY": 0.8}})
    assert p.difficulty_weights == {"hard": Decimal("1.2"), "easy": Decimal("0.8")}


def test_difficulty_weights_replace_the_default_map() -> None:
    p = Params.from_mapping({"difficulty_weights": {"expert": 2}})
    assert p.difficulty_weights == {"expert": Decimal(2)}


# -----------------------------------------------------------------------------------------------
# canonical JSON and checksum


def test_default_canonical_json_and_checksum() -> None:
    expected = canonical(DEFAULT_OBJ)
    assert expected == DEFAULT_CANONICAL
    p = Params.from_mapping({})
    assert p.canonical_json() == expected
    assert p.checksum() == sha256(expected)
    assert re.fullmatch(r"[0-9a-f]{64}", p.checksum())


def test_checksum_ignores_formatting_key_order_and_trailing_zeros() -> None:
    text = """{
        "use_difficulty": false,
        "recency_buckets": [{"weight": 0.500, "days": 7}, {"days": 30, "weight": 0.30},
                            {"days": 90, "weight": 0.2}],
        "difficulty_weights": {"hard": 1.10, "Medium": 1.00, "easy": 0.9},
        "lookback_days": 90
    }"""
    assert Params.from_json(text).checksum() == sha256(DEFAULT_CANONICAL)


def test_custom_canonical_json_by_hand() -> None:
    raw = {
        "lookback_days": 30,
        "min_attempts": 3,
        "recency_buckets": [bucket(7, Decimal("0.350")), bucket(30, Decimal("0.15"))],
        "difficulty_weights": {"hard": Decimal("1.250"), "easy": Decimal("10")},
        "use_difficulty": True,
    }
    expected = (
        '{"difficulty_weights":{"easy":10,"hard":1.25},"lookback_days":30,"min_attempts":3,'
        '"recency_buckets":[{"days":7,"weight":0.35},{"days":30,"weight":0.15}],'
        '"use_difficulty":true}'
    )
    p = Params.from_mapping(raw)
    assert p.canonical_json() == expected
    assert p.checksum() == sha256(expected)


def test_different_params_different_checksum() -> None:
    base = Params.from_mapping({}).checksum()
    assert Params.from_mapping({"min_attempts": 4}).checksum() != base
    assert Params.from_mapping({"use_difficulty": True}).checksum() != base


# -----------------------------------------------------------------------------------------------
# every problem at once: field errors and the rules between fields in one message


def test_field_and_cross_field_problems_in_one_error() -> None:
    message = error_of(
        {"min_attempts": 0, "recency_buckets": [bucket(30, 0.6), bucket(7, 0.6)], "decay": 1}
    )
    for needle in ("min_attempts", "decay", "strictly increasing", "sum to 1.2"):
        assert needle in message, message
    assert "\n" not in message


def test_cross_field_rules_use_the_fields_that_parsed() -> None:
    # lookback_days is broken, so "exceeds lookback_days" cannot be judged; the order can
    message = error_of({"lookback_days": "x", "recency_buckets": [bucket(90, 0.1), bucket(7, 0.1)]})
    assert "lookback_days: Input should be a valid integer" in message, message
    assert "strictly increasing, got [90, 7]" in message, message
    assert "exceeds lookback_days" not in message, message


def test_broken_bucket_days_skip_the_order_rule_but_not_the_weights_sum() -> None:
    message = error_of({"recency_buckets": [bucket(0, 0.7), bucket(7, 0.7), bucket(3, 0.7)]})
    assert "recency_buckets.0.days" in message, message
    assert "strictly increasing" not in message, message
    assert "sum to 2.1" in message, message


def test_each_cross_field_problem_is_named_once() -> None:
    message = error_of({"recency_buckets": [bucket(30, 0.6), bucket(7, 0.6)]})
    assert message.count("strictly increasing") == 1, message
    assert message.count("sum to") == 1, message

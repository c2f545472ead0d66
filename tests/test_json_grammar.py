"""The output check's grammar of a JSON object (schemas/mastery.py), against Python's parser.

The check first matches every breakdown against a regular expression of JSON objects
(``JSON_OBJECT``) and parses texts one by one only when some text does not match. So the
expression must accept nothing but JSON objects (else a broken breakdown would be stored), and
should accept the shapes the kernels write (else the check is slow, not wrong).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.schemas.mastery import (  # type: ignore[import-not-found, unused-ignore]
    JSON_OBJECT,
    json_objects,
)

PATTERN = re.compile(JSON_OBJECT)


def _refuse(constant: str) -> Any:
    raise ValueError(constant)


def _encodable(value: Any) -> bool:
    """No lone surrogate anywhere (Postgres' jsonb refuses one)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    return True


def _finite(number: str) -> float:
    """A number as a double reads it: one beyond a double's range is refused (``1e400``;
    Polars and browsers read JSON numbers as doubles), one below it underflows to 0."""
    value = float(number)  # (an integer literal too: exact where a double can hold it)
    if math.isinf(value):
        raise ValueError(number)
    return value


def is_object(text: str) -> bool:
    """Python's strict parse: one JSON object, no NaN or Infinity, every number a finite
    double, no lone surrogate."""
    try:
        value = json.loads(text, parse_constant=_refuse, parse_float=_finite, parse_int=_finite)
    except (ValueError, OverflowError):
        return False
    return isinstance(value, dict) and _encodable(value)


atoms = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(-1e9, 1e9, allow_nan=False)
    | st.text(max_size=8)
)


def nested(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return atoms
    inner = nested(depth - 1)
    objects = st.dictionaries(st.text(max_size=5), inner, max_size=3)
    return atoms | st.lists(inner, max_size=3) | objects


objects = st.dictionaries(st.text(max_size=6), nested(3), max_size=4)
LAYOUTS: list[dict[str, Any]] = [{}, {"separators": (",", ":")}, {"indent": 2}, {"indent": "\t"}]
layouts = st.sampled_from(LAYOUTS)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """A dumped object, often broken by one edit (a character deleted, replaced or added)."""
    text: str = json.dumps(draw(objects), ensure_ascii=draw(st.booleans()), **draw(layouts))
    edit = draw(st.sampled_from(["none", "delete", "replace", "insert"]))
    if edit == "none" or not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    char: str = draw(st.sampled_from([*'{}[]",:.-+eE0 \\\n', "\x01", "a", "\u00e9"]))
    if edit == "delete":
        return text[:at] + text[at + 1 :]
    if edit == "replace":
        return text[:at] + char + text[at + 1 :]
    return text[:at] + char + text[at:]


@settings(max_examples=400, deadline=None)
@given(texts())
def test_the_grammar_accepts_only_json_objects(text: str) -> None:
    if PATTERN.search(text):
        assert is_object(text), text


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), nested(2), max_size=4), layouts)
def test_the_grammar_accepts_every_object_two_levels_deep_without_unicode_escapes(
    value: dict[str, Any], layout: dict[str, Any]
) -> None:
    text = json.dumps(value, ensure_ascii=False, **layout)
    if "\\u" not in text:
        assert PATTERN.search(text), text


@settings(max_examples=200, deadline=None)
@given(st.lists(texts(), min_size=1, max_size=4))
def test_the_check_agrees_with_pythons_parser(batch: list[str]) -> None:
    checked = json_objects(pl.LazyFrame({"b": batch}), "b").collect().to_series()
    assert checked.to_list() == [is_object(text) for text in batch]


NUMBERS = {
    "1e400": False,  # beyond a double's range (about 1.8e308)
    "100000000e1875": False,
    "-1e400": False,
    "9" * 400: False,
    "1e308": True,
    "1e-400": True,  # underflows to 0
    "9" * 300: True,
    "12345678901234567890": True,
    "-0.5E+2": True,
}


def test_a_number_beyond_a_doubles_range_is_refused_whatever_it_is_checked_with() -> None:
    texts = [f'{{"a": {number}}}' for number in NUMBERS]
    expected = list(NUMBERS.values())
    for batch, verdicts in ((texts, expected), (["}", *texts], [False, *expected])):
        checked = json_objects(pl.LazyFrame({"b": batch}), "b").collect().to_series()
        assert checked.to_list() == verdicts


def test_the_kernels_breakdowns_match_the_grammar() -> None:
    v0 = (
        '{"total_attempts":19,"buckets":{"7d":{"attempts":0,"correct":0,"accuracy":0,'
        '"weight":0.5,"contribution":0}},"mastery_score":0.1789,"use_difficulty":false}'
    )
    v1 = (
        '{"model":"v1","state":"ok","estimate":0.7522,"interval":[0.57,0.88],'
        '"theme":{"attempts":23,"expected":16.5,"days":365},"logits":{"recent":0},'
        '"explanation":"18 of 23 right; other students answer it right 74 % of the time"}'
    )
    assert PATTERN.search(v0)
    assert PATTERN.search(v1)
    assert not PATTERN.search(v1.replace("0.7522", "NaN"))

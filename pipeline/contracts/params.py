"""Mastery v0 params (SPEC §4): a validated, immutable model with a canonical JSON checksum."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)

from pipeline.contracts.errors import ParamsError

if TYPE_CHECKING:
    from pipeline.contracts.params_v1 import ParamsV1

DEFAULT_PARAMS: dict[str, Any] = {
    "lookback_days": 90,
    "min_attempts": 5,
    "recency_buckets": [
        {"days": 7, "weight": Decimal("0.50")},
        {"days": 30, "weight": Decimal("0.30")},
        {"days": 90, "weight": Decimal("0.20")},
    ],
    "difficulty_weights": {
        "easy": Decimal("0.90"),
        "medium": Decimal("1.00"),
        "hard": Decimal("1.10"),
    },
    "use_difficulty": False,
}


def _number(value: Any) -> Any:
    """JSON numbers only: a string or a bool where a number belongs is an error, not a cast."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a number")
    return value


Weight = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, le=1, allow_inf_nan=False)]
PositiveNumber = Annotated[Decimal, BeforeValidator(_number), Field(gt=0, allow_inf_nan=False)]


class Bucket(BaseModel):
    """One cumulative recency bucket: attempts answered in the last ``days`` days."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    days: Annotated[StrictInt, Field(ge=1)]
    weight: Weight

    @property
    def label(self) -> str:
        return f"{self.days}d"


class Params(BaseModel):
    """Validated params; build with :meth:`from_mapping` or :meth:`from_json`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    lookback_days: Annotated[StrictInt, Field(ge=1)] = 90
    min_attempts: Annotated[StrictInt, Field(ge=1)] = 5
    recency_buckets: Annotated[list[Bucket], Field(min_length=1)]
    difficulty_weights: dict[str, PositiveNumber]
    use_difficulty: StrictBool = False

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Params:
        problems = cross_field_problems(
            self.lookback_days,
            [b.days for b in self.recency_buckets],
            [b.weight for b in self.recency_buckets],
            list(self.difficulty_weights),
        )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None = None) -> Params:
        """Validate raw params; missing keys take the defaults, unknown keys are errors."""
        if raw is not None and not isinstance(raw, Mapping):
            raise ParamsError("invalid params: expected a JSON object")
        merged = {**DEFAULT_PARAMS, **exact_decimals(dict(raw or {}))}
        try:
            params = cls.model_validate(merged)
        except ValidationError as exc:
            problems = describe_validation(exc)
            # field errors stop pydantic before the cross-field rules: check them on what parsed
            problems += [p for p in _raw_cross_field_problems(merged) if p not in problems]
            raise ParamsError("invalid params: " + "; ".join(problems)) from None
        weights = {_difficulty_key(k): v for k, v in params.difficulty_weights.items()}
        return params.model_copy(update={"difficulty_weights": weights})

    @classmethod
    def from_json(cls, text: str) -> Params:
        """Parse JSON keeping decimals exact (0.35 stays 0.35, never a binary float)."""
        return cls.from_mapping(load_exact_json(text, "invalid params"))

    def to_json_obj(self) -> dict[str, Any]:
        """Plain JSON-ready dict with decimals as Decimal (serialize with :func:`dumps`)."""
        return {
            "lookback_days": self.lookback_days,
            "min_attempts": self.min_attempts,
            "recency_buckets": [{"days": b.days, "weight": b.weight} for b in self.recency_buckets],
            "difficulty_weights": dict(self.difficulty_weights),
            "use_difficulty": self.use_difficulty,
        }

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, decimals normalized: the checksummed form."""
        return dumps(self.to_json_obj(), sort_keys=True)

    def checksum(self) -> str:
        return checksum_of(self.canonical_json())


def default_params() -> Params:
    return Params.from_mapping({})


def params_document(params: Params | ParamsV1) -> str:
    """The params as an indented JSON file (the SPEC's key order) that :meth:`Params.from_json`
    reads back to the same checksum."""
    return json.dumps(_plain_numbers(params.to_json_obj()), indent=2)


def load_exact_json(text: str, problem: str) -> Any:
    """JSON with every decimal kept exact (0.35 stays 0.35, never a binary float); bad JSON is
    one line starting with ``problem``."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ParamsError(f"{problem}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def checksum_of(canonical_json: str) -> str:
    """The sha256 a params row is stored and compared by (SPEC §2)."""
    return hashlib.sha256(canonical_json.encode()).hexdigest()


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    """JSON with Decimals written as plain numbers without trailing zeros (0.50 -> 0.5)."""
    return json.dumps(_plain_numbers(obj), sort_keys=sort_keys, separators=(",", ":"))


def _plain_numbers(obj: Any) -> Any:
    """Integral decimals become ints and the rest floats, whose repr is their shortest text."""
    if isinstance(obj, Decimal):
        text = plain_decimal(obj)
        return int(text) if "." not in text else float(text)
    if isinstance(obj, Mapping):
        return {k: _plain_numbers(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain_numbers(v) for v in obj]
    return obj


def plain_decimal(value: Decimal) -> str:
    """Shortest plain decimal text: 0.50 -> '0.5', 1.00 -> '1', 1E+1 -> '10'."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _difficulty_key(name: str) -> str:
    return name.strip().lower()


def exact_decimals(obj: Any) -> Any:
    """Floats from Python callers become the Decimal of their shortest repr (0.35 -> 0.35)."""
    if isinstance(obj, float):
        return Decimal(repr(obj))
    if isinstance(obj, Mapping):
        return {k: exact_decimals(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [exact_decimals(v) for v in obj]
    return obj


def cross_field_problems(
    lookback_days: int | None,
    days: Sequence[int] | None,
    weights: Sequence[Decimal],
    difficulty_names: Sequence[str],
) -> list[str]:
    """The rules between fields (SPEC §4), each a one-line message; ``None`` skips a rule
    whose field did not parse. ``weights`` are the bucket weights that did parse."""
    problems = []
    if days and any(a >= b for a, b in pairwise(days)):
        problems.append(f"recency_buckets: days must be strictly increasing, got {list(days)}")
    if days and lookback_days is not None and max(days) > lookback_days:
        problems.append(f"recency_buckets: days {max(days)} exceeds lookback_days {lookback_days}")
    total = sum(weights, Decimal(0))
    if total > 1:
        problems.append(f"recency_buckets: weights sum to {plain_decimal(total)}, must be <= 1")
    names = [_difficulty_key(k) for k in difficulty_names]
    if len(set(names)) != len(names):
        problems.append("difficulty_weights: names collide after lower-casing and trimming")
    if any(not n for n in names):
        problems.append("difficulty_weights: names must be non-empty")
    return problems


def _raw_cross_field_problems(raw: Mapping[str, Any]) -> list[str]:
    """:func:`cross_field_problems` over raw values, using only the parts that are valid."""
    lookback = raw.get("lookback_days")
    buckets = raw.get("recency_buckets")
    buckets = [b for b in buckets if isinstance(b, Mapping)] if isinstance(buckets, list) else []
    days = [b.get("days") for b in buckets]
    weights = [b.get("weight") for b in buckets]
    names = raw.get("difficulty_weights")
    return cross_field_problems(
        lookback if _whole(lookback) else None,
        days if days and all(_whole(d) for d in days) else None,
        [w for w in weights if _weight(w)],
        [n for n in names if isinstance(n, str)] if isinstance(names, Mapping) else [],
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _weight(value: Any) -> bool:
    return (
        isinstance(value, int | Decimal)
        and not isinstance(value, bool)
        and Decimal(value).is_finite()
        and 0 <= value <= 1
    )


def describe_validation(exc: ValidationError) -> list[str]:
    """Every pydantic error as one short ``field: problem`` text."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        parts += [f"{where}: {message}"] if where else message.split("; ")
    return parts

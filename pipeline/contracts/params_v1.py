"""Mastery v1 params (issue 16): a validated, immutable model with a canonical JSON checksum.

Every constant of the v1 formula (:mod:`pipeline.kernel.v1`) is here, named and bounded; nothing
is fitted. Numbers are exact decimals (JSON ``0.55`` stays ``Decimal("0.55")``), so the canonical
JSON, and hence the checksum, never depends on binary floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    model_validator,
)

from pipeline.contracts.errors import ParamsError
from pipeline.contracts.params import (
    checksum_of,
    describe_validation,
    dumps,
    exact_decimals,
    load_exact_json,
)

ALGO = "v1"
DEFAULT_PARAMS_V1: dict[str, Any] = {
    "lookback_days": 365,
    "recent_hours": 24,
    "min_attempts": 5,
    "prior_answers": {
        "question": Decimal(3),
        "theme": Decimal(2),
        "student": Decimal(2),
        "student_theme": Decimal(2),
        "recent": Decimal(2),
    },
    "weights": {
        "question": Decimal("0.8"),
        "student": Decimal("0.5"),
        "student_theme": Decimal("0.4"),
        "recent": Decimal("0.6"),
    },
}


def _number(value: Any) -> Any:
    """JSON numbers only: a string or a bool where a number belongs is an error, not a cast."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a number")
    return value


PriorAnswers = Annotated[
    Decimal, BeforeValidator(_number), Field(gt=0, le=10_000, allow_inf_nan=False)
]
Weight = Annotated[Decimal, BeforeValidator(_number), Field(ge=0, le=2, allow_inf_nan=False)]


class Priors(BaseModel):
    """Pseudo-answers each estimate starts from (its shrinkage): the question's rate starts
    from ``question`` answers at the theme's rate, the theme's rate from ``theme`` answers at
    the base rate, and each of the student's three terms from that much credit and as much
    penalty (so no evidence means no difference)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: PriorAnswers
    theme: PriorAnswers
    student: PriorAnswers
    student_theme: PriorAnswers
    recent: PriorAnswers


class Weights(BaseModel):
    """How much each logit term counts in the sum (0 switches a term off)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    question: Weight
    student: Weight
    student_theme: Weight
    recent: Weight


class ParamsV1(BaseModel):
    """Validated v1 params; build with :meth:`from_mapping` or :meth:`from_json`.

    * ``lookback_days``: the student's evidence is their answers of the last that many days;
    * ``recent_hours``: the short-term comparison covers the last that many hours (all themes);
    * ``min_attempts``: fewer answers of the theme in the lookback is *not enough evidence*.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    lookback_days: Annotated[StrictInt, Field(ge=1, le=36_500)]
    recent_hours: Annotated[StrictInt, Field(ge=1)]
    min_attempts: Annotated[StrictInt, Field(ge=1)]
    prior_answers: Priors
    weights: Weights

    @model_validator(mode="after")
    def _cross_field_rules(self) -> ParamsV1:
        if self.recent_hours > 24 * self.lookback_days:
            raise ValueError(
                f"recent_hours {self.recent_hours} exceeds lookback_days {self.lookback_days} "
                "(in hours)"
            )
        return self

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None = None) -> ParamsV1:
        """Validate raw params; missing keys (also inside ``prior_answers`` and ``weights``)
        take the defaults, unknown keys are errors."""
        if raw is not None and not isinstance(raw, Mapping):
            raise ParamsError("invalid v1 params: expected a JSON object")
        given = exact_decimals(dict(raw or {}))
        merged = {**DEFAULT_PARAMS_V1, **given}
        for nested in ("prior_answers", "weights"):
            if isinstance(given.get(nested), Mapping):
                merged[nested] = {**DEFAULT_PARAMS_V1[nested], **given[nested]}
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            raise ParamsError("invalid v1 params: " + "; ".join(describe_validation(exc))) from None

    @classmethod
    def from_json(cls, text: str) -> ParamsV1:
        """Parse JSON keeping decimals exact (0.55 stays 0.55, never a binary float)."""
        return cls.from_mapping(load_exact_json(text, "invalid v1 params"))

    def to_json_obj(self) -> dict[str, Any]:
        """Plain JSON-ready dict with decimals as Decimal (serialize with :func:`dumps`)."""
        return {
            "lookback_days": self.lookback_days,
            "recent_hours": self.recent_hours,
            "min_attempts": self.min_attempts,
            "prior_answers": self.prior_answers.model_dump(),
            "weights": self.weights.model_dump(),
        }

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace, decimals normalized: the checksummed form."""
        return dumps(self.to_json_obj(), sort_keys=True)

    def checksum(self) -> str:
        return checksum_of(self.canonical_json())


def default_params_v1() -> ParamsV1:
    return ParamsV1.from_mapping({})

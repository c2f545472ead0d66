"""The state of a stored row in every report (SPEC §8), and its breakdown in words.

A row's *evidence* is read from its breakdown alone:

- ``insufficient``: fewer than ``min_attempts`` attempts (``reason: insufficient_attempts``);
- ``unsure``: a score with too little behind it: the breakdown says ``"state":
  "not_enough_evidence"`` (v1: too few answers), or carries an ``interval`` (``[low, high]`` or
  ``{"low": .., "high": ..}``) wider than :data:`MAX_INTERVAL_WIDTH`;
- ``stale``: scored, but the shortest recency bucket is empty, so that bucket's weight is lost
  and the score capped (v0's recency weighting);
- ``scored``: otherwise.

The *state* adds the threshold: ``weak`` (scored, below it), ``not_practised_lately``
(stale, whatever the score), ``not_enough_evidence`` (insufficient or unsure), ``ok``
(scored, at or above it). Reports group rows by state in :data:`STATE_ORDER`, never mixing
them: weak first (weakest first), then not practised lately, then not enough evidence, and the
themes at or above the threshold last.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

WEAK = "weak"
NOT_PRACTISED = "not_practised_lately"
NOT_ENOUGH = "not_enough_evidence"
OK = "ok"
STATE_ORDER = (WEAK, NOT_PRACTISED, NOT_ENOUGH, OK)
MAX_INTERVAL_WIDTH = Decimal("0.5")
EVIDENCE_KINDS = ("insufficient", "unsure", "stale", "scored")
NO_VALUE = "\N{EM DASH}"


def state_words(state: str, threshold: Decimal) -> str:
    """How a report names a state to a reader."""
    limit = format(threshold, "f")
    return {
        WEAK: f"weak (below {limit})",
        NOT_PRACTISED: "not practised lately",
        NOT_ENOUGH: "not enough evidence",
        OK: f"at or above {limit}",
    }[state]


def state_of(evidence: str, below_threshold: bool) -> str:
    if evidence in ("insufficient", "unsure"):
        return NOT_ENOUGH
    if evidence == "stale":
        return NOT_PRACTISED
    return WEAK if below_threshold else OK


@dataclass(frozen=True)
class Reading:
    """What one breakdown says: its evidence kind, interval, buckets and the words for them."""

    evidence: str
    interval: tuple[Decimal, Decimal] | None
    buckets: list[dict[str, int]]
    explanation: str


def read_breakdown(breakdown: dict[str, Any]) -> Reading:
    """The evidence kind and the sentence a teacher reads; key order does not matter (jsonb).

    ``"4 of 6 correct in the last 7 days, 4 of 6 in 30 days, 4 of 6 in 90 days"``; a row not
    practised lately says what is missing and the cap first: ``"not practised lately: no
    attempts in the last 30 days, so the score cannot exceed 0.2; 5 of 5 correct in the last
    90 days"``; a row short of attempts ``"not enough evidence: needs 5 attempts, has 3"``.
    """
    interval = _interval(breakdown.get("interval"))
    if breakdown.get("reason") == "insufficient_attempts":
        words = f"needs {breakdown.get('required')} attempts, has {breakdown.get('actual')}"
        return Reading("insufficient", interval, [], f"not enough evidence: {words}")
    buckets = _buckets(breakdown.get("buckets") or {})
    text = _bucket_words(buckets)
    if breakdown.get("use_difficulty"):
        text += " (accuracy weighted by question difficulty)"
    if isinstance(breakdown.get("explanation"), str):  # an algorithm that words its own rows
        text = breakdown["explanation"]
    lead = ""
    if interval is not None and interval[1] - interval[0] > MAX_INTERVAL_WIDTH:
        width = plain(interval[1] - interval[0])
        lead = f"not enough evidence: interval {interval_text(interval)} is {width} wide"
    elif breakdown.get("state") == NOT_ENOUGH and not text.startswith("not enough evidence"):
        lead = "not enough evidence"
    if lead or breakdown.get("state") == NOT_ENOUGH:
        return Reading("unsure", interval, buckets, f"{lead}; {text}" if lead else text)
    if buckets and not buckets[0]["attempts"]:
        return Reading("stale", interval, buckets, _stale_words(breakdown, buckets, text))
    return Reading("scored", interval, buckets, text)


def explain_breakdown(breakdown: dict[str, Any]) -> tuple[list[dict[str, int]], str]:
    """Buckets narrowest first and the sentence about them alone (no state words)."""
    buckets = _buckets(breakdown["buckets"])
    text = _bucket_words(buckets)
    if breakdown.get("use_difficulty"):
        text += " (accuracy weighted by question difficulty)"
    return buckets, text


def _buckets(raw: dict[str, Any]) -> list[dict[str, int]]:
    return sorted(
        (
            {
                "days": int(label.removesuffix("d")),
                "attempts": b["attempts"],
                "correct": b["correct"],
            }
            for label, b in raw.items()
        ),
        key=lambda b: b["days"],
    )


def _bucket_words(buckets: list[dict[str, int]]) -> str:
    parts: list[str] = []
    for bucket in buckets:
        span = f"{bucket['days']} day{'' if bucket['days'] == 1 else 's'}"
        if not bucket["attempts"]:
            parts.append(f"no attempts in the last {span}")
        elif any(" correct in the last " in part for part in parts):
            parts.append(f"{bucket['correct']} of {bucket['attempts']} in {span}")
        else:
            parts.append(f"{bucket['correct']} of {bucket['attempts']} correct in the last {span}")
    return ", ".join(parts)


def _stale_words(breakdown: dict[str, Any], buckets: list[dict[str, int]], text: str) -> str:
    """Lead with the longest empty bucket and the most the score can reach without it."""
    empty = [b for b in buckets if not b["attempts"]]
    weights = {int(k.removesuffix("d")): v.get("weight") for k, v in breakdown["buckets"].items()}
    lead = f"not practised lately: no attempts in the last {empty[-1]['days']} days"
    try:
        cap = sum((Decimal(str(weights[b["days"]])) for b in buckets if b["attempts"]), Decimal(0))
    except (TypeError, ValueError, ArithmeticError):
        return f"{lead}; {text}"
    rest = [part for part in text.split(", ") if not part.startswith("no attempts")]
    tail = "; " + ", ".join(rest) if rest else ""
    return f"{lead}, so the score cannot exceed {plain(cap)}{tail}"


def _interval(value: Any) -> tuple[Decimal, Decimal] | None:
    if isinstance(value, dict):
        value = [value.get("low"), value.get("high")]
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    try:
        low, high = (Decimal(str(v)) for v in value)
    except (TypeError, ValueError, ArithmeticError):
        return None
    return (low, high) if low.is_finite() and high.is_finite() else None


def interval_text(interval: tuple[Decimal, Decimal] | None) -> str:
    """``0.41`` en dash ``0.62``, or an em dash without an interval."""
    return NO_VALUE if interval is None else f"{plain(interval[0])}\N{EN DASH}{plain(interval[1])}"


def plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text

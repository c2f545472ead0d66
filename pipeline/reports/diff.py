"""``mastery diff``: two sets of mastery rows compared, frames in, frames out (no I/O).

Per (user_id, theme_id) in either set: the old and new score, each side's state (the states of
:mod:`pipeline.reports.states`: a row is *weak* when it has enough evidence, was practised
lately and scores below the threshold), whether the weak flag flips (``to_weak`` /
``from_weak``), and the reason in words: which buckets' contributions moved
(``"7d contribution 0.3333 → 0; 30d contribution 0.2 → 0.18"``), or how the evidence changed.
A row missing on one side counts as absent there (never weak). The cohort summary counts the
rows compared and changed, the flags flipped each way, overall and per theme.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import polars as pl

from pipeline.reports.figures import SCORE_SCALE, threshold_units
from pipeline.reports.states import EVIDENCE_KINDS, WEAK, plain, read_breakdown, state_of

KEYS = ("user_id", "theme_id")
ROW_COLUMNS = ("user_id", "theme_id", "mastery_score", "breakdown_json")
"""What each side must hold; other columns are ignored."""
SCORE_DTYPE = pl.Decimal(6, 4)
TO_WEAK, FROM_WEAK = "to_weak", "from_weak"
DIFF_SCHEMA = pl.Schema(
    {
        "user_id": pl.String(),
        "theme_id": pl.Int32(),
        "old_score": SCORE_DTYPE,
        "new_score": SCORE_DTYPE,
        "old_state": pl.String(),
        "new_state": pl.String(),
        "changed": pl.Boolean(),
        "flip": pl.String(),
        "reason": pl.String(),
    }
)
ABSENT = "absent"


def _parsed(text: str | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def _contributions(breakdown: dict[str, Any] | None) -> dict[str, Decimal]:
    buckets = (breakdown or {}).get("buckets") or {}
    return {
        label: Decimal(str(bucket.get("contribution", 0)))
        for label, bucket in buckets.items()
        if isinstance(bucket, dict)
    }


def _attempts(breakdown: dict[str, Any] | None) -> int | None:
    if breakdown is None:
        return None
    value = breakdown.get("total_attempts", breakdown.get("actual"))
    return int(value) if isinstance(value, int | float) else None


def reason_words(old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    """Why a row moved, in words; empty when both breakdowns say the same."""
    if old is None:
        return "new row"
    if new is None:
        return "row gone"
    parts = []
    before, after = _attempts(old), _attempts(new)
    if before != after:
        parts.append(f"attempts {before} → {after}")
    old_short = old.get("reason") == "insufficient_attempts"
    new_short = new.get("reason") == "insufficient_attempts"
    if old_short != new_short:
        parts.append("now too few attempts" if new_short else "now enough attempts")
    if old_short and new_short and old.get("required") != new.get("required"):
        parts.append(f"attempts required {old.get('required')} → {new.get('required')}")
    was, now = _contributions(old), _contributions(new)
    for label in [*was, *(label for label in now if label not in was)]:
        a, b = was.get(label), now.get(label)
        if a != b:
            shown = ["none" if x is None else plain(x) for x in (a, b)]
            parts.append(f"{label} contribution {shown[0]} → {shown[1]}")
    if not parts and old != new:
        parts.append("breakdown changed")
    return "; ".join(parts)


def diff_rows(
    old: pl.DataFrame, new: pl.DataFrame, threshold: Decimal = Decimal("0.7")
) -> pl.DataFrame:
    """One row per (user_id, theme_id) in either frame (DIFF_SCHEMA), by user then theme.

    Python reads each distinct breakdown once (its evidence, :func:`read_breakdown`) and words
    each distinct pair of breakdowns once (:func:`reason_words`; equal breakdowns say
    nothing), keeping no parsed breakdown (a v1 one is kilobytes of objects). The states
    (:func:`state_of` of each evidence kind, below the threshold or not), the flips and the
    joins back onto the rows are frame operations.
    """
    sides = [
        frame.select(
            pl.col("user_id").cast(pl.String),
            pl.col("theme_id").cast(pl.Int32),
            pl.col("mastery_score").cast(pl.String).cast(SCORE_DTYPE).alias(f"{name}_score"),
            pl.col("breakdown_json").cast(pl.String).alias(f"{name}_text"),
        )
        for frame, name in ((old, "old"), (new, "new"))
    ]
    joined = sides[0].join(sides[1], on=list(KEYS), how="full", coalesce=True)
    texts = pl.concat([joined["old_text"], joined["new_text"]]).drop_nulls().unique()
    evidence = pl.DataFrame(
        {"text": texts, "evidence": [read_breakdown(json.loads(t)).evidence for t in texts]},
        schema={"text": pl.String, "evidence": pl.String},
    )
    states = pl.DataFrame(
        [
            (kind, below, state_of(kind, below))
            for kind in EVIDENCE_KINDS
            for below in (False, True)
        ],
        schema={"evidence": pl.String, "below": pl.Boolean, "state": pl.String},
        orient="row",
    )
    limit = threshold_units(threshold)
    for name in ("old", "new"):
        units = (pl.col(f"{name}_score").cast(pl.Float64) * SCORE_SCALE).round().cast(pl.Int64)
        joined = (
            joined.join(evidence, left_on=f"{name}_text", right_on="text", how="left")
            .with_columns(below=units < limit)
            .join(states, on=["evidence", "below"], how="left")
            .with_columns(
                pl.when(pl.col(f"{name}_score").is_null() | pl.col(f"{name}_text").is_null())
                .then(pl.lit(ABSENT))
                .otherwise(pl.col("state"))
                .alias(f"{name}_state")
            )
            .drop("evidence", "below", "state")
        )
    pairs = (
        joined.select("old_text", "new_text")
        .unique()
        .filter(pl.col("old_text").ne_missing(pl.col("new_text")))
    )
    words = pairs.with_columns(
        reason=pl.Series(
            [reason_words(_parsed(a), _parsed(b)) for a, b in pairs.iter_rows()],
            dtype=pl.String,
        )
    )
    old_weak, new_weak = pl.col("old_state") == WEAK, pl.col("new_state") == WEAK
    return (
        joined.join(words, on=["old_text", "new_text"], how="left", nulls_equal=True)
        .select(
            *KEYS,
            "old_score",
            "new_score",
            "old_state",
            "new_state",
            changed=pl.col("old_score").ne_missing(pl.col("new_score"))
            | (pl.col("old_state") != pl.col("new_state")),
            flip=pl.when(old_weak != new_weak).then(
                pl.when(new_weak).then(pl.lit(TO_WEAK)).otherwise(pl.lit(FROM_WEAK))
            ),
            reason=pl.col("reason").fill_null(""),
        )
        .cast(DIFF_SCHEMA)
        .sort(list(KEYS))
    )


def diff_summary(diff: pl.DataFrame) -> dict[str, Any]:
    """Rows compared and changed, flags flipped each way, overall and per theme (theme order)."""
    counts = [
        pl.len().alias("rows_compared"),
        pl.col("changed").sum().alias("rows_changed"),
        (pl.col("flip") == TO_WEAK).sum().alias("flipped_to_weak"),
        (pl.col("flip") == FROM_WEAK).sum().alias("flipped_from_weak"),
    ]
    total = diff.select(counts).row(0, named=True)
    per_theme = diff.group_by("theme_id").agg(counts).sort("theme_id")
    return {
        **{name: int(value or 0) for name, value in total.items()},
        "themes": [
            {name: int(value or 0) for name, value in row.items()}
            for row in per_theme.filter(pl.col("rows_changed") > 0).iter_rows(named=True)
        ],
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The cohort summary in words, one line overall and one per theme that changed."""
    lines = [
        f"{summary['rows_changed']} of {summary['rows_compared']} rows change; weak flag "
        f"flips: {summary['flipped_to_weak']} to weak, {summary['flipped_from_weak']} from weak"
    ]
    lines += [
        f"theme {t['theme_id']}: {t['rows_changed']} of {t['rows_compared']} change, "
        f"{t['flipped_to_weak']} to weak, {t['flipped_from_weak']} from weak"
        for t in summary["themes"]
    ]
    return lines


def any_flip(summary: dict[str, Any]) -> bool:
    return bool(summary["flipped_to_weak"] or summary["flipped_from_weak"])


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    return plain(value) if isinstance(value, Decimal) else str(value)


def render_diff(diff: pl.DataFrame, summary: dict[str, Any], fmt: str) -> str:
    """The changed rows and the summary as ``table``, ``csv``, ``json`` or ``html`` text."""
    changed = diff.filter(pl.col("changed"))
    if fmt == "csv":
        return changed.with_columns(pl.col("old_score", "new_score").cast(pl.String)).write_csv()
    if fmt == "json":
        from pipeline.contracts.params import dumps

        return dumps({"summary": summary, "rows": changed.to_dicts()})
    header = ("user", "theme", "old", "new", "state", "flip", "why")
    cells = [
        (
            row["user_id"],
            str(row["theme_id"]),
            _cell(row["old_score"]),
            _cell(row["new_score"]),
            f"{row['old_state']} → {row['new_state']}"
            if row["old_state"] != row["new_state"]
            else row["new_state"],
            row["flip"] or "",
            row["reason"],
        )
        for row in changed.iter_rows(named=True)
    ]
    if fmt == "html":
        import html

        def tr(values: tuple[str, ...], tag: str) -> str:
            inner = "".join(f"<{tag}>{html.escape(v)}</{tag}>" for v in values)
            return f"<tr>{inner}</tr>"

        lines = "".join(f"<p>{html.escape(line)}</p>" for line in summary_lines(summary))
        rows = "".join(tr(c, "td") for c in cells)
        return (
            '<!doctype html><html><head><meta charset="utf-8"><title>mastery diff</title>'
            f"</head><body><h1>mastery diff</h1>{lines}<table>{tr(header, 'th')}{rows}"
            "</table></body></html>"
        )
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(header[:-1])]
    table = [
        "  ".join(v.ljust(w) for v, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1]
        for line in [header, *cells]
    ]
    return "\n".join([*summary_lines(summary), "", *table] if cells else summary_lines(summary))

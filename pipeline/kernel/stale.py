"""SPEC §4 *Stale rows*: existing rows of the scope with no attempt left in the window."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.contracts.frames import KEYS, OUTPUT_SCHEMA
from pipeline.contracts.params import Params
from pipeline.kernel.breakdown import insufficient_breakdown


def stale_rows(
    rows: pl.DataFrame, existing_keys: pl.DataFrame, params: Params, theme_ids: Sequence[int] = ()
) -> pl.DataFrame:
    """The zero-attempt result for every existing key (of ``theme_ids``, when given) that has no
    computed row: attempts 0, score 0, the insufficient breakdown with ``actual: 0``.

    ``year``/``block_id`` stay as stored, so they are null here and the refresh leaves them.
    """
    keys = existing_keys.select(
        pl.col("user_id").cast(pl.String), pl.col("theme_id").cast(pl.Int32)
    )
    if theme_ids:
        keys = keys.filter(pl.col("theme_id").is_in(list(theme_ids)))
    gone = keys.unique().join(rows.select(KEYS), on=list(KEYS), how="anti")
    return gone.select(
        *KEYS,
        year=pl.lit(None, pl.Int32),
        block_id=pl.lit(None, pl.Int32),
        attempts_total=pl.lit(0, pl.Int32),
        correct_total=pl.lit(0, pl.Int32),
        accuracy_pct=pl.lit(0, OUTPUT_SCHEMA["accuracy_pct"]),
        mastery_score=pl.lit(0, OUTPUT_SCHEMA["mastery_score"]),
        last_attempt_at=pl.lit(None, OUTPUT_SCHEMA["last_attempt_at"]),
        breakdown_json=insufficient_breakdown(params, pl.lit(0)),
    ).sort(KEYS)

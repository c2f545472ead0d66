"""Mastery v0 (SPEC §4) as of many instants in one query: ``mastery history``.

Per date, the kernel's own window, kept-attempt and aggregate steps
(:mod:`pipeline.kernel.window`, :func:`pipeline.kernel.aggregates.theme_aggregates`) run on
the same attempts with that date as ``as_of``; the per-date aggregates are stacked with an
``as_of`` column and the rest of the v0 chain (tag checks, row identity, contributions, score,
breakdown) runs once over the stack. No rule is written twice, and no attempt is copied once
per date. tests/test_history.py proves the result equal, row for row, to one dry run per date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from pipeline.contracts.frames import KEYS, OUTPUT_SCHEMA
from pipeline.contracts.params import Params
from pipeline.contracts.scope import utc
from pipeline.kernel.aggregates import identified_rows, theme_aggregates, with_known_tags
from pipeline.kernel.breakdown import breakdown_json
from pipeline.kernel.cohort import output_rows
from pipeline.kernel.scoring import bucket_contributions, mastery_score
from pipeline.kernel.window import attempts_in_window, kept_attempts, typed_attempts

AS_OF = "as_of"
UTC_US = pl.Datetime("us", "UTC")
HISTORY_SCHEMA = pl.Schema({AS_OF: UTC_US, **OUTPUT_SCHEMA})
HISTORY_KEYS = (AS_OF, *KEYS)


def date_aggregates(attempts: pl.LazyFrame, params: Params, as_of: datetime) -> pl.LazyFrame:
    """The kernel's aggregates of typed ``attempts`` as of one date, tagged with that date."""
    kept = kept_attempts(attempts_in_window(attempts, params, as_of), as_of)
    stamp = pl.lit(as_of, dtype=UTC_US).alias(AS_OF)
    return theme_aggregates(kept, params, as_of).with_columns(stamp)


def compute_history(
    attempts: pl.LazyFrame,
    params: Params,
    dates: Sequence[datetime],
    themes: pl.LazyFrame | None = None,
    blocks: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """The v0 rows of every date in ``dates`` (HISTORY_SCHEMA, by as_of, user, theme): equal,
    date by date, to :func:`pipeline.kernel.compute_cohort` ``(attempts, params, date, ...)``.
    """
    if not dates:
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    typed = typed_attempts(attempts)
    instants = sorted({utc(date) for date in dates})
    stacked = pl.concat([date_aggregates(typed, params, date) for date in instants])
    tagged = with_known_tags(stacked, themes, blocks)
    scored = mastery_score(bucket_contributions(identified_rows(tagged), params), params)
    rows = output_rows(breakdown_json(scored, params), HISTORY_SCHEMA, HISTORY_KEYS)
    return rows.collect()

"""Mastery v0 (SPEC §4): frames in, frame out — no I/O, no clock, no settings read inside."""

from pipeline.kernel.cohort import (
    CohortResult,
    compute_cohort,
    compute_mastery,
    themes_under_two_blocks,
    with_user_codes,
)

__all__ = [
    "CohortResult",
    "compute_cohort",
    "compute_mastery",
    "themes_under_two_blocks",
    "with_user_codes",
]

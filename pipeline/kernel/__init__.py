"""Mastery v0 (SPEC §4): frames in, frame out — no I/O, no clock, no settings read inside."""

from pipeline.kernel.cohort import CohortResult, compute_cohort, compute_mastery
from pipeline.kernel.stale import stale_rows
from pipeline.kernel.window import themes_under_two_blocks

__all__ = [
    "CohortResult",
    "compute_cohort",
    "compute_mastery",
    "stale_rows",
    "themes_under_two_blocks",
]

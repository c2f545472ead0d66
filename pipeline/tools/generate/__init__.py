"""Synthetic cohort generator: realistic, deterministic SPEC §2 source tables as Polars frames.

``generate_cohort(spec)`` yields ``(table_name, frame)`` pairs in foreign-key-safe load order::

    users, blocks, themes, questions, question_versions, test_sessions,
    then (session_questions, session_answers) chunk pairs

Every frame has exactly the SPEC §2 columns, in order, with the dtypes of ``TABLE_SCHEMAS``.
Tables are sliced into frames of at most ``chunk_rows`` rows; the two big tables
(``session_questions``, ``session_answers``) come as interleaved chunk pairs, each pair covering a
contiguous run of sessions in ``created_at`` order, so memory stays bounded at any cohort size.

Layout: ``spec`` (the spec and the tuning knobs), ``tables`` (output schemas, typed columns),
``randomness`` (counter-based hashes, uuid7 keys), ``catalog`` (years to question versions),
``snapshots`` (how tags are spelled, with their defects), ``activity`` (the per-user and
per-session plan) and ``attempts`` (the big tables, one run of sessions at a time). No Python
loop runs over users, sessions or rows; the only loops are over chunks and question pools.

What the cohort contains (``dirty=True``, the default)
------------------------------------------------------
* 1-3 years of blocks and ``themes`` themes; 20-40 questions per theme, each with 1-3 versions
  whose frozen tags can differ (theme moves, difficulty changes); live ``questions`` tags that were
  changed after sessions were built; one theme moved to another block (its older versions keep the
  old block: a "theme under two blocks"); a few questions tagged with a retired theme id that is no
  longer in ``themes`` (a dangling tag).
* Version rows with null year/block/theme (the snapshot supplies them) and difficulties with odd
  casing/whitespace (``" Hard"``, ``"EASY "``), nulls and a few unknown labels.
* ``session_questions``: most with ``question_version_id`` and a snapshot; some snapshot-only, some
  version-only, a very few with neither; malformed snapshots (``[1, 2]``, ``"x"``, ``42``, ``{}``,
  ``"theme_id": "abc"`` / ``[12]`` / ``null``, missing keys, numeric difficulty) and valid odd ones
  (``"theme_id": "12"``, ``12.0``, string year/block).
* Students (plus a few ADMIN/REVIEWER users without sessions) with bursty activity over the last
  ``days`` days (study days, late joiners, churners, idle students), a few sessions older than the
  window; TUTOR/EXAM sessions of 10-40 questions; SUBMITTED, EXPIRED and ACTIVE (in progress at
  ``as_of``, or abandoned) sessions; unanswered questions; null ``answered_at`` / ``is_correct``;
  a tiny fraction of answers stamped a little after ``as_of`` (clock skew).
* Correctness from a logistic model: student ability + student-by-theme effect + learning trend
  minus question and theme difficulty, so per-student accuracy spreads over roughly 35-90 %.

``dirty=False`` keeps the realistic structure but drops every data-quality defect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.tools.generate.activity import build_plan, sessions_frame, users_frame
from pipeline.tools.generate.attempts import chunk_bounds, expand_chunk
from pipeline.tools.generate.catalog import build_catalog
from pipeline.tools.generate.spec import TUTOR_MAX_Q, CohortSpec
from pipeline.tools.generate.tables import TABLE_ORDER, TABLE_SCHEMAS

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "TABLE_ORDER",
    "TABLE_SCHEMAS",
    "CohortSpec",
    "estimate_attempts",
    "estimate_rows",
    "generate_cohort",
]

DEFAULT_CHUNK_ROWS = 2_000_000

RowsCallback = Callable[[str, int], object]


def generate_cohort(
    spec: CohortSpec,
    *,
    on_rows: RowsCallback | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Iterator[tuple[str, pl.DataFrame]]:
    """Yield ``(table, frame)`` in FK-safe load order; a table may span several frames.

    ``on_rows(table, n_rows)`` is called for every frame once the consumer has finished with it
    (when the iterator is resumed), so it tracks what has been loaded; size a progress bar with
    ``estimate_rows(spec)`` (all tables) or ``estimate_attempts(spec)`` (answers only).
    """
    if chunk_rows < TUTOR_MAX_Q:
        raise MasteryError(f"chunk_rows must be >= {TUTOR_MAX_Q} (got {chunk_rows})")
    return _generate(spec, on_rows, chunk_rows)


def _generate(
    spec: CohortSpec, on_rows: RowsCallback | None, chunk_rows: int
) -> Iterator[tuple[str, pl.DataFrame]]:
    catalog = build_catalog(spec)
    plan = build_plan(spec, catalog)

    def emit(table: str, frame: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
        for offset in range(0, max(frame.height, 1), chunk_rows):
            part = frame.slice(offset, chunk_rows)
            yield table, part
            if on_rows is not None:
                on_rows(table, part.height)

    yield from emit("users", users_frame(plan))
    yield from emit("blocks", catalog.blocks)
    yield from emit("themes", catalog.themes)
    yield from emit("questions", catalog.questions)
    yield from emit("question_versions", catalog.versions)
    yield from emit("test_sessions", sessions_frame(plan))
    for start, stop in chunk_bounds(plan.row_start, chunk_rows):
        questions, answers = expand_chunk(spec, catalog, plan, start, stop)
        yield from emit("session_questions", questions)
        yield from emit("session_answers", answers)


def estimate_rows(spec: CohortSpec) -> dict[str, int]:
    """Exact row count of every table ``generate_cohort(spec)`` will produce (plan only: fast)."""
    catalog = build_catalog(spec)
    plan = build_plan(spec, catalog)
    return {
        "users": plan.n_users,
        "blocks": catalog.blocks.height,
        "themes": catalog.themes.height,
        "questions": catalog.questions.height,
        "question_versions": catalog.versions.height,
        "test_sessions": plan.n_sessions,
        "session_questions": int(plan.row_start[-1]),
        "session_answers": int(plan.answers.sum()),
    }


def estimate_attempts(spec: CohortSpec) -> int:
    """Number of ``session_answers`` rows the spec generates (exact; computed from the plan)."""
    return estimate_rows(spec)["session_answers"]

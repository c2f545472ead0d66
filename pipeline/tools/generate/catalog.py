"""The small, slowly changing catalogue: years, blocks, themes, questions and their versions.

Drawn up front with one seeded generator (it is small), together with what the big tables need
to look questions up by index: frozen snapshot texts, version switch times and the question pools
sessions draw from (a few fixed permutations per pool, so a session's questions are distinct).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.tools.generate.randomness import M64, S_UUID_QUESTION, S_UUID_VERSION, uuid7
from pipeline.tools.generate.snapshots import difficulty_text, snapshot_texts
from pipeline.tools.generate.spec import (
    DAY,
    HOUR,
    LABEL_EFFECT,
    LABEL_P,
    LABELS,
    N_STYLES,
    OPTIONS,
    P_LIVE_RETAG,
    P_VERSION_NULL_BLOCK,
    P_VERSION_NULL_THEME,
    P_VERSION_NULL_YEAR,
    PERMUTATIONS_PER_POOL,
    QUESTIONS_PER_THEME,
    SNAPSHOT_STYLE_P,
    VERSION_STYLE_P,
    CohortSpec,
)
from pipeline.tools.generate.tables import ints, pick, table_frame, times

_SUBJECTS = (
    "Anatomy", "Physiology", "Biochemistry", "Histology", "Pathology", "Pharmacology",
    "Microbiology", "Immunology", "Genetics", "Cardiology", "Respiratory", "Neurology",
    "Gastroenterology", "Endocrinology", "Nephrology", "Haematology", "Dermatology",
    "Psychiatry", "Paediatrics", "Obstetrics", "Ophthalmology", "Orthopaedics", "Oncology",
    "Public Health",
)  # fmt: skip
_TOPICS = (
    "Foundations", "Mechanisms", "Clinical Reasoning", "Diagnostics", "Therapeutics",
    "Emergencies", "Case Studies", "Imaging", "Laboratory Values", "Ethics", "Prevention",
    "Pharmacotherapy",
)  # fmt: skip


@dataclass
class Catalog:
    """The catalogue frames plus per-question lookups, indexed by question number."""

    n_years: int
    block_year: np.ndarray  # per block index: year (1-based)
    year_block_start: np.ndarray  # per year index: first block index
    year_block_count: np.ndarray
    blocks: pl.DataFrame
    themes: pl.DataFrame
    questions: pl.DataFrame
    versions: pl.DataFrame
    q_theme: np.ndarray  # per question: theme index (content theme, for correctness)
    q_difficulty: np.ndarray  # per question: latent difficulty (logit units)
    q_correct: np.ndarray  # per question: correct option index
    q_ids: pl.Series
    v_first: np.ndarray  # per question: index of its first version row
    v2_time: np.ndarray  # per question: created_at of version 2, int64 max where absent
    v3_time: np.ndarray
    v_ids: pl.Series  # version ids plus a trailing null
    snapshots: pl.Series  # [null] + versions x variants snapshot texts
    pool_flat: np.ndarray  # concatenated permutations of every pool's question indices
    pool_start: np.ndarray  # (pools, permutations) offsets into pool_flat
    pool_len: np.ndarray


def build_catalog(spec: CohortSpec) -> Catalog:
    """Draw from a stream of its own, so the catalogue does not change with ``users``."""
    rng = np.random.default_rng([spec.seed & M64, 1])
    dirty = spec.dirty
    as_of = spec.as_of_us
    window_start = as_of - spec.days * DAY
    n_themes = spec.themes

    # years and blocks: ~5 themes per block, every block holds at least one theme
    n_years = 3 if n_themes >= 12 else 2 if n_themes >= 4 else 1
    per_year = max(1, round(n_themes / n_years / 5))
    n_blocks = min(n_years * per_year, n_themes)
    block_year = np.minimum(np.arange(n_blocks) // per_year, n_years - 1) + 1
    year_block_start = np.searchsorted(block_year, np.arange(1, n_years + 1))
    year_block_count = np.bincount(block_year - 1, minlength=n_years)
    block_order = np.arange(n_blocks) - year_block_start[block_year - 1]
    subjects = [
        _SUBJECTS[i % len(_SUBJECTS)]
        + ("" if i < len(_SUBJECTS) else f" {i // len(_SUBJECTS) + 1}")
        for i in range(n_blocks)
    ]
    blocks = table_frame(
        "blocks",
        {
            "id": ints(np.arange(1, n_blocks + 1)),
            "year": ints(block_year),
            "name": pl.Series(subjects),
            "order_index": ints(block_order),
        },
    )

    # themes spread unevenly over blocks
    extra = rng.multinomial(n_themes - n_blocks, rng.dirichlet(np.full(n_blocks, 3.0)))
    theme_block = np.repeat(np.arange(n_blocks), 1 + extra)
    theme_order = np.arange(n_themes) - np.searchsorted(theme_block, theme_block)
    titles = pl.DataFrame(
        {
            "subject": pl.Series(subjects).gather(theme_block),
            "topic": pl.Series(_TOPICS).gather(theme_order % len(_TOPICS)),
            "order": theme_order,
        }
    ).select(
        pl.col("subject")
        + ": "
        + pl.col("topic")
        + pl.when(pl.col("order") >= len(_TOPICS))
        .then(" " + (pl.col("order") // len(_TOPICS) + 1).cast(pl.String))
        .otherwise(pl.lit(""))
    )
    themes = table_frame(
        "themes",
        {
            "id": ints(np.arange(1, n_themes + 1)),
            "block_id": ints(theme_block + 1),
            "title": titles.to_series(),
            "order_index": ints(theme_order),
        },
    )
    theme_year = block_year[theme_block]
    year_theme_start = np.searchsorted(theme_year, np.arange(1, n_years + 1))
    year_theme_count = np.bincount(theme_year - 1, minlength=n_years)

    # one extra, retired theme (id not in `themes`) carrying a few questions: a dangling tag
    retired = dirty and n_themes >= 5
    all_theme_block = np.append(theme_block, rng.integers(n_blocks)) if retired else theme_block
    all_theme_ids = np.arange(1, len(all_theme_block) + 1)
    theme_difficulty = rng.normal(0.0, 0.35, len(all_theme_block))

    per_theme = rng.integers(QUESTIONS_PER_THEME[0], QUESTIONS_PER_THEME[1] + 1, n_themes)
    if retired:
        per_theme = np.append(per_theme, 6)
    q_theme = np.repeat(np.arange(len(all_theme_block)), per_theme)
    n_q = len(q_theme)
    q_block = all_theme_block[q_theme]
    q_year = block_year[q_block]
    q_label = rng.choice(3, n_q, p=LABEL_P)
    q_difficulty = LABEL_EFFECT[q_label] + rng.normal(0.0, 0.45, n_q) + theme_difficulty[q_theme]
    q_correct = rng.integers(0, OPTIONS, n_q)

    # versions: v1 before any session, later ones inside the window
    n_ver = rng.choice(np.array([1, 2, 3]), n_q, p=[0.55, 0.30, 0.15])
    v1 = window_start - (rng.uniform(61, 700, n_q) * DAY).astype(np.int64)
    late_lo = window_start - 30 * DAY
    v2 = late_lo + (rng.random(n_q) * (as_of - DAY - late_lo)).astype(np.int64)
    v3 = v2 + (rng.random(n_q) * (as_of - HOUR - v2)).astype(np.int64)
    # a theme moved to another block of its year mid-window: its questions were re-versioned
    moved_old_block = np.full(len(all_theme_block), -1)
    move_time = np.zeros(len(all_theme_block), dtype=np.int64)
    movable = np.flatnonzero(year_block_count[theme_year - 1] >= 2)
    if dirty and len(movable):
        moved = rng.choice(movable, max(1, n_themes // 40), replace=False)
        year0 = year_block_start[theme_year[moved] - 1]
        count = year_block_count[theme_year[moved] - 1]
        shift = rng.integers(1, np.maximum(count, 2))
        moved_old_block[moved] = year0 + (theme_block[moved] - year0 + shift) % count
        move_time[moved] = window_start + rng.uniform(0.3, 0.7, len(moved)) * spec.days * DAY
        in_moved = moved_old_block[q_theme] >= 0
        n_ver[in_moved] = np.maximum(n_ver[in_moved], 2)
        room = np.minimum(2 * DAY, np.maximum(as_of - HOUR - move_time[q_theme], 1))
        moved_v2 = move_time[q_theme] + (rng.random(n_q) * room).astype(np.int64)
        moved_v3 = moved_v2 + (rng.random(n_q) * (as_of - HOUR - moved_v2)).astype(np.int64)
        v2 = np.where(in_moved, moved_v2, v2)
        v3 = np.where(in_moved, moved_v3, v3)
    v_times_all = np.stack([v1, v2, v3], axis=1)
    present = np.arange(3)[None, :] < n_ver[:, None]
    v_times = np.where(present, v_times_all, np.iinfo(np.int64).max)

    # tags per version: a chain of theme moves (within the year) and difficulty changes
    theme_chain = np.empty((n_q, 3), dtype=np.int64)
    label_chain = np.empty((n_q, 3), dtype=np.int64)
    theme_chain[:, 0], label_chain[:, 0] = q_theme, q_label
    for j in (1, 2):  # two steps of a three-version chain
        y = q_year - 1
        other = year_theme_start[y] + rng.integers(0, 1 << 30, n_q) % year_theme_count[y]
        move = (rng.random(n_q) < 0.12) & (q_theme < n_themes)
        theme_chain[:, j] = np.where(move, other, theme_chain[:, j - 1])
        relabel = rng.random(n_q) < 0.30
        label_chain[:, j] = np.where(relabel, rng.integers(0, 3, n_q), label_chain[:, j - 1])
    v_theme = theme_chain[present]
    v_label = label_chain[present]
    v_created = v_times[present]
    v_question = np.repeat(np.arange(n_q), n_ver)
    v_number = np.nonzero(present)[1] + 1
    v_block = all_theme_block[v_theme]
    stale_block = (moved_old_block[v_theme] >= 0) & (v_created < move_time[v_theme])
    v_block = np.where(stale_block, moved_old_block[v_theme], v_block)
    v_year = block_year[v_block]
    v_first = np.concatenate([[0], np.cumsum(n_ver)[:-1]])
    n_versions = len(v_theme)

    def defect(p: float) -> np.ndarray:
        return rng.random(n_versions) < (p if dirty else 0.0)

    null_theme, null_block, null_year = (
        defect(P_VERSION_NULL_THEME),
        defect(P_VERSION_NULL_BLOCK),
        defect(P_VERSION_NULL_YEAR),
    )
    style_p = VERSION_STYLE_P if dirty else np.eye(N_STYLES)[0]
    v_style = rng.choice(N_STYLES, n_versions, p=style_p)
    snap_p = SNAPSHOT_STYLE_P if dirty else np.eye(N_STYLES)[0]
    s_style = rng.choice(N_STYLES, n_versions, p=snap_p)

    # live tags: the latest version's, then a few retagged after sessions were built
    last = v_first + n_ver - 1
    live_theme = v_theme[last].copy()
    live_label = v_label[last].copy()
    retag = (rng.random(n_q) < (P_LIVE_RETAG if dirty else 0.0)) & (q_theme < n_themes)
    kind = rng.integers(0, 3, n_q)  # 0 theme, 1 difficulty, 2 both
    y = q_year - 1
    new_theme = (
        year_theme_start[y]
        + (live_theme - year_theme_start[y] + rng.integers(1, 1 << 30, n_q)) % year_theme_count[y]
    )
    live_theme = np.where(retag & (kind != 1) & (year_theme_count[y] > 1), new_theme, live_theme)
    live_label = np.where(
        retag & (kind != 0), (live_label + rng.integers(1, 3, n_q)) % 3, live_label
    )
    live_block = all_theme_block[live_theme]
    q_time = v_times[:, 0]
    q_ids = uuid7(spec.seed, S_UUID_QUESTION, np.arange(n_q), q_time)
    status = np.where(rng.random(n_q) < 0.04, 1, 0)
    questions = table_frame(
        "questions",
        {
            "id": q_ids,
            "year": ints(block_year[live_block]),
            "block_id": ints(live_block + 1),
            "theme_id": ints(all_theme_ids[live_theme]),
            "difficulty": pick(LABELS, live_label),
            "status": pick(("PUBLISHED", "ARCHIVED"), status),
        },
    )

    v_ids = uuid7(spec.seed, S_UUID_VERSION, np.arange(n_versions), v_created)
    versions = table_frame(
        "question_versions",
        {
            "id": v_ids,
            "question_id": q_ids.gather(v_question),
            "version": ints(v_number),
            "year": ints(v_year, null_year),
            "block_id": ints(v_block + 1, null_block),
            "theme_id": ints(all_theme_ids[v_theme], null_theme),
            "difficulty": difficulty_text(v_label, v_style),
            "created_at": times(v_created),
        },
    )
    snapshots = snapshot_texts(
        v_number, v_year, v_block + 1, all_theme_ids[v_theme], difficulty_text(v_label, s_style)
    )

    # question pools: one per block (tutor sessions), one per year (exams)
    pools = [np.flatnonzero(q_block == b) for b in range(n_blocks)]
    pools += [np.flatnonzero(q_year == yr) for yr in range(1, n_years + 1)]
    perms = [
        pool[rng.permutation(len(pool))] for pool in pools for _ in range(PERMUTATIONS_PER_POOL)
    ]
    pool_len = np.array([len(p) for p in pools], dtype=np.int64)
    pool_start = np.concatenate([[0], np.cumsum([len(p) for p in perms])[:-1]]).reshape(
        len(pools), PERMUTATIONS_PER_POOL
    )

    return Catalog(
        n_years=n_years,
        block_year=block_year,
        year_block_start=year_block_start,
        year_block_count=year_block_count,
        blocks=blocks,
        themes=themes,
        questions=questions,
        versions=versions,
        q_theme=q_theme,
        q_difficulty=q_difficulty,
        q_correct=q_correct,
        q_ids=q_ids,
        v_first=v_first,
        v2_time=np.ascontiguousarray(v_times[:, 1]),
        v3_time=np.ascontiguousarray(v_times[:, 2]),
        v_ids=pl.concat([v_ids, pl.Series([None], dtype=pl.String)], rechunk=True),
        snapshots=snapshots,
        pool_flat=np.concatenate(perms),
        pool_start=pool_start,
        pool_len=pool_len,
    )

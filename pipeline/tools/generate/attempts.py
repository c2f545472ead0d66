"""The big tables (session_questions, session_answers), one contiguous run of sessions at a time.

Memory stays bounded at any cohort size, and every per-row draw is keyed by the global row number,
so a row's content does not depend on where the chunk boundaries fall.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from pipeline.tools.generate.activity import ACTIVE, Plan
from pipeline.tools.generate.catalog import Catalog
from pipeline.tools.generate.randomness import (
    S_CORRECT,
    S_ROW,
    S_USER_THEME,
    S_UUID_SA,
    S_UUID_SQ,
    S_WEIGHT,
    S_WRONG,
    hash64,
    u16,
    unit,
    uuid7,
)
from pipeline.tools.generate.snapshots import tag_sources
from pipeline.tools.generate.spec import (
    HOUR,
    LEARNING_GAIN,
    OPTIONS,
    P_NULL_ANSWERED_AT,
    P_SKEW,
    P_SKIPPED,
    P_UNGRADED,
    US,
    USER_THEME_SCALE,
    CohortSpec,
)
from pipeline.tools.generate.tables import bools, ints, table_frame, times


def chunk_bounds(row_start: np.ndarray, chunk_rows: int) -> Iterator[tuple[int, int]]:
    """Session ranges whose question rows total at most ``chunk_rows`` (at least one chunk)."""
    n_sessions = len(row_start) - 1
    lo = 0
    while True:
        hi = int(np.searchsorted(row_start, row_start[lo] + chunk_rows, side="right")) - 1
        hi = min(max(hi, lo + 1), n_sessions)
        yield lo, hi
        if hi >= n_sessions:
            return
        lo = hi


def expand_chunk(
    spec: CohortSpec, cat: Catalog, plan: Plan, s0: int, s1: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Question and answer rows of sessions ``s0:s1`` (one chunk pair)."""
    seed, dirty, as_of = spec.seed, spec.dirty, spec.as_of_us
    sizes = plan.s_size[s0:s1]
    n = int(sizes.sum())
    local = np.repeat(np.arange(s1 - s0), sizes)
    first = plan.row_start[s0:s1] - plan.row_start[s0]
    pos = np.arange(n) - first[local]
    sess = s0 + local
    row = plan.row_start[s0] + np.arange(n)  # global row number: the key of every per-row draw

    # which question (distinct within a session), which version was live when it was built
    q = cat.pool_flat[plan.s_pool_base[sess] + (plan.s_offset[sess] + pos) % plan.s_pool_len[sess]]
    created = plan.s_created[sess]
    version = cat.v_first[q] + (cat.v2_time[q] <= created) + (cat.v3_time[q] <= created)

    bits = hash64(seed, S_ROW, row)  # four 16-bit uniforms per row
    no_version, snapshot_index = tag_sources(u16(bits, 0), u16(bits, 1), version, dirty)

    questions = table_frame(
        "session_questions",
        {
            "id": uuid7(seed, S_UUID_SQ, row, created + pos * 1_000),
            "session_id": plan.session_ids.gather(sess),
            "question_id": cat.q_ids.gather(q),
            "question_version_id": cat.v_ids.gather(
                np.where(no_version, len(cat.v_ids) - 1, version)
            ),
            "position": ints(pos + 1),
            "snapshot_json": cat.snapshots.gather(snapshot_index),
        },
    )

    # answer times: random gaps, scaled so the last answer lands at created_at + span
    # integer weights: exact cumulative sums, so a row's time never depends on the chunking
    weight = ((0.4 - np.log(unit(hash64(seed, S_WEIGHT, row)))) * 65_536).astype(np.int64)
    cum = np.cumsum(weight)
    cum -= (cum[first] - weight[first])[local]
    n_answered = plan.s_answered[s0:s1]
    norm = cum[first + np.maximum(n_answered - 1, 0)]
    is_answer = (pos < n_answered[local]) & (pos != plan.s_skip[sess])
    a = np.flatnonzero(is_answer)
    a_sess, a_q, a_row = sess[a], q[a], row[a]
    a_local = local[a]
    at = created[a] + (plan.s_span[a_sess] * (cum[a] / norm[a_local])).astype(np.int64)
    a_answer_u, a_null_u = u16(bits[a], 2), u16(bits[a], 3)
    del bits, weight, cum, is_answer
    if dirty:
        recent = (plan.s_status[a_sess] != ACTIVE) & (plan.s_submitted[a_sess] >= as_of - 12 * HOUR)
        skew = recent & (a_answer_u < P_SKEW)
        at = np.where(skew, as_of + US + (a_answer_u * 300 * US / P_SKEW).astype(np.int64), at)

    # correctness: logistic in ability + student-by-theme effect + learning - difficulty
    user = plan.s_user[a_sess]
    theme = cat.q_theme[a_q]
    u_t = unit(hash64(seed, S_USER_THEME, user.astype(np.int64) * 65_536 + theme))
    logit = (
        plan.user_ability[user]
        + USER_THEME_SCALE * np.log(u_t / (1.0 - u_t))
        + LEARNING_GAIN * np.clip(plan.s_progress[a_sess], -1.0, 1.0)
        - cat.q_difficulty[a_q]
    )
    correct = unit(hash64(seed, S_CORRECT, a_row)) * (1.0 + np.exp(-logit)) < 1.0
    wrong_pick = (unit(hash64(seed, S_WRONG, a_row)) * (OPTIONS - 1)).astype(np.int64)
    right = cat.q_correct[a_q]
    selected = np.where(correct, right, (right + 1 + wrong_pick) % OPTIONS)
    if dirty:
        skipped = a_null_u < P_SKIPPED
        ungraded = (a_null_u >= P_SKIPPED) & (a_null_u < P_SKIPPED + P_UNGRADED)
        no_time = a_null_u >= 1.0 - P_NULL_ANSWERED_AT
    else:
        skipped = ungraded = no_time = np.zeros(len(a), dtype=np.bool_)

    answers = table_frame(
        "session_answers",
        {
            "id": uuid7(seed, S_UUID_SA, a_row, np.where(no_time, created[a], at)),
            "session_id": questions["session_id"].gather(a),
            "question_id": questions["question_id"].gather(a),
            "selected_index": ints(selected, skipped),
            "is_correct": bools(correct, skipped | ungraded),
            "answered_at": times(at, no_time),
        },
    )
    return questions, answers

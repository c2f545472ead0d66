"""The activity plan: one row per user and per session, drawn up front, sessions in time order.

The plan fixes everything the big tables need per session (who, mode, status, size, timing,
question pool), so rows can later be expanded a chunk at a time; at 100k users it is ~1M sessions,
drawn with one seeded generator in well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.tools.generate.catalog import Catalog
from pipeline.tools.generate.randomness import (
    M64,
    S_BURST_DAY,
    S_BURST_HOUR,
    S_UUID_SESSION,
    S_UUID_USER,
    hash64,
    unit,
    uuid7,
)
from pipeline.tools.generate.spec import (
    ABILITY_MEAN,
    ABILITY_SD,
    DAY,
    EXAM_SHARE,
    EXAM_SIZE_P,
    EXAM_SIZES,
    HOUR,
    P_STALE_ACTIVE,
    PERMUTATIONS_PER_POOL,
    SESSIONS_PER_ACTIVE_DAY,
    TUTOR_MAX_Q,
    TUTOR_MIN_Q,
    US,
    CohortSpec,
)
from pipeline.tools.generate.tables import ints, pick, table_frame, times

ACTIVE, SUBMITTED, EXPIRED = 0, 1, 2
_TUTOR, _EXAM = 0, 1


@dataclass
class Plan:
    """Per-user and per-session arrays, both sorted by ``created_at`` (time-ordered keys)."""

    n_users: int
    user_role: np.ndarray  # 0 student, 1 admin, 2 reviewer (sorted by created_at)
    user_year: np.ndarray  # 0 for staff
    user_created: np.ndarray
    user_ability: np.ndarray
    user_ids: pl.Series
    n_sessions: int
    s_user: np.ndarray
    s_mode: np.ndarray
    s_status: np.ndarray
    s_created: np.ndarray
    s_submitted: np.ndarray  # meaningless where ACTIVE
    s_size: np.ndarray
    s_answered: np.ndarray  # positions < this are answered (except the skipped one)
    s_skip: np.ndarray  # one blank position or -1
    s_span: np.ndarray  # microseconds from created_at to the last answer
    s_progress: np.ndarray  # created_at as a fraction of the window (negative before it)
    s_pool_base: np.ndarray
    s_pool_len: np.ndarray
    s_offset: np.ndarray
    session_ids: pl.Series
    row_start: np.ndarray  # sessions + 1 offsets of session_questions rows
    answers: np.ndarray  # answers per session


def build_plan(spec: CohortSpec, cat: Catalog) -> Plan:
    rng = np.random.default_rng([spec.seed & M64, 2])
    seed, dirty, days = spec.seed, spec.dirty, spec.days
    as_of = spec.as_of_us
    window_start = as_of - days * DAY
    day0 = (as_of // DAY - days) * DAY  # midnight starting the first day of the window

    n_users = spec.users
    n_admin, n_reviewer = round(n_users * 0.004), round(n_users * 0.008)
    if n_users >= 10:
        n_admin, n_reviewer = max(1, n_admin), max(1, n_reviewer)
    n_stu = n_users - n_admin - n_reviewer

    # students: year, ability, when they are active
    year = rng.integers(1, cat.n_years + 1, n_stu)
    ability = rng.normal(ABILITY_MEAN, ABILITY_SD, n_stu)
    phase = rng.random(n_stu)
    kind = rng.choice(3, n_stu, p=[0.80, 0.05, 0.15])  # early, recent, late joiner
    span_days = days + 1.0  # the window's days plus the (partial) as_of day
    start = np.where(kind == 2, rng.uniform(0.05, 0.6, n_stu) * span_days, 0.0)
    churn = rng.random(n_stu) < 0.20
    end = np.where(churn, start + (span_days - start) * rng.uniform(0.3, 0.9, n_stu), span_days)
    rate = rng.gamma(1.5, SESSIONS_PER_ACTIVE_DAY / 1.5, n_stu)
    n_win = rng.poisson(rate * (end - start))
    n_old = np.where(kind == 0, rng.poisson(0.35, n_stu), 0)
    n_tot = n_win + n_old
    joined = np.select(
        [kind == 0, kind == 1],
        [day0 - rng.uniform(61, 500, n_stu) * DAY, day0 - rng.uniform(1, 60, n_stu) * DAY],
        day0 + (start - rng.uniform(0, 2, n_stu)) * DAY,
    ).astype(np.int64)

    # sessions, grouped by student: bursty study days, evening-heavy hours
    n_sessions = int(n_tot.sum())
    su = np.repeat(np.arange(n_stu), n_tot)
    first = np.concatenate([[0], np.cumsum(n_tot)[:-1]])
    is_old = (np.arange(n_sessions) - first[su]) < n_old[su]
    n_bursts = np.maximum(1, np.rint(n_win * rng.uniform(0.35, 0.75, n_stu))).astype(np.int64)
    burst = su.astype(np.int64) * 4096 + (rng.random(n_sessions) * n_bursts[su]).astype(np.int64)
    burst_day = start[su] + (end[su] - start[su]) * unit(hash64(seed, S_BURST_DAY, burst))
    day = np.floor(np.where(is_old, -rng.uniform(1, 60, n_sessions), burst_day))
    u_hour = unit(hash64(seed, S_BURST_HOUR, burst))
    hour = (18.5 + 2.0 * np.log(u_hour / (1 - u_hour)) + rng.uniform(-1.5, 1.5, n_sessions)) % 24
    created = day0 + (day * DAY).astype(np.int64) + (hour * HOUR).astype(np.int64)
    created = np.where(created > as_of - 60 * US, created - DAY, created)

    # a user exists before their first session
    first_session = np.full(n_stu, np.iinfo(np.int64).max)
    np.minimum.at(first_session, su, created)
    gap = (rng.uniform(1, 72, n_stu) * HOUR).astype(np.int64)
    joined = np.minimum(joined, np.where(n_tot > 0, first_session - gap, joined))

    # users sorted by created_at (time-ordered ids); staff have no sessions
    n_staff = n_admin + n_reviewer
    staff_created = (day0 - rng.uniform(100, 900, n_staff) * DAY).astype(np.int64)
    u_created = np.concatenate([joined, staff_created])
    u_role = np.concatenate([np.zeros(n_stu, np.int64), np.repeat([1, 2], [n_admin, n_reviewer])])
    order = np.argsort(u_created, kind="stable")
    rank = np.empty(n_users, dtype=np.int64)
    rank[order] = np.arange(n_users)
    user_year = np.concatenate([year, np.zeros(n_staff, np.int64)])[order]
    user_ability = np.concatenate([ability, np.zeros(n_staff)])[order]
    user_phase = np.concatenate([phase, np.zeros(n_staff)])[order]
    user_role = u_role[order]
    u_created = u_created[order]
    user_ids = uuid7(seed, S_UUID_USER, np.arange(n_users), u_created)

    # sessions sorted by created_at
    order = np.argsort(created, kind="stable")
    created = created[order]
    s_user = rank[su[order]]
    progress = (created - window_start) / (days * DAY)
    mode = (rng.random(n_sessions) < EXAM_SHARE).astype(np.int64)
    size = np.where(
        mode == _EXAM,
        rng.choice(EXAM_SIZES, n_sessions, p=EXAM_SIZE_P),
        rng.integers(TUTOR_MIN_Q, TUTOR_MAX_Q + 1, n_sessions),
    )

    # question pool: tutor -> a block (mostly the curriculum's current one), exam -> a year
    y = user_year[s_user] - 1
    n_blocks_y = cat.year_block_count[y]
    curriculum = ((np.clip(progress, 0, 1) + user_phase[s_user]) % 1 * n_blocks_y).astype(np.int64)
    r = rng.random(n_sessions)
    any_block = rng.integers(0, len(cat.block_year), n_sessions)
    year_block = rng.integers(0, 1 << 30, n_sessions) % n_blocks_y
    block = cat.year_block_start[y] + np.where(r < 0.6, curriculum, year_block)
    block = np.where(r >= 0.9, any_block, block)
    exam_year = np.where(rng.random(n_sessions) < 0.85, y, rng.integers(0, cat.n_years, n_sessions))
    pool = np.where(mode == _EXAM, len(cat.block_year) + exam_year, block)
    pool_len = cat.pool_len[pool]
    size = np.minimum(size, pool_len)
    pool_base = cat.pool_start[pool, rng.integers(0, PERMUTATIONS_PER_POOL, n_sessions)]
    offset = (rng.random(n_sessions) * pool_len).astype(np.int64)

    # status: in progress at as_of, abandoned, expired or submitted
    pace = np.exp(rng.normal(math.log(45.0), 0.35, n_sessions)) * np.where(mode == _EXAM, 0.85, 1.0)
    delay = rng.uniform(5, 120, n_sessions)
    natural_end = created + ((size * pace + delay) * US).astype(np.int64)
    limit = np.where(mode == _EXAM, size * 90 * US, 4 * HOUR)
    expires = created + limit
    active = natural_end >= as_of
    active |= (created >= as_of - DAY) & (rng.random(n_sessions) < 0.10)
    active |= rng.random(n_sessions) < (P_STALE_ACTIVE if dirty else 0.0)
    if n_sessions:
        active[-1] = True  # somebody is mid-session at as_of
    expired = ~active & (rng.random(n_sessions) < np.where(mode == _EXAM, 0.10, 0.04))
    active |= expired & (expires >= as_of)
    expired &= ~active
    status = np.where(active, ACTIVE, np.where(expired, EXPIRED, SUBMITTED))

    answered = np.select(
        [status == SUBMITTED, status == EXPIRED],
        [size, np.maximum(1, (size * rng.uniform(0.2, 0.95, n_sessions)).astype(np.int64))],
        (size * rng.random(n_sessions)).astype(np.int64),
    )
    skip = np.where(
        (status == SUBMITTED) & (rng.random(n_sessions) < 0.04),
        (rng.random(n_sessions) * size).astype(np.int64),
        -1,
    )
    base = answered * pace * US
    span = np.select(
        [status == SUBMITTED, status == EXPIRED],
        [base, np.minimum(base, 0.95 * limit)],
        np.minimum(base, 0.95 * (as_of - created)),
    ).astype(np.int64)
    submitted = np.where(status == EXPIRED, expires, created + span + (delay * US).astype(np.int64))
    answers = answered - ((skip >= 0) & (skip < answered))

    return Plan(
        n_users=n_users,
        user_role=user_role,
        user_year=user_year,
        user_created=u_created,
        user_ability=user_ability,
        user_ids=user_ids,
        n_sessions=n_sessions,
        s_user=s_user,
        s_mode=mode,
        s_status=status,
        s_created=created,
        s_submitted=submitted,
        s_size=size,
        s_answered=answered,
        s_skip=skip,
        s_span=span,
        s_progress=progress,
        s_pool_base=pool_base,
        s_pool_len=pool_len,
        s_offset=offset,
        session_ids=uuid7(seed, S_UUID_SESSION, np.arange(n_sessions), created),
        row_start=np.concatenate([[0], np.cumsum(size)]).astype(np.int64),
        answers=answers,
    )


def users_frame(plan: Plan) -> pl.DataFrame:
    n = plan.n_users
    role = pick(("STUDENT", "ADMIN", "REVIEWER"), plan.user_role)
    number = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(7)
    local = pl.Series(("s", "admin", "reviewer"), dtype=pl.String).gather(plan.user_role)
    domain = pl.Series(("@students.example.edu", "@example.edu", "@example.edu")).gather(
        plan.user_role
    )
    return table_frame(
        "users",
        {
            "id": plan.user_ids,
            "email": local + number + domain,
            "role": role,
            "year": ints(plan.user_year, plan.user_year == 0),
            "created_at": times(plan.user_created),
        },
    )


def sessions_frame(plan: Plan) -> pl.DataFrame:
    return table_frame(
        "test_sessions",
        {
            "id": plan.session_ids,
            "user_id": plan.user_ids.gather(plan.s_user),
            "mode": pick(("TUTOR", "EXAM"), plan.s_mode),
            "status": pick(("ACTIVE", "SUBMITTED", "EXPIRED"), plan.s_status),
            "created_at": times(plan.s_created),
            "submitted_at": times(plan.s_submitted, plan.s_status == ACTIVE),
        },
    )

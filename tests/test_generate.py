"""The synthetic cohort generator (pipeline.tools.generate): pure, no database.

One small cohort (200 users) is generated once per module and inspected from many angles:
schemas and load order, determinism, FK integrity inside the frames, uuid7 keys, the status and
timing mix, and that every frozen-tag and bad-input case SPEC §4/§7 talks about actually occurs.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.contracts.errors import MasteryError
from pipeline.tools.generate import (
    TABLE_ORDER,
    CohortSpec,
    estimate_attempts,
    estimate_rows,
    generate_cohort,
)

AS_OF = datetime(2026, 11, 25, tzinfo=UTC)
SPEC = CohortSpec(users=200, themes=24, days=90, seed=7, as_of=AS_OF)
LABELS = {"easy", "medium", "hard"}
TS = pl.Datetime("us", "UTC")
# SPEC §2, written out again here so the test does not trust the module's own constants
COLUMNS: dict[str, dict[str, Any]] = {
    "users": {"id": pl.String, "email": pl.String, "role": pl.String, "year": pl.Int32,
              "created_at": TS},
    "blocks": {"id": pl.Int32, "year": pl.Int32, "name": pl.String, "order_index": pl.Int32},
    "themes": {"id": pl.Int32, "block_id": pl.Int32, "title": pl.String,
               "order_index": pl.Int32},
    "questions": {"id": pl.String, "year": pl.Int32, "block_id": pl.Int32,
                  "theme_id": pl.Int32, "difficulty": pl.String, "status": pl.String},
    "question_versions": {"id": pl.String, "question_id": pl.String, "version": pl.Int32,
                          "year": pl.Int32, "block_id": pl.Int32, "theme_id": pl.Int32,
                          "difficulty": pl.String, "created_at": TS},
    "test_sessions": {"id": pl.String, "user_id": pl.String, "mode": pl.String,
                      "status": pl.String, "created_at": TS, "submitted_at": TS},
    "session_questions": {"id": pl.String, "session_id": pl.String, "question_id": pl.String,
                          "question_version_id": pl.String, "position": pl.Int32,
                          "snapshot_json": pl.String},
    "session_answers": {"id": pl.String, "session_id": pl.String, "question_id": pl.String,
                        "selected_index": pl.Int32, "is_correct": pl.Boolean,
                        "answered_at": TS},
}  # fmt: skip
UUID_COLUMNS = {
    "users": ["id"],
    "questions": ["id"],
    "question_versions": ["id", "question_id"],
    "test_sessions": ["id", "user_id"],
    "session_questions": ["id", "session_id", "question_id", "question_version_id"],
    "session_answers": ["id", "session_id", "question_id"],
}

Frames = dict[str, pl.DataFrame]


def collect(spec: CohortSpec, **kwargs: Any) -> Frames:
    parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
    for table, frame in generate_cohort(spec, **kwargs):
        parts[table].append(frame)
    return {table: pl.concat(frames) for table, frames in parts.items()}


@pytest.fixture(scope="module")
def cohort() -> Frames:
    return collect(SPEC)


@pytest.fixture(scope="module")
def sq_tags(cohort: Frames) -> pl.DataFrame:
    """session_questions with their version's frozen tags, the live tags and the session."""
    versions = cohort["question_versions"].select(
        pl.col("id").alias("question_version_id"),
        pl.col("question_id").alias("v_question_id"),
        pl.col("version"),
        pl.col("theme_id").alias("v_theme_id"),
        pl.col("block_id").alias("v_block_id"),
        pl.col("difficulty").alias("v_difficulty"),
        pl.col("created_at").alias("v_created_at"),
    )
    live = cohort["questions"].select(
        pl.col("id").alias("question_id"),
        pl.col("theme_id").alias("live_theme_id"),
        pl.col("difficulty").alias("live_difficulty"),
    )
    sessions = cohort["test_sessions"].select(
        pl.col("id").alias("session_id"), pl.col("created_at").alias("session_created_at")
    )
    return (
        cohort["session_questions"]
        .join(versions, on="question_version_id", how="left")
        .join(live, on="question_id", how="left")
        .join(sessions, on="session_id", how="left")
    )


def snapshot_kind(text: str) -> str:  # noqa: PLR0911
    """Classify a snapshot text by the SPEC §4 rules for its theme_id."""
    value = json.loads(text)
    if not isinstance(value, dict):
        return "not_object"
    if "theme_id" not in value:
        return "missing_theme"
    theme = value["theme_id"]
    if isinstance(theme, bool) or theme is None:
        return "null_theme"
    if isinstance(theme, int):
        return "int"
    if isinstance(theme, float):
        return "integral_float" if theme.is_integer() else "bad_float"
    if isinstance(theme, str):
        return "digit_string" if theme.isdigit() else "bad_string"
    return "bad_other"


# ---------------------------------------------------------------------------------------------
# shape, order, determinism, estimates
# ---------------------------------------------------------------------------------------------


def test_frames_come_in_fk_safe_order_with_the_spec_columns_and_dtypes() -> None:
    seen: list[str] = []
    for table, frame in generate_cohort(SPEC, chunk_rows=20_000):
        assert frame.schema == pl.Schema(COLUMNS[table]), table
        assert frame.height <= 20_000
        if table not in seen:
            seen.append(table)
    assert tuple(seen) == TABLE_ORDER
    assert list(COLUMNS) == list(TABLE_ORDER)


def test_same_spec_gives_identical_frames_and_chunking_does_not_change_them(
    cohort: Frames,
) -> None:
    again = collect(SPEC)
    chunked: list[tuple[str, pl.DataFrame]] = list(generate_cohort(SPEC, chunk_rows=5_000))
    assert sum(table == "session_questions" for table, _ in chunked) > 5
    rebuilt = defaultdict(list)
    for table, frame in chunked:
        assert frame.height <= 5_000
        rebuilt[table].append(frame)
    for table in TABLE_ORDER:
        assert again[table].equals(cohort[table]), table
        assert pl.concat(rebuilt[table]).equals(cohort[table]), table


def test_different_seeds_give_different_cohorts(cohort: Frames) -> None:
    other = collect(CohortSpec(users=200, themes=24, days=90, seed=8, as_of=AS_OF))
    for table in ("users", "questions", "test_sessions", "session_answers"):
        assert not other[table].equals(cohort[table]), table
    shared = set(other["session_answers"]["id"]) & set(cohort["session_answers"]["id"])
    assert not shared


def test_estimates_are_exact_and_the_progress_callback_sees_every_row(cohort: Frames) -> None:
    seen: dict[str, int] = defaultdict(int)

    def on_rows(table: str, n_rows: int) -> None:
        seen[table] += n_rows

    for _ in generate_cohort(SPEC, on_rows=on_rows, chunk_rows=10_000):
        pass
    expected = {table: frame.height for table, frame in cohort.items()}
    assert dict(seen) == expected
    assert estimate_rows(SPEC) == expected
    assert estimate_attempts(SPEC) == cohort["session_answers"].height
    assert 150 * 200 < estimate_attempts(SPEC) < 450 * 200  # ~300 answers per user over 90 days


def test_invalid_specs_are_refused_with_a_clear_message() -> None:
    with pytest.raises(MasteryError, match="users"):
        CohortSpec(users=-1)
    with pytest.raises(MasteryError, match="themes"):
        CohortSpec(users=10, themes=0)
    with pytest.raises(MasteryError, match="days"):
        CohortSpec(users=10, days=0)
    naive = CohortSpec(users=1, as_of=datetime(2026, 1, 1))
    assert naive.as_of == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(MasteryError, match="chunk_rows"):
        generate_cohort(SPEC, chunk_rows=1)  # refused at the call, not at the first frame


# ---------------------------------------------------------------------------------------------
# keys and integrity
# ---------------------------------------------------------------------------------------------


def test_ids_are_canonical_unique_time_ordered_uuid7(cohort: Frames) -> None:
    for table, columns in UUID_COLUMNS.items():
        for column in columns:
            values = cohort[table][column].drop_nulls().unique().to_list()
            for text in values:
                parsed = uuid.UUID(text)
                assert str(parsed) == text
                assert parsed.version == 7
                assert parsed.variant == uuid.RFC_4122
        assert cohort[table]["id"].is_unique().all(), table
    # the 48-bit prefix is the row's own event time in milliseconds
    sessions = cohort["test_sessions"]
    prefix_ms = sessions["id"].str.replace_all("-", "").str.slice(0, 12).str.to_integer(base=16)
    created_ms = sessions["created_at"].dt.epoch("ms")
    assert (prefix_ms == created_ms).all()
    # sessions (and so their question rows) come in key order: B-tree appends when loading
    assert sessions["id"].is_sorted()
    assert cohort["users"]["id"].is_sorted()


def test_foreign_keys_and_unique_keys_hold_inside_the_frames(cohort: Frames) -> None:
    users, blocks, themes = cohort["users"], cohort["blocks"], cohort["themes"]
    versions, sessions = cohort["question_versions"], cohort["test_sessions"]
    sq, sa = cohort["session_questions"], cohort["session_answers"]
    assert themes["block_id"].is_in(blocks["id"].implode()).all()
    assert versions["question_id"].is_in(cohort["questions"]["id"].implode()).all()
    assert sessions["user_id"].is_in(users["id"].implode()).all()
    assert sq["session_id"].is_in(sessions["id"].implode()).all()
    assert sq["question_id"].is_in(cohort["questions"]["id"].implode()).all()
    assert sq["question_version_id"].drop_nulls().is_in(versions["id"].implode()).all()
    assert sa["session_id"].is_in(sessions["id"].implode()).all()
    assert users["email"].is_unique().all()
    for frame in (sq, sa):
        assert not frame.select("session_id", "question_id").is_duplicated().any()
    # every answer belongs to a (session_id, question_id) of session_questions
    assert sa.join(sq, on=["session_id", "question_id"], how="anti").is_empty()
    # a session_question's version is a version of that same question
    with_version = sq.join(
        versions.select(pl.col("id").alias("question_version_id"), "question_id"),
        on="question_version_id",
    )
    assert with_version.height == sq["question_version_id"].drop_nulls().len()
    assert (with_version["question_id"] == with_version["question_id_right"]).all()


def test_frozen_version_is_the_one_current_when_the_session_was_built(
    cohort: Frames, sq_tags: pl.DataFrame
) -> None:
    rows = sq_tags.filter(pl.col("question_version_id").is_not_null())
    assert (rows["v_created_at"] <= rows["session_created_at"]).all()
    later = rows.join(
        cohort["question_versions"].select(
            pl.col("question_id").alias("v_question_id"),
            pl.col("version").alias("later_version"),
            pl.col("created_at").alias("later_created_at"),
        ),
        on="v_question_id",
    ).filter(
        (pl.col("later_version") > pl.col("version"))
        & (pl.col("later_created_at") <= pl.col("session_created_at"))
    )
    assert later.is_empty()
    assert rows["version"].n_unique() == 3  # sessions really did use later versions


# ---------------------------------------------------------------------------------------------
# users, sessions, answers
# ---------------------------------------------------------------------------------------------


def test_users_are_mostly_students_and_staff_have_no_sessions(cohort: Frames) -> None:
    users, sessions = cohort["users"], cohort["test_sessions"]
    roles = dict(users["role"].value_counts().iter_rows())
    assert set(roles) == {"STUDENT", "ADMIN", "REVIEWER"}
    assert roles["STUDENT"] >= 0.95 * users.height
    staff = users.filter(pl.col("role") != "STUDENT")
    assert not sessions["user_id"].is_in(staff["id"].implode()).any()
    assert staff["year"].is_null().all()
    assert users.filter(pl.col("role") == "STUDENT")["year"].is_not_null().all()
    first = sessions.group_by("user_id").agg(pl.col("created_at").min().alias("first"))
    joined = users.join(first, left_on="id", right_on="user_id")
    assert (joined["created_at"] < joined["first"]).all()


def test_session_status_mode_and_timing(cohort: Frames) -> None:
    sessions = cohort["test_sessions"]
    statuses = dict(sessions["status"].value_counts().iter_rows())
    assert set(statuses) == {"ACTIVE", "SUBMITTED", "EXPIRED"}
    assert statuses["SUBMITTED"] > 0.8 * sessions.height
    assert set(sessions["mode"]) == {"TUTOR", "EXAM"}
    assert (sessions["submitted_at"].is_null() == (sessions["status"] == "ACTIVE")).all()
    assert (sessions["created_at"] < AS_OF).all()
    done = sessions.filter(pl.col("submitted_at").is_not_null())
    assert (done["submitted_at"] > done["created_at"]).all()
    assert (done["submitted_at"] <= AS_OF).all()
    window_start = AS_OF - timedelta(days=SPEC.days)
    older = sessions.filter(pl.col("created_at") < window_start - timedelta(days=1)).height
    assert 0 < older < 0.1 * sessions.height


def test_session_sizes_and_positions(cohort: Frames) -> None:
    per_session = (
        cohort["session_questions"]
        .group_by("session_id")
        .agg(pl.len().alias("n"), pl.col("position").min().alias("lo"), pl.col("position").max())
    )
    assert per_session["n"].is_between(10, 40).all()
    assert (per_session["lo"] == 1).all()
    assert (per_session["position"] == per_session["n"]).all()
    assert per_session.height == cohort["test_sessions"].height


def test_answers_fall_inside_their_session_except_a_tiny_clock_skew(cohort: Frames) -> None:
    sessions = cohort["test_sessions"].select(
        pl.col("id").alias("session_id"), "status", "created_at", "submitted_at"
    )
    sa = cohort["session_answers"].join(sessions, on="session_id")
    timed = sa.filter(pl.col("answered_at").is_not_null())
    assert (timed["answered_at"] > timed["created_at"]).all()
    skewed = timed.filter(pl.col("answered_at") > AS_OF)
    assert 0 < skewed.height < 0.001 * sa.height
    assert (skewed["answered_at"] <= AS_OF + timedelta(minutes=10)).all()
    assert set(skewed["status"]) <= {"SUBMITTED", "EXPIRED"}
    rest = timed.filter(pl.col("answered_at") <= AS_OF)
    closed = rest.filter(pl.col("submitted_at").is_not_null())
    assert (closed["answered_at"] <= closed["submitted_at"]).all()
    # nulls the pipeline must cope with
    assert 0 < sa["answered_at"].null_count() < 0.01 * sa.height
    assert 0 < sa["is_correct"].null_count() < 0.01 * sa.height
    assert sa.filter(pl.col("is_correct").is_null() & pl.col("selected_index").is_not_null()).height
    assert sa["selected_index"].drop_nulls().is_between(0, 3).all()
    # session questions without an answer, in submitted sessions too
    unanswered = cohort["session_questions"].join(
        cohort["session_answers"], on=["session_id", "question_id"], how="anti"
    )
    assert 0 < unanswered.height < 0.1 * cohort["session_questions"].height
    unanswered_status = set(unanswered.join(sessions, on="session_id")["status"])
    assert unanswered_status == {"ACTIVE", "SUBMITTED", "EXPIRED"}


def test_students_study_on_some_days_not_every_day(cohort: Frames) -> None:
    window_start = AS_OF - timedelta(days=SPEC.days)
    days = (
        cohort["test_sessions"]
        .filter(pl.col("created_at") >= window_start)
        .group_by("user_id")
        .agg(
            pl.col("created_at").dt.date().n_unique().alias("days"),
            pl.len().alias("sessions"),
        )
    )
    assert days["days"].median() < 0.3 * SPEC.days  # type: ignore[operator]
    assert (days["sessions"] > days["days"]).any()  # several sessions on one study day
    assert days["sessions"].max() > 4 * days["sessions"].min()  # type: ignore[operator]


def test_accuracy_spreads_across_students(cohort: Frames) -> None:
    accuracy = (
        cohort["session_answers"]
        .join(
            cohort["test_sessions"].select(pl.col("id").alias("session_id"), "user_id"),
            on="session_id",
        )
        .group_by("user_id")
        .agg(pl.col("is_correct").fill_null(False).mean().alias("acc"), pl.len().alias("n"))
        .filter(pl.col("n") >= 30)
    )["acc"]
    p10, p90 = accuracy.quantile(0.1), accuracy.quantile(0.9)
    assert p10 is not None
    assert p90 is not None
    assert 0.3 <= p10 <= 0.6
    assert 0.75 <= p90 <= 0.95
    assert p90 - p10 >= 0.25


# ---------------------------------------------------------------------------------------------
# frozen tags and bad input
# ---------------------------------------------------------------------------------------------


def test_snapshot_only_version_only_and_tagless_rows_occur(cohort: Frames) -> None:
    sq = cohort["session_questions"]
    qv_null = pl.col("question_version_id").is_null()
    snap_null = pl.col("snapshot_json").is_null()
    n = sq.height
    assert sq.filter(~qv_null & ~snap_null).height > 0.9 * n
    assert 0 < sq.filter(qv_null & ~snap_null).height < 0.1 * n
    assert 0 < sq.filter(~qv_null & snap_null).height < 0.1 * n
    assert sq.filter(qv_null & snap_null).height < 0.005 * n


def test_malformed_and_odd_but_valid_snapshots_occur(cohort: Frames) -> None:
    counts = cohort["session_questions"]["snapshot_json"].drop_nulls().value_counts().iter_rows()
    kinds: dict[str, int] = defaultdict(int)
    texts = defaultdict(set)
    for text, count in counts:
        kind = snapshot_kind(text)
        kinds[kind] += count
        texts[kind].add(text)
    total = sum(kinds.values())
    for kind in ("not_object", "missing_theme", "null_theme", "digit_string", "integral_float",
                 "bad_string", "bad_other"):  # fmt: skip
        assert kinds[kind] > 0, kind
    assert {"[1, 2]", '"x"'} <= texts["not_object"]
    assert "{}" in texts["missing_theme"]
    assert kinds["int"] > 0.95 * total
    malformed = total - kinds["int"] - kinds["digit_string"] - kinds["integral_float"]
    assert malformed < 0.02 * total
    # snapshots that keep the ids but drop the year and block, or the other way round
    objects = [json.loads(t) for t in texts["int"] | texts["missing_theme"]]
    assert any("theme_id" in o and "block_id" not in o for o in objects)
    assert any("theme_id" not in o and "version" in o for o in objects)
    assert any(not isinstance(o.get("difficulty", ""), str | None) for o in objects)


def test_odd_unknown_and_null_difficulties_occur(cohort: Frames) -> None:
    def classify(values: pl.Series) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for value in values.to_list():
            if value is None:
                out["null"] += 1
            elif value in LABELS:
                out["canonical"] += 1
            elif value.strip().lower() in LABELS:
                out["odd"] += 1
            else:
                out["unknown"] += 1
        return out

    versions = classify(cohort["question_versions"]["difficulty"])
    assert versions["canonical"] > 0.75 * sum(versions.values())
    assert versions["odd"] > 0
    assert versions["null"] > 0
    assert versions["unknown"] > 0
    odd_values = {
        v for v in cohort["question_versions"]["difficulty"].drop_nulls() if v not in LABELS
    }
    assert any(v != v.strip() for v in odd_values)  # whitespace, e.g. " Hard", "EASY "
    assert any(v.strip() != v.strip().lower() for v in odd_values)  # casing
    snapshot_difficulty = pl.Series(
        [
            json.loads(t).get("difficulty", None)
            for t in cohort["session_questions"]["snapshot_json"].drop_nulls().unique()
            if t.startswith("{")
        ],
        dtype=pl.Object,
    )
    found = {type(v).__name__ for v in snapshot_difficulty}
    assert {"str", "NoneType", "int"} <= found
    assert set(cohort["questions"]["difficulty"]) <= LABELS


def test_null_version_tags_are_supplied_by_the_snapshot(sq_tags: pl.DataFrame) -> None:
    null_theme = sq_tags.filter(
        pl.col("question_version_id").is_not_null() & pl.col("v_theme_id").is_null()
    )
    assert null_theme.height > 0
    supplied = [
        text
        for text in null_theme["snapshot_json"].drop_nulls().to_list()
        if snapshot_kind(text) in {"int", "digit_string", "integral_float"}
    ]
    assert len(supplied) > 0.8 * null_theme.height


def test_live_tags_differ_from_frozen_tags(cohort: Frames, sq_tags: pl.DataFrame) -> None:
    framed = sq_tags.filter(pl.col("v_theme_id").is_not_null())
    theme_changed = framed.filter(pl.col("v_theme_id") != pl.col("live_theme_id"))
    assert 0 < theme_changed.height < 0.3 * framed.height
    difficulty_changed = framed.filter(
        pl.col("v_difficulty").str.strip_chars().str.to_lowercase() != pl.col("live_difficulty")
    )
    assert difficulty_changed.height > 0
    # the same question under different themes in different versions
    versions = cohort["question_versions"]
    moved = versions.group_by("question_id").agg(pl.col("theme_id").drop_nulls().n_unique())
    assert (moved["theme_id"] > 1).any()


def test_a_theme_under_two_blocks_and_a_dangling_theme_occur(cohort: Frames) -> None:
    versions = cohort["question_versions"].drop_nulls(["theme_id", "block_id"])
    themes = cohort["themes"].select(pl.col("id").alias("theme_id"), "block_id")
    blocks_per_theme = versions.group_by("theme_id").agg(pl.col("block_id").n_unique())
    assert (blocks_per_theme["block_id"] > 1).any()
    stale = versions.join(themes, on="theme_id").filter(
        pl.col("block_id") != pl.col("block_id_right")
    )
    assert stale["block_id"].is_in(cohort["blocks"]["id"].implode()).all()
    dangling = versions.join(themes, on="theme_id", how="anti")
    assert 0 < dangling.height < 0.02 * versions.height


def test_a_clean_cohort_has_no_defects() -> None:
    clean = collect(CohortSpec(users=60, themes=12, days=30, seed=3, as_of=AS_OF, dirty=False))
    sq, sa, versions = (
        clean["session_questions"],
        clean["session_answers"],
        clean["question_versions"],
    )
    assert sq.null_count().row(0) == (0,) * sq.width
    assert {snapshot_kind(t) for t in sq["snapshot_json"].unique()} == {"int"}
    assert versions.null_count().row(0) == (0,) * versions.width
    assert set(versions["difficulty"]) <= LABELS
    assert sa.null_count().row(0) == (0,) * sa.width
    assert (sa["answered_at"] <= AS_OF).all()
    assert versions["theme_id"].is_in(clean["themes"]["id"].implode()).all()
    statuses = set(clean["test_sessions"]["status"])
    assert "SUBMITTED" in statuses
    assert "ACTIVE" in statuses


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    users=st.integers(0, 25),
    themes=st.integers(1, 9),
    days=st.integers(1, 40),
    seed=st.integers(-(2**63), 2**63 - 1),
)
def test_tiny_cohorts_are_consistent(users: int, themes: int, days: int, seed: int) -> None:
    spec = CohortSpec(users=users, themes=themes, days=days, seed=seed, as_of=AS_OF)
    frames = collect(spec, chunk_rows=100)
    assert set(frames) == set(TABLE_ORDER)
    assert frames["users"].height == users
    assert frames["themes"].height == themes
    sessions, sq, sa = (
        frames["test_sessions"],
        frames["session_questions"],
        frames["session_answers"],
    )
    assert sessions["user_id"].is_in(frames["users"]["id"].implode()).all()
    assert sq["session_id"].is_in(sessions["id"].implode()).all()
    assert sa.join(sq, on=["session_id", "question_id"], how="anti").is_empty()
    assert not sq.select("session_id", "question_id").is_duplicated().any()
    for table in ("users", "test_sessions", "session_questions", "session_answers"):
        assert frames[table]["id"].is_unique().all()
    assert estimate_rows(spec) == {table: frame.height for table, frame in frames.items()}


def _pairs(iterator: Iterator[tuple[str, pl.DataFrame]]) -> list[str]:
    return [table for table, _ in iterator]


def test_empty_cohort_still_yields_every_table_once() -> None:
    tables = _pairs(generate_cohort(CohortSpec(users=0, themes=3, days=7, seed=1, as_of=AS_OF)))
    assert tables == list(TABLE_ORDER)

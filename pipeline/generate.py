"""Synthetic cohort generator: realistic, deterministic SPEC §2 source tables as Polars frames.

``generate_cohort(spec)`` yields ``(table_name, frame)`` pairs in foreign-key-safe load order::

    users, blocks, themes, questions, question_versions, test_sessions,
    then (session_questions, session_answers) chunk pairs

Every frame has exactly the SPEC §2 columns, in order, with the dtypes of ``TABLE_SCHEMAS``.
Tables are sliced into frames of at most ``chunk_rows`` rows; the two big tables
(``session_questions``, ``session_answers``) come as interleaved chunk pairs, each pair covering a
contiguous run of sessions in ``created_at`` order, so memory stays bounded at any cohort size.

How it stays fast and deterministic
-----------------------------------
* The small catalogue (years, blocks, themes, questions, versions) and the session *plan* (one row
  per user and per session: mode, status, size, timing, question pool) are drawn up front with a
  seeded ``numpy`` generator; at 100k users that is ~1M sessions, well under a second.
* Per-row randomness in the big tables is a counter-based hash (splitmix64) of
  ``(seed, stream, global row number)``, so a row's content does not depend on how the rows are
  chunked: the same spec yields identical frames for any ``chunk_rows``.
* Every id is a uuid7 key (RFC 9562: 48-bit Unix-millisecond prefix from the row's own event
  time, 12 bits of sub-millisecond time, version and variant bits, 62 hashed random bits),
  hex-encoded in bulk with numpy into an Arrow string buffer. Sessions are emitted in
  ``created_at`` order and their question/answer rows with them, so primary keys and the
  ``(session_id, question_id)`` unique keys arrive almost sorted: B-tree inserts stay at the right
  edge of the index (see PERFORMANCE-NOTES: time-ordered keys load much faster than uuid4).
* No Python loop runs over users, sessions or rows; the only loops are over chunks and over the
  handful of question pools.

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

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from pipeline.errors import MasteryError

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
TABLE_ORDER = (
    "users",
    "blocks",
    "themes",
    "questions",
    "question_versions",
    "test_sessions",
    "session_questions",
    "session_answers",
)
_TS = pl.Datetime("us", "UTC")
TABLE_SCHEMAS: dict[str, pl.Schema] = {
    "users": pl.Schema(
        {
            "id": pl.String(),
            "email": pl.String(),
            "role": pl.String(),
            "year": pl.Int32(),
            "created_at": _TS,
        }
    ),
    "blocks": pl.Schema(
        {"id": pl.Int32(), "year": pl.Int32(), "name": pl.String(), "order_index": pl.Int32()}
    ),
    "themes": pl.Schema(
        {"id": pl.Int32(), "block_id": pl.Int32(), "title": pl.String(), "order_index": pl.Int32()}
    ),
    "questions": pl.Schema(
        {
            "id": pl.String(),
            "year": pl.Int32(),
            "block_id": pl.Int32(),
            "theme_id": pl.Int32(),
            "difficulty": pl.String(),
            "status": pl.String(),
        }
    ),
    "question_versions": pl.Schema(
        {
            "id": pl.String(),
            "question_id": pl.String(),
            "version": pl.Int32(),
            "year": pl.Int32(),
            "block_id": pl.Int32(),
            "theme_id": pl.Int32(),
            "difficulty": pl.String(),
            "created_at": _TS,
        }
    ),
    "test_sessions": pl.Schema(
        {
            "id": pl.String(),
            "user_id": pl.String(),
            "mode": pl.String(),
            "status": pl.String(),
            "created_at": _TS,
            "submitted_at": _TS,
        }
    ),
    "session_questions": pl.Schema(
        {
            "id": pl.String(),
            "session_id": pl.String(),
            "question_id": pl.String(),
            "question_version_id": pl.String(),
            "position": pl.Int32(),
            "snapshot_json": pl.String(),
        }
    ),
    "session_answers": pl.Schema(
        {
            "id": pl.String(),
            "session_id": pl.String(),
            "question_id": pl.String(),
            "selected_index": pl.Int32(),
            "is_correct": pl.Boolean(),
            "answered_at": _TS,
        }
    ),
}

RowsCallback = Callable[[str, int], object]

# --- time -------------------------------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
_HOUR = 3_600 * _US
_DAY = 24 * _HOUR

# --- shape of the cohort (documented tuning knobs) ------------------------------------------------
_SESSIONS_PER_ACTIVE_DAY = 1 / 7  # mean session rate of a student over their active span
_EXAM_SHARE = 0.30
_EXAM_SIZES = np.array([20, 30, 40])
_EXAM_SIZE_P = np.array([0.3, 0.4, 0.3])
_TUTOR_MIN_Q, _TUTOR_MAX_Q = 10, 40
_QUESTIONS_PER_THEME = (20, 40)
_OPTIONS = 4
_PERMUTATIONS_PER_POOL = 4
_ABILITY_MEAN, _ABILITY_SD = 0.85, 1.1
_USER_THEME_SCALE = 0.35  # logistic scale of the student-by-theme effect (sd ~ 0.63)
_LEARNING_GAIN = 0.5  # logit gain from the start to the end of the window
_LABEL_EFFECT = np.array([-1.0, 0.0, 1.0])  # easy, medium, hard
_LABELS = ("easy", "medium", "hard")
_LABEL_P = np.array([0.30, 0.45, 0.25])

# --- data-quality defects (dirty=True) ----------------------------------------------------------
_P_SNAPSHOT_ONLY = 0.035  # question_version_id null, snapshot present
_P_VERSION_ONLY = 0.030  # snapshot null, question_version_id present
_P_NO_TAGS = 0.0005  # both null
_P_SNAPSHOT_ODD_VALID = 0.015  # "12", 12.0, string year/block
_P_SNAPSHOT_MALFORMED = 0.006
_P_SKIPPED = 0.003  # selected_index and is_correct null
_P_UNGRADED = 0.0005  # is_correct null only
_P_NULL_ANSWERED_AT = 0.002
_P_SKEW = 0.01  # of answers in sessions submitted in the last 12 h before as_of
_P_STALE_ACTIVE = 0.003  # sessions never submitted nor expired
_P_VERSION_NULL_THEME = 0.02
_P_VERSION_NULL_BLOCK = 0.01
_P_VERSION_NULL_YEAR = 0.01
_P_LIVE_RETAG = 0.05

# difficulty rendering styles: canonical, Capitalized, " Capitalized", "UPPER ", "lower ", UPPER,
# null, unknown label
_STYLE_NULL, _STYLE_UNKNOWN, _N_STYLES = 6, 7, 8
_VERSION_STYLE_P = np.array([0.82, 0.04, 0.03, 0.03, 0.02, 0.02, 0.035, 0.005])
_SNAPSHOT_STYLE_P = np.array([0.85, 0.04, 0.03, 0.03, 0.02, 0.02, 0.01, 0.0])
_UNKNOWN_LABELS = ("trivial", "standard", "expert")

# snapshot variants: 0 normal, 1-3 valid but odd, 4-13 malformed
_N_ODD_VALID, _N_MALFORMED = 3, 10
_N_VARIANTS = 1 + _N_ODD_VALID + _N_MALFORMED

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

# hash streams (any distinct constants)
_S_UUID_USER, _S_UUID_QUESTION, _S_UUID_VERSION, _S_UUID_SESSION = 11, 12, 13, 14
_S_UUID_SQ, _S_UUID_SA = 15, 16
_S_BURST_DAY, _S_BURST_HOUR = 21, 22
_S_ROW, _S_WEIGHT, _S_CORRECT, _S_WRONG, _S_USER_THEME = 31, 32, 33, 34, 35


@dataclass(frozen=True)
class CohortSpec:
    """What to generate. Same spec (including ``as_of``) => identical frames.

    ``users``: all users (a few of them ADMIN/REVIEWER without sessions); ``themes``: rows of
    ``themes``; ``days``: the activity window ending at ``as_of``; ``as_of``: the instant the
    cohort is "now" (default: the current time, truncated to the second; naive means UTC);
    ``dirty``: include the data-quality defects (malformed snapshots, nulls, clock skew, ...).
    """

    users: int
    themes: int = 60
    days: int = 90
    seed: int = 0
    as_of: datetime | None = None
    dirty: bool = True

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.users, int) or self.users < 0:
            problems.append(f"users must be an integer >= 0 (got {self.users!r})")
        if not isinstance(self.themes, int) or not 1 <= self.themes <= 60_000:
            problems.append(f"themes must be an integer in 1..60000 (got {self.themes!r})")
        if not isinstance(self.days, int) or not 1 <= self.days <= 3_650:
            problems.append(f"days must be an integer in 1..3650 (got {self.days!r})")
        if not isinstance(self.seed, int):
            problems.append(f"seed must be an integer (got {self.seed!r})")
        if problems:
            raise MasteryError("invalid cohort spec: " + "; ".join(problems))
        as_of = self.as_of
        if as_of is None:
            as_of = datetime.now(UTC).replace(microsecond=0)
        elif as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        else:
            as_of = as_of.astimezone(UTC)
        object.__setattr__(self, "as_of", as_of)

    @property
    def as_of_us(self) -> int:
        assert self.as_of is not None  # set in __post_init__
        return (self.as_of - _EPOCH) // timedelta(microseconds=1)


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
    if chunk_rows < _TUTOR_MAX_Q:
        raise MasteryError(f"chunk_rows must be >= {_TUTOR_MAX_Q} (got {chunk_rows})")
    return _generate(spec, on_rows, chunk_rows)


def _generate(
    spec: CohortSpec, on_rows: RowsCallback | None, chunk_rows: int
) -> Iterator[tuple[str, pl.DataFrame]]:
    catalog = _build_catalog(spec)
    plan = _build_plan(spec, catalog)

    def emit(table: str, frame: pl.DataFrame) -> Iterator[tuple[str, pl.DataFrame]]:
        for offset in range(0, max(frame.height, 1), chunk_rows):
            part = frame.slice(offset, chunk_rows)
            yield table, part
            if on_rows is not None:
                on_rows(table, part.height)

    yield from emit("users", _users_frame(plan))
    yield from emit("blocks", catalog.blocks)
    yield from emit("themes", catalog.themes)
    yield from emit("questions", catalog.questions)
    yield from emit("question_versions", catalog.versions)
    yield from emit("test_sessions", _sessions_frame(plan))
    for start, stop in _chunk_bounds(plan.row_start, chunk_rows):
        questions, answers = _expand_chunk(spec, catalog, plan, start, stop)
        yield from emit("session_questions", questions)
        yield from emit("session_answers", answers)


def estimate_rows(spec: CohortSpec) -> dict[str, int]:
    """Exact row count of every table ``generate_cohort(spec)`` will produce (plan only: fast)."""
    catalog = _build_catalog(spec)
    plan = _build_plan(spec, catalog)
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


# =============================================================================================
# counter-based randomness and uuid7 keys
# =============================================================================================

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1, _MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _mix_int(x: int) -> int:
    x &= _M64
    x ^= x >> 30
    x = (x * _MIX1) & _M64
    x ^= x >> 27
    x = (x * _MIX2) & _M64
    return x ^ (x >> 31)


def _hash(seed: int, stream: int, keys: np.ndarray) -> np.ndarray:
    """splitmix64 of ``(seed, stream, key)``: 64 well-mixed bits per key, vectorized."""
    salt = _mix_int(_mix_int(seed * _GOLDEN + 0x5851F42D4C957F2D) ^ (stream * _GOLDEN))
    x = keys.astype(np.uint64)
    x *= np.uint64(_GOLDEN)
    x += np.uint64(salt)
    x ^= x >> np.uint64(30)
    x *= np.uint64(_MIX1)
    x ^= x >> np.uint64(27)
    x *= np.uint64(_MIX2)
    x ^= x >> np.uint64(31)
    return x


def _unit(bits: np.ndarray) -> np.ndarray:
    """Uniform floats in the open interval (0, 1) from 64 random bits."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / (1 << 53))


def _u16(bits: np.ndarray, slot: int) -> np.ndarray:
    """Uniform floats in [0, 1) with 16-bit resolution from bits ``16*slot .. 16*slot+15``."""
    return ((bits >> np.uint64(16 * slot)) & np.uint64(0xFFFF)).astype(np.float64) / 65536.0


_HEX_PAIRS = np.array(
    [ord(f"{b:02x}"[0]) | (ord(f"{b:02x}"[1]) << 8) for b in range(256)], dtype="<u2"
)
# One canonical uuid text (36 bytes) as fields that take whole 4/8-byte words of hex digits.
_UUID_TEXT = np.dtype(
    {
        "names": ["h0", "d0", "h1", "d1", "h2", "d2", "h3", "d3", "h4", "h5"],
        "formats": ["u8", "u1", "u4", "u1", "u4", "u1", "u4", "u1", "u4", "u8"],
        "offsets": [0, 8, 9, 13, 14, 18, 19, 23, 24, 28],
        "itemsize": 36,
    }
)


def _uuid7(seed: int, stream: int, keys: np.ndarray, time_us: np.ndarray) -> pl.Series:
    """Canonical uuid7 strings (RFC 9562): 48-bit Unix ms of ``time_us``, 12 bits of sub-ms
    precision (method 3), 62 random bits hashed from ``(seed, stream, keys)``."""
    n = len(keys)
    time_us = time_us.astype(np.int64)
    ms = (time_us // 1_000).astype(np.uint64) & np.uint64((1 << 48) - 1)
    sub_ms = ((time_us % 1_000) * 4_096 // 1_000).astype(np.uint64)
    raw = np.empty((n, 2), dtype=">u8")
    raw[:, 0] = (ms << np.uint64(16)) | np.uint64(0x7000) | sub_ms
    rand = _hash(seed, stream, keys)
    rand &= np.uint64((1 << 62) - 1)
    rand |= np.uint64(1 << 63)
    raw[:, 1] = rand
    hexed = _HEX_PAIRS[raw.view(np.uint8).reshape(n, 16)]  # (n, 16) pairs of hex digits
    words8, words4 = hexed.view(np.uint64), hexed.view(np.uint32)
    text = np.empty(n, dtype=_UUID_TEXT)
    text["h0"] = words8[:, 0]  # digits 0-7
    text["h1"] = words4[:, 2]  # 8-11
    text["h2"] = words4[:, 3]  # 12-15
    text["h3"] = words4[:, 4]  # 16-19
    text["h4"] = words4[:, 5]  # 20-23
    text["h5"] = words8[:, 3]  # 24-31
    for dash in ("d0", "d1", "d2", "d3"):
        text[dash] = ord("-")
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int64)
    array = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(text.view(np.uint8))]
    )
    return _series(array, pl.String)


def _series(array: pa.Array, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series.cast(dtype)


def _ints(values: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    return _series(pa.array(values.astype(np.int32), mask=null), pl.Int32)


def _times(values_us: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    array = pa.array(values_us.astype(np.int64), mask=null, type=pa.timestamp("us", tz="UTC"))
    return _series(array, _TS)


def _bools(values: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    return _series(pa.array(values.astype(np.bool_), mask=null), pl.Boolean)


def _pick(labels: tuple[str | None, ...], codes: np.ndarray) -> pl.Series:
    return pl.Series(labels, dtype=pl.String).gather(codes.astype(np.int64))


def _frame(table: str, columns: dict[str, pl.Series]) -> pl.DataFrame:
    schema = TABLE_SCHEMAS[table]
    assert list(columns) == list(schema), (table, list(columns))
    return pl.DataFrame([s.alias(name) for name, s in columns.items()]).cast(schema)


# =============================================================================================
# catalogue: years, blocks, themes, questions, versions, snapshot texts, question pools
# =============================================================================================


@dataclass
class _Catalog:
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


def _build_catalog(spec: CohortSpec) -> _Catalog:
    rng = np.random.default_rng([spec.seed & _M64, 1])
    dirty = spec.dirty
    as_of = spec.as_of_us
    window_start = as_of - spec.days * _DAY
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
    blocks = _frame(
        "blocks",
        {
            "id": _ints(np.arange(1, n_blocks + 1)),
            "year": _ints(block_year),
            "name": pl.Series(subjects),
            "order_index": _ints(block_order),
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
    themes = _frame(
        "themes",
        {
            "id": _ints(np.arange(1, n_themes + 1)),
            "block_id": _ints(theme_block + 1),
            "title": titles.to_series(),
            "order_index": _ints(theme_order),
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

    per_theme = rng.integers(_QUESTIONS_PER_THEME[0], _QUESTIONS_PER_THEME[1] + 1, n_themes)
    if retired:
        per_theme = np.append(per_theme, 6)
    q_theme = np.repeat(np.arange(len(all_theme_block)), per_theme)
    n_q = len(q_theme)
    q_block = all_theme_block[q_theme]
    q_year = block_year[q_block]
    q_label = rng.choice(3, n_q, p=_LABEL_P)
    q_difficulty = _LABEL_EFFECT[q_label] + rng.normal(0.0, 0.45, n_q) + theme_difficulty[q_theme]
    q_correct = rng.integers(0, _OPTIONS, n_q)

    # versions: v1 before any session, later ones inside the window
    n_ver = rng.choice(np.array([1, 2, 3]), n_q, p=[0.55, 0.30, 0.15])
    v1 = window_start - (rng.uniform(61, 700, n_q) * _DAY).astype(np.int64)
    late_lo = window_start - 30 * _DAY
    v2 = late_lo + (rng.random(n_q) * (as_of - _DAY - late_lo)).astype(np.int64)
    v3 = v2 + (rng.random(n_q) * (as_of - _HOUR - v2)).astype(np.int64)
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
        move_time[moved] = window_start + rng.uniform(0.3, 0.7, len(moved)) * spec.days * _DAY
        in_moved = moved_old_block[q_theme] >= 0
        n_ver[in_moved] = np.maximum(n_ver[in_moved], 2)
        room = np.minimum(2 * _DAY, np.maximum(as_of - _HOUR - move_time[q_theme], 1))
        moved_v2 = move_time[q_theme] + (rng.random(n_q) * room).astype(np.int64)
        moved_v3 = moved_v2 + (rng.random(n_q) * (as_of - _HOUR - moved_v2)).astype(np.int64)
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
        defect(_P_VERSION_NULL_THEME),
        defect(_P_VERSION_NULL_BLOCK),
        defect(_P_VERSION_NULL_YEAR),
    )
    style_p = _VERSION_STYLE_P if dirty else np.eye(_N_STYLES)[0]
    v_style = rng.choice(_N_STYLES, n_versions, p=style_p)
    snap_p = _SNAPSHOT_STYLE_P if dirty else np.eye(_N_STYLES)[0]
    s_style = rng.choice(_N_STYLES, n_versions, p=snap_p)

    # live tags: the latest version's, then a few retagged after sessions were built
    last = v_first + n_ver - 1
    live_theme = v_theme[last].copy()
    live_label = v_label[last].copy()
    retag = (rng.random(n_q) < (_P_LIVE_RETAG if dirty else 0.0)) & (q_theme < n_themes)
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
    q_ids = _uuid7(spec.seed, _S_UUID_QUESTION, np.arange(n_q), q_time)
    status = np.where(rng.random(n_q) < 0.04, 1, 0)
    questions = _frame(
        "questions",
        {
            "id": q_ids,
            "year": _ints(block_year[live_block]),
            "block_id": _ints(live_block + 1),
            "theme_id": _ints(all_theme_ids[live_theme]),
            "difficulty": _pick(_LABELS, live_label),
            "status": _pick(("PUBLISHED", "ARCHIVED"), status),
        },
    )

    v_ids = _uuid7(spec.seed, _S_UUID_VERSION, np.arange(n_versions), v_created)
    versions = _frame(
        "question_versions",
        {
            "id": v_ids,
            "question_id": q_ids.gather(v_question),
            "version": _ints(v_number),
            "year": _ints(v_year, null_year),
            "block_id": _ints(v_block + 1, null_block),
            "theme_id": _ints(all_theme_ids[v_theme], null_theme),
            "difficulty": _difficulty_text(v_label, v_style),
            "created_at": _times(v_created),
        },
    )
    snapshots = _snapshot_texts(
        v_number, v_year, v_block + 1, all_theme_ids[v_theme], _difficulty_text(v_label, s_style)
    )

    # question pools: one per block (tutor sessions), one per year (exams)
    pools = [np.flatnonzero(q_block == b) for b in range(n_blocks)]
    pools += [np.flatnonzero(q_year == yr) for yr in range(1, n_years + 1)]
    perms = [
        pool[rng.permutation(len(pool))] for pool in pools for _ in range(_PERMUTATIONS_PER_POOL)
    ]
    pool_len = np.array([len(p) for p in pools], dtype=np.int64)
    pool_start = np.concatenate([[0], np.cumsum([len(p) for p in perms])[:-1]]).reshape(
        len(pools), _PERMUTATIONS_PER_POOL
    )

    return _Catalog(
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


def _difficulty_text(label: np.ndarray, style: np.ndarray) -> pl.Series:
    table: list[str | None] = []
    for i, name in enumerate(_LABELS):
        cap = name.capitalize()
        table += [name, cap, " " + cap, name.upper() + " ", name + " ", name.upper(), None]
        table.append(_UNKNOWN_LABELS[i])
    return _pick(tuple(table), label * _N_STYLES + style)


def _snapshot_texts(
    version: np.ndarray, year: np.ndarray, block: np.ndarray, theme: np.ndarray, diff: pl.Series
) -> pl.Series:
    """``[null] + [variant k of version v at 1 + v * _N_VARIANTS + k]`` as JSON texts."""
    frame = pl.DataFrame(
        {
            "v": version.astype(np.int32),
            "y": year.astype(np.int32),
            "b": block.astype(np.int32),
            "t": theme.astype(np.int32),
            "d": diff,
        }
    ).with_columns(pl.col("v", "y", "b", "t").cast(pl.String))
    v, y, b, t = pl.col("v"), pl.col("y"), pl.col("b"), pl.col("t")
    d = pl.when(pl.col("d").is_null()).then(pl.lit("null")).otherwise('"' + pl.col("d") + '"')

    def obj(*parts: pl.Expr | str) -> pl.Expr:
        return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])

    def full(year: Any, block: Any, theme: Any, difficulty: Any = d) -> pl.Expr:
        return obj(
            '{"version": ', v, ', "year": ', *year, ', "block_id": ', *block,
            ', "theme_id": ', *theme, ', "difficulty": ', difficulty, "}",
        )  # fmt: skip

    variants = [
        full([y], [b], [t]),  # 0 normal
        full([y], [b], ['"', t, '"']),  # 1 theme id as a digit string (valid)
        full([y, ".0"], [b], [t, ".0"]),  # 2 integral floats (valid)
        full(['"', y, '"'], ['"', b, '"'], [t]),  # 3 year and block as digit strings (valid)
        pl.lit("[1, 2]"),  # 4 not an object
        pl.lit('"x"'),  # 5 not an object
        pl.lit("42"),  # 6 not an object
        pl.lit("{}"),  # 7 no keys at all
        full([y], [b], ['"abc"']),  # 8 theme id not a number
        full([y], [b], ["[", t, "]"]),  # 9 theme id an array
        full([y], [b], ["null"]),  # 10 theme id null
        obj('{"version": ', v, ', "difficulty": ', d, "}"),  # 11 tags missing
        obj('{"theme_id": ', t, "}"),  # 12 only the theme (block, year missing)
        full([y], [b], [t], pl.lit("2")),  # 13 difficulty not a string
    ]
    assert len(variants) == _N_VARIANTS
    texts = frame.select(pl.concat_list(variants).alias("s")).explode("s").to_series()
    return pl.concat([pl.Series([None], dtype=pl.String), texts], rechunk=True)


# =============================================================================================
# plan: users and sessions (one row each), sessions sorted by created_at
# =============================================================================================

_ACTIVE, _SUBMITTED, _EXPIRED = 0, 1, 2
_TUTOR, _EXAM = 0, 1


@dataclass
class _Plan:
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


def _build_plan(spec: CohortSpec, cat: _Catalog) -> _Plan:
    rng = np.random.default_rng([spec.seed & _M64, 2])
    seed, dirty, days = spec.seed, spec.dirty, spec.days
    as_of = spec.as_of_us
    window_start = as_of - days * _DAY
    day0 = (as_of // _DAY - days) * _DAY  # midnight starting the first day of the window

    n_users = spec.users
    n_admin, n_reviewer = round(n_users * 0.004), round(n_users * 0.008)
    if n_users >= 10:
        n_admin, n_reviewer = max(1, n_admin), max(1, n_reviewer)
    n_stu = n_users - n_admin - n_reviewer

    # students: year, ability, when they are active
    year = rng.integers(1, cat.n_years + 1, n_stu)
    ability = rng.normal(_ABILITY_MEAN, _ABILITY_SD, n_stu)
    phase = rng.random(n_stu)
    kind = rng.choice(3, n_stu, p=[0.80, 0.05, 0.15])  # early, recent, late joiner
    span_days = days + 1.0  # the window's days plus the (partial) as_of day
    start = np.where(kind == 2, rng.uniform(0.05, 0.6, n_stu) * span_days, 0.0)
    churn = rng.random(n_stu) < 0.20
    end = np.where(churn, start + (span_days - start) * rng.uniform(0.3, 0.9, n_stu), span_days)
    rate = rng.gamma(1.5, _SESSIONS_PER_ACTIVE_DAY / 1.5, n_stu)
    n_win = rng.poisson(rate * (end - start))
    n_old = np.where(kind == 0, rng.poisson(0.35, n_stu), 0)
    n_tot = n_win + n_old
    joined = np.select(
        [kind == 0, kind == 1],
        [day0 - rng.uniform(61, 500, n_stu) * _DAY, day0 - rng.uniform(1, 60, n_stu) * _DAY],
        day0 + (start - rng.uniform(0, 2, n_stu)) * _DAY,
    ).astype(np.int64)

    # sessions, grouped by student: bursty study days, evening-heavy hours
    n_sessions = int(n_tot.sum())
    su = np.repeat(np.arange(n_stu), n_tot)
    first = np.concatenate([[0], np.cumsum(n_tot)[:-1]])
    is_old = (np.arange(n_sessions) - first[su]) < n_old[su]
    n_bursts = np.maximum(1, np.rint(n_win * rng.uniform(0.35, 0.75, n_stu))).astype(np.int64)
    burst = su.astype(np.int64) * 4096 + (rng.random(n_sessions) * n_bursts[su]).astype(np.int64)
    burst_day = start[su] + (end[su] - start[su]) * _unit(_hash(seed, _S_BURST_DAY, burst))
    day = np.floor(np.where(is_old, -rng.uniform(1, 60, n_sessions), burst_day))
    u_hour = _unit(_hash(seed, _S_BURST_HOUR, burst))
    hour = (18.5 + 2.0 * np.log(u_hour / (1 - u_hour)) + rng.uniform(-1.5, 1.5, n_sessions)) % 24
    created = day0 + (day * _DAY).astype(np.int64) + (hour * _HOUR).astype(np.int64)
    created = np.where(created > as_of - 60 * _US, created - _DAY, created)

    # a user exists before their first session
    first_session = np.full(n_stu, np.iinfo(np.int64).max)
    np.minimum.at(first_session, su, created)
    gap = (rng.uniform(1, 72, n_stu) * _HOUR).astype(np.int64)
    joined = np.minimum(joined, np.where(n_tot > 0, first_session - gap, joined))

    # users sorted by created_at (time-ordered ids); staff have no sessions
    n_staff = n_admin + n_reviewer
    staff_created = (day0 - rng.uniform(100, 900, n_staff) * _DAY).astype(np.int64)
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
    user_ids = _uuid7(seed, _S_UUID_USER, np.arange(n_users), u_created)

    # sessions sorted by created_at
    order = np.argsort(created, kind="stable")
    created = created[order]
    s_user = rank[su[order]]
    progress = (created - window_start) / (days * _DAY)
    mode = (rng.random(n_sessions) < _EXAM_SHARE).astype(np.int64)
    size = np.where(
        mode == _EXAM,
        rng.choice(_EXAM_SIZES, n_sessions, p=_EXAM_SIZE_P),
        rng.integers(_TUTOR_MIN_Q, _TUTOR_MAX_Q + 1, n_sessions),
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
    pool_base = cat.pool_start[pool, rng.integers(0, _PERMUTATIONS_PER_POOL, n_sessions)]
    offset = (rng.random(n_sessions) * pool_len).astype(np.int64)

    # status: in progress at as_of, abandoned, expired or submitted
    pace = np.exp(rng.normal(math.log(45.0), 0.35, n_sessions)) * np.where(mode == _EXAM, 0.85, 1.0)
    delay = rng.uniform(5, 120, n_sessions)
    natural_end = created + ((size * pace + delay) * _US).astype(np.int64)
    limit = np.where(mode == _EXAM, size * 90 * _US, 4 * _HOUR)
    expires = created + limit
    active = natural_end >= as_of
    active |= (created >= as_of - _DAY) & (rng.random(n_sessions) < 0.10)
    active |= rng.random(n_sessions) < (_P_STALE_ACTIVE if dirty else 0.0)
    if n_sessions:
        active[-1] = True  # somebody is mid-session at as_of
    expired = ~active & (rng.random(n_sessions) < np.where(mode == _EXAM, 0.10, 0.04))
    active |= expired & (expires >= as_of)
    expired &= ~active
    status = np.where(active, _ACTIVE, np.where(expired, _EXPIRED, _SUBMITTED))

    answered = np.select(
        [status == _SUBMITTED, status == _EXPIRED],
        [size, np.maximum(1, (size * rng.uniform(0.2, 0.95, n_sessions)).astype(np.int64))],
        (size * rng.random(n_sessions)).astype(np.int64),
    )
    skip = np.where(
        (status == _SUBMITTED) & (rng.random(n_sessions) < 0.04),
        (rng.random(n_sessions) * size).astype(np.int64),
        -1,
    )
    base = answered * pace * _US
    span = np.select(
        [status == _SUBMITTED, status == _EXPIRED],
        [base, np.minimum(base, 0.95 * limit)],
        np.minimum(base, 0.95 * (as_of - created)),
    ).astype(np.int64)
    submitted = np.where(
        status == _EXPIRED, expires, created + span + (delay * _US).astype(np.int64)
    )
    answers = answered - ((skip >= 0) & (skip < answered))

    return _Plan(
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
        session_ids=_uuid7(seed, _S_UUID_SESSION, np.arange(n_sessions), created),
        row_start=np.concatenate([[0], np.cumsum(size)]).astype(np.int64),
        answers=answers,
    )


def _users_frame(plan: _Plan) -> pl.DataFrame:
    n = plan.n_users
    role = _pick(("STUDENT", "ADMIN", "REVIEWER"), plan.user_role)
    number = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(7)
    local = pl.Series(("s", "admin", "reviewer"), dtype=pl.String).gather(plan.user_role)
    domain = pl.Series(("@students.example.edu", "@example.edu", "@example.edu")).gather(
        plan.user_role
    )
    return _frame(
        "users",
        {
            "id": plan.user_ids,
            "email": local + number + domain,
            "role": role,
            "year": _ints(plan.user_year, plan.user_year == 0),
            "created_at": _times(plan.user_created),
        },
    )


def _sessions_frame(plan: _Plan) -> pl.DataFrame:
    return _frame(
        "test_sessions",
        {
            "id": plan.session_ids,
            "user_id": plan.user_ids.gather(plan.s_user),
            "mode": _pick(("TUTOR", "EXAM"), plan.s_mode),
            "status": _pick(("ACTIVE", "SUBMITTED", "EXPIRED"), plan.s_status),
            "created_at": _times(plan.s_created),
            "submitted_at": _times(plan.s_submitted, plan.s_status == _ACTIVE),
        },
    )


# =============================================================================================
# the big tables, a contiguous run of sessions at a time
# =============================================================================================


def _chunk_bounds(row_start: np.ndarray, chunk_rows: int) -> Iterator[tuple[int, int]]:
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


def _expand_chunk(
    spec: CohortSpec, cat: _Catalog, plan: _Plan, s0: int, s1: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
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

    bits = _hash(seed, _S_ROW, row)  # four 16-bit uniforms per row
    no_version, snapshot_index = _tag_sources(_u16(bits, 0), _u16(bits, 1), version, dirty)

    questions = _frame(
        "session_questions",
        {
            "id": _uuid7(seed, _S_UUID_SQ, row, created + pos * 1_000),
            "session_id": plan.session_ids.gather(sess),
            "question_id": cat.q_ids.gather(q),
            "question_version_id": cat.v_ids.gather(
                np.where(no_version, len(cat.v_ids) - 1, version)
            ),
            "position": _ints(pos + 1),
            "snapshot_json": cat.snapshots.gather(snapshot_index),
        },
    )

    # answer times: random gaps, scaled so the last answer lands at created_at + span
    # integer weights: exact cumulative sums, so a row's time never depends on the chunking
    weight = ((0.4 - np.log(_unit(_hash(seed, _S_WEIGHT, row)))) * 65_536).astype(np.int64)
    cum = np.cumsum(weight)
    cum -= (cum[first] - weight[first])[local]
    n_answered = plan.s_answered[s0:s1]
    norm = cum[first + np.maximum(n_answered - 1, 0)]
    is_answer = (pos < n_answered[local]) & (pos != plan.s_skip[sess])
    a = np.flatnonzero(is_answer)
    a_sess, a_q, a_row = sess[a], q[a], row[a]
    a_local = local[a]
    at = created[a] + (plan.s_span[a_sess] * (cum[a] / norm[a_local])).astype(np.int64)
    a_answer_u, a_null_u = _u16(bits[a], 2), _u16(bits[a], 3)
    del bits, weight, cum, is_answer
    if dirty:
        recent = (plan.s_status[a_sess] != _ACTIVE) & (
            plan.s_submitted[a_sess] >= as_of - 12 * _HOUR
        )
        skew = recent & (a_answer_u < _P_SKEW)
        at = np.where(skew, as_of + _US + (a_answer_u * 300 * _US / _P_SKEW).astype(np.int64), at)

    # correctness: logistic in ability + student-by-theme effect + learning - difficulty
    user = plan.s_user[a_sess]
    theme = cat.q_theme[a_q]
    u_t = _unit(_hash(seed, _S_USER_THEME, user.astype(np.int64) * 65_536 + theme))
    logit = (
        plan.user_ability[user]
        + _USER_THEME_SCALE * np.log(u_t / (1.0 - u_t))
        + _LEARNING_GAIN * np.clip(plan.s_progress[a_sess], -1.0, 1.0)
        - cat.q_difficulty[a_q]
    )
    correct = _unit(_hash(seed, _S_CORRECT, a_row)) * (1.0 + np.exp(-logit)) < 1.0
    wrong_pick = (_unit(_hash(seed, _S_WRONG, a_row)) * (_OPTIONS - 1)).astype(np.int64)
    right = cat.q_correct[a_q]
    selected = np.where(correct, right, (right + 1 + wrong_pick) % _OPTIONS)
    if dirty:
        skipped = a_null_u < _P_SKIPPED
        ungraded = (a_null_u >= _P_SKIPPED) & (a_null_u < _P_SKIPPED + _P_UNGRADED)
        no_time = a_null_u >= 1.0 - _P_NULL_ANSWERED_AT
    else:
        skipped = ungraded = no_time = np.zeros(len(a), dtype=np.bool_)

    answers = _frame(
        "session_answers",
        {
            "id": _uuid7(seed, _S_UUID_SA, a_row, np.where(no_time, created[a], at)),
            "session_id": questions["session_id"].gather(a),
            "question_id": questions["question_id"].gather(a),
            "selected_index": _ints(selected, skipped),
            "is_correct": _bools(correct, skipped | ungraded),
            "answered_at": _times(at, no_time),
        },
    )
    return questions, answers


def _tag_sources(
    kind_u: np.ndarray, variant_u: np.ndarray, version: np.ndarray, dirty: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per session question: is ``question_version_id`` null, and which snapshot text (0 = null)."""
    if not dirty:
        return np.zeros(len(version), dtype=np.bool_), 1 + version * _N_VARIANTS
    snapshot_only = kind_u < _P_SNAPSHOT_ONLY
    version_only = (kind_u >= _P_SNAPSHOT_ONLY) & (kind_u < _P_SNAPSHOT_ONLY + _P_VERSION_ONLY)
    neither = kind_u >= 1.0 - _P_NO_TAGS
    odd = variant_u < _P_SNAPSHOT_ODD_VALID
    bad = (variant_u >= _P_SNAPSHOT_ODD_VALID) & (
        variant_u < _P_SNAPSHOT_ODD_VALID + _P_SNAPSHOT_MALFORMED
    )
    odd_pick = (variant_u * (_N_ODD_VALID / _P_SNAPSHOT_ODD_VALID)).astype(np.int64)
    bad_pick = (variant_u - _P_SNAPSHOT_ODD_VALID) * (_N_MALFORMED / _P_SNAPSHOT_MALFORMED)
    variant = np.where(odd, 1 + np.minimum(odd_pick, _N_ODD_VALID - 1), 0)
    bad_variant = 1 + _N_ODD_VALID + np.clip(bad_pick.astype(np.int64), 0, _N_MALFORMED - 1)
    variant = np.where(bad, bad_variant, variant)
    snapshot_index = np.where(version_only | neither, 0, 1 + version * _N_VARIANTS + variant)
    return snapshot_only | neither, snapshot_index

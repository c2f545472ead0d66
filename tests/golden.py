"""Golden cases of SPEC §4 as data (tests/cases/*.json) and the small runner that executes them.

A case file is a JSON list of cases::

    {"title": "...", "spec": "§4 Row identity", "why": "hand-worked: ...",
     "as_of": "2026-06-30T12:00:00Z", "params": {...},        # params: missing keys = defaults
     "defaults": {...},                                       # merged under every attempt
     "attempts": [{"user", "session", "question", "year", "block_id", "theme_id", "difficulty",
                   "is_correct", "answered_at", "submitted_at"}, ...],
     "expected_rows": [{"user_id", "theme_id", "year", "block_id", "attempts_total",
                        "correct_total", "accuracy_pct", "mastery_score", "last_attempt_at",
                        "breakdown"}, ...],
     "expected_data_quality": {only the non-zero counts}}

Optional case keys: ``"only": "store"`` (needs source rows: session status, unanswered
questions, earlier runs), ``"pending": "..."`` (a SPEC rule the product has not landed yet: the
case is xfail(strict=False)), ``"prior_as_of"`` (a run at that instant first: stale rows),
``"absent_themes"`` / ``"absent_blocks"`` (ids left out of ``themes`` / ``blocks``),
``"expected_summary"`` (run-summary counts checked on the stores), ``"skip_store": "why"``
(the store path adds nothing to the kernel run: the store test leaves the case out unless
``GOLDEN_ALL_STORES=1``).
Optional attempt keys: ``"status"`` (the session's, default SUBMITTED), ``"answered": false``
(a ``session_questions`` row without an answer), ``"stored_as"`` (``{"version": {...} | null,
"snapshot": <JSON>}``: how the store holds the frozen tags the attempt resolves to; by default
a ``question_versions`` row carries them all).

Readable ids map to UUIDs whose text sorts as the readable names do ("q2" > "q1", "s2" > "s1"),
so the tie-breaks of SPEC §4 ("the larger question_id / session_id wins") can be worked by hand
on the names.
"""

from __future__ import annotations

import inspect
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

CASES_DIR = Path(__file__).parent / "cases"
ATTEMPT_KEYS = (
    "user",
    "session",
    "question",
    "year",
    "block_id",
    "theme_id",
    "difficulty",
    "is_correct",
    "answered_at",
    "submitted_at",
)
OPTIONAL_ATTEMPT_KEYS = ("status", "answered", "stored_as")
CASE_KEYS = ("title", "spec", "why", "as_of", "params", "attempts", "expected_rows")
OPTIONAL_CASE_KEYS = (
    "defaults",
    "expected_data_quality",
    "only",
    "pending",
    "prior_as_of",
    "absent_themes",
    "absent_blocks",
    "expected_summary",
    "skip_store",
)
ROW_KEYS = (
    "user_id",
    "theme_id",
    "year",
    "block_id",
    "attempts_total",
    "correct_total",
    "accuracy_pct",
    "mastery_score",
    "last_attempt_at",
    "breakdown",
)
TAGS = ("year", "block_id", "theme_id", "difficulty")
ATTEMPT_STATUSES = ("SUBMITTED", "EXPIRED")
STORE_ONLY_QUALITY_KEYS = ("malformed_snapshots",)
FILLER_BLOCK = 999_999_999  # the block of a catalogued theme none of whose attempts has a block
LIVE_TAG = 999_999_998  # live `questions` tags: never to be read (SPEC §4 Frozen tags)
UTC_US = pl.Datetime("us", "UTC")
_NAMESPACE = uuid.UUID("6f1d2c3a-0000-4000-8000-00000000901d")


# ---------------------------------------------------------------------------------------------
# loading


@dataclass(frozen=True)
class Case:
    file: str
    raw: dict[str, Any]
    attempts: list[dict[str, Any]]  # defaults merged in

    @property
    def title(self) -> str:
        return str(self.raw["title"])

    @property
    def as_of(self) -> datetime:
        return instant(self.raw["as_of"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.raw.get("params") or {})

    @property
    def only(self) -> str | None:
        return self.raw.get("only")

    @property
    def pending(self) -> str | None:
        return self.raw.get("pending")

    @property
    def prior_as_of(self) -> datetime | None:
        prior = self.raw.get("prior_as_of")
        return instant(prior) if prior else None

    @property
    def skip_store(self) -> str | None:
        return self.raw.get("skip_store")

    @property
    def expected_quality(self) -> dict[str, int]:
        return dict(self.raw.get("expected_data_quality") or {})

    @property
    def expected_summary(self) -> dict[str, int]:
        return dict(self.raw.get("expected_summary") or {})


def load_cases(directory: Path = CASES_DIR) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.json")):
        for raw in json.loads(path.read_text("utf-8"), parse_float=Decimal):
            defaults = raw.get("defaults") or {}
            attempts = [{**defaults, **given} for given in raw.get("attempts", [])]
            cases.append(Case(path.name, raw, attempts))
    return cases


def instant(text: str | None) -> datetime | None:
    """An ISO-8601 instant; naive means UTC."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def readable_uuid(kind: str, name: str) -> str:
    """A UUID whose text sorts as ``name`` does among names of the same kind (ASCII, ≤ 12)."""
    raw = name.encode("ascii")
    if len(raw) > 12:
        raise ValueError(f"readable id {name!r} is longer than 12 characters")
    return str(uuid.UUID(bytes=kind.encode("ascii")[:4].ljust(4, b"\0") + raw.ljust(12, b"\0")))


def user_uuid(name: str) -> str:
    return readable_uuid("usr", name)


def session_uuid(name: str) -> str:
    return readable_uuid("ses", name)


def question_uuid(name: str) -> str:
    return readable_uuid("qst", name)


def hidden_uuid(*parts: object) -> str:
    """Ids whose order no rule reads (versions, links, answers)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(map(str, parts))))


# ---------------------------------------------------------------------------------------------
# the attempts of SPEC §4 and the catalog


def is_attempt(a: Mapping[str, Any]) -> bool:
    """Session-level rules of SPEC §4 Attempts (the window is the algorithm's to apply)."""
    return (
        a.get("status", "SUBMITTED") in ATTEMPT_STATUSES
        and a["submitted_at"] is not None
        and a.get("answered", True)
    )


def kernel_attempts(case: Case) -> list[dict[str, Any]]:
    """Resolved attempts (the kernel's input columns) of the case's answered, closed sessions."""
    return [
        {
            "user_id": user_uuid(a["user"]),
            "session_id": session_uuid(a["session"]),
            "question_id": question_uuid(a["question"]),
            "year": a["year"],
            "block_id": a["block_id"],
            "theme_id": a["theme_id"],
            "difficulty": a["difficulty"],
            "is_correct": a["is_correct"],
            "answered_at": instant(a["answered_at"]),
            "submitted_at": instant(a["submitted_at"]),
        }
        for a in case.attempts
        if is_attempt(a)
    ]


def kernel_frame(attempts: list[dict[str, Any]]) -> pl.LazyFrame:
    from pipeline.contracts.frames import ATTEMPT_SCHEMA

    columns = {name: [a.get(name) for a in attempts] for name in ATTEMPT_SCHEMA.names()}
    return pl.DataFrame(columns, schema=ATTEMPT_SCHEMA).lazy()


def catalog(case: Case) -> tuple[dict[int, int], list[int]]:
    """(themes: id -> block_id, blocks) as the store holds them, absent ids left out."""
    absent_themes = set(case.raw.get("absent_themes", []))
    absent_blocks = set(case.raw.get("absent_blocks", []))
    blocks = {a["block_id"] for a in case.attempts if a["block_id"] is not None} - absent_blocks
    themes: dict[int, int] = {}
    for a in case.attempts:
        theme = a["theme_id"]
        if theme is None or theme in absent_themes:
            continue
        candidates = sorted(
            b for b in [a["block_id"], themes.get(theme)] if b is not None and b in blocks
        )
        themes[theme] = candidates[0] if candidates else themes.get(theme, FILLER_BLOCK)
    if FILLER_BLOCK in themes.values():
        blocks.add(FILLER_BLOCK)
    return themes, sorted(blocks)


# ---------------------------------------------------------------------------------------------
# source rows for the stores (SPEC §2)


def stored_tags(a: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """(the question_versions tags or None, the snapshot_json text or None) of an attempt."""
    stored = a.get("stored_as")
    if stored is None:
        return {tag: a[tag] for tag in TAGS}, None
    version = stored.get("version", {tag: a[tag] for tag in TAGS})
    snapshot = json.dumps(jsonable(stored["snapshot"])) if "snapshot" in stored else None
    return version, snapshot


def source_frames(case: Case) -> dict[str, pl.DataFrame]:
    """The platform's rows that resolve to the case's attempts, in insertion order."""
    themes, blocks = catalog(case)
    users = sorted({a["user"] for a in case.attempts})
    questions: list[str] = []
    versions: dict[tuple[str, str], dict[str, Any]] = {}
    sessions: dict[str, dict[str, Any]] = {}
    links, answers = [], []
    for a in case.attempts:
        if a["question"] not in questions:
            questions.append(a["question"])
        tags, snapshot = stored_tags(a)
        version_id = None
        if tags is not None:
            key = (a["question"], json.dumps(jsonable(tags), sort_keys=True))
            if key not in versions:
                number = 1 + sum(1 for q, _ in versions if q == a["question"])
                versions[key] = {
                    "id": hidden_uuid("qv", a["question"], number),
                    "question_id": question_uuid(a["question"]),
                    "version": number,
                    **{tag: tags.get(tag) for tag in TAGS},
                }
            version_id = versions[key]["id"]
        submitted = instant(a["submitted_at"])
        sessions.setdefault(
            a["session"],
            {
                "id": session_uuid(a["session"]),
                "user_id": user_uuid(a["user"]),
                "mode": "TUTOR",
                "status": a.get("status", "SUBMITTED"),
                "created_at": (submitted or case.as_of - timedelta(days=1)) - timedelta(hours=1),
                "submitted_at": submitted,
            },
        )
        link = (a["session"], a["question"])
        links.append(
            {
                "id": hidden_uuid("sq", *link),
                "session_id": session_uuid(a["session"]),
                "question_id": question_uuid(a["question"]),
                "question_version_id": version_id,
                "position": len(links),
                "snapshot_json": snapshot,
            }
        )
        if a.get("answered", True):
            answers.append(
                {
                    "id": hidden_uuid("sa", *link),
                    "session_id": session_uuid(a["session"]),
                    "question_id": question_uuid(a["question"]),
                    "selected_index": 0,
                    "is_correct": a["is_correct"],
                    "answered_at": instant(a["answered_at"]),
                }
            )
    uid, i32, text = pl.String, pl.Int32, pl.String
    return {
        "users": _frame(
            [
                {"id": user_uuid(u), "email": f"{u}@golden.test", "role": "STUDENT", "year": 1}
                for u in users
            ],
            {"id": uid, "email": text, "role": text, "year": i32},
        ),
        "blocks": _frame(
            [{"id": b, "year": 1, "name": f"block {b}"} for b in blocks],
            {"id": i32, "year": i32, "name": text},
        ),
        "themes": _frame(
            [{"id": t, "block_id": b, "title": f"theme {t}"} for t, b in sorted(themes.items())],
            {"id": i32, "block_id": i32, "title": text},
        ),
        "questions": _frame(
            [
                {
                    "id": question_uuid(q),
                    "year": 9,
                    "block_id": LIVE_TAG,
                    "theme_id": LIVE_TAG,
                    "difficulty": "live",
                    "status": "ACTIVE",
                }
                for q in questions
            ],
            {
                "id": uid,
                "year": i32,
                "block_id": i32,
                "theme_id": i32,
                "difficulty": text,
                "status": text,
            },
        ),
        "question_versions": _frame(
            list(versions.values()),
            {
                "id": uid,
                "question_id": uid,
                "version": i32,
                "year": i32,
                "block_id": i32,
                "theme_id": i32,
                "difficulty": text,
            },
        ),
        "test_sessions": _frame(
            list(sessions.values()),
            {
                "id": uid,
                "user_id": uid,
                "mode": text,
                "status": text,
                "created_at": UTC_US,
                "submitted_at": UTC_US,
            },
        ),
        "session_questions": _frame(
            links,
            {
                "id": uid,
                "session_id": uid,
                "question_id": uid,
                "question_version_id": uid,
                "position": i32,
                "snapshot_json": text,
            },
        ),
        "session_answers": _frame(
            answers,
            {
                "id": uid,
                "session_id": uid,
                "question_id": uid,
                "selected_index": i32,
                "is_correct": pl.Boolean,
                "answered_at": UTC_US,
            },
        ),
    }


def _frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema, orient="row")


def jsonable(value: Any) -> Any:
    """Decimals (how case files are read) back to JSON numbers with the same text."""
    if isinstance(value, Decimal):
        return float(value)  # a case file's JSON numbers with a point parse as Decimal
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# expected and actual rows in one comparable form


def canonical_json(value: Any) -> str:
    """JSON text with keys in the given order and numbers as written (Decimal text kept)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return (
            "{" + ",".join(f"{json.dumps(k)}:{canonical_json(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    raise TypeError(f"not JSON: {value!r}")


def unordered(value: Any) -> Any:
    """A parsed JSON value compared without key order; numbers by their exact text."""
    if isinstance(value, Mapping):
        return {k: unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unordered(v) for v in value]
    if isinstance(value, Decimal):
        return f"number {value}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"number {value}"
    return value


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return f"{moment.isoformat()} (naive)"
    return moment.astimezone(UTC).isoformat()


def expected_rows(case: Case, *, ordered_breakdown: bool) -> list[dict[str, Any]]:
    """The case's rows with real ids; the breakdown as exact text, or unordered when the store
    (jsonb) keeps keys in its own order."""
    rows = []
    for r in case.raw["expected_rows"]:
        rows.append(
            {
                **{k: r[k] for k in ROW_KEYS if k != "breakdown"},
                "user_id": user_uuid(r["user_id"]),
                "last_attempt_at": iso(instant(r["last_attempt_at"])),
                "breakdown": canonical_json(r["breakdown"])
                if ordered_breakdown
                else unordered(r["breakdown"]),
            }
        )
    return sorted(rows, key=lambda row: (row["user_id"], row["theme_id"]))


def computed_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Kernel (or reference) output rows in the expected form; order kept."""
    return [
        {
            "user_id": str(r["user_id"]),
            "theme_id": r["theme_id"],
            "year": r["year"],
            "block_id": r["block_id"],
            "attempts_total": r["attempts_total"],
            "correct_total": r["correct_total"],
            "accuracy_pct": str(r["accuracy_pct"]),
            "mastery_score": str(r["mastery_score"]),
            "last_attempt_at": iso(r["last_attempt_at"]),
            "breakdown": r["breakdown_json"],
        }
        for r in rows
    ]


def stored_rows(by_key: Mapping[tuple[str, int], Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows read back by tests/dbutil.py ``mastery_by_key``, in the expected form."""
    rows = []
    for (user_id, theme_id), r in sorted(by_key.items()):
        rows.append(
            {
                "user_id": user_id,
                "theme_id": theme_id,
                "year": r["year"],
                "block_id": r["block_id"],
                "attempts_total": r["attempts_total"],
                "correct_total": r["correct_total"],
                "accuracy_pct": r["accuracy_pct"],
                "mastery_score": r["mastery_score"],
                "last_attempt_at": iso(r["last_attempt_at"]),
                "breakdown": unordered(json.loads(r["breakdown_json"], parse_float=Decimal)),
            }
        )
    return rows


def row_differences(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    """Readable differences, one line per (row, column); row order counts."""
    problems = []
    keys = [(r["user_id"], r["theme_id"]) for r in expected]
    got = [(r["user_id"], r["theme_id"]) for r in actual]
    if keys != got:
        problems.append(f"row keys (user_id, theme_id): expected {keys}, got {got}")
    actual_by_key = {(r["user_id"], r["theme_id"]): r for r in actual}
    for row in expected:
        key = (row["user_id"], row["theme_id"])
        other = actual_by_key.get(key)
        if other is None:
            continue
        for column in ROW_KEYS:
            want, have = row[column], other[column]
            if want == have:
                continue
            if isinstance(want, dict) and isinstance(have, dict):
                problems += [f"{key} {column}{d}" for d in leaf_differences(want, have)]
            elif column == "breakdown" and isinstance(want, str) and isinstance(have, str):
                problems += [f"{key} {column}{d}" for d in text_differences(want, have)]
            else:
                problems.append(f"{key} {column}:\n    expected {want!r}\n    got      {have!r}")
    return problems


def text_differences(expected: str, actual: str) -> list[str]:
    """Two JSON texts: their differing leaves, else the texts (key order or number text)."""
    try:
        parsed = [unordered(json.loads(text, parse_float=Decimal)) for text in (expected, actual)]
    except json.JSONDecodeError:
        parsed = []
    leaves = leaf_differences(*parsed) if parsed else []
    if leaves:
        return leaves
    return [
        " text (same values, other key order or number text):"
        f"\n    expected {expected}\n    got      {actual}"
    ]


def leaf_differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """``.path: expected X, got Y`` for each differing leaf of two parsed JSON values."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for k in [*expected, *(k for k in actual if k not in expected)]:
            if k not in actual or k not in expected:
                out.append(f".{path}{k}: expected {expected.get(k)!r}, got {actual.get(k)!r}")
            else:
                out += leaf_differences(expected[k], actual[k], f"{path}{k}.")
        return out
    if expected != actual:
        return [f".{path.rstrip('.')}: expected {expected!r}, got {actual!r}"]
    return []


def quality_differences(
    expected: Mapping[str, int], actual: Mapping[str, int], keys: Iterable[str]
) -> list[str]:
    return [
        f"data_quality[{k}]: expected {expected.get(k, 0)}, got {actual.get(k, 0)}"
        for k in sorted(set(keys) | set(expected))
        if expected.get(k, 0) != actual.get(k, 0)
    ]


def run_recompute(url: str, as_of: datetime) -> Any:
    """One logged recompute with trigger "test", whichever way ``recompute`` takes its trigger
    (a keyword before the retyping, ``RunOptions`` after it)."""
    import pipeline

    parameters = inspect.signature(pipeline.recompute).parameters
    if "trigger" in parameters:
        return pipeline.recompute(url, as_of=as_of, trigger="test")
    return pipeline.recompute(url, as_of=as_of, options=pipeline.RunOptions(trigger="test"))


def summary_value(summary: Any, name: str) -> Any:
    """A run-summary field whether ``recompute`` returns a dict or a typed summary."""
    if isinstance(summary, Mapping):
        return summary[name]
    if hasattr(summary, name):
        return getattr(summary, name)
    return summary.as_json()[name]


# ---------------------------------------------------------------------------------------------
# frozen tags, resolved independently (to check a case's ``stored_as`` against its tags)


def snapshot_value(snapshot: Any, tag: str) -> Any:
    """SPEC §4: ids and year are JSON integers, integral numbers or digit strings, else null."""
    value = snapshot.get(tag) if isinstance(snapshot, Mapping) else None
    if tag == "difficulty":
        return value if isinstance(value, str) else None
    integral = isinstance(value, int | Decimal) and not isinstance(value, bool)
    if integral and value == int(value):
        return int(value)
    digits = isinstance(value, str) and value.isascii() and value.isdigit()
    return int(value) if digits else None


def resolved_tags(a: Mapping[str, Any]) -> dict[str, Any]:
    stored = a.get("stored_as")
    if stored is None:
        return {tag: a[tag] for tag in TAGS}
    version = stored.get("version", {tag: a[tag] for tag in TAGS})
    snapshot = stored.get("snapshot", {})
    return {
        tag: version[tag]
        if version is not None and version.get(tag) is not None
        else snapshot_value(snapshot, tag)
        for tag in TAGS
    }

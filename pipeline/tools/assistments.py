"""Import the ASSISTments 2017 subset (``shared/datasets/assist2017_lpp``) into the source tables.

Why: a realism check on answers nobody on this project wrote (342 real students, 90,586
answers; see the dataset's README). The file has a student, an item, a skill-combination id, a
0/1 flag and a relative timestamp; everything else below is a documented, deterministic mapping,
so the same file always yields the same rows and ids.

Mapping (SPEC §2 tables)
------------------------
* **instant** of a row = anchor ``2004-09-17T11:38:04Z`` + ``timestamp`` seconds; the recompute
  instant is ``AS_OF`` = anchor + 8,380,827 s = ``2004-12-23T11:38:31Z``, the end of the file's
  densest 90-day window (README, "Choosing an as-of time").
* **theme** = ``skill_id`` (the item's skill combination): ``themes.id = skill_id``, title = the
  combination's skill names joined by `` + `` (``skill_combos_derived.csv``); all 411 combinations
  are loaded, 400 occur.
* **block** = one of the seven strands of :data:`STRANDS`, into which the 102 skill names are
  sorted by hand. A combination belongs to the strand of its first skill (Q-matrix column order,
  which is alphabetical) other than ``noskill``; ``noskill`` alone is "Untagged problems". Block
  ids are 1..7 in table order; every block, theme, question and user has year 1.
* **users**: one STUDENT per ``user_id``; id ``uuid5(NAMESPACE, "user:<user_id>")``, email
  ``student-<user_id>@assistments2017.invalid``, created_at = the student's first answer.
* **questions**: one per ``item_id``; id ``uuid5(NAMESPACE, "item:<item_id>")`` and one
  ``question_versions`` row (``"item:<item_id>:v1"``, version 1) carrying the frozen tags;
  difficulty is null (the file has none); the live tags equal the frozen ones.
* **test_sessions**: one per student per UTC calendar day, TUTOR, SUBMITTED, created_at = first
  answer, submitted_at = last answer. A session asks a question once (unique ``(session_id,
  question_id)``), so a student's k-th answer to an item on one day goes to that day's k-th
  session; k = 1 for 94.1 % of rows (85,270 of 90,586), giving 4,276 sessions.
* **session_questions** / **session_answers**: one each per CSV row; position = order within the
  session, the version set, no snapshot; ``is_correct = (correct == 1)``, ``answered_at`` = the
  instant, ``selected_index`` null.
* Session and answer ids are a per-table uuid5 prefix plus 12 decimal digits, built in bulk and
  traceable: ``user_id`` (4 digits) + day number since the anchor's date (5) + k (3) for a
  session, the row's 0-based line number in the CSV for its question and answer rows.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pipeline.contracts.errors import MasteryError
from pipeline.contracts.frames import UTC_MICROS
from pipeline.io.store import open_store
from pipeline.io.url import DatabaseUrl
from pipeline.tools.loading import require_empty_sources

ANSWERS_FILE = "preprocessed_data_test.csv"
COMBOS_FILE = "skill_combos_derived.csv"
ENV_DATASET_DIR = "MASTERY_ASSISTMENTS_DIR"
DATASET_SUBDIR = Path("shared/datasets/assist2017_lpp")
ANCHOR = datetime(2004, 9, 17, 11, 38, 4, tzinfo=UTC)
AS_OF = ANCHOR + timedelta(seconds=8_380_827)
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "mastery-pipeline:assistments2017")
UNTAGGED = "Untagged problems"
ANSWER_SCHEMA = {
    "user_id": pl.Int64,
    "item_id": pl.Int64,
    "timestamp": pl.Int64,
    "correct": pl.Int64,
    "skill_id": pl.Int64,
}
STRANDS: dict[str, str] = {
    "Number & operations": (
        "addition; application: multi-column addition; application: multi-column subtraction; "
        "application: order of operations; application: simple multiplication; divisibility; "
        "division; exponents; integers; interpreting-numberline; least-common-multiple; "
        "multiplication; multiplying-positive-negative-numbers; n-number-sense-operations; "
        "number-line; order-of-operations; ordering-numbers; prime-number; rounding; "
        "scientific-notation; simple-calculation; square-root; subtraction"
    ),
    "Fractions, decimals & percents": (
        "adding-decimals; application: finding percentage of a number; comparing-fractions; "
        "discount; divide-decimals; equivalent-fractions-decimals-percents; finding-percents; "
        "fraction-decimals-percents; fraction-division; fraction-multiplication; fractions; "
        "multiplying-decimals; of-means-multiply; percent-of; percents; reciprocal; "
        "reduce-fraction; subtracting-decimals"
    ),
    "Ratio, rate & measurement": (
        "linear-area-volume-conversion; m-measurement; measurement; proportion; rate; "
        "rate-with-distance-and-time; unit-conversion"
    ),
    "Algebra & patterns": (
        "algebra symbolization; algebraic-manipulation; application: compare expressions; "
        "application: find slope in graph; equation-concept; equation-solving; "
        "evaluating-functions; inducing-functions; inequalities; inequality-solving; "
        "interpreting-linear-equations; making-sense-of-expressions-and-equations; "
        "p-patterns-relations-algebra; pattern-finding; slope; substitution; "
        "symbolization-articulation"
    ),
    "Geometry": (
        "application: compare points; application: isosceles triangle; application: read points; "
        "area; area-concept; area-of-circle; circumference; congruence; g-geometry; "
        "isosceles-triangle; meaning-of-pi; perimeter; point-plotting; "
        "properties-of-geometric-figures; properties-of-solids; pythagorean-theorem; "
        "similar-triangles; sum-of-interior-angles-more-than-3-sides; "
        "sum-of-interior-angles-triangle; supplementary-angles; surface-area-and-volume; "
        "transformations-rotations; transversals; triangle-inequality"
    ),
    "Data, statistics & probability": (
        "circle-graph; combinatorics; graph interpretation; graph-shape; mean; median; mode; "
        "probability; reading-graph; statistics; stem-and-leaf-plot; venn-diagram"
    ),
    UNTAGGED: "noskill",
}


def strand_of_skill() -> dict[str, str]:
    return {name: strand for strand, names in STRANDS.items() for name in names.split("; ")}


def dataset_dir() -> Path:
    """``MASTERY_ASSISTMENTS_DIR``, else ``shared/datasets/assist2017_lpp`` above the cwd."""
    explicit = os.environ.get(ENV_DATASET_DIR)
    if explicit:
        return Path(explicit)
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / DATASET_SUBDIR / ANSWERS_FILE).is_file():
            return base / DATASET_SUBDIR
    raise MasteryError(f"ASSISTments data not found: set {ENV_DATASET_DIR}")


def read_answers(path: str | Path) -> pl.DataFrame:
    """The tab-separated answers file (``path`` is it or its folder), checked."""
    source = Path(path)
    source = source / ANSWERS_FILE if source.is_dir() else source
    if not source.is_file():
        raise MasteryError(f"ASSISTments answers file {source} does not exist")
    try:
        rows = pl.read_csv(source, separator="\t", schema=ANSWER_SCHEMA)
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MasteryError(f"cannot read {source}: {first}") from None
    bad = rows.filter(~pl.col("correct").is_in([0, 1]) | pl.any_horizontal(pl.all().is_null()))
    if bad.height:
        raise MasteryError(f"{source}: {bad.height} rows with a null or a non-0/1 correct")
    if rows.is_empty():
        raise MasteryError(f"{source} holds no answers")
    return rows


def read_combos(folder: Path) -> pl.DataFrame:
    """``skill_id`` -> its skill names (in Q-matrix column order)."""
    source = folder / COMBOS_FILE
    if not source.is_file():
        raise MasteryError(f"ASSISTments skill combinations file {source} does not exist")
    combos = pl.read_csv(source, columns=["skill_id", "skill_names"])
    return combos.with_columns(pl.col("skill_id").cast(pl.Int64))


def build_tables(answers: pl.DataFrame, combos: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """All SPEC §2 source tables, in foreign-key-safe load order, per the module's mapping."""
    blocks = pl.DataFrame(
        {"id": range(1, len(STRANDS) + 1), "name": list(STRANDS)},
        schema={"id": pl.Int32, "name": pl.String},
    ).with_columns(year=pl.lit(1, pl.Int32), order_index=pl.col("id"))
    themes = _themes(combos, blocks)
    missing = answers.join(themes, left_on="skill_id", right_on="id", how="anti")
    if missing.height:
        raise MasteryError(f"{missing.height} answers have a skill_id not in {COMBOS_FILE}")
    rows = _answer_rows(answers)
    items = rows.group_by("item_id").agg(pl.col("skill_id").first()).sort("item_id")
    items = items.join(themes.select(pl.col("id").alias("skill_id"), "block_id"), on="skill_id")
    item_ids = items["item_id"].to_list()
    questions = items.select(
        id=_uuid5_series("item:{}", item_ids),
        year=pl.lit(1, pl.Int32),
        block_id=pl.col("block_id"),
        theme_id=pl.col("skill_id").cast(pl.Int32),
        difficulty=pl.lit(None, pl.String),
        status=pl.lit("ACTIVE"),
    )
    versions = questions.select(
        id=_uuid5_series("item:{}:v1", item_ids),
        question_id="id",
        version=pl.lit(1, pl.Int32),
        year="year",
        block_id="block_id",
        theme_id="theme_id",
        difficulty="difficulty",
        created_at=pl.lit(ANCHOR, UTC_MICROS),
    )
    rows = rows.join(
        items.select("item_id", question_id=questions["id"], version_id=versions["id"]),
        on="item_id",
    )
    first_seen = rows.group_by("user_id").agg(created_at=pl.col("answered_at").min())
    users = first_seen.sort("user_id").select(
        id=_uuid5_series("user:{}", first_seen.sort("user_id")["user_id"].to_list()),
        email=pl.format("student-{}@assistments2017.invalid", "user_id"),
        role=pl.lit("STUDENT"),
        year=pl.lit(1, pl.Int32),
        created_at="created_at",
    )
    rows = rows.join(
        first_seen.sort("user_id").select("user_id", user_uuid=users["id"]), on="user_id"
    )
    sessions = (
        rows.group_by("session_id")
        .agg(
            user_id=pl.col("user_uuid").first(),
            created_at=pl.col("answered_at").min(),
            submitted_at=pl.col("answered_at").max(),
        )
        .sort("session_id")
        .select(
            id="session_id",
            user_id="user_id",
            mode=pl.lit("TUTOR"),
            status=pl.lit("SUBMITTED"),
            created_at="created_at",
            submitted_at="submitted_at",
        )
    )
    links = rows.select(
        id=_keyed_ids("session_questions", pl.col("line")),
        session_id="session_id",
        question_id="question_id",
        question_version_id="version_id",
        position=(pl.col("timestamp").rank("ordinal").over("session_id") - 1).cast(pl.Int32),
    )
    answered = rows.select(
        id=_keyed_ids("session_answers", pl.col("line")),
        session_id="session_id",
        question_id="question_id",
        is_correct=pl.col("correct") == 1,
        answered_at="answered_at",
    )
    return {
        "users": users,
        "blocks": blocks.select("id", "year", "name", "order_index"),
        "themes": themes,
        "questions": questions,
        "question_versions": versions,
        "test_sessions": sessions,
        "session_questions": links,
        "session_answers": answered,
    }


def _themes(combos: pl.DataFrame, blocks: pl.DataFrame) -> pl.DataFrame:
    strands = strand_of_skill()
    skills = combos.select("skill_id", name=pl.col("skill_names").str.split(";")).explode(
        "name", keep_nulls=False
    )
    unknown = sorted(set(skills["name"].to_list()) - set(strands))
    if unknown:
        raise MasteryError(f"skill names without a strand: {', '.join(unknown[:5])}")
    first_tagged = (
        skills.filter(pl.col("name") != "noskill")
        .group_by("skill_id", maintain_order=True)
        .agg(strand=pl.col("name").first().replace_strict(strands))
    )
    block_ids = blocks.select(strand="name", block_id="id")
    return (
        combos.join(first_tagged, on="skill_id", how="left")
        .with_columns(pl.col("strand").fill_null(UNTAGGED))
        .join(block_ids, on="strand")
        .sort("skill_id")
        .select(
            id=pl.col("skill_id").cast(pl.Int32),
            block_id="block_id",
            title=pl.col("skill_names").str.replace_all(";", " + ", literal=True),
            order_index=pl.col("skill_id").cast(pl.Int32),
        )
    )


def _answer_rows(answers: pl.DataFrame) -> pl.DataFrame:
    """Answers with their instant, line number and session key (user, day, k)."""
    rows = answers.with_row_index("line").with_columns(
        answered_at=pl.lit(ANCHOR, UTC_MICROS) + pl.duration(seconds=pl.col("timestamp"))
    )
    rows = rows.with_columns(
        day=(pl.col("answered_at").dt.date() - pl.lit(ANCHOR.date())).dt.total_days()
    )
    rows = rows.with_columns(
        k=pl.col("timestamp").rank("ordinal").over("user_id", "day", "item_id").cast(pl.Int64)
    )
    widths = {"user_id": 10**4, "day": 10**5, "k": 10**3, "line": 10**12}
    maxima = rows.select(pl.col(name).max() for name in widths).row(0, named=True)
    too_wide = [name for name, bound in widths.items() if not 0 <= maxima[name] < bound]
    if too_wide:
        raise MasteryError(f"ASSISTments {', '.join(too_wide)} too large for the id layout")
    key = pl.col("user_id") * 10**8 + pl.col("day") * 10**3 + pl.col("k")
    return rows.with_columns(session_id=_keyed_ids("test_sessions", key))


def _uuid5_series(template: str, keys: list[int]) -> pl.Series:
    """uuid5 names for the small catalogues (students, items): a few thousand values."""
    return pl.Series([str(uuid.uuid5(NAMESPACE, template.format(k))) for k in keys])


def _keyed_ids(table: str, key: pl.Expr) -> pl.Expr:
    """``<uuid5(table) minus its last 12 digits><key as 12 decimal digits>``, in bulk."""
    prefix = str(uuid.uuid5(NAMESPACE, f"table:{table}"))[:24]
    return pl.concat_str(pl.lit(prefix), key.cast(pl.String).str.zfill(12))


def import_assistments(database_url: str | DatabaseUrl | None, path: str | Path) -> dict[str, int]:
    """Bulk-load the dataset into empty source tables in one transaction; rows per table."""
    answers = read_answers(path)
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    tables = build_tables(answers, read_combos(folder))
    with open_store(database_url) as store:
        require_empty_sources(store, "import")
        with store.transaction():
            for table, frame in tables.items():
                store.bulk_insert(table, frame)
    return {table: frame.height for table, frame in tables.items()}

"""How frozen tags are written down, with the defects the SPEC's tag resolution must survive.

Difficulty labels come in several spellings (and null or unknown); every version gets one JSON
snapshot per variant (normal, valid but odd, malformed), and each session question picks which
tag sources it carries (version id, snapshot, both or neither) and which variant.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pipeline.tools.generate.spec import (
    LABELS,
    N_STYLES,
    P_NO_TAGS,
    P_SNAPSHOT_MALFORMED,
    P_SNAPSHOT_ODD_VALID,
    P_SNAPSHOT_ONLY,
    P_VERSION_ONLY,
)
from pipeline.tools.generate.tables import pick

_UNKNOWN_LABELS = ("trivial", "standard", "expert")

# snapshot variants: 0 normal, 1-3 valid but odd, 4-13 malformed
_N_ODD_VALID, _N_MALFORMED = 3, 10
_N_VARIANTS = 1 + _N_ODD_VALID + _N_MALFORMED


def difficulty_text(label: np.ndarray, style: np.ndarray) -> pl.Series:
    """Spell each label in a style, in the order ``spec.VERSION_STYLE_P`` weights them."""
    table: list[str | None] = []
    for i, name in enumerate(LABELS):
        cap = name.capitalize()
        table += [name, cap, " " + cap, name.upper() + " ", name + " ", name.upper(), None]
        table.append(_UNKNOWN_LABELS[i])
    return pick(tuple(table), label * N_STYLES + style)


def snapshot_texts(
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


def tag_sources(
    kind_u: np.ndarray, variant_u: np.ndarray, version: np.ndarray, dirty: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per session question: is ``question_version_id`` null, and which snapshot text (0 = null)."""
    if not dirty:
        return np.zeros(len(version), dtype=np.bool_), 1 + version * _N_VARIANTS
    snapshot_only = kind_u < P_SNAPSHOT_ONLY
    version_only = (kind_u >= P_SNAPSHOT_ONLY) & (kind_u < P_SNAPSHOT_ONLY + P_VERSION_ONLY)
    neither = kind_u >= 1.0 - P_NO_TAGS
    odd = variant_u < P_SNAPSHOT_ODD_VALID
    bad = (variant_u >= P_SNAPSHOT_ODD_VALID) & (
        variant_u < P_SNAPSHOT_ODD_VALID + P_SNAPSHOT_MALFORMED
    )
    odd_pick = (variant_u * (_N_ODD_VALID / P_SNAPSHOT_ODD_VALID)).astype(np.int64)
    bad_pick = (variant_u - P_SNAPSHOT_ODD_VALID) * (_N_MALFORMED / P_SNAPSHOT_MALFORMED)
    variant = np.where(odd, 1 + np.minimum(odd_pick, _N_ODD_VALID - 1), 0)
    bad_variant = 1 + _N_ODD_VALID + np.clip(bad_pick.astype(np.int64), 0, _N_MALFORMED - 1)
    variant = np.where(bad, bad_variant, variant)
    snapshot_index = np.where(version_only | neither, 0, 1 + version * _N_VARIANTS + variant)
    return snapshot_only | neither, snapshot_index

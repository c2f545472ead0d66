"""Snapshot parsing keeps its engine per thread and the tags of texts it has seen
(pipeline.io.tags): the tags are the same whether parsed now, taken from what was kept, or
parsed on another thread; long hostile texts are never kept."""

from __future__ import annotations

import threading

import polars as pl

from pipeline.io import tags
from pipeline.io.tags import PARSED_CACHE_TEXT_CHARS, parse_snapshots

TEXTS = [
    '{"year": 2, "block_id": 3, "theme_id": 4, "difficulty": "easy"}',
    '{"year": "12", "theme_id": 7.0}',
    '{"year": "12a", "block_id": 7.5, "difficulty": 3}',
    "[1]",
    "not json",
    '{"theme_id": null}',
]
# Hand-derived from SPEC §4: (year, block_id, theme_id, difficulty, malformed) per text above.
EXPECTED = {
    TEXTS[0]: (2, 3, 4, "easy", False),
    TEXTS[1]: (12, None, 7, None, False),
    TEXTS[2]: (None, None, None, None, True),
    TEXTS[3]: (None, None, None, None, True),
    TEXTS[4]: (None, None, None, None, True),
    TEXTS[5]: (None, None, None, None, False),
}


def _as_dict(parsed: pl.DataFrame) -> dict[str, tuple[object, ...]]:
    return {row[0]: tuple(row[1:]) for row in parsed.iter_rows()}


def test_kept_tags_equal_parsed_tags() -> None:
    first = parse_snapshots(pl.Series([*TEXTS, None, TEXTS[0]]))
    again = parse_snapshots(pl.Series(TEXTS))
    assert _as_dict(first) == EXPECTED
    assert _as_dict(again) == EXPECTED
    assert first.schema == again.schema == tags.PARSED_SNAPSHOT_SCHEMA
    kept = set(tags._KEPT.frame["snapshot_json"].to_list())
    assert set(TEXTS) <= kept
    assert tags._KEPT.frame["snapshot_json"].is_duplicated().sum() == 0


def test_another_thread_parses_the_same() -> None:
    fresh = [f'{{"year": 1, "theme_id": {n}}}' for n in range(900_001, 900_004)]
    found: list[pl.DataFrame] = []
    worker = threading.Thread(target=lambda: found.append(parse_snapshots(pl.Series(fresh))))
    worker.start()
    worker.join()
    assert _as_dict(found[0]) == {
        t: (1, None, n, None, False) for t, n in zip(fresh, range(900_001, 900_004), strict=True)
    }
    assert _as_dict(parse_snapshots(pl.Series(fresh))) == _as_dict(found[0])


def test_long_texts_are_parsed_but_never_kept() -> None:
    long_text = '{"year": 3, "note": "' + "x" * PARSED_CACHE_TEXT_CHARS + '"}'
    assert _as_dict(parse_snapshots(pl.Series([long_text]))) == {
        long_text: (3, None, None, None, False)
    }
    assert long_text not in set(tags._KEPT.frame["snapshot_json"].to_list())

"""The batch allocator settings: importing ``pipeline`` before Polars gives Polars' jemalloc
the decay times of :data:`pipeline.BATCH_ALLOCATOR`, and a user's own ``_RJEM_MALLOC_CONF``
still wins. Read back from jemalloc's own statistics (printed at exit), in a fresh process."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

MAKE_A_FRAME = "import pipeline, polars as pl; pl.DataFrame({'a': [1]})"


def jemalloc_option(name: str, given: str, code: str = MAKE_A_FRAME) -> int:
    env = {**os.environ, "_RJEM_MALLOC_CONF": f"{given},stats_print:true".lstrip(",")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    found = re.search(rf"opt\.{name}: (-?\d+)", done.stdout + done.stderr)
    if found is None:
        pytest.skip("this Polars build does not use jemalloc")
    return int(found.group(1))


def test_importing_pipeline_first_keeps_freed_memory_ten_seconds() -> None:
    assert jemalloc_option("dirty_decay_ms", "") == 10_000
    assert jemalloc_option("muzzy_decay_ms", "") == 10_000


def test_a_users_own_allocator_setting_wins() -> None:
    assert jemalloc_option("dirty_decay_ms", "dirty_decay_ms:2000") == 2_000


def test_polars_imported_first_keeps_its_own_settings() -> None:
    code = "import polars as pl, pipeline; pl.DataFrame({'a': [1]})"
    assert jemalloc_option("dirty_decay_ms", "", code) != 10_000  # (Polars 2.1: 500)

"""Fixtures: every test gets its own fresh Postgres database and DuckDB file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.harness import fresh_postgres_database

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DB_FIXTURES = {"pg_url", "duckdb_url", "store_url", "initialized_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that touch a database are integration tests whatever file they live in."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'mastery.duckdb'}"


@pytest.fixture(params=["postgres", "duckdb"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once per back end."""
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "duckdb_url"))


@pytest.fixture
def initialized_url(store_url: str) -> str:
    from pipeline.io.store import open_store

    with open_store(store_url) as store:
        store.init_schema()
    return store_url

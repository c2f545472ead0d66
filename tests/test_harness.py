"""The test harness itself: with no reachable server, a throwaway Postgres is started."""

from __future__ import annotations

import psycopg
import pytest

from tests import harness


@pytest.mark.integration
@pytest.mark.slow
def test_throwaway_postgres_when_no_server_is_reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(harness.ENV_TEST_URL, raising=False)
    monkeypatch.setattr(harness, "_reachable", lambda uri: False)
    monkeypatch.setattr(harness, "_throwaway", {})
    with harness.fresh_postgres_database() as url:
        assert "mastery-pgserver-" in url
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] in url
    harness._throwaway["server"].cleanup()

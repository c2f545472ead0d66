"""Database URLs: parsing, the default, and redaction so credentials never reach output."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from pipeline.contracts.errors import MasteryError

DEFAULT_DATABASE_URL = "duckdb:///mastery.duckdb"
ENV_DATABASE_URL = "MASTERY_DATABASE_URL"
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed store URL; ``str()`` and ``repr()`` are redacted."""

    kind: Literal["postgres", "duckdb"]
    url: URL

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted!r})"

    @property
    def redacted(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def secret(self) -> str | None:
        return self.url.password if isinstance(self.url.password, str) else None

    @property
    def libpq_uri(self) -> str:
        """Postgres connection URI for psycopg/ADBC (contains the password: never print it)."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def duckdb_path(self) -> Path:
        return Path(self.url.database or "")

    def scrub(self, text: str) -> str:
        """Remove the password (raw and URL-quoted) from a message before it is shown."""
        secret = self.secret
        if secret:
            for form in {secret, _quote(secret)}:
                text = text.replace(form, "***")
        return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def resolve_database_url(explicit: str | None = None) -> DatabaseUrl:
    """The ``--database-url`` value, else ``MASTERY_DATABASE_URL``, else the DuckDB default."""
    return parse_database_url(explicit or os.environ.get(ENV_DATABASE_URL) or DEFAULT_DATABASE_URL)


def parse_database_url(text: str) -> DatabaseUrl:
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise MasteryError(
            f"invalid database URL {_redact_text(text)!r}: expected postgresql://... "
            "or duckdb:///path/to/file.duckdb"
        ) from None
    if url.drivername in _POSTGRES_SCHEMES:
        return DatabaseUrl("postgres", url)
    if url.drivername == "duckdb":
        if not url.database:
            raise MasteryError("invalid database URL: duckdb:/// needs a file path")
        return DatabaseUrl("duckdb", url)
    raise MasteryError(
        f"unsupported database URL scheme {url.drivername!r}: use postgresql:// or duckdb:///"
    )


def _quote(secret: str) -> str:
    from urllib.parse import quote

    return quote(secret, safe="")


def _redact_text(text: str) -> str:
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)

"""Database URLs: parsing, the default, and redaction so credentials never reach output.

A Postgres password travels to the driver as a keyword (``password=...``), never inside a URL
string: a password with a space or ``@:/`` in it, percent-encoded in the URL the user gave,
reaches libpq decoded and intact. Every message that could carry a URL or a driver's words
goes through :meth:`DatabaseUrl.scrub`, which masks the password in every form it may take:
as typed, decoded, percent-encoded either way, in the userinfo (``user:pw@``), in the query
(``?password=``) and in a libpq keyword string (``password='...'``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from pipeline.contracts.errors import MasteryError

DEFAULT_DATABASE_URL = "duckdb:///mastery.duckdb"
ENV_DATABASE_URL = "MASTERY_DATABASE_URL"
MASK = "***"
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}
_PASSWORD_KEY = "password"
# A URL's userinfo password, a query's password, a libpq keyword string's password.
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s#]*", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'&]+)", re.IGNORECASE)
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed store URL; ``str()`` and ``repr()`` are redacted."""

    kind: Literal["postgres", "duckdb"]
    url: URL
    typed_secrets: tuple[str, ...] = field(default=(), compare=False)
    """The password exactly as it was written in the URL text (its encoded forms), to mask."""

    def __str__(self) -> str:
        return self.redacted

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted!r})"

    @property
    def redacted(self) -> str:
        """The URL with its password (userinfo or ``?password=``) shown as ``***``."""
        url = self.url
        if _PASSWORD_KEY in url.query:
            url = url.update_query_dict({_PASSWORD_KEY: MASK})
        text = url.render_as_string(hide_password=True)
        return _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", text)

    @property
    def secret(self) -> str | None:
        """The password libpq would use: a ``?password=`` value wins over the userinfo's."""
        value = self.url.query.get(_PASSWORD_KEY)
        if isinstance(value, tuple):
            value = value[-1] if value else None
        if value:
            return str(value)
        return self.url.password if isinstance(self.url.password, str) else None

    def _all_secrets(self) -> tuple[str, ...]:
        """Every password the URL holds, decoded: the userinfo's and each ``?password=``."""
        given = self.url.query.get(_PASSWORD_KEY, ())
        values = [given] if isinstance(given, str) else list(given)
        if isinstance(self.url.password, str):
            values.append(self.url.password)
        return tuple(value for value in values if value)

    def driver_params(self) -> dict[str, str]:
        """libpq connection keywords (``host``, ``port``, ``dbname``, ``user``, ``password`` and
        the URL's query parameters), for ``psycopg.connect(**params)``. Holds the password:
        pass it to a driver, never print it."""
        params: dict[str, str] = {}
        for key, value in (
            ("host", self.url.host),
            ("port", self.url.port),
            ("dbname", self.url.database),
            ("user", self.url.username),
        ):
            if value not in (None, ""):
                params[key] = str(value)
        for key, given in self.url.query.items():
            if key != _PASSWORD_KEY:
                params[key] = ",".join(given) if isinstance(given, tuple) else str(given)
        if self.secret:
            params[_PASSWORD_KEY] = self.secret
        return params

    @property
    def conninfo(self) -> str:
        """A libpq keyword string (``host='...' password='...'``), not a URL: for drivers that
        take one connection string (ADBC). Holds the password: never print it."""
        params = self.driver_params().items()
        return " ".join(f"{key}={_conninfo_value(value)}" for key, value in params)

    @property
    def libpq_uri(self) -> str:
        """Kept for older callers: now the keyword string of :attr:`conninfo`, not a URL."""
        return self.conninfo

    @property
    def duckdb_path(self) -> Path:
        return Path(self.url.database or "")

    def scrub(self, text: str) -> str:
        """``text`` with the password masked in every form it may take, and any URL userinfo
        password, ``?password=`` value or ``password=`` keyword masked whatever it holds."""
        forms = _secret_forms(self._all_secrets(), self.typed_secrets)
        if forms:
            pattern = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
            text = re.sub(pattern, MASK, text, flags=re.IGNORECASE)
        return redact_text(text)


def resolve_database_url(explicit: str | None = None) -> DatabaseUrl:
    """The ``--database-url`` value, else ``MASTERY_DATABASE_URL``, else the DuckDB default."""
    return parse_database_url(explicit or os.environ.get(ENV_DATABASE_URL) or DEFAULT_DATABASE_URL)


def parse_database_url(text: str) -> DatabaseUrl:
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise MasteryError(
            f"invalid database URL {_redact_typed_url(text)!r}: expected postgresql://... or "
            "duckdb:///path/to/file.duckdb (percent-encode a password's special characters: "
            "@ as %40, : as %3A, / as %2F, space as %20)"
        ) from None
    if url.drivername in _POSTGRES_SCHEMES:
        if url.host and "@" in url.host:
            raise MasteryError(
                f"invalid database URL {_redact_typed_url(text)!r}: the password holds a raw '@'; "
                "percent-encode it as %40"
            )
        return DatabaseUrl("postgres", url, _typed_secrets(text))
    if url.drivername == "duckdb":
        if not url.database:
            raise MasteryError("invalid database URL: duckdb:/// needs a file path")
        return DatabaseUrl("duckdb", url)
    raise MasteryError(
        f"unsupported database URL scheme {url.drivername!r}: use postgresql:// or duckdb:///"
    )


def redact_text(text: str) -> str:
    """Mask any URL userinfo password, ``?password=`` value and ``password=`` keyword in a
    message, whatever they hold."""
    text = _USERINFO.sub(rf"\g<1>{MASK}@", text)
    text = _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", text)
    return _KEYWORD_PASSWORD.sub(rf"\g<1>{MASK}", text)


def _redact_typed_url(text: str) -> str:
    """A URL as typed that did not parse: its userinfo is masked up to the last ``@``, so a
    raw ``@``, ``/``, ``:`` or space in the password cannot show through."""
    scheme_end = text.find("://")
    if scheme_end >= 0:
        head, at, tail = text[scheme_end + 3 :].rpartition("@")
        user, colon, _ = head.partition(":")
        if at and colon and not re.search(r"[\s/]", user):
            text = f"{text[: scheme_end + 3]}{user}:{MASK}@{tail}"
    return redact_text(text)


def _typed_secrets(text: str) -> tuple[str, ...]:
    """The password as written: the userinfo's (to the first ``@``, as libpq reads it) and
    each ``password=`` query value, still encoded as the user encoded them."""
    typed: list[str] = []
    scheme_end = text.find("://")
    if scheme_end >= 0:
        userinfo, at, _ = text[scheme_end + 3 :].partition("@")
        _, colon, password = userinfo.partition(":")
        if at and colon and password:
            typed.append(password)
    typed.extend(match.group(0).split("=", 1)[1] for match in _QUERY_PASSWORD.finditer(text))
    return tuple(form for form in typed if form)


def _secret_forms(secrets: tuple[str, ...], typed: tuple[str, ...]) -> set[str]:
    """Every spelling of the passwords a message could echo."""
    forms = set(typed)
    for secret in secrets:
        forms |= {
            secret,
            quote(secret, safe=""),
            quote(secret),
            quote(secret, safe=" "),
            quote_plus(secret),
            _sqlalchemy_quoted(secret),
        }
    forms |= {_PERCENT.sub(lambda m: m.group(0).lower(), form) for form in forms}
    return {form for form in forms if form}


def _sqlalchemy_quoted(secret: str) -> str:
    """The password as SQLAlchemy renders it in a URL (it leaves spaces as they are)."""
    rendered = URL.create("x", username="u", password=secret).render_as_string(hide_password=False)
    return rendered.removeprefix("x://u:").removesuffix("@")


def _conninfo_value(value: str) -> str:
    """A libpq keyword value, single-quoted with backslash escapes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

"""What every command shares: the store option, the consoles and argument parsing.

Results go to stdout (``out``; ``--json`` prints them as JSON there), notes meant for the person
at the terminal go to stderr (``err``), so ``mastery params show > p.json`` keeps only the result.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from pipeline.contracts.errors import MasteryError

PIPED_WIDTH = 200
"""Width of output that is piped or redirected (no terminal) when ``COLUMNS`` is not set."""


def checked_database_url(value: str | None) -> str | None:
    """The URL as given, once it parses: a malformed one is told at once, before a command
    imports the pipeline (seconds)."""
    if value is not None:
        from pipeline.io.url import parse_database_url

        parse_database_url(value)
    return value


DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        callback=checked_database_url,
        envvar="MASTERY_DATABASE_URL",
        show_envvar=True,
        metavar="URL",
        help="postgresql://... or duckdb:///path.duckdb (default duckdb:///mastery.duckdb).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else PIPED_WIDTH)
"""Results go to stdout; plain text, never rich markup (stored text may hold brackets)."""
err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Notes for the person at the terminal (ids, warnings): stderr, so stdout stays the result."""


def result_console() -> Console:
    """A stdout console for tables, as wide as the terminal (or ``COLUMNS``), else 200."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(highlight=False, width=width)


def say(text: str) -> None:
    """One result line on stdout, verbatim: no markup, no ``:emoji:`` codes (stored text)."""
    out.print(text, markup=False, emoji=False)


def print_json(text: str) -> None:
    say(text)


def print_result_json(value: Any) -> None:
    """``value`` as one line of JSON on stdout (decimals as plain numbers, SPEC §4 style)."""
    from pipeline.contracts.params import dumps

    print_json(dumps(value))


def note(text: str) -> None:
    """One line for the person at the terminal, on stderr, printed verbatim (no markup)."""
    err.print(text, markup=False, emoji=False)


def parse_as_of(text: str | None, option: str = "--as-of") -> datetime | None:
    """An ISO 8601 instant (naive means UTC), or None for "now"; an error names ``option``."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise MasteryError(f"{option} {text!r} is not an ISO 8601 instant") from None


def checked_instant(param: typer.CallbackParam, value: str | None) -> str | None:
    """The text as given, once it reads as an ISO 8601 instant: a typo is told at once, under
    the option's own name, before a command imports the pipeline (seconds)."""
    parse_as_of(value, option_name(param))
    return value


def option_name(param: typer.CallbackParam) -> str:
    """The option as a user types it (its long form)."""
    return max(param.opts, key=len) if param.opts else f"--{param.name}"


def instant_option(help_text: str, *names: str, metavar: str = "ISO8601") -> Any:
    """A ``typer.Option`` for an instant, checked while the options are read."""
    return typer.Option(*names, callback=checked_instant, metavar=metavar, help=help_text)

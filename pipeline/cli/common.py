"""What every command shares: the store option, the consoles and argument parsing."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from pipeline.contracts.errors import MasteryError

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="MASTERY_DATABASE_URL",
        show_envvar=True,
        help="postgresql://... or duckdb:///path.duckdb (default duckdb:///mastery.duckdb).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
"""Results go to stdout; plain text, never rich markup (stored text may hold brackets)."""


def print_json(text: str) -> None:
    out.print(text, markup=False)


def parse_as_of(text: str | None) -> datetime | None:
    """An ISO 8601 instant (naive means UTC), or None for "now"."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise MasteryError(f"--as-of {text!r} is not an ISO 8601 instant") from None

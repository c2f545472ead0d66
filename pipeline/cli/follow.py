"""``mastery follow``: keep mastery fresh after every submit (a long-running worker)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import DatabaseOption, instant_option, note, parse_as_of


def follow(
    interval: Annotated[
        float,
        typer.Option(min=0.1, metavar="SECONDS", help="Seconds between polls for new submissions."),
    ] = 0.5,
    lag: Annotated[
        float,
        typer.Option(
            min=0.0,
            metavar="SECONDS",
            help="Safety lag in seconds: each poll looks this far behind its watermark "
            "(late commits, clock skew); sessions already handled are skipped.",
        ),
    ] = 30.0,
    since: Annotated[
        str | None,
        instant_option(
            "Start after sessions submitted until this instant (default: where the last "
            "worker stopped, stored in the database; else now)."
        ),
    ] = None,
    batch_users: Annotated[
        int, typer.Option(min=1, metavar="N", help="At most this many users per logged run.")
    ] = 50,
    once: Annotated[bool, typer.Option(help="Run one poll cycle and exit.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Recompute students soon after they submit: poll, batch the users, run per student.

    One line per batch on stderr (sessions, users, runs, seconds, lag); stops cleanly on
    SIGTERM or SIGINT; reconnects with back-off when the database goes away.
    """
    from pipeline import api

    options = api.FollowOptions(interval, lag, parse_as_of(since, "--since"), once, batch_users)
    api.follow(database_url, options, log=note)

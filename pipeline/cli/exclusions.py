"""``mastery exclude``, ``include`` and ``exclusions``: evidence set aside, with who and why."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.common import DatabaseOption, JsonOption, out, print_result_json, say

SessionOption = Annotated[
    str | None, typer.Option("--session", metavar="UUID", help="A whole test session.")
]
QuestionOption = Annotated[
    str | None, typer.Option("--question", metavar="UUID", help="A question, for everyone.")
]
UserOption = Annotated[
    str | None, typer.Option("--user", metavar="UUID", help="A student (with --theme).")
]
ThemeOption = Annotated[
    int | None, typer.Option("--theme", metavar="ID", help="The student's theme (with --user).")
]
ByOption = Annotated[str, typer.Option("--by", metavar="NAME", help="Who does it (audited).")]


def exclude(
    reason: Annotated[str, typer.Option("--reason", metavar="WHY", help="Why (audited).")],
    by: ByOption,
    session: SessionOption = None,
    question: QuestionOption = None,
    user: UserOption = None,
    theme: ThemeOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Leave a session's, a question's or a student's theme's attempts out of every run."""
    from pipeline import api

    target = api.ExclusionTarget(session, question, user, theme)
    exclusion_id = api.exclude(database_url, target, reason=reason, by=by)
    if as_json:
        print_result_json({"id": exclusion_id, "kind": target.kind})
    else:
        out.print(f"excluded ({target.kind}): {exclusion_id}; the next run leaves it out")


def include(
    by: ByOption,
    session: SessionOption = None,
    question: QuestionOption = None,
    user: UserOption = None,
    theme: ThemeOption = None,
    as_json: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Undo an exclusion: the evidence counts again from the next run (the record stays)."""
    from pipeline import api

    target = api.ExclusionTarget(session, question, user, theme)
    revoked = api.include(database_url, target, by=by)
    if as_json:
        print_result_json({"revoked": revoked, "kind": target.kind})
    else:
        out.print(f"included again ({target.kind}): {revoked} exclusion(s) revoked")


def exclusions(as_json: JsonOption = False, database_url: DatabaseOption = None) -> None:
    """Every exclusion, active and revoked: what, why, who and when."""
    from pipeline import api
    from pipeline.reports.exclusions import exclusion_lines, exclusion_records

    records = exclusion_records(api.list_exclusions(database_url))
    if as_json:
        print_result_json(records)
        return
    for line in exclusion_lines(records) or ["no exclusions"]:
        say(line)

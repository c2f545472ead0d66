"""User-facing errors: the CLI prints their message on one line, never a traceback."""


class MasteryError(Exception):
    """A problem the user can fix (bad input, bad URL, missing table); message is one line."""


class ParamsError(MasteryError):
    """Params failed validation; the message names every problem found."""


class ConcurrentRunError(MasteryError):
    """Another recompute holds the database's run lock."""


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) folded to one space."""
    return " ".join(text.split())

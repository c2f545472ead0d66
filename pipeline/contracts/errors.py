"""User-facing errors: the CLI prints their message on one line, never a traceback."""


class MasteryError(Exception):
    """A problem the user can fix (bad input, bad URL, missing table); message is one line."""


class ParamsError(MasteryError):
    """Params failed validation; the message names every problem found."""


class ConcurrentRunError(MasteryError):
    """Another recompute holds the database's run lock."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived. A ``KeyboardInterrupt``: no ``except Exception`` swallows it,
    and drivers that cancel their query on Ctrl-C (psycopg) do so for SIGTERM too."""

    def __init__(self, signal_name: str, message: str = "") -> None:
        super().__init__(message or f"interrupted by {signal_name}")
        self.signal_name = signal_name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number."""
        return 143 if self.signal_name == "SIGTERM" else 130


class InterruptedRunError(MasteryError):
    """A run stopped by a signal, already marked FAILED; exits as the signal asks."""

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) folded to one space."""
    return " ".join(text.split())

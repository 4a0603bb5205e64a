"""User-facing errors.

User mistakes never end in a traceback: the CLI catches these and prints them as
``file:line:col: message`` before exiting with status 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a user's file.

    Parameters
    ----------
    file : str
        Path of the file as the user named it.
    line, col : int
        1-based position of the offending value (0 when unknown).
    message : str
        What is wrong and what is allowed.
    warning : bool
        A warning (the scenario is useless in part, but runs) rather than an error.
    """

    file: str
    line: int
    col: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        text = f"warning: {self.message}" if self.warning else self.message
        if self.line == 0:
            return f"{self.file}: {text}"
        return f"{self.file}:{self.line}:{self.col}: {text}"


class IamdError(Exception):
    """Base of every error iamd reports to a user without a traceback."""


class ScenarioError(IamdError):
    """A scenario file is unreadable or invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))

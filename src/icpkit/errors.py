"""Every deliberate error of the icpkit core.

The core raises these; the CLI turns each into one line and an exit code, the API into one JSON
shape. A problem in the user's data must never reach the user as a traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["fatal", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what was expected and what was found.

    ``row`` is the 1-based data row in the file (the header is row 0), or None for a file- or
    column-level problem.
    """

    file: str
    message: str
    severity: Severity = "fatal"
    row: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    code: str = "invalid"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        text = f"{where}: {self.message}"
        if self.value is not None and self.value not in self.message:
            text += f' (found "{_clip(self.value)}")'
        if self.expected is not None and self.expected not in self.message:
            text += f" (expected {self.expected})"
        return text

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class IcpError(Exception):
    """Base of every deliberate icpkit error. ``exit_code`` is what the CLI returns."""

    exit_code = 1
    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        return {"error": self.kind, "message": self.message}


class SchemaError(IcpError):
    """Input data that cannot be used; carries every problem found, not just the first."""

    kind = "schema"

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = list(problems or [])
        if self.problems and message == "":
            message = str(self.problems[0])
        super().__init__(message)

    def __str__(self) -> str:
        if not self.problems or [str(p) for p in self.problems] == [self.message]:
            return self.message  # one problem that is the message itself: said once
        lines = [self.message] + [f"  - {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  … and {len(self.problems) - 50} more problems")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "problems": [p.to_dict() for p in self.problems]}


class ConfigError(IcpError):
    """icpkit.toml (or an argument) is missing, malformed or inconsistent."""

    kind = "config"
    exit_code = 2


class InsufficientDataError(IcpError):
    """There is too little data for the asked computation; says how much there is and needs."""

    kind = "insufficient_data"


class NotFittedError(IcpError):
    """A learned component was used before it was fitted."""

    kind = "not_fitted"


class StoreError(IcpError):
    """The version store is missing, locked, or holds no such version."""

    kind = "store"

"""Errors raised by cityopp_xl, and the Problem record every check reports."""

from __future__ import annotations

from dataclasses import dataclass

#: How many problems an error message lists before it says "and N more".
MAX_LISTED = 20
#: Longest part of a one-line message (a cell's text is echoed in it): longer text keeps
#: its start and its end around an ellipsis.
MAX_PART = 240


def readable(text: str, limit: int = MAX_PART) -> str:
    """Text for a one-line message: control characters escaped (a line break in a cell
    shows as ``\\n``), cut to ``limit`` characters in the middle."""
    text = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))
    if len(text) > limit:
        keep = (limit - 1) // 2
        text = text[:keep] + "…" + text[-keep:]
    return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located precisely enough to fix it.

    ``where`` is an A1 reference such as ``"D1 data!C7"`` (or a sheet/file name when no
    single cell is to blame); ``found`` and ``expected`` are short plain phrases;
    ``severity`` is ``"error"`` (scoring cannot go on) or ``"warning"`` (it can).
    """

    where: str
    found: str
    expected: str
    severity: str = "error"

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{readable(self.where)}: {readable(self.found)}, expected {readable(self.expected)}"


def format_problems(problems: list[Problem], limit: int = MAX_LISTED) -> str:
    """The problems as lines, the first ``limit`` of them, then a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return "\n".join(lines)


class CityOppError(Exception):
    """Base class of every error cityopp_xl raises on purpose."""


class InputError(CityOppError):
    """Raised when the input data (values, cities, sheets) cannot be scored as it is."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(where="input", found=problems, expected="valid input")]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        errors = [p for p in self.problems if p.blocking] or self.problems
        head = f"{len(errors)} problem blocks scoring:\n" if len(errors) == 1 else f"{len(errors)} problems block scoring:\n"
        super().__init__(head + format_problems(errors))


class MethodError(InputError):
    """Raised when the framework or settings ask for a method that does not exist or cannot work."""


class OutputError(CityOppError):
    """Raised when an output file cannot be written where or as asked: its folder does not
    exist, its extension is wrong, or it exists and is not to be replaced."""

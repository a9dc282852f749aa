"""One Recalculate (and Validate, Analyze, and the reading of Compare) for every front end.

The sequence read → check → score → render → write is written here once. A front end
is what it runs on: a workbook file (:class:`.xlsxpackage.FileFront`, the command line) or a
live Excel book (:class:`.book.ExcelFront`, the ribbon). Each implements only
:class:`WorkbookFront`: read a sheet's values and features, say which sheets the add-in
owns, write the owned outputs, and show problems. So both run the same checks (merged
and hidden cells included) and give the same messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

from ..errors import Problem, format_problems
from ..pipeline import Pipeline, run
from ..validate import Inputs
from . import layout, render, stale_check
from .integrity import SheetFeatures
from .reader import read_inputs


class WorkbookFront(Protocol):
    """A workbook as the sequence sees it (a file, or a book open in Excel)."""

    #: The workbook's file name, for messages and the Log.
    name: str

    def sheet_names(self) -> list[str]:
        """Every sheet's name, in workbook order."""

    def values(self, sheet: str) -> list[list]:
        """A sheet's values from A1 as rows (size-checked by
        :func:`.integrity.check_sheet_size`); a formula cell reads as its saved value, or
        :class:`~cityopp_xl.validate.UncalculatedFormula` when none was saved."""

    def features(self, sheet: str) -> SheetFeatures:
        """A sheet's merged ranges, hidden rows and columns, and Excel tables."""

    def owned(self) -> set[str]:
        """The sheets this add-in wrote (the ownership record)."""

    def unchanged(self) -> set[str]:
        """The owned sheets known to be exactly as the add-in wrote them (not read for
        hand edits); may be empty when the front end cannot tell."""

    def write(self, outputs: list[layout.SheetOutput], delete: list[str]) -> None:
        """Replace or add the owned ``outputs``, delete the owned sheets in ``delete``
        (this run does not produce them), and record ownership."""

    def show_problems(self, problems: list[Problem], *, blocked: bool, summary: str) -> None:
        """Report the run's problems. ``blocked``: they stopped the run and nothing was
        written. ``summary``: the one message a user reads (the alert in Excel)."""

    def progress(self, text: str | None) -> None:
        """Show what the run is doing (Excel's status bar); None when done."""


@dataclass
class Outcome:
    """What a run did: the inputs and pipeline (None when blocked), and every problem."""

    inputs: Inputs | None
    pipeline: Pipeline | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(p.blocking for p in self.problems)


def read(front: WorkbookFront) -> tuple[Inputs | None, list[Problem], Callable[[str], list[list]]]:
    """Read and check every input sheet of ``front`` (one read per sheet).

    Returns ``(inputs or None, problems, values_of)``; ``values_of`` gives any sheet's
    values, read once. An output sheet the add-in did not write (a sheet of the team's
    named like one) is an error: it would be replaced, and it is the team's.
    """
    cache: dict[str, list[list]] = {}

    def values_of(sheet: str) -> list[list]:
        if sheet not in cache:
            cache[sheet] = front.values(sheet)
        return cache[sheet]

    names = front.sheet_names()
    inputs, problems = read_inputs(names, values_of, front.features, unchanged_outputs=front.unchanged())
    owned = front.owned()
    foreign = [name for name in names if layout.is_owned(name) and name not in owned]
    problems += [layout.foreign_sheet_problem(name) for name in foreign]
    if foreign:
        inputs = None
    return inputs, problems, values_of


def recalculate(front: WorkbookFront, *, run_time: str | None = None, formulas: bool | None = None) -> Outcome:
    """Recalculate: read, check, score, render, then write every output sheet.

    On a blocking problem nothing is written but what :meth:`WorkbookFront.show_problems`
    shows (the Problems sheet in Excel); the score sheets of the last good run stay.
    ``formulas``: write the score sheets as live formulas (True) or values (False); None
    follows the Settings sheet's ``output`` row.
    """
    front.progress("CityOpp: reading the input sheets…")
    try:
        inputs, problems, values_of = read(front)
        if inputs is not None:
            formulas = inputs.settings.formulas if formulas is None else formulas
            if formulas:
                from .formulas import find_formula_problems

                found = find_formula_problems(inputs, values_of)
                if found:
                    inputs, problems = None, problems + found
        if inputs is None:
            errors = [p for p in problems if p.blocking]
            front.show_problems(
                problems,
                blocked=True,
                summary=f"Recalculate stopped: {len(errors)} problem(s) block scoring. See the Problems sheet.\n\n{format_problems(errors, limit=5)}",
            )
            return Outcome(None, None, problems)
        front.progress(f"CityOpp: scoring {len(inputs.values)} cities…")
        pipeline = run(inputs)
        problems = problems + pipeline.problems
        outputs = render.render_outputs(pipeline, problems, run_time=run_time, source=front.name, formulas=formulas)
        produced = {output.name for output in outputs}
        delete = [name for name in front.sheet_names() if name in front.owned() and name not in produced]
        front.progress("CityOpp: writing the score sheets…")
        front.write(outputs, delete)
        return Outcome(inputs, pipeline, problems)
    finally:
        front.progress(None)


def validate(front: WorkbookFront) -> Outcome:
    """Validate: every problem, without writing any score.

    Scores the inputs when it can (scoring itself finds the pre-scored columns that break
    their rule) and warns once per input sheet changed since the last Recalculate (from
    the Log sheet).
    """
    front.progress("CityOpp: checking the input sheets…")
    try:
        inputs, problems, values_of = read(front)
        pipeline = run(inputs) if inputs is not None else None
        if pipeline is not None:
            problems = problems + pipeline.problems
        stale = []
        if inputs is not None and layout.SHEET_LOG in front.sheet_names():
            stale = stale_check.find_stale_problems(inputs, values_of(layout.SHEET_LOG))
            problems = problems + stale
        errors = [p for p in problems if p.blocking]
        if problems:
            summary = (
                f"{len(errors)} error(s) and {len(problems) - len(errors)} warning(s): see the Problems sheet."
                + ("\nScoring is blocked until the errors are fixed." if errors else "\nScoring can go on.")
                + (f"\nInputs changed since the last Recalculate: {', '.join(p.where for p in stale)}. The score sheets are out of date." if stale else "")
            )
        else:
            summary = "No problems found: the workbook is ready to Recalculate."
        front.show_problems(problems, blocked=False, summary=summary)
        return Outcome(inputs, pipeline, problems)
    finally:
        front.progress(None)


def failure_problem(error: BaseException) -> Problem:
    """The one problem an unexpected failure is reported as (in Excel: the alert and the
    Problems sheet), with the same words as the command line's one-line report."""
    from ..errors import CityOppError

    if isinstance(error, CityOppError):
        return Problem("workbook", str(error), "a workbook cityopp-xl can read (nothing was changed)")
    return Problem(
        "cityopp-xl",
        f"internal error ({type(error).__name__}: {str(error)[:300]})",
        "no error: this is a bug in cityopp-xl, please report it with the workbook",
    )

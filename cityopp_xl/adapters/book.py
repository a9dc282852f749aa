"""The Excel add-in's macros: the same core and the same sheets as ``cityopp recalc``,
through the xlwings Book API.

The ribbon buttons of the shipped workbook call, through xlwings ``RunPython``::

    import cityopp_xl.adapters.book as cityopp; cityopp.recalculate()

(and ``validate()``, ``analyze()``, ``compare()``). Each reads every input sheet in one
bulk call, scores with the core, and writes each output sheet in one bulk call plus a
bounded number of formatting calls, so the number of round trips to Excel does not grow
with the number of cities. Everything is computed before anything is written: when a
problem blocks scoring, nothing but the Problems sheet is written, and one alert says
so.

The ``run_*`` functions take the Book, so the same code runs in desktop Excel
(``xw.Book.caller()``) and in tests through xlwings' remote engine.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import xlwings as xw

from ..errors import Problem, format_problems
from ..model import column_letter
from ..pipeline import Pipeline, run
from . import layout
from .reader import read_inputs

ALERT_TITLE = "CityOpp"


@dataclass
class MacroResult:
    """What a macro did: the pipeline (None when scoring was blocked) and every problem."""

    pipeline: Pipeline | None
    problems: list[Problem]

    @property
    def blocked(self) -> bool:
        return any(p.blocking for p in self.problems)


# --------------------------------------------------------------------------- helpers


def _is_remote(book) -> bool:
    return getattr(book.app.engine, "name", "") == "remote"


def status(book, text: str | None) -> None:
    """Show progress in Excel's status bar (None gives it back to Excel).

    The remote engine (xlwings Server, tests) has no status bar: nothing to show there.
    """
    try:
        book.app.status_bar = text if text is not None else False
    except NotImplementedError:
        pass


def alert(book, text: str) -> None:
    book.app.alert(text, title=ALERT_TITLE)


def sheet_values(sheet) -> list[list]:
    """A sheet's values from A1 to the last used cell, in one bulk read.

    Excel error values come back as their text (``#DIV/0!``) so the checks can name them.
    """
    last = sheet.used_range.last_cell
    value = sheet.range((1, 1), (last.row, last.column)).options(ndim=2, err_to_str=True, chunksize=None).value
    return value or []


def read_book(book) -> tuple:
    """Read and check the inputs of an open Book (one bulk read per sheet)."""
    names = [sheet.name for sheet in book.sheets]
    return read_inputs(names, lambda name: sheet_values(book.sheets[name]))


def _width_runs(widths: dict[str, float]) -> list[tuple[str, float]]:
    """Group adjacent columns of equal width into ranges such as ``C:H`` (fewer calls)."""
    def number(letter: str) -> int:
        n = 0
        for ch in letter:
            n = n * 26 + ord(ch) - 64
        return n

    items = sorted((number(k), v) for k, v in widths.items())
    runs = []
    for _, group in itertools.groupby(enumerate(items), key=lambda e: (e[1][0] - e[0], e[1][1])):
        group = [g[1] for g in group]
        first, last = column_letter(group[0][0]), column_letter(group[-1][0])
        runs.append((f"{first}:{last}", group[0][1]))
    return runs


def _freeze(book, sheet, top_left: str) -> None:
    """Freeze the rows above and the columns left of ``top_left`` (openpyxl's convention)."""
    column = "".join(ch for ch in top_left if ch.isalpha())
    row = int("".join(ch for ch in top_left if ch.isdigit()))
    col_number = 0
    for ch in column:
        col_number = col_number * 26 + ord(ch) - 64
    if _is_remote(book):
        frozen_row, frozen_col = max(row - 1, 1), max(col_number - 1, 1)
        if row > 1 and col_number > 1:
            sheet.freeze_panes.freeze_at(f"{column_letter(frozen_col)}{frozen_row}")
        elif row > 1:
            sheet.freeze_panes.freeze_at(f"{frozen_row}:{frozen_row}" if frozen_row == 1 else f"1:{frozen_row}")
        elif col_number > 1:
            sheet.freeze_panes.freeze_at(f"A:{column_letter(frozen_col)}")
        return
    # Desktop Excel freezes panes on the window showing the sheet (Windows COM).
    try:
        sheet.activate()
        window = book.app.api.ActiveWindow
        window.FreezePanes = False
        window.SplitColumn = col_number - 1
        window.SplitRow = row - 1
        window.FreezePanes = True
    except AttributeError:  # macOS: the window object differs; panes stay unfrozen
        pass


_TYPED_INPUT = re.compile(
    r"""[-+]?[\d.,]+%?          # numbers, thousands separators, percents
    |\d{1,4}[-/.]\d{1,2}([-/.]\d{1,4})?([ T]\d{1,2}:\d{2}(:\d{2})?)?   # dates
    |\d{1,2}:\d{2}(:\d{2})?    # times
    |true|false""",
    re.IGNORECASE | re.VERBOSE,
)


def as_text(value):
    """Keep text as text in Excel: Excel parses a written string like typed input (a
    leading ' = + - or @, numbers, dates, TRUE), so such strings get the quote prefix."""
    if isinstance(value, str) and value and (value[0] in "'=+-@" or _TYPED_INPUT.fullmatch(value.strip())):
        return "'" + value
    return value


def _points(width: float) -> float:
    # Column width in characters to points (Calibri 11: 7 px a character + 5 px padding).
    return round((width * 7 + 5) * 0.75, 2)


def write_sheet(book, output: layout.SheetOutput, sheet=None) -> None:
    """Write one output sheet: one bulk write of the values, then the bounded list of
    formats. ``sheet`` is the existing sheet to rewrite (cleared first), else a new sheet
    is added right after ``output.after``."""
    if sheet is None:
        names = [s.name for s in book.sheets]
        after = book.sheets[output.after] if output.after in names else book.sheets[len(book.sheets) - 1]
        sheet = book.sheets.add(name=output.name, after=after)
    else:
        sheet.clear()
    cells = output.cells if output.formulas else [[as_text(v) for v in row] for row in output.cells]
    # chunksize=None: one write whatever the size (xlwings would otherwise split writes of
    # over 100,000 cells, and the round trips would grow with the number of cities).
    sheet["A1"].options(chunksize=None).value = cells
    sheet["A1"].font.bold = True
    sheet["A1"].font.size = output.title_size
    for area in output.bold:
        sheet[area].font.bold = True
    for area in output.wrap:
        sheet[area].wrap_text = True
    for area, number_format in output.number_formats.items():
        sheet[area].number_format = number_format
    for area in output.color_scales:  # correlations: -1 red, 0 white, +1 green
        sheet[area].conditional_formats.add_color_scale(["#F8696B", "#FFFFFF", "#63BE7B"], thresholds=[-1, 0, 1])
    for area in output.heatmaps:  # scores: lowest red, median yellow, highest green
        sheet[area].conditional_formats.add_color_scale(["#F8696B", "#FFEB84", "#63BE7B"])
    remote = _is_remote(book)
    for area, width in _width_runs(output.widths):
        sheet.range(area).column_width = _points(width) if remote else width
    if output.freeze:
        _freeze(book, sheet, output.freeze)


def write_outputs(book, outputs: list[layout.SheetOutput]) -> None:
    """Replace the add-in's sheets and only them: an existing output sheet is cleared and
    rewritten in place (so formulas pointing at it keep working), a new one is added after
    its neighbour, and an owned sheet this run does not produce is deleted."""
    produced = {output.name for output in outputs}
    existing = {}
    for sheet in list(book.sheets):
        if layout.is_owned(sheet.name):
            if sheet.name in produced:
                existing[sheet.name] = sheet
            else:
                sheet.delete()
    for output in outputs:
        write_sheet(book, output, existing.get(output.name))


def _write_problems(book, problems: list[Problem]) -> None:
    output = layout.problems_sheet(problems)
    names = [s.name for s in book.sheets]
    output.after = layout.SHEET_LOG if layout.SHEET_LOG in names else names[-1]
    write_sheet(book, output, book.sheets[layout.SHEET_PROBLEMS] if layout.SHEET_PROBLEMS in names else None)
    book.sheets[layout.SHEET_PROBLEMS].activate()


# --------------------------------------------------------------------------- macros


def run_recalculate(book, *, run_time: str | None = None) -> MacroResult:
    """Recalculate: read, check, score, then write every output sheet.

    On a blocking problem nothing is scored: the Problems sheet lists every problem and
    one alert says how many; the score sheets of the last good run stay as they were.
    """
    status(book, "CityOpp: reading the input sheets…")
    try:
        inputs, problems = read_book(book)
        if inputs is None:
            _write_problems(book, problems)
            errors = [p for p in problems if p.blocking]
            alert(book, f"Recalculate stopped: {len(errors)} problem(s) block scoring. See the Problems sheet.\n\n{format_problems(errors, limit=5)}")
            return MacroResult(None, problems)
        status(book, f"CityOpp: scoring {len(inputs.values)} cities…")
        pipeline = run(inputs)
        problems = problems + pipeline.problems
        outputs = layout.render_outputs(pipeline, problems, run_time=run_time, source=book.name)
        status(book, "CityOpp: writing the score sheets…")
        write_outputs(book, outputs)
        book.sheets[layout.SHEET_OVERALL].activate()
        return MacroResult(pipeline, problems)
    finally:
        status(book, None)


def run_validate(book) -> MacroResult:
    """Validate: report every problem without writing any score.

    Problems (errors and warnings) are listed on the Problems sheet; one alert sums up.
    """
    status(book, "CityOpp: checking the input sheets…")
    try:
        inputs, problems = read_book(book)
        pipeline = run(inputs) if inputs is not None else None
        if pipeline is not None:
            problems = problems + pipeline.problems
        errors = [p for p in problems if p.blocking]
        if problems:
            _write_problems(book, problems)
            alert(
                book,
                f"{len(errors)} error(s) and {len(problems) - len(errors)} warning(s): see the Problems sheet."
                + ("\nScoring is blocked until the errors are fixed." if errors else "\nScoring can go on."),
            )
        else:
            for sheet in list(book.sheets):
                if sheet.name == layout.SHEET_PROBLEMS:
                    sheet.delete()
            alert(book, "No problems found: the workbook is ready to Recalculate.")
        return MacroResult(pipeline, problems)
    finally:
        status(book, None)


# --------------------------------------------------------------------------- RunPython entry points


def recalculate() -> None:
    """Ribbon button Recalculate (RunPython)."""
    run_recalculate(xw.Book.caller())


def validate() -> None:
    """Ribbon button Validate (RunPython)."""
    run_validate(xw.Book.caller())

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

import datetime
import itertools
import re
from dataclasses import dataclass

import xlwings as xw

from ..errors import Problem, format_problems
from ..model import column_letter, column_number
from ..pipeline import Pipeline, run
from . import layout
from .integrity import check_sheet_size
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
    A sheet whose used range is over the size limits of :mod:`.integrity` is refused
    (:class:`~.integrity.SheetTooLargeError`) before it is read.
    """
    last = sheet.used_range.last_cell
    check_sheet_size(sheet.name, last.row, last.column)
    block = sheet.range((1, 1), (last.row, last.column))
    try:
        value = block.options(ndim=2, err_to_str=True, chunksize=None).value
    except ValueError:
        # xlwings' remote engine (xlwings Server, Lite) fails on a text cell that looks
        # like an ISO time with an offset ("2026-01-01T12:00:00+00:00"): read the raw
        # values and convert them as it would.
        value = [[_raw_cell(v) for v in row] for row in _as_rows(block.raw_value)]
    return value or []


def _as_rows(raw) -> list[list]:
    if not isinstance(raw, (list, tuple)):
        return [[raw]]
    return [list(row) if isinstance(row, (list, tuple)) else [row] for row in raw]


def _raw_cell(value):
    """A raw remote value as xlwings converts it: "" is blank, "...Z" ISO text is a date."""
    if value == "":
        return None
    if isinstance(value, str) and value.endswith("Z"):
        try:
            return datetime.datetime.fromisoformat(value[:-1])
        except ValueError:
            return value
    return value


def read_book(book, cache: dict | None = None) -> tuple:
    """Read and check the inputs of an open Book (one bulk read per sheet).

    ``cache``, when given, keeps each sheet's values by name for later checks.
    """
    names = [sheet.name for sheet in book.sheets]
    cache = {} if cache is None else cache

    def values_of(name: str) -> list[list]:
        if name not in cache:
            cache[name] = sheet_values(book.sheets[name])
        return cache[name]

    return read_inputs(names, values_of)


def _width_runs(widths: dict[str, float]) -> list[tuple[str, float]]:
    """Group adjacent columns of equal width into ranges such as ``C:H`` (fewer calls)."""
    items = sorted((column_number(k), v) for k, v in widths.items())
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
    col_number = column_number(column)
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


def with_formulas(cells: list[list], formulas: dict[str, str]) -> list[list]:
    """The block of values with :attr:`layout.SheetOutput.formula_cells` put in place, so
    that they go in the same bulk write (Excel enters written text starting with "=" as a
    formula). The block grows when a formula lies outside it."""
    if not formulas:
        return cells
    block = [list(row) for row in cells]
    for address, formula in formulas.items():
        letters = "".join(ch for ch in address if ch.isalpha())
        row = int("".join(ch for ch in address if ch.isdigit()))
        column = column_number(letters)
        width = max([len(r) for r in block] + [column])
        while len(block) < row:
            block.append([])
        block = [r + [None] * (width - len(r)) for r in block]
        block[row - 1][column - 1] = formula
    return block


def write_sheet(book, output: layout.SheetOutput, sheet=None) -> None:
    """Write one output sheet: one bulk write of the values, then the bounded list of
    formats. ``sheet`` is the existing sheet to rewrite (cleared first), else a new sheet
    is added right after ``output.after``."""
    rewritten = sheet is not None
    if sheet is None:
        names = [s.name for s in book.sheets]
        after = book.sheets[output.after] if output.after in names else book.sheets[len(book.sheets) - 1]
        sheet = book.sheets.add(name=output.name, after=after)
    else:
        sheet.clear()
    cells = [[v if output.formulas and isinstance(v, str) and v.startswith("=") else as_text(v) for v in row] for row in output.cells]
    cells = with_formulas(cells, output.formula_cells)
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
    for address in output.alert_cells:  # warnings: bold dark red while they show
        sheet[address].conditional_formats.add_custom("=" + layout.alert_rule(address), font_color="#C00000", font_bold=True)
    remote = _is_remote(book)
    for area, width in _width_runs(output.widths):
        sheet.range(area).column_width = _points(width) if remote else width
    if rewritten and cells:  # clearing keeps row heights: undo the last run's tall rows
        sheet.range(f"1:{len(cells)}").row_height = layout.LINE_HEIGHT
    for area in output.align_right:  # number headers over their numbers
        try:
            sheet[area].horizontal_alignment = "right"
        except NotImplementedError:  # xlwings Server clients other than Office.js
            break
    for area in output.merged:  # a note wrapped across the table
        sheet[area].merge()
        sheet[area].wrap_text = True
    for number, height in output.row_heights.items():
        sheet.range(f"{number}:{number}").row_height = height
    if output.print_area:
        sheet.page_setup.print_area = output.print_area
    _print_setup(book, sheet, output)
    if output.freeze:
        _freeze(book, sheet, output.freeze)


def _print_setup(book, sheet, output: layout.SheetOutput) -> None:
    """Desktop Excel on Windows: the print settings the file writer gives every output
    sheet (landscape A4, pages across and down, repeated header rows and columns, the
    sheet's name and page number in the footer). xlwings Server has no page setup; a sheet
    rewritten in place keeps the settings it had."""
    if _is_remote(book):
        return
    try:
        setup = sheet.api.PageSetup
        setup.Orientation = 2  # xlLandscape
        setup.PaperSize = 9  # xlPaperA4
        setup.Zoom = False
        setup.FitToPagesWide = output.pages_wide
        setup.FitToPagesTall = output.pages_tall or False
        setup.PrintTitleRows = "".join(f"${part}" if i else f"${part}:" for i, part in enumerate(output.print_title_rows.split(":"))) if output.print_title_rows else ""
        setup.PrintTitleColumns = "".join(f"${part}" if i else f"${part}:" for i, part in enumerate(output.print_title_columns.split(":"))) if output.print_title_columns else ""
        setup.CenterFooter = "&A, page &P of &N"
    except AttributeError:  # macOS: PageSetup is not reachable this way; Excel's defaults stay
        pass
    except Exception as error:  # Windows without a printer: Excel refuses page settings
        if type(error).__name__ != "com_error":
            raise


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


def run_recalculate(book, *, run_time: str | None = None, formulas: bool | None = None) -> MacroResult:
    """Recalculate: read, check, score, then write every output sheet.

    On a blocking problem nothing is scored: the Problems sheet lists every problem and
    one alert says how many; the score sheets of the last good run stay as they were.
    ``formulas``: write the score sheets as live formulas (True) or values (False); None
    follows the Settings sheet's ``output`` row, as ``cityopp recalc`` does.
    """
    status(book, "CityOpp: reading the input sheets…")
    try:
        cache: dict = {}
        inputs, problems = read_book(book, cache)
        if inputs is not None:
            formulas = inputs.settings.formulas if formulas is None else formulas
            if formulas:
                from .formulas import find_formula_problems

                found = find_formula_problems(inputs, lambda name: cache[name] if name in cache else sheet_values(book.sheets[name]))
                if found:
                    inputs, problems = None, problems + found
        if inputs is None:
            _write_problems(book, problems)
            errors = [p for p in problems if p.blocking]
            alert(book, f"Recalculate stopped: {len(errors)} problem(s) block scoring. See the Problems sheet.\n\n{format_problems(errors, limit=5)}")
            return MacroResult(None, problems)
        status(book, f"CityOpp: scoring {len(inputs.values)} cities…")
        pipeline = run(inputs)
        problems = problems + pipeline.problems
        outputs = layout.render_outputs(pipeline, problems, run_time=run_time, source=book.name, formulas=formulas)
        status(book, "CityOpp: writing the score sheets…")
        write_outputs(book, outputs)
        book.sheets[layout.SHEET_OVERALL].activate()
        return MacroResult(pipeline, problems)
    finally:
        status(book, None)


def run_validate(book) -> MacroResult:
    """Validate: report every problem without writing any score.

    Problems (errors and warnings) are listed on the Problems sheet; one alert sums up,
    naming the input sheets changed since the last Recalculate (read from the Log sheet).
    """
    status(book, "CityOpp: checking the input sheets…")
    try:
        inputs, problems = read_book(book)
        pipeline = run(inputs) if inputs is not None else None
        if pipeline is not None:
            problems = problems + pipeline.problems
        stale = []
        if inputs is not None and layout.SHEET_LOG in [s.name for s in book.sheets]:
            stale = layout.find_stale_problems(inputs, sheet_values(book.sheets[layout.SHEET_LOG]))
            problems = problems + stale
        errors = [p for p in problems if p.blocking]
        if problems:
            _write_problems(book, problems)
            alert(
                book,
                f"{len(errors)} error(s) and {len(problems) - len(errors)} warning(s): see the Problems sheet."
                + ("\nScoring is blocked until the errors are fixed." if errors else "\nScoring can go on.")
                + (f"\nInputs changed since the last Recalculate: {', '.join(p.where for p in stale)}. The score sheets are out of date." if stale else ""),
            )
        else:
            for sheet in list(book.sheets):
                if sheet.name == layout.SHEET_PROBLEMS:
                    sheet.delete()
            alert(book, "No problems found: the workbook is ready to Recalculate.")
        return MacroResult(pipeline, problems)
    finally:
        status(book, None)


def run_analyze(book, *, run_time: str | None = None) -> MacroResult:
    """Analyze: Recalculate (every output sheet, the Analysis sheet among them), then show
    the Analysis sheet. A run that scoring problems stop shows the Problems sheet instead."""
    result = run_recalculate(book, run_time=run_time)
    if result.pipeline is not None and layout.SHEET_ANALYSIS in [s.name for s in book.sheets]:
        book.sheets[layout.SHEET_ANALYSIS].activate()
    return result


def run_compare(book, other_path, *, run_time: str | None = None):
    """Compare with…: compare this book (old) with the workbook file ``other_path`` (new).

    Reads this book (one bulk read per input sheet) and the other file (openpyxl, never
    opened in Excel), scores both, and writes the Diff sheet (replacing an older one) in
    one bulk write; one alert sums up. Returns the :class:`cityopp_xl.diff.Diff`, or None
    when either workbook cannot be scored or the file cannot be read (the alert says why;
    nothing is written).
    """
    from pathlib import Path
    from zipfile import BadZipFile

    from openpyxl.utils.exceptions import InvalidFileException

    from ..diff import compare as compare_runs
    from ..errors import CityOppError, InputError
    from .diff_files import score_file

    other_path = Path(other_path)
    status(book, "CityOpp: reading this workbook…")
    try:
        inputs, problems = read_book(book)
        errors = [p for p in problems if p.blocking]
        if inputs is None:
            alert(book, f"Compare stopped: {len(errors)} problem(s) in this workbook block scoring (Validate lists them all).\n\n{format_problems(errors, limit=5)}")
            return None
        status(book, f"CityOpp: reading {other_path.name}…")
        try:
            other = score_file(other_path)
        except InputError as exc:
            errors = [p for p in exc.problems if p.blocking]
            alert(book, f"Compare stopped: {len(errors)} problem(s) in {other_path.name} block scoring.\n\n{format_problems(errors, limit=5)}")
            return None
        except (OSError, BadZipFile, InvalidFileException, CityOppError) as exc:
            alert(book, f"Compare stopped: {other_path} cannot be read as a workbook ({exc}).")
            return None
        status(book, "CityOpp: comparing…")
        diff = compare_runs(run(inputs), other, sheets=layout.DIFF_TABLE_SHEETS)
        names = [s.name for s in book.sheets]
        output = layout.diff_sheet(diff, book.name, other_path.name, run_time=run_time, after=names[-1])
        write_sheet(book, output, book.sheets[layout.SHEET_DIFF] if layout.SHEET_DIFF in names else None)
        book.sheets[layout.SHEET_DIFF].activate()
        counts = diff.counts()
        alert(
            book,
            f"{counts['changed input cells']} input cell(s) differ; {counts['overall rank moves']} city(ies) move in the overall ranking"
            f" and {counts['overall score moves']} in overall score. See the Diff sheet.",
        )
        return diff
    finally:
        status(book, None)


def ask_workbook_path(book) -> str | None:
    """Ask which workbook to compare with; None when the user cancels.

    Windows: Excel's own Open dialog (``GetOpenFilename``). macOS: the system's file chooser
    (AppleScript ``choose file``). Elsewhere (xlwings Server, the remote engine) there is
    no dialog: an alert points to ``cityopp diff``.
    """
    import subprocess
    import sys

    if sys.platform == "win32":
        chosen = book.app.api.GetOpenFilename("Excel workbooks (*.xlsx;*.xlsm),*.xlsx;*.xlsm", 1, "CityOpp: compare with which workbook?")
        return chosen if isinstance(chosen, str) and chosen else None
    if sys.platform == "darwin":
        script = 'POSIX path of (choose file with prompt "CityOpp: compare with which workbook?" of type {"xlsx", "xlsm"})'
        done = subprocess.run(["osascript", "-e", script], capture_output=True, text=True)
        return (done.stdout.strip() or None) if done.returncode == 0 else None
    alert(book, "Compare with… needs desktop Excel to choose a file. On any computer: cityopp diff THIS_WORKBOOK OTHER_WORKBOOK")
    return None


# --------------------------------------------------------------------------- RunPython entry points


def recalculate() -> None:
    """Ribbon button Recalculate (RunPython)."""
    run_recalculate(xw.Book.caller())


def validate() -> None:
    """Ribbon button Validate (RunPython)."""
    run_validate(xw.Book.caller())


def analyze() -> None:
    """Ribbon button Analyze (RunPython)."""
    run_analyze(xw.Book.caller())


def compare() -> None:
    """Ribbon button Compare with… (RunPython): asks for the other workbook, then compares."""
    book = xw.Book.caller()
    path = ask_workbook_path(book)
    if path:
        run_compare(book, path)

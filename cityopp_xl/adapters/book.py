"""The Excel add-in's macros: the same core and the same sheets as ``cityopp recalc``,
through the xlwings Book API.

The ribbon buttons of the shipped workbook call, through xlwings ``RunPython``::

    import cityopp_xl.adapters.book as cityopp; cityopp.recalculate()

(and ``validate()``, ``analyze()``, ``compare()``, ``share(target)``). Each reads every input sheet in one
bulk call, scores with the core, and writes each output sheet in one bulk call plus a
bounded number of formatting calls, so the number of round trips to Excel does not grow
with the number of cities. Everything is computed before anything is written: when a
problem blocks scoring, nothing but the Problems sheet is written, and one alert says
so.

The ``run_*`` functions take the Book, so the same code runs in desktop Excel
(``xw.Book.caller()``) and in tests through xlwings' remote engine.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import re
import sys
from dataclasses import dataclass

import xlwings as xw

from ..errors import Problem, format_problems
from ..model import column_letter, column_number
from ..pipeline import Pipeline, run
from . import audit_sheets, diff_sheet, layout, printing, stale_check
from . import recalculate as sequence
from .integrity import SheetFeatures, TableRange, check_sheet_size

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
    if _is_remote(sheet.book):
        # The remote engine caches the values it cuts from each sheet by the sheet's
        # values, and TRUE equals 1 in Python: a sheet holding TRUE where another (of
        # any book read in this process) held 1 would read as 1. Read afresh.
        from xlwings.pro._xlremote import get_range_api

        get_range_api.cache_clear()
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
    """Read and check the inputs of an open Book (one bulk read per sheet), with the same
    checks as the command line (:func:`.recalculate.read`).

    ``cache``, when given, keeps each sheet's values by name for later checks.
    """
    front = ExcelFront(book)
    if cache is not None:
        front._values = cache
    inputs, problems, _ = sequence.read(front)
    return inputs, problems


#: Columns given their width one by one on the remote engine (A to Z; see write_sheet).
_EACH_COLUMN = 26


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


def _bounds(area: str) -> tuple[int, int, int, int]:
    """``(min_row, min_col, max_row, max_col)`` of an A1 area such as ``C5:C64`` or ``A3``."""
    first, _, last = area.replace("$", "").partition(":")
    last = last or first
    split = lambda a: (int("".join(c for c in a if c.isdigit())), column_number("".join(c for c in a if c.isalpha())))  # noqa: E731
    (r1, c1), (r2, c2) = split(first), split(last)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _address(rect: tuple[int, int, int, int]) -> str:
    r1, c1, r2, c2 = rect
    first, last = f"{column_letter(c1)}{r1}", f"{column_letter(c2)}{r2}"
    return first if first == last else f"{first}:{last}"


def coalesce(areas) -> list[tuple[int, int, int, int]]:
    """The fewest rectangles covering exactly the cells of ``areas`` that joining touching
    rectangles of the same rows or the same columns gives (one formatting call each)."""
    rects = sorted({_bounds(area) for area in areas})
    joined = True
    while joined:
        joined = False
        for i, a in enumerate(rects):
            for j in range(i + 1, len(rects)):
                b = rects[j]
                if (a[1], a[3]) == (b[1], b[3]) and b[0] <= a[2] + 1 and a[0] <= b[2] + 1:
                    union = (min(a[0], b[0]), a[1], max(a[2], b[2]), a[3])
                elif (a[0], a[2]) == (b[0], b[2]) and b[1] <= a[3] + 1 and a[1] <= b[3] + 1:
                    union = (a[0], min(a[1], b[1]), a[2], max(a[3], b[3]))
                else:
                    continue
                rects = sorted(set(rects[:i] + [union] + rects[i + 1 : j] + rects[j + 1 :]))
                joined = True
                break
            if joined:
                break
    return rects


#: Longest address desktop Excel takes in one Range call (a multi-area address).
_MAX_ADDRESS = 255


def ranges(book, sheet, addresses: list[str]) -> list:
    """The ranges to format ``addresses`` with, as few as the engine allows: Excel on
    Windows takes a multi-area address (``"A1:B2,D1:D9"``, up to 255 characters) in one
    COM call; xlwings' remote engine addresses one rectangle per action, and so does
    macOS here (its AppleScript bridge is not known to take multi-area addresses)."""
    if _is_remote(book) or sys.platform != "win32":
        return [sheet.range(address) for address in addresses]
    chunks: list[str] = []
    for address in addresses:
        if chunks and len(chunks[-1]) + 1 + len(address) <= _MAX_ADDRESS:
            chunks[-1] += "," + address
        else:
            chunks.append(address)
    return [sheet.range(chunk) for chunk in chunks]


def _grouped(book, sheet, areas) -> list:
    return ranges(book, sheet, [_address(rect) for rect in coalesce(areas)])


def write_values(sheet, output: layout.SheetOutput) -> None:
    """Write an output's values (and its formula cells) in one bulk write from A1."""
    cells = [[v if output.formulas and isinstance(v, str) and v.startswith("=") else as_text(v) for v in row] for row in output.cells]
    cells = with_formulas(cells, output.formula_cells)
    # chunksize=None: one write whatever the size (xlwings would otherwise split writes of
    # over 100,000 cells, and the round trips would grow with the number of cities).
    sheet["A1"].options(chunksize=None).value = cells


def write_sheet(book, output: layout.SheetOutput, sheet=None) -> None:
    """Write one output sheet: one bulk write of the values, then its formats grouped by
    style (one call per style and range, or per multi-area range on desktop Excel).
    ``sheet`` is the existing sheet to rewrite (cleared first), else a new sheet is added
    right after ``output.after``."""
    rewritten = sheet is not None
    if sheet is None:
        names = [s.name for s in book.sheets]
        after = book.sheets[output.after] if output.after in names else book.sheets[len(book.sheets) - 1]
        sheet = book.sheets.add(name=output.name, after=after)
    else:
        _delete_notes(sheet)
        sheet.clear()
    write_values(sheet, output)
    height = len(output.cells)
    for area in _grouped(book, sheet, ["A1", *output.bold]):
        area.font.bold = True
    sheet["A1"].font.size = output.title_size
    for area in _grouped(book, sheet, [*output.wrap, *output.merged]):  # a merged note wraps
        area.wrap_text = True
    formats: dict[str, list[str]] = {}
    for area, number_format in output.number_formats.items():
        formats.setdefault(number_format, []).append(area)
    for number_format, areas in sorted(formats.items()):
        for area in _grouped(book, sheet, areas):
            area.number_format = number_format
    for area in output.color_scales:  # correlations: -1 red, 0 white, +1 green
        sheet[area].conditional_formats.add_color_scale(["#F8696B", "#FFFFFF", "#63BE7B"], thresholds=[-1, 0, 1])
    for area in output.heatmaps:  # scores, each column its own scale: lowest red, median yellow, highest green
        sheet[area].conditional_formats.add_color_scale(["#F8696B", "#FFEB84", "#63BE7B"])
    for area in output.rank_scales:  # ranks: 1 green, median yellow, last red
        sheet[area].conditional_formats.add_color_scale(["#63BE7B", "#FFEB84", "#F8696B"])
    for address in output.alert_cells:  # warnings: bold dark red while they show
        sheet[address].conditional_formats.add_custom("=" + stale_check.alert_rule(address), font_color="#C00000", font_bold=True)
    remote = _is_remote(book)
    by_width: dict[float, list[str]] = {}
    if remote:
        # The remote engine takes one rectangle per action. Columns A to Z, where every
        # sheet's table sits and widths fitted to the content vary with the data, get one
        # call each (the default width where none is given); columns past Z (the rank bars
        # and scenario lists of Robustness, as many as the edition has ranks) one call per
        # run of equal width. The number of calls depends neither on the data nor on the
        # number of cities.
        last = max((column_number(letter) for letter in output.widths), default=0)
        runs = [(f"{column_letter(c)}:{column_letter(c)}", output.widths.get(column_letter(c), printing.DEFAULT_WIDTH)) for c in range(1, min(last, _EACH_COLUMN) + 1)]
        runs += _width_runs({letter: width for letter, width in output.widths.items() if column_number(letter) > _EACH_COLUMN})
    else:
        runs = _width_runs(output.widths)
    for area, width in runs:
        by_width.setdefault(width, []).append(area)
    for width, areas in sorted(by_width.items()):
        for area in ranges(book, sheet, areas):
            area.column_width = _points(width) if remote else width
    if rewritten and height:  # clearing keeps row heights: undo the last run's tall rows
        sheet.range(f"1:{height}").row_height = printing.LINE_HEIGHT
    # One call per row height on the remote engine (grouping rows of equal height would
    # make the number of calls depend on the data), one per height on desktop Excel.
    by_height: dict[float, list[str]] = {}
    for number, row_height in sorted(output.row_heights.items()):
        by_height.setdefault(row_height, []).append(f"{number}:{number}")
    for row_height, areas in sorted(by_height.items()):
        for area in (sheet.range(a) for a in areas) if remote else ranges(book, sheet, areas):
            area.row_height = row_height
    try:  # number headers over their numbers
        for area in _grouped(book, sheet, output.align_right):
            area.horizontal_alignment = "right"
    except NotImplementedError:  # xlwings Server clients other than Office.js
        pass
    _merge(book, sheet, output.merged)
    _links_and_notes(sheet, output)
    if output.print_area:
        sheet.page_setup.print_area = output.print_area
    _print_setup(book, sheet, output)
    if output.freeze:
        _freeze(book, sheet, output.freeze)


def _merge(book, sheet, areas: list[str]) -> None:
    """Merge each area (a note across the table): one-row areas over the same columns in
    touching rows go in one call, merged row by row (Excel's "merge across")."""
    stacks: list[list[int]] = []
    for r1, c1, r2, c2 in sorted(_bounds(area) for area in areas):
        if r1 == r2 and stacks and stacks[-1][1:3] == [c1, c2] and stacks[-1][4] == r1 - 1:
            stacks[-1][4] = r1
        else:
            stacks.append([r1, c1, c2, r2, r2] if r1 == r2 else [r1, c1, c2, r2, None])
    for first, c1, c2, last, across_last in stacks:
        if across_last is None:
            sheet.range(_address((first, c1, last, c2))).merge()
        else:
            sheet.range(_address((first, c1, across_last, c2))).merge(across=True)


def _delete_notes(sheet) -> None:
    """Delete the notes of an output sheet about to be rewritten (few, by contract): a
    cleared sheet must not keep the last run's notes, and a cell takes one note only."""
    try:
        for note in list(sheet.notes):
            note.delete()
    except (NotImplementedError, AttributeError):  # an engine without notes: none were written
        pass


def _links_and_notes(sheet, output: layout.SheetOutput) -> None:
    """The links inside the workbook and the notes of an output sheet, one call each
    (their number never grows with the number of cities). The remote engine adds notes
    only through an Office.js client with notes (ExcelApi 1.18): elsewhere they are left
    out, and the file front end writes them."""
    for address, target in sorted(output.links.items()):
        row, column = _bounds(address)[:2]
        value = output.cells[row - 1][column - 1] if row <= len(output.cells) and column <= len(output.cells[row - 1]) else None
        sheet[address].add_hyperlink("#" + target, text_to_display=None if value is None else str(value))
    for address, text in sorted(output.notes.items()):
        try:
            sheet[address].add_note(text)
        except NotImplementedError:
            break


def _tab_and_breaks(sheet, output: layout.SheetOutput) -> None:
    """Desktop Excel on Windows (COM): the tab colour and the manual page breaks (xlwings'
    remote engine has no action for either)."""
    api = sheet.api
    if output.tab_color:
        red, green, blue = (int(output.tab_color[i : i + 2], 16) for i in (0, 2, 4))
        api.Tab.Color = red + 256 * green + 65536 * blue  # Excel's colours are BGR
    api.ResetAllPageBreaks()
    for row in sorted(set(output.row_breaks)):
        api.HPageBreaks.Add(Before=api.Range(f"A{row + 1}"))


def _print_setup(book, sheet, output: layout.SheetOutput) -> None:
    """Desktop Excel on Windows: the print settings the file writer gives every output
    sheet (A4 in its orientation, pages across and down, repeated header rows and columns,
    the sheet's name and page number in the footer, manual page breaks) and the tab colour.
    xlwings Server has no page setup nor tab colour; a sheet rewritten in place keeps the
    settings it had."""
    if _is_remote(book):
        return
    try:
        setup = sheet.api.PageSetup
        setup.Orientation = 1 if output.orientation == "portrait" else 2  # xlPortrait, xlLandscape
        setup.PaperSize = 9  # xlPaperA4
        scale = printing.print_scale(output)
        if scale:  # manual page breaks: a fixed scale (fitting to pages would ignore them)
            setup.Zoom = scale
        else:
            setup.Zoom = False
            setup.FitToPagesWide = output.pages_wide
            setup.FitToPagesTall = output.pages_tall or False
        setup.PrintTitleRows = "".join(f"${part}" if i else f"${part}:" for i, part in enumerate(output.print_title_rows.split(":"))) if output.print_title_rows else ""
        setup.PrintTitleColumns = "".join(f"${part}" if i else f"${part}:" for i, part in enumerate(output.print_title_columns.split(":"))) if output.print_title_columns else ""
        setup.CenterFooter = "&A, page &P of &N"
        _tab_and_breaks(sheet, output)
    except AttributeError:  # macOS: PageSetup is not reachable this way; Excel's defaults stay
        pass
    except Exception as error:  # Windows without a printer: Excel refuses page settings
        if type(error).__name__ != "com_error":
            raise


def write_outputs(book, outputs: list[layout.SheetOutput], delete: list[str] = (), known_formats: dict[str, str] | None = None) -> None:
    """Replace the add-in's sheets and only them: an existing output sheet is rewritten in
    place (so formulas pointing at it keep working), a new one is added after its
    neighbour, and the owned sheets in ``delete`` are deleted.

    ``known_formats``: the format fingerprints the Log recorded for the sheets as they
    are (:func:`.integrity.read_format_fingerprints`). A sheet whose formats would be
    written again unchanged is rewritten by its values alone: its contents cleared and
    one bulk write (two calls instead of every formatting call).
    """
    from .integrity import format_fingerprint

    known_formats = known_formats or {}
    names = [sheet.name for sheet in book.sheets]
    for name in delete:
        if name in names:
            book.sheets[name].delete()
    existing = {sheet.name: sheet for sheet in book.sheets if sheet.name in {o.name for o in outputs}}
    for output in outputs:
        sheet = existing.get(output.name)
        if sheet is not None and output.name in known_formats and known_formats[output.name] == format_fingerprint(output):
            sheet.clear_contents()
            write_values(sheet, output)
        else:
            write_sheet(book, output, sheet)


def _write_problems(book, problems: list[Problem]) -> None:
    output = printing.polish(audit_sheets.problems_sheet(problems))
    names = [s.name for s in book.sheets]
    output.after = layout.SHEET_LOG if layout.SHEET_LOG in names else names[-1]
    write_sheet(book, output, book.sheets[layout.SHEET_PROBLEMS] if layout.SHEET_PROBLEMS in names else None)
    book.sheets[layout.SHEET_PROBLEMS].activate()


@contextlib.contextmanager
def quiet(book):
    """Screen updating off and calculation manual while the add-in writes, both given back
    as they were afterwards, also when the write fails. The remote engine cannot read
    screen updating (Office.js only suspends it until the next sync): it is turned back
    on; a client that does not send the calculation mode keeps its own."""
    app = book.app
    try:
        updating = app.screen_updating
    except NotImplementedError:
        updating = True
    try:
        calculation = app.calculation
    except NotImplementedError:
        calculation = None
    app.screen_updating = False
    if calculation not in (None, "manual"):
        app.calculation = "manual"
    try:
        yield
    finally:
        if calculation not in (None, "manual"):
            app.calculation = calculation
        app.screen_updating = updating


class ExcelFront:
    """A Book open in Excel as a front end of the one Recalculate (:mod:`.recalculate`).

    Reads each sheet in one bulk read (kept for the run); features from Excel itself
    (desktop: COM; the remote engine: the tables the client sends, and merged areas and
    hidden rows and columns where a client sends them as ``merged_areas``,
    ``hidden_rows`` and ``hidden_columns``); writes with screen updating off and
    calculation manual; shows problems on the Problems sheet and in one alert.
    Ownership by the record the file front end keeps (:class:`.xlsxpackage.FileFront`).
    """

    def __init__(self, book):
        self.book = book
        self.name = book.name
        self._values: dict[str, list[list]] = {}

    def sheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.book.sheets]

    def values(self, sheet: str) -> list[list]:
        if sheet not in self._values:
            self._values[sheet] = sheet_values(self.book.sheets[sheet])
        return self._values[sheet]

    def features(self, sheet: str) -> SheetFeatures:
        return sheet_features(self.book.sheets[sheet])

    def owned(self) -> set[str]:
        """The sheets this add-in wrote: those with the file front end's record (a
        sheet-scoped name :data:`layout.OWNED_NAME`, where the engine shows it) or the stamp
        every output sheet carries (:func:`.integrity.find_stamped_outputs`).
        Excel's front end adds no name of its own: xlwings' remote clients do not all send
        hidden names, so the stamp is what both front ends can see."""
        if not hasattr(self, "_owned"):
            from .integrity import find_stamped_outputs

            recorded = {sheet.name for sheet in self.book.sheets if layout.is_owned(sheet.name) and _has_record(sheet)}
            self._owned = recorded | find_stamped_outputs(self.sheet_names(), self.values)
        return self._owned

    def write(self, outputs: list[layout.SheetOutput], delete: list[str]) -> None:
        from .integrity import read_format_fingerprints, read_output_fingerprints, sheet_fingerprint

        names = self.sheet_names()
        known: dict[str, str] = {}
        if layout.SHEET_LOG in names:
            log = self.values(layout.SHEET_LOG)
            stored = read_output_fingerprints(log)
            # A sheet edited by hand (rows inserted, cells moved) gets its formats written
            # again too: only an untouched sheet keeps the formats it holds.
            known = {
                name: fingerprint
                for name, fingerprint in read_format_fingerprints(log).items()
                if name in names and (name not in stored or sheet_fingerprint(self.values(name), stored[name].skip) == stored[name].fingerprint)
            }
        with quiet(self.book):
            write_outputs(self.book, outputs, delete, known)
        self.book.sheets[layout.SHEET_OVERALL].activate()

    def unchanged(self) -> set[str]:
        """Excel cannot tell an untouched sheet without reading it: every owned sheet is
        read for hand edits."""
        return set()

    def show_problems(self, problems: list[Problem], *, blocked: bool, summary: str) -> None:
        with quiet(self.book):
            if problems:
                _write_problems(self.book, problems)
            elif layout.SHEET_PROBLEMS in self.owned():
                self.book.sheets[layout.SHEET_PROBLEMS].delete()
        alert(self.book, summary)

    def progress(self, text: str | None) -> None:
        status(self.book, text)


def _has_record(sheet) -> bool:
    """Whether a sheet carries the ownership record (:data:`layout.OWNED_NAME`)."""
    return any(name.name.rsplit("!", 1)[-1] == layout.OWNED_NAME for name in sheet.names)


def sheet_features(sheet) -> SheetFeatures:
    """A sheet's Excel tables, merged areas and hidden rows and columns, in a number of
    calls that does not grow with the number of cities."""
    tables = []
    try:
        for table in sheet.tables:
            area = table.range
            if area is None:
                continue
            first, last = area.row, area.last_cell.row
            header = first if table.show_headers else first - 1
            tables.append(TableRange(header, area.column, last, area.last_cell.column, 1 if table.show_totals else 0))
    except (NotImplementedError, AttributeError):  # an engine without tables: tables end at a blank header
        tables = []
    api = sheet.api
    if isinstance(api, dict):  # the remote engine: what the client sent
        merged = tuple(_bounds(area) for area in api.get("merged_areas") or ())
        return SheetFeatures(merged, tuple(api.get("hidden_rows") or ()), tuple(api.get("hidden_columns") or ()), tuple(tables))
    if sys.platform != "win32":  # macOS: Excel's AppleScript objects, not COM; not read here
        return SheetFeatures(tables=tuple(tables))
    merged, hidden_rows, hidden_columns = _desktop_features(api)
    return SheetFeatures(merged, hidden_rows, hidden_columns, tuple(tables))


def _desktop_features(api) -> tuple[tuple, tuple, tuple]:
    """Merged areas and hidden rows and columns through COM (desktop Excel on Windows):
    the used range's merge state (one call: False when nothing is merged), then each
    merged area found by format; the visible cells' areas, whose gaps are the hidden rows
    and columns. Calls grow with the merged areas and hidden bands, not with the cities."""
    used = api.UsedRange
    top, left = used.Row, used.Column
    bottom, right = top + used.Rows.Count - 1, left + used.Columns.Count - 1
    merged: list[tuple[int, int, int, int]] = []
    if used.MergeCells is not False:  # True (all merged) or None (some)
        finder = api.Application.FindFormat
        finder.Clear()
        finder.MergeCells = True
        found = used.Find(What="", LookAt=2, SearchFormat=True)  # xlPart
        seen: set[str] = set()
        while found is not None:
            area = found.MergeArea
            if area.Address in seen:
                break
            seen.add(area.Address)
            merged.append((area.Row, area.Column, area.Row + area.Rows.Count - 1, area.Column + area.Columns.Count - 1))
            found = used.Find(What="", After=area.Cells(area.Rows.Count, area.Columns.Count), LookAt=2, SearchFormat=True)
        finder.Clear()
    rows: set[int] = set()
    columns: set[int] = set()
    try:
        visible = used.SpecialCells(12)  # xlCellTypeVisible
        for index in range(1, visible.Areas.Count + 1):
            area = visible.Areas(index)
            rows.update(range(area.Row, area.Row + area.Rows.Count))
            columns.update(range(area.Column, area.Column + area.Columns.Count))
    except Exception as error:  # every cell hidden: Excel reports "no cells were found"
        if type(error).__name__ != "com_error":
            raise
    hidden_rows = tuple(r for r in range(top, bottom + 1) if r not in rows)
    hidden_columns = tuple(c for c in range(left, right + 1) if c not in columns)
    return tuple(merged), hidden_rows, hidden_columns


# --------------------------------------------------------------------------- macros


def _guarded(book, front: ExcelFront, run) -> MacroResult:
    """Run a macro's sequence; every unexpected failure ends, like any problem, in the
    Problems sheet and one alert, never in a Python traceback shown in Excel."""
    try:
        outcome = run()
    except Exception as error:  # the last resort of the adapter: an alert, never a traceback
        problem = sequence.failure_problem(error)
        try:
            front.show_problems([problem], blocked=True, summary=f"CityOpp stopped: {problem}")
        except Exception:  # Excel refused the Problems sheet too: the alert alone
            alert(book, f"CityOpp stopped: {problem}")
        return MacroResult(None, [problem])
    return MacroResult(outcome.pipeline, outcome.problems)


def run_recalculate(book, *, run_time: str | None = None, formulas: bool | None = None) -> MacroResult:
    """Recalculate (:func:`.recalculate.recalculate` on the open Book).

    On a blocking problem nothing is scored: the Problems sheet lists every problem and
    one alert says how many; the score sheets of the last good run stay as they were.
    ``formulas``: write the score sheets as live formulas (True) or values (False); None
    follows the Settings sheet's ``output`` row, as ``cityopp recalc`` does.
    """
    front = ExcelFront(book)
    return _guarded(book, front, lambda: sequence.recalculate(front, run_time=run_time, formulas=formulas))


def run_validate(book) -> MacroResult:
    """Validate (:func:`.recalculate.validate` on the open Book): every problem on the
    Problems sheet, one alert summing up (naming the input sheets changed since the last
    Recalculate); no score is written."""
    front = ExcelFront(book)
    return _guarded(book, front, lambda: sequence.validate(front))


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
        output = diff_sheet.diff_sheet(diff, book.name, other_path.name, run_time=run_time, after=names[-1])
        with quiet(book):
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


def run_share(book, target, *, force: bool = False):
    """Reviewer copy: the reviewer's copy of this book's saved file, written to ``target``
    by :func:`.share.share_file` (the code of ``cityopp share``); one alert says where it
    went, or why it was not written. The book must be saved (its file is what is copied;
    the macro checks for unsaved changes before asking for ``target``). Returns the
    :class:`.share.ShareResult`, or None when nothing was written."""
    from pathlib import Path

    from ..errors import CityOppError
    from .share import share_file

    source = Path(book.fullname or "")
    if not source.is_file():
        alert(book, "Reviewer copy: save this workbook first (the copy is made from the saved file), then click Reviewer copy again.")
        return None
    status(book, "CityOpp: writing the reviewer copy…")
    try:
        result = share_file(source, Path(target), force=force)
    except CityOppError as exc:
        alert(book, f"Reviewer copy not written: {exc}")
        return None
    finally:
        status(book, None)
    alert(
        book,
        f"Reviewer copy written: {result.written}\n\nAn .xlsx without macros, with the figures of the Recalculate of {result.run_time}. "
        f"When it comes back, compare it with this workbook: Compare with… (or cityopp diff {source.name} {result.written.name}).",
    )
    return result


def ask_workbook_path(book) -> str | None:
    """Ask which workbook to compare with; None when the user cancels.

    Windows: Excel's own Open dialog (``GetOpenFilename``). macOS: the system's file chooser
    (AppleScript ``choose file``). Elsewhere (xlwings Server, the remote engine) there is
    no dialog: an alert points to ``cityopp diff``.
    """
    import subprocess

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
    front = ExcelFront(book)

    def ask_and_compare():
        path = ask_workbook_path(book)
        if path:
            run_compare(book, path)
        return sequence.Outcome(None, None, [])

    _guarded(book, front, ask_and_compare)


def share(target: str, force: bool = False) -> None:
    """Ribbon button Reviewer copy (RunPython): the macro has asked for ``target`` (and
    whether to replace it)."""
    book = xw.Book.caller()
    front = ExcelFront(book)

    def write_copy():
        run_share(book, target, force=force)
        return sequence.Outcome(None, None, [])

    _guarded(book, front, write_copy)

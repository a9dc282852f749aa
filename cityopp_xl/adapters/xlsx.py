"""Workbook files with openpyxl: read the inputs, write the output sheets, build new workbooks.

Used by the CLI and the build script (no Excel needed). A recalculation writes to a
temporary file beside the target and moves it into place, so a failed or interrupted run
leaves the workbook as it was; an .xlsm keeps its VBA project and ribbon byte for byte.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from lxml import etree

from .. import pipeline as pipeline_module
from ..errors import CityOppError, InputError, Problem
from ..model import Framework, Settings
from ..validate import Inputs, UncalculatedFormula
from . import layout, printing, stale_check
from .collector import paused_garbage_collection
from . import recalculate
from .inuse import check_replaceable
from .integrity import SheetFeatures, TableRange, check_sheet_size
from .package import PackageError, check_package, remove_stale_temporaries, write_atomically
from .reader import read_inputs

MACRO_SUFFIXES = {".xlsm", ".xltm", ".xlam"}
#: openpyxl is imported where it is used: a Recalculate or a validation of a file never
#: needs it (adapters/xlsxpackage.py), and importing it is a fifth of the run on a
#: 60-city workbook.
_FILLS = {"HEADER_FILL": "DDE4EE", "INPUT_FILL": "FFF7E0"}


def __getattr__(name: str):
    """The fills of the presentation sheets (openpyxl objects, made on first use)."""
    if name in _FILLS:
        from openpyxl.styles import PatternFill

        return PatternFill("solid", fgColor=_FILLS[name])
    raise AttributeError(name)
#: The workbook's font, named on every font set here (a font without a name falls back to
#: the application's default, a serif face in some of them).
FONT_NAME = "Calibri"
#: Font colour of the workbook's warnings (:attr:`layout.SheetOutput.alert_cells`).
ALERT_COLOR = "C00000"


class WorkbookLockedError(CityOppError):
    """Raised when another cityopp run is already writing the same workbook."""


@dataclass
class RunResult:
    """What a recalculation did: the pipeline, every problem, and where it wrote."""

    pipeline: pipeline_module.Pipeline | None
    problems: list[Problem]
    written: Path | None
    #: Temporary files an interrupted run had left beside the target, removed by this run.
    removed: list[Path] = dataclasses.field(default_factory=list)


# --------------------------------------------------------------------------- reading


def load_book(path: Path, *, read_only: bool = False, data_only: bool = False):
    """Open a workbook without running or following anything in it.

    The file is first checked by :func:`.package.check_package` (not a workbook, zip
    bombs, oversized parts or sheets, XML entity declarations: refused unread). Macros are
    kept as opaque bytes and never run; links to other workbooks are kept as they are and
    never followed or updated (openpyxl reads only the values cached in this file);
    formulas are never evaluated. XML is parsed through defusedxml when it is installed
    (a dependency), which refuses entity declarations anywhere in a part.

    Raises
    ------
    PackageError
        When the file is refused or openpyxl cannot read it, with the reason.
    """
    from openpyxl.utils.exceptions import InvalidFileException
    import openpyxl

    try:  # openpyxl parses through defusedxml when it is installed (a dependency)
        from defusedxml import DefusedXmlException as unsafe_xml
    except ImportError:  # pragma: no cover - the pre-flight check still refuses DTDs
        unsafe_xml = ()  # never matched

    path = Path(path)
    check_package(path)
    keep_vba = path.suffix.lower() in MACRO_SUFFIXES and not read_only
    try:
        return openpyxl.load_workbook(path, read_only=read_only, data_only=data_only, keep_vba=keep_vba, keep_links=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, IndexError, ElementTree.ParseError, etree.XMLSyntaxError, zlib.error, EOFError) as exc:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, unsafe_xml):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:  # openpyxl wraps defusedxml's refusal in a ValueError
            raise PackageError(
                f"{path.name}: an XML part declares entities ({type(cause).__name__}), "
                "expected XML parts as Excel writes them (refused: entity expansion can exhaust memory or read other files)"
            ) from None
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise PackageError(
            f"{path.name}: the workbook cannot be read ({type(exc).__name__}: {first}), "
            "expected an .xlsx or .xlsm workbook that Excel can open (open and save it in Excel, then try again)"
        ) from None


def _sheet_rows(worksheet) -> list[list]:
    """A sheet's values from A1, refused first when its used range is over the limits
    of :mod:`.integrity` (before a million empty rows are materialised)."""
    cells = getattr(worksheet, "_cells", None)
    if cells is None:  # a read-only sheet streams its rows
        check_sheet_size(worksheet.title, worksheet.max_row or 0, worksheet.max_column or 0)
        return [list(row) for row in worksheet.iter_rows(values_only=True)]
    # The values iter_rows(values_only=True) gives, read from the cells the sheet holds:
    # iter_rows creates an empty cell object for every blank position it passes (90,000
    # at 3,000 cities x 300 indicators), a third of the reading time (bench/run.py).
    return _rows_from(worksheet.title, cells, ((position, cell.value) for position, cell in cells.items()))


def _rows_from(title: str, positions, values) -> list[list]:
    """Rows from A1 of a sheet holding cells at ``positions`` ((row, column) pairs) with
    ``values`` ((row, column), value), after checking its size
    (:func:`.integrity.check_sheet_size`). The used range is the one max_row and max_column
    give, found in one pass (each of those scans every cell)."""
    height, width = (max(axis) for axis in zip(*positions)) if positions else (1, 1)
    check_sheet_size(title, height, width)
    if not positions:
        return []
    rows = [[None] * width for _ in range(height)]
    for (row, column), value in values:
        rows[row - 1][column - 1] = value
    return rows


def _formula_text(value) -> str | None:
    """The formula a cell holds (plain, array or data-table formula), else None."""
    from openpyxl.worksheet.formula import ArrayFormula
    from openpyxl.worksheet.formula import DataTableFormula

    if isinstance(value, str):
        return value if value.startswith("=") else None
    if isinstance(value, ArrayFormula):
        return value.text or "={array formula}"
    if isinstance(value, DataTableFormula):
        return "=TABLE()"
    return None


def sheet_features(worksheet) -> SheetFeatures:
    """Merged ranges, hidden rows and hidden columns of a loaded (not read-only) sheet."""
    merged = tuple((r.min_row, r.min_col, r.max_row, r.max_col) for r in worksheet.merged_cells.ranges)
    hidden_rows = tuple(number for number, dimension in worksheet.row_dimensions.items() if dimension.hidden)
    hidden_columns: list[int] = []
    for dimension in worksheet.column_dimensions.values():
        if dimension.hidden and dimension.min:
            hidden_columns.extend(range(dimension.min, min(dimension.max or dimension.min, 16_384) + 1))
    return SheetFeatures(merged, hidden_rows, tuple(hidden_columns), excel_tables(worksheet))


def excel_tables(worksheet) -> tuple[TableRange, ...]:
    """The Excel tables of a loaded sheet, each from its header row (a table shown
    without one starts on the row below its header cells)."""
    from openpyxl.utils import range_boundaries

    found = []
    for table in worksheet.tables.values():
        try:
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        except (TypeError, ValueError):
            continue
        if table.headerRowCount == 0:
            min_row -= 1
        found.append(TableRange(min_row, min_col, max_row, max_col, table.totalsRowCount or 0))
    return tuple(found)


def _values_of(book, path: Path, cached: dict):
    """A function giving a sheet's values from A1 for :func:`reader.read_inputs`.

    A formula cell in an input table is read as the value Excel last calculated for it
    (openpyxl never evaluates formulas); a formula with no stored value is reported.
    An output sheet's formulas are read as their text: its fingerprint on the Log leaves
    the cells that cityopp-xl wrote as formulas out, so their values are never needed
    (and the workbook is not opened a second time to read them). ``cached`` keeps the
    workbook opened for the computed values (close it with :func:`_close_cached`).
    """

    def values_of(sheet: str) -> list[list]:
        rows = _sheet_rows(book[sheet])
        if layout.is_owned(sheet):
            return rows
        if any(_formula_text(v) is not None for row in rows for v in row):
            if "book" not in cached:
                cached["book"] = load_book(path, read_only=True, data_only=True)
            computed = _sheet_rows(cached["book"][sheet])
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    formula = _formula_text(value)
                    if formula is not None:
                        result = computed[r][c] if r < len(computed) and c < len(computed[r]) else None
                        row[c] = UncalculatedFormula(formula) if result is None else result
        return rows

    return values_of


def _close_cached(cached: dict) -> None:
    if "book" in cached:
        cached.pop("book").close()


def read_book(book, path: Path) -> tuple[Inputs | None, list[Problem]]:
    """Read and check the inputs of an open workbook (see :func:`reader.read_inputs`):
    merged cells in an input table are an error, hidden rows and columns a warning."""
    cached: dict = {}
    try:
        return read_inputs(book.sheetnames, _values_of(book, Path(path), cached), lambda sheet: sheet_features(book[sheet]))
    finally:
        _close_cached(cached)


def validate_file(path: Path) -> tuple[Inputs | None, list[Problem], pipeline_module.Pipeline | None]:
    """Check a workbook without writing anything; scores it when it can, to find the
    warnings scoring itself raises (pre-scored columns that break their rule), and one
    warning per input sheet changed since the last Recalculate (from the Log sheet)."""
    from .xlsxpackage import FileFront

    front = FileFront(Path(path))
    try:
        outcome = recalculate.validate(front)
    finally:
        front.close()
    return outcome.inputs, outcome.problems, outcome.pipeline


# --------------------------------------------------------------------------- writing outputs


def write_sheet(sheet, output: layout.SheetOutput) -> None:
    """Write one :class:`~layout.SheetOutput` (values, then its bounded formats) into an
    openpyxl sheet: the presentation sheets of a new workbook. A Recalculate of a file
    writes its output sheets as package parts instead (:mod:`.xlsxpackage`)."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment
    from openpyxl.styles import Font

    for row in output.cells:
        # Blank cells are left out (a third of the Log and Analysis cells): openpyxl would
        # make a cell object for each, to write nothing for it.
        sheet.append({column: value for column, value in enumerate(row, start=1) if value is not None})
        if not output.formulas and any(isinstance(v, str) and v.startswith("=") for v in row):
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":  # text that merely starts with "=" stays text
                    cell.data_type = "s"
    sheet["A1"].font = Font(name=FONT_NAME, bold=True, size=output.title_size)
    bold = Font(name=FONT_NAME, size=11, bold=True)
    for area in output.bold:
        _style_area(sheet, area, "font", bold)
    for area, number_format in output.number_formats.items():
        _style_area(sheet, area, "number_format", number_format)
    wrap = Alignment(wrap_text=True, vertical="top")
    for area in output.wrap:
        _style_area(sheet, area, "alignment", wrap)
    for area in output.align_right:
        for row in sheet[area]:
            for cell in row:
                cell.alignment = Alignment(horizontal="right", wrap_text=cell.alignment.wrap_text, vertical=cell.alignment.vertical)
    for area in output.merged:  # a note wrapped across the table
        sheet.merge_cells(area)
        sheet[area.split(":")[0]].alignment = wrap
    for number, height in output.row_heights.items():
        sheet.row_dimensions[number].height = height
    for letter, width in output.widths.items():
        sheet.column_dimensions[letter].width = width
    if output.freeze:
        sheet.freeze_panes = output.freeze
    landscape(sheet, pages_wide=output.pages_wide, pages_tall=output.pages_tall, orientation=output.orientation)
    scale = printing.print_scale(output)
    if scale:  # manual page breaks: a fixed scale (fitting to pages would ignore them)
        sheet.page_setup.scale = scale
        sheet.sheet_properties.pageSetUpPr.fitToPage = False
    if output.print_title_rows:
        sheet.print_title_rows = output.print_title_rows
    if output.print_title_columns:
        sheet.print_title_cols = output.print_title_columns
    if output.print_area:
        sheet.print_area = output.print_area
    for area in output.color_scales:
        sheet.conditional_formatting.add(area, correlation_color_scale())
    for area in output.heatmaps:
        sheet.conditional_formatting.add(area, score_color_scale())
    for area in output.rank_scales:
        sheet.conditional_formatting.add(area, score_color_scale(reverse=True))
    for address, formula in output.formula_cells.items():
        sheet[address] = formula
    for address in output.alert_cells:
        sheet.conditional_formatting.add(address, FormulaRule(formula=[stale_check.alert_rule(address)], font=Font(bold=True, color=ALERT_COLOR)))
    for address, target in output.links.items():
        add_link(sheet[address], target)
    for address, text in output.notes.items():
        add_note(sheet[address], text)
    if output.tab_color:
        sheet.sheet_properties.tabColor = "FF" + output.tab_color
    if output.row_breaks:
        from openpyxl.worksheet.pagebreak import Break

        for row in sorted(set(output.row_breaks)):
            sheet.row_breaks.append(Break(id=row))


#: The colour of a link's text (Excel's Hyperlink style).
LINK_COLOR = "0563C1"


def add_link(cell, target: str) -> None:
    """Make ``cell`` a link to ``target``, a place inside the workbook (``'D1 data'!A1``):
    its value stays as the link's text, blue and underlined."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=target, display=None if cell.value is None else str(cell.value))
    font = cell.font
    cell.font = Font(name=font.name or FONT_NAME, size=font.size or 11, bold=font.bold, underline="single", color=LINK_COLOR)


def add_note(cell, text: str) -> None:
    """Give ``cell`` a note (Excel's legacy comment) under the add-in's name."""
    from openpyxl.comments import Comment

    from .sheetxml import NOTE_AUTHOR

    cell.comment = Comment(text, NOTE_AUTHOR, width=300, height=110)


_STYLE_KEYS = {"font": "fontId", "number_format": "numFmtId", "alignment": "alignmentId"}


def _style_area(sheet, area: str, attribute: str, value) -> None:
    """Set one style attribute (``font``, ``number_format`` or ``alignment``) on every cell
    of ``area``: through openpyxl on the first cell, then its style id copied to the others.
    Set cell by cell, openpyxl looks the same style up again for every cell (a whole
    column of bold totals on 20 score sheets of 3,000 cities, bench/run.py)."""
    from openpyxl.styles.cell_style import StyleArray

    key = _STYLE_KEYS[attribute]
    style_id = None
    for row in sheet[area]:
        for cell in row:
            if style_id is None:
                setattr(cell, attribute, value)
                style_id = getattr(cell._style, key)
            else:
                if not cell._style:  # a cell never styled has no style array yet
                    cell._style = StyleArray()
                setattr(cell._style, key, style_id)


def score_color_scale(reverse: bool = False) -> ColorScaleRule:
    """The heatmap of :attr:`layout.SheetOutput.heatmaps`: lowest red, median yellow, highest
    green; ``reverse`` (:attr:`layout.SheetOutput.rank_scales`): lowest green, highest red."""
    from openpyxl.formatting.rule import ColorScaleRule

    low, high = ("63BE7B", "F8696B") if reverse else ("F8696B", "63BE7B")
    return ColorScaleRule(
        start_type="min", start_color=low,
        mid_type="percentile", mid_value=50, mid_color="FFEB84",
        end_type="max", end_color=high,
    )


def correlation_color_scale() -> ColorScaleRule:
    """The heatmap of :attr:`layout.SheetOutput.color_scales`: -1 red, 0 white, +1 green."""
    from openpyxl.formatting.rule import ColorScaleRule

    return ColorScaleRule(
        start_type="num", start_value=-1, start_color="F8696B",
        mid_type="num", mid_value=0, mid_color="FFFFFF",
        end_type="num", end_value=1, end_color="63BE7B",
    )


def landscape(sheet, pages_wide: int = 1, pages_tall: int = 0, orientation: str = "landscape") -> None:
    """Print on A4 pages (landscape unless ``orientation`` says portrait), ``pages_wide``
    pages across and ``pages_tall`` down (0: as many as needed), with the sheet's name and
    the page number in the footer."""
    from openpyxl.worksheet.page import PageMargins

    sheet.page_setup.orientation = orientation
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = pages_wide
    sheet.oddFooter.center.text = "&A, page &P of &N"
    sheet.oddFooter.center.size = 8
    sheet.page_margins = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.6, header=0.25, footer=0.3)
    sheet.page_setup.fitToHeight = pages_tall
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


@contextlib.contextmanager
def workbook_lock(path: Path):
    """Hold an exclusive lock on ``path`` for the duration (a lock file beside it).

    A second run on the same workbook fails at once with :class:`WorkbookLockedError`.
    The lock dies with the process, so a killed run never leaves a stale lock behind.
    Only the run holding the lock removes the lock file; a run that took the lock on a
    file another run had just removed tries again on the new file, so two runs can never
    both believe they hold it.
    """
    path = Path(path)
    lock_path = path.with_name(f".~{path.name}.cityopp.lock")
    message = (
        f"{path}: another cityopp run is writing this workbook (lock file {lock_path.name}); "
        "nothing was changed: try again when it has finished"
    )
    while True:
        handle = open(lock_path, "a+")
        try:
            _lock_handle(handle, message)
            try:
                same = os.path.samestat(os.fstat(handle.fileno()), os.stat(lock_path))
            except FileNotFoundError:
                same = False
        except BaseException:
            handle.close()
            raise
        if same:
            break
        handle.close()  # the holder removed this file as we locked it: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        handle.close()


def _lock_handle(handle, message: str) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: msvcrt locks a byte range instead
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            raise WorkbookLockedError(message) from exc
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise WorkbookLockedError(message) from exc


def save_atomically(book, original: Path, target: Path) -> None:
    """Save ``book`` to ``target`` through a temporary file in the same folder, restore
    the original's VBA project and ribbon parts, then move it into place."""

    def save(temporary: Path) -> None:
        book.save(temporary)
        if Path(original).suffix.lower() in MACRO_SUFFIXES:
            from . import macros

            macros.restore_macro_parts(Path(original), temporary)

    write_atomically(target, original, save)


def recalc_file(path: Path, out: Path | None = None, *, run_time: str | None = None, formulas: bool | None = None) -> RunResult:
    """Recalculate a workbook file: read, check, score, write the output sheets.

    Writes to ``out`` (default: the workbook itself) atomically, holding the workbook's
    lock (:func:`workbook_lock`) from the first read to the move into place; temporary
    files a killed run left beside ``out`` are removed first. When a problem blocks
    scoring, raises :class:`InputError` and writes nothing. ``formulas``: write the score
    sheets as live formulas (True) or values (False); None follows the Settings sheet.
    """
    path = Path(path)
    target = Path(out) if out is not None else path
    if target.suffix.lower() != path.suffix.lower():
        raise CityOppError(f"{target}: the output must keep the workbook's extension {path.suffix}")
    from .xlsxpackage import FileFront

    check_replaceable(target)  # read-only, or open in Excel or LibreOffice: refused
    with workbook_lock(target), paused_garbage_collection():
        removed = remove_stale_temporaries(target)  # left by a run killed while saving
        front = FileFront(path)  # the package is edited: every part not owned is copied
        try:
            outcome = recalculate.recalculate(front, run_time=run_time, formulas=formulas)
            front.save(target, active=layout.SHEET_OVERALL)
        finally:
            front.close()
    return RunResult(outcome.pipeline, outcome.problems, target, removed)


# --------------------------------------------------------------------------- new workbooks


def _title_rows(sheet, title: str, note: str) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.styles import Font

    sheet["A1"] = title
    sheet["A1"].font = Font(name=FONT_NAME, bold=True, size=layout.TITLE_FONT_SIZE)
    sheet["A2"] = note
    sheet["A2"].alignment = Alignment(wrap_text=False)


def _add_table(sheet, name: str, header_row: int, columns: int, rows: int) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table
    from openpyxl.worksheet.table import TableStyleInfo

    reference = f"A{header_row}:{get_column_letter(columns)}{header_row + max(rows, 1)}"
    table = Table(displayName=name, ref=reference)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    sheet.add_table(table)


def _header(sheet, row: int, values: list) -> None:
    from openpyxl.styles import Font

    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column, value=value)
        cell.font = Font(name=FONT_NAME, size=11, bold=True)


def framework_print_columns(frame) -> int:
    """How many of the Framework table's columns print: up to the last column that has a
    value in some row, so that columns empty in every row (``unit``, ``data_year``,
    ``source`` of a framework that gives none) are left off the page. Only the trailing
    ones can be: ``id`` to ``direction``, ``ties`` and ``prescored`` always have values,
    and a ``points`` column empty between filled ones is printed in its place."""
    filled = [position for position, column in enumerate(frame.columns, start=1) if (frame[column].astype(str).str.strip() != "").any()]
    return max(filled, default=1)


def write_input_workbook(
    path: Path,
    framework: Framework,
    cities: list[tuple[str, str]],
    *,
    settings: Settings | None = None,
    values=None,
    published=None,
    transcription=None,
    title: str = "Chinese Cities of Opportunity",
    about: list[str] = (),
) -> None:
    """Write a workbook holding only input sheets (no scores yet), as a plain .xlsx.

    Parameters
    ----------
    framework : the framework (one Framework row per indicator).
    cities : (city, province) pairs in edition order.
    values : DataFrame indexed by city with one column per input column of the framework
        (NaN left blank), or None for an empty template.
    published : DataFrame indexed by city (dimension columns, overall, overall_rank) or None.
    transcription : DataFrame of the transcription notes
        (:data:`cityopp_xl.datanotes.NOTE_COLUMNS`, one row per cell a note concerns) or
        None: written as the optional Transcription notes sheet.
    """
    from openpyxl.styles import Alignment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    import openpyxl

    settings = settings or Settings()
    book = openpyxl.Workbook()
    book.properties.creator = "cityopp-xl"
    fixed = _dt.datetime(2025, 1, 1)
    book.properties.created = fixed
    book.properties.modified = fixed
    about_sheet = book.active
    about_sheet.title = layout.SHEET_ABOUT
    _about(about_sheet, title, framework, about)

    sheet = book.create_sheet(layout.SHEET_FRAMEWORK)
    _title_rows(sheet, "Framework", "One row per indicator, in framework order. Edit freely: add, drop or merge indicators; Recalculate reads this sheet.")
    frame = framework.to_frame()
    _header(sheet, layout.TABLE_HEADER_ROW, list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([layout.cell_value(v) if v != "" else None for v in row])
    _add_table(sheet, "Framework", layout.TABLE_HEADER_ROW, len(frame.columns), len(frame))
    # Names and sources wrap in columns sized for a landscape page; codes keep their width.
    for letter, width in zip("ABCDEFGHIJK", (5, 20, 26, 44, 10, 7, 20, 10, 12, 10, 26)):
        sheet.column_dimensions[letter].width = width
    for row in sheet[f"A{layout.TABLE_HEADER_ROW + 1}:K{layout.TABLE_HEADER_ROW + len(frame)}"]:
        for cell in row:
            cell.alignment = Alignment(wrap_text=cell.column_letter in "BCDGIK", vertical="top")
    sheet.freeze_panes = "A4"
    printed = framework_print_columns(frame)
    sheet.print_area = f"A1:{get_column_letter(printed)}{layout.TABLE_HEADER_ROW + max(len(frame), 1)}"
    sheet.print_title_rows = f"{layout.TABLE_HEADER_ROW}:{layout.TABLE_HEADER_ROW}"

    sheet = book.create_sheet(layout.SHEET_CITIES)
    _title_rows(sheet, "Cities", "The cities of this edition, in edition order. Every data sheet has one row per city, spelled exactly as here.")
    _header(sheet, layout.TABLE_HEADER_ROW, ["city", "province"])
    for city, province in cities:
        sheet.append([city, province])
    _add_table(sheet, "Cities", layout.TABLE_HEADER_ROW, 2, len(cities))
    sheet.column_dimensions["A"].width = layout.WIDTH_CITY
    sheet.column_dimensions["B"].width = 16
    sheet.print_title_rows = f"{layout.TABLE_HEADER_ROW}:{layout.TABLE_HEADER_ROW}"

    sheet = book.create_sheet(layout.SHEET_SETTINGS)
    _title_rows(sheet, "Settings", "Overall tiers: a city is in the first tier whose minimum overall score it reaches; otherwise in the 'other tier'.")
    settings_frame = settings.to_frame()
    _header(sheet, layout.TABLE_HEADER_ROW, list(settings_frame.columns))
    for row in settings_frame.itertuples(index=False):
        sheet.append([layout.cell_value(v) for v in row])
    _add_table(sheet, "Settings", layout.TABLE_HEADER_ROW, 3, len(settings_frame))
    sheet.column_dimensions["A"].width = 12
    sheet.column_dimensions["B"].width = 16

    if published is not None:
        sheet = book.create_sheet(layout.SHEET_PUBLISHED)
        _title_rows(sheet, "Published figures", "Figures as printed in the report, for the Reconciliation sheet. Not used for scoring.")
        columns = ["city", *framework.dimensions, "overall", "overall_rank"]
        _header(sheet, layout.TABLE_HEADER_ROW, columns)
        for city, _ in cities:
            sheet.append([city, *[layout.cell_value(published.at[city, c]) for c in columns[1:]]])
        _add_table(sheet, "Published", layout.TABLE_HEADER_ROW, len(columns), len(cities))
        sheet.column_dimensions["A"].width = layout.WIDTH_CITY
        for column in range(2, len(columns) + 1):  # dimension names wrap over their figures
            sheet.column_dimensions[get_column_letter(column)].width = layout.WIDTH_SCORE
            sheet.cell(row=layout.TABLE_HEADER_ROW, column=column).alignment = Alignment(wrap_text=True, vertical="top", horizontal="right")
        sheet.freeze_panes = "B4"
        sheet.print_title_rows = f"{layout.TABLE_HEADER_ROW}:{layout.TABLE_HEADER_ROW}"

    if transcription is not None:
        sheet = book.create_sheet(layout.SHEET_TRANSCRIPTION)
        _title_rows(
            sheet,
            "Transcription notes",
            "Figures of the printed report the workbook does not take as printed (garbled, merged or shifted in the report's text), one row per cell a note concerns; "
            "a blank figure: the city's whole row of that table. Not used for scoring. Listed in full on the Data notes sheet, each note with a link to its cell; "
            "that sheet prints them, so this table is not printed (only these lines are).",
        )
        columns = list(transcription.columns)
        _header(sheet, layout.TABLE_HEADER_ROW, columns)
        for row in transcription.itertuples(index=False):
            sheet.append([None if v == "" else layout.cell_value(v) for v in row])
        _add_table(sheet, "TranscriptionNotes", layout.TABLE_HEADER_ROW, len(columns), len(transcription))
        # Sized to the 2025 notes' longest table, variable and printed texts; the notes wrap.
        for letter, width in zip("ABCDEFGH", (9, 34, 14, 46, 30, 8, 60, 60)):
            sheet.column_dimensions[letter].width = width
        for row in sheet.iter_rows(min_row=layout.TABLE_HEADER_ROW + 1, max_col=8):
            for cell in row[:4]:
                cell.alignment = Alignment(vertical="top")
            for cell in row[4:6]:  # printed and taken side by side, neither running into the text beside it
                cell.alignment = Alignment(horizontal="center", vertical="top")
            for cell in row[6:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            # A viewer that does not size rows itself (LibreOffice) would cut the notes.
            lines = max(printing.text_lines(cell.value, 60, printing.NOTE_FILL) if cell.value else 1 for cell in row[6:])
            if lines > 1:
                sheet.row_dimensions[row[0].row].height = lines * printing.LINE_HEIGHT
        sheet.freeze_panes = "D4"
        sheet.print_title_rows = f"{layout.TABLE_HEADER_ROW}:{layout.TABLE_HEADER_ROW}"
        sheet.print_area = f"A1:H{layout.TABLE_HEADER_ROW - 1}"  # the Data notes sheet prints the notes

    labels = framework.column_labels()
    for position, dimension in enumerate(framework.dimensions, start=1):
        sheet = book.create_sheet(layout.data_sheet(position))
        columns = framework.input_columns(dimension)
        prescored = any(v.prescored for v in framework.variables_of(dimension))
        note = (
            "Published variable scores (pre-scored: taken as given and checked against each variable's tie rule)."
            if prescored
            else "Raw indicator values, one row per city. Leave a cell blank when a city has no value (it scores 1)."
        )
        _title_rows(sheet, dimension, note)
        variable_of = {}
        for variable in framework.variables_of(dimension):
            for key in ([variable.name] if variable.prescored else [i.id for i in variable.indicators]):
                variable_of[key] = variable.name
        for column, key in enumerate(columns, start=2):
            cell = sheet.cell(row=layout.DATA_HEADER_ROW - 1, column=column, value=variable_of[key])
            cell.font = Font(name=FONT_NAME, size=11, italic=True)
            cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        _header(sheet, layout.DATA_HEADER_ROW, ["city", *[labels[c] for c in columns]])
        for column in range(1, len(columns) + 2):
            sheet.cell(row=layout.DATA_HEADER_ROW, column=column).alignment = Alignment(wrap_text=True, vertical="top")
        for city, _ in cities:
            row = [city]
            for key in columns:
                row.append(None if values is None else layout.cell_value(values.at[city, key]))
            sheet.append(row)
        _add_table(sheet, layout.data_table_name(position), layout.DATA_HEADER_ROW, len(columns) + 1, len(cities))
        sheet.column_dimensions["A"].width = layout.WIDTH_CITY
        for column in range(2, len(columns) + 2):
            sheet.column_dimensions[get_column_letter(column)].width = 20
        sheet.row_dimensions[layout.DATA_HEADER_ROW - 1].height = 2 * printing.LINE_HEIGHT
        sheet.row_dimensions[layout.DATA_HEADER_ROW].height = 60
        sheet.freeze_panes = f"B{layout.DATA_HEADER_ROW + 1}"
        sheet.print_title_rows = f"{layout.DATA_HEADER_ROW - 1}:{layout.DATA_HEADER_ROW}"
        sheet.print_title_cols = "A:A"
    for sheet in book.worksheets:
        _fit_for_print(sheet)
    from . import presentation  # presentation imports this module

    shows = presentation.add_presentation_sheets(book, framework, [city for city, _ in cities])
    _contents(about_sheet, layout.workbook_contents(list(framework.dimensions), published=published is not None, transcription=transcription is not None))
    for sheet in book.worksheets:
        color = layout.tab_color(sheet.title)
        if color:
            sheet.sheet_properties.tabColor = "FF" + color
    book.save(path)
    from .xlsxpackage import order_font_children

    order_font_children(path)  # openpyxl writes a font's children out of the schema's order
    presentation.save_cached_values(path, shows)  # openpyxl saves formulas without values


def _fit_for_print(sheet) -> None:
    """Print an input sheet readable and uncut: text in a wrapping cell makes its row as
    tall as its lines; a note (a text alone in column A, wider than the table) wraps across
    the table; the orientation and pages come from :func:`printing.page_fit`, a table with a
    repeated header filling whole pages. The same estimates as :func:`printing.polish`."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    columns = sheet.max_column
    width_of = [sheet.column_dimensions[get_column_letter(c)].width or printing.DEFAULT_WIDTH for c in range(1, columns + 1)]
    table_width = sum(width_of)
    for row in sheet.iter_rows(min_row=2):
        lines = 1
        texts = [cell for cell in row if isinstance(cell.value, str)]
        if len(texts) == 1 and texts[0].column == 1 and sum(cell.value is not None for cell in row) == 1 and len(texts[0].value) > width_of[0]:
            cell = texts[0]
            if columns > 1:
                sheet.merge_cells(start_row=cell.row, start_column=1, end_row=cell.row, end_column=columns)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            lines = printing.text_lines(cell.value, table_width, printing.NOTE_FILL)
        else:
            # Bold headers run wider than plain text (the fills of printing.polish).
            lines = max([printing.text_lines(c.value, width_of[c.column - 1], printing.WRAP_FILL if c.font.b else printing.NOTE_FILL) for c in texts if c.alignment.wrap_text] or [1])
        current = sheet.row_dimensions[row[0].row].height
        if lines > 1 and (current or 0) < lines * printing.LINE_HEIGHT:
            sheet.row_dimensions[row[0].row].height = lines * printing.LINE_HEIGHT
    height_of = lambda number: sheet.row_dimensions[number].height or (layout.TITLE_FONT_SIZE * 1.35 if number == 1 else printing.LINE_HEIGHT)  # noqa: E731
    height = sum(height_of(number) for number in range(1, sheet.max_row + 1))
    title_height = 0.0
    if sheet.print_title_rows:
        first, _, last = sheet.print_title_rows.replace("$", "").partition(":")
        title_height = sum(height_of(number) for number in range(int(first), int(last or first) + 1))
    width = sum(printing.column_points(w) for w in width_of)
    orientation, tall = printing.page_fit(width, height, title_height)
    landscape(sheet, pages_tall=tall, orientation=orientation)


def _about(sheet, title: str, framework: Framework, about: list[str]) -> None:
    from openpyxl.styles import Font

    lines = [
        title,
        "",
        *about,
        "",
        "How this workbook works",
        "Input sheets (edit these): Framework, Cities, Settings, Published (optional), and one 'Dn data' sheet per dimension.",
        "Output sheets (written by Recalculate, replaced on every run): 'Dn scores' after each data sheet, Overall, Indicator scores, Reconciliation, Log and Problems.",
        "City profile and Charts (after this sheet): pick a city for its dimension scores, ranks, radar chart and strongest and weakest variables; charts of the overall",
        "and dimension scores. Both are worksheet formulas and charts reading the output sheets, so they follow every Recalculate and need no Python.",
        "Method: each indicator is scored by rank (best city N points, last 1, tied cities share the best score of their group, no value scores 1);",
        "a variable of 2 or 3 indicators re-scores their sum; a dimension adds its variable scores; the overall score adds the dimensions. No weights.",
        "Recalculate: the CityOpp ribbon tab in Excel, or on any computer: cityopp recalc THIS_WORKBOOK.xlsm",
        "",
        f"Framework: {len(framework.dimensions)} dimensions, {len(framework.variables)} variables, {len(framework.indicators)} indicators.",
    ]
    for line in lines:
        sheet.append([line])
    sheet["A1"].font = Font(name=FONT_NAME, bold=True, size=16)
    sheet.cell(row=len(about) + 4, column=1).font = Font(name=FONT_NAME, size=11, bold=True)
    sheet.column_dimensions["A"].width = 120


def _contents(sheet, contents: list[tuple[str, str]]) -> None:
    """The contents below the About text: every sheet of the workbook with one line on it,
    each a link to the sheet's A1 (a sheet Recalculate has not written yet is a link that
    opens once it has)."""
    from openpyxl.styles import Font

    from ..model import quote_sheet

    sheet.append([])
    sheet.append(["Contents (click a sheet to open it)"])
    sheet.cell(row=sheet.max_row, column=1).font = Font(name=FONT_NAME, size=11, bold=True)
    for name, description in contents:
        sheet.append([f"{name}: {description}" if description else name])
        add_link(sheet.cell(row=sheet.max_row, column=1), f"{quote_sheet(name)}!A1")

"""Loading a workbook to recalculate it, without building the sheets the run replaces.

A Recalculate replaces every sheet cityopp-xl owns (:func:`.layout.is_owned`); from
those it needs only their values, to tell whether one was edited by hand since the last
run (:func:`.integrity.find_edited_outputs`). openpyxl would parse each of them into
cell, style and formatting objects only for them to be deleted: on the shipped workbook
they are three quarters of the sheet XML, and building them was a third of a steady-state
Recalculate (bench/run.py). :func:`load_replacing_owned` loads the workbook through
openpyxl's own reader, except that each owned worksheet becomes an empty
:class:`UnparsedSheet` in its place (same name, position and visibility, so sheet
indices and sheet-scoped names stay where they were) that holds the sheet's values, read
straight from its XML with lxml and decoded by openpyxl's own cell rules.

Such a book is for reading and then replacing its owned sheets: it must not be saved
while an :class:`UnparsedSheet` is left in it (:func:`check_no_unparsed`).
"""

from __future__ import annotations

from lxml import etree
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import column_index_from_string
from openpyxl.worksheet._reader import WorkSheetParser, _cast_number
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import SHEET_MAIN_NS

from . import layout

_ROW = f"{{{SHEET_MAIN_NS}}}row"
_CELL = f"{{{SHEET_MAIN_NS}}}c"
_VALUE = f"{{{SHEET_MAIN_NS}}}v"
_INLINE = f"{{{SHEET_MAIN_NS}}}is"
_TEXT = f"{{{SHEET_MAIN_NS}}}t"


class UnsafeSheetXML(ValueError):
    """A sheet part that declares a document type (never in a part Excel writes)."""


class UnparsedSheet(Worksheet):
    """An owned worksheet that was not built: empty, with its values kept aside.

    ``cell_values`` maps (row, column), both from 1, to the value openpyxl would have given the
    cell (``Cell.value``), for every cell the sheet's XML holds (blank styled cells
    included, as None).
    """

    def __init__(self, parent, title: str, values: dict[tuple[int, int], object]):
        super().__init__(parent, title)
        self.cell_values = values


class _ReplacingReader(ExcelReader):
    """openpyxl's reader, with owned worksheets read as values only (see the module)."""

    def read_worksheets(self):
        find_sheets = self.parser.find_sheets

        def sheets_to_build():
            for sheet, rel in find_sheets():
                if layout.is_owned(sheet.name) and "chartsheet" not in rel.Type and rel.target in self.valid_files:
                    values = sheet_values(self.archive.read(rel.target), self.shared_strings, self.wb)
                    placeholder = UnparsedSheet(self.wb, sheet.name, values)
                    placeholder.sheet_state = sheet.state
                    self.wb._add_sheet(placeholder)
                    continue
                yield sheet, rel

        # openpyxl's loop builds whatever find_sheets yields, in order: the placeholders
        # go in between, each where its sheet was.
        self.parser.find_sheets = sheets_to_build
        try:
            super().read_worksheets()
        finally:
            del self.parser.find_sheets


def load_replacing_owned(path, *, keep_vba: bool):
    """The workbook at ``path`` as :func:`openpyxl.load_workbook` gives it (links kept,
    formulas as text), except that each owned worksheet is an :class:`UnparsedSheet`."""
    reader = _ReplacingReader(path, read_only=False, keep_vba=keep_vba, data_only=False, keep_links=True)
    reader.read()
    return reader.wb


def check_no_unparsed(book) -> None:
    """Refuse to go on with a book that still holds an :class:`UnparsedSheet` (saving it
    would write that sheet empty)."""
    left = [sheet.title for sheet in book.worksheets if isinstance(sheet, UnparsedSheet)]
    if left:
        raise RuntimeError(f"the sheets {', '.join(left)} were loaded as values only and would be saved empty")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def sheet_values(xml: bytes, shared_strings: list, book) -> dict[tuple[int, int], object]:
    """The values of a worksheet part, as openpyxl reads them with ``data_only=False``.

    Numbers, plain inline strings and shared strings in cells addressed in their row are
    decoded here; anything else (formulas, booleans, errors, date-formatted numbers, rich
    text, cells without an address) goes through openpyxl's own
    ``WorkSheetParser.parse_cell``, so every value is the one openpyxl would give.
    The part was checked before (:func:`.package.check_package`: no entity declarations,
    size limits); lxml is still told to resolve no entity, load no DTD and use no network,
    and a part that declares a document type is refused.
    """
    root = etree.fromstring(xml, _PARSER)
    if root.getroottree().docinfo.doctype:
        raise UnsafeSheetXML("a worksheet part declares a document type")
    cells = WorkSheetParser(None, shared_strings, False, book.epoch, book._date_formats, book._timedelta_formats)
    values: dict[tuple[int, int], object] = {}
    columns: dict[str, int] = {}
    for row in root.iter(_ROW):
        number = row.get("r")
        if number is None or not number.isdigit():
            _, parsed = cells.parse_row(row)
            for cell in parsed:
                values[cell["row"], cell["column"]] = cell["value"]
            continue
        cells.row_counter, column = int(number), 0
        digits = len(number)
        for cell in row:
            value = _decode(cell, number, digits, columns, cells.date_formats, shared_strings)
            if value is _OTHER:
                cells.col_counter = column
                parsed = cells.parse_cell(cell)
                column = parsed["column"]
                values[parsed["row"], column] = parsed["value"]
            else:
                column = value[0]
                values[cells.row_counter, column] = value[1]
    return values


_OTHER = object()


def _decode(cell, number: str, digits: int, columns: dict[str, int], dates, shared_strings):
    """(column, value) of a cell in the common forms, else ``_OTHER``."""
    if cell.tag != _CELL:
        return _OTHER
    coordinate = cell.get("r")
    if coordinate is None or not coordinate.endswith(number):
        return _OTHER
    letters = coordinate[:-digits]
    column = columns.get(letters)
    if column is None:
        if not (0 < len(letters) <= 3 and letters.isascii() and letters.isalpha() and letters.isupper()):
            return _OTHER
        column = columns[letters] = column_index_from_string(letters)
    style = cell.get("s")
    if (int(style) if style else 0) in dates:
        return _OTHER
    if len(cell) == 0:
        return column, None
    if len(cell) != 1:
        return _OTHER
    kind, child = cell.get("t", "n"), cell[0]
    if kind == "n" and child.tag == _VALUE:
        return column, (_cast_number(child.text) if child.text else None)
    if kind == "inlineStr" and child.tag == _INLINE and len(child) == 1 and child[0].tag == _TEXT:
        return column, child[0].text or ""
    if kind == "s" and child.tag == _VALUE and child.text:
        return column, shared_strings[int(child.text)]
    return _OTHER

"""Run code written against the xlwings Book API on real workbooks, without Excel.

The harness drives xlwings' *remote* engine, the one behind xlwings Server and
xlwings Lite:

1. :func:`payload_from_xlsx` reads an .xlsx/.xlsm with openpyxl and builds the
   JSON payload that the Office.js client would send (book, sheets, values,
   names, tables, ...).
2. ``xw.Book(json=payload)`` turns it into a real ``xlwings.Book``; the code under
   test uses the ordinary Book API. Every write is *recorded* as an action.
3. :func:`apply_actions` replays those actions onto a copy of the workbook with
   openpyxl, the way the Office.js client replays them in Excel, and saves it.

:func:`run_macro` bundles steps 1 and 2. The remote engine needs the environment
variable ``XLWINGS_LICENSE_KEY=noncommercial``; importing this module sets it if
it is missing.

Fidelity notes (see also the docstring of :func:`apply_actions`):

* Reads see the payload snapshot only: a value written in the same run is not
  visible to a later ``.value`` read (the real engine behaves the same way).
* Strings written with ``setValues``/``setFormula`` are parsed like typed input,
  as Excel does: ``"=..."`` becomes a formula, ``"001"`` becomes the number 1,
  ``"TRUE"`` a boolean, ``"2024-01-02"`` a date. Each such coercion is listed in
  ``ApplyResult.coerced`` (pass ``coerce_strings=False`` to store text verbatim).
* ``column_width`` is in *points* on the remote engine (characters on the
  Windows/macOS engines); :func:`points_to_column_width` gives the openpyxl width.
* Autofit can only be estimated without Excel's font metrics; the harness records
  every autofit in ``ApplyResult.autofits``.
* openpyxl does not store cached formula results. Standing in for Excel's calculation,
  :func:`apply_actions` computes the formulas of the score sheets' audit trail (a
  reference to one cell, ``SUM`` of a range, ``RANK`` in a range, nested ``IF`` tiers)
  and saves their values with them (:func:`cache_formula_values`); any other formula is
  saved without a cached value.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import openpyxl  # noqa: E402
import xlwings as xw  # noqa: E402
from openpyxl.cell.cell import MergedCell  # noqa: E402
from openpyxl.comments import Comment  # noqa: E402
from openpyxl.formatting.formatting import ConditionalFormattingList  # noqa: E402
from openpyxl.formatting.rule import (  # noqa: E402
    CellIsRule,
    ColorScaleRule,
    DataBarRule,
    FormulaRule,
    IconSetRule,
)
from openpyxl.formula.tokenizer import Token, Tokenizer  # noqa: E402
from openpyxl.formula.translate import Translator  # noqa: E402
from openpyxl.styles import Font, PatternFill, Side  # noqa: E402
from openpyxl.styles.cell_style import StyleArray  # noqa: E402
from openpyxl.styles.colors import Color  # noqa: E402
from openpyxl.styles.numbers import BUILTIN_FORMATS  # noqa: E402
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries  # noqa: E402
from openpyxl.utils.datetime import to_excel  # noqa: E402
from openpyxl.workbook.defined_name import DefinedName  # noqa: E402
from openpyxl.worksheet.cell_range import MultiCellRange  # noqa: E402
from openpyxl.worksheet.datavalidation import DataValidation  # noqa: E402
from openpyxl.worksheet.filters import AutoFilter  # noqa: E402
from openpyxl.worksheet.hyperlink import Hyperlink  # noqa: E402
from openpyxl.worksheet.formula import ArrayFormula  # noqa: E402
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo  # noqa: E402
from openpyxl.worksheet.views import Selection  # noqa: E402
from openpyxl.worksheet.worksheet import Worksheet  # noqa: E402

__all__ = [
    "ActionSerializationError",
    "Alert",
    "ApplyResult",
    "Coercion",
    "ExcelRuleError",
    "HANDLED_ACTIONS",
    "HarnessError",
    "MacroRun",
    "OFFICE_JS",
    "OFFICE_SCRIPTS",
    "UNSUPPORTED_ACTIONS",
    "UnsupportedActionError",
    "VBA",
    "apply_actions",
    "column_width_to_points",
    "ensure_remote_engine",
    "payload_from_xlsx",
    "points_to_column_width",
    "run_macro",
    "wire_roundtrip",
]

MAX_ROWS = 1_048_576
MAX_COLUMNS = 16_384

OFFICE_JS = "Office.js"
OFFICE_SCRIPTS = "Microsoft Office Scripts"
VBA = "VBA"
GOOGLE_APPS_SCRIPT = "Google Apps Script"
DEFAULT_CLIENT = OFFICE_JS

# The Office Scripts client bundled with xlwings (xlwings/js/xlwings.ts) and the
# VBA client (xlwings/addin/Remote.bas) implement only these actions; the
# Office.js client (xlwings Server add-ins, xlwings Lite) implements them all.
_LEGACY_CLIENT_ACTIONS = frozenset(
    """setValues rangeClearContents rangeClearFormats rangeClear addSheet
    setSheetName setAutofit setRangeColor activateSheet addHyperlink
    setNumberFormat setPictureName setPictureHeight setPictureWidth deletePicture
    addPicture updatePicture alert setRangeName namesAdd nameDelete runMacro
    rangeDelete rangeInsert rangeSelect addTable setTableName resizeTable
    showAutofilterTable showHeadersTable showTotalsTable setTableStyle copyRange
    sheetDelete sheetClear sheetClearFormats sheetClearContents""".split()
)
_CLIENT_ACTIONS: dict[str, frozenset[str] | None] = {
    OFFICE_JS: None,  # None: every action the engine records
    OFFICE_SCRIPTS: _LEGACY_CLIENT_ACTIONS,
    VBA: _LEGACY_CLIENT_ACTIONS,
    GOOGLE_APPS_SCRIPT: None,  # not modelled: no capability check
}

# Actions the engine can record that the harness knows but can't reproduce with
# openpyxl. They raise UnsupportedActionError with the reason.
_KNOWN_UNSUPPORTED = {
    **dict.fromkeys(
        """addPicture updatePicture deletePicture setPictureName setPictureLeft
        setPictureTop setPictureWidth setPictureHeight setPictureLockAspectRatio
        setShapeName setShapeLeft setShapeTop setShapeWidth setShapeHeight
        setShapeText setShapeFontProperty deleteShape scaleShape""".split(),
        "pictures and shapes can't be written faithfully with openpyxl",
    ),
    **dict.fromkeys(
        """addChart setChartName setChartType setChartSourceData setChartPosition
        setChartPlotBy setChartSeries setChartAxis setChartXAxisValues
        deleteChart chartToPng""".split(),
        "charts can't be written faithfully with openpyxl",
    ),
    **dict.fromkeys(
        """addPivotTable addPivotField removePivotField addPivotValueField
        setPivotValueField removePivotValueField setPivotLayout setPivotTableName
        refreshPivotTable deletePivotTable""".split(),
        "pivot tables can't be written with openpyxl",
    ),
    "rangeToPng": "exporting a range as an image needs Excel",
    **dict.fromkeys(
        """addComment addCommentReply setCommentText setCommentResolved
        deleteComment""".split(),
        "openpyxl can't write threaded comments (notes are supported)",
    ),
    **dict.fromkeys(
        """addTableRow addTableColumn deleteTableRow deleteTableColumn
        tableSort""".split(),
        "table row/column edits and table sorting are not modelled",
    ),
    **dict.fromkeys(
        """applyAutoFilterRange applyAutoFilterTable clearAutoFilterRange
        clearAutoFilterTable""".split(),
        "filtering hides rows by evaluating criteria, which needs Excel",
    ),
    "rangeAutofill": "autofill series need Excel's fill logic",
    "rangeSort": "sorting is not modelled",
    "rangeRemoveDuplicates": "duplicate removal is not modelled",
    "moveRange": "moving a range rewrites references to it, which is not modelled",
}


# --------------------------------------------------------------------------
# Errors and results
# --------------------------------------------------------------------------


class HarnessError(Exception):
    """Base class for harness errors."""


class UnsupportedActionError(HarnessError):
    """An action the harness can't apply (unknown, or not reproducible)."""

    def __init__(self, func: str, reason: str = "unknown action"):
        self.func = func
        self.reason = reason
        super().__init__(f"Unsupported remote action {func!r}: {reason}")


class ExcelRuleError(HarnessError):
    """An action that Excel itself would reject (duplicate sheet name, ...)."""

    def __init__(self, func: str, message: str):
        self.func = func
        super().__init__(f"{func}: {message}")


class ActionSerializationError(HarnessError):
    """An action can't be sent as JSON (numpy scalars, Decimal, inf, ...)."""


@dataclass(frozen=True)
class Alert:
    prompt: str
    title: str
    buttons: str
    mode: str
    callback: str


@dataclass(frozen=True)
class Coercion:
    """A written string that Excel parses into something else."""

    sheet: str
    cell: str
    written: Any
    stored: Any


@dataclass
class ApplyResult:
    """What apply_actions did besides changing the workbook file."""

    path: Path
    alerts: list[Alert] = field(default_factory=list)
    status_messages: list[Any] = field(default_factory=list)
    coerced: list[Coercion] = field(default_factory=list)
    autofits: list[tuple[str, str, str]] = field(default_factory=list)
    macros_run: list[tuple[str, list[Any]]] = field(default_factory=list)
    # Actions without an effect on the saved file (save, calculate, ...)
    recorded: list[tuple[str, list[Any]]] = field(default_factory=list)

    @property
    def alert_prompts(self) -> list[str]:
        return [alert.prompt for alert in self.alerts]


class MacroRun(tuple):
    """``(actions, book)`` as returned by :func:`run_macro`.

    Unpacks like a tuple; also carries ``status_messages`` (only filled with
    ``status_bar="record"``) and ``payload``.
    """

    def __new__(cls, actions, book, status_messages=(), payload=None):
        obj = super().__new__(cls, (actions, book))
        obj.status_messages = list(status_messages)
        obj.payload = payload
        return obj

    @property
    def actions(self) -> list[dict]:
        return self[0]

    @property
    def book(self) -> xw.Book:
        return self[1]


# --------------------------------------------------------------------------
# Engine setup and the wire format
# --------------------------------------------------------------------------


def ensure_remote_engine() -> None:
    """Make sure xlwings' remote engine is registered.

    xlwings registers it at import time only if a license key is set then. When
    xlwings was imported earlier without one, register it now.
    """
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    if "remote" in xw.engines.engines_by_name:
        return
    from xlwings.pro import _xlremote  # validates the license key

    xw.engines.add(xw.main.Engine(impl=_xlremote.engine))


def wire_roundtrip(actions: Sequence[Mapping]) -> list[dict]:
    """Return the actions as they arrive at the client: JSON-encoded and decoded.

    Raises ActionSerializationError, naming the action, for values JSON can't
    carry (numpy scalars, Decimal, time/timedelta objects, NaN/inf in args).
    """
    result = []
    for index, action in enumerate(actions):
        try:
            result.append(json.loads(json.dumps(action, allow_nan=False)))
        except (TypeError, ValueError) as exc:
            func = action.get("func") if isinstance(action, Mapping) else None
            raise ActionSerializationError(
                f"Action #{index} ({func!r}) can't be sent as JSON: {exc}"
            ) from exc
    return result


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

_DATE_BUILTIN_IDS = set(range(14, 23)) | {45, 46, 47}
_DATE_BUILTIN_FORMATS = {BUILTIN_FORMATS[i] for i in _DATE_BUILTIN_IDS}
_UNIX_EPOCH = dt.datetime(1970, 1, 1)


def points_to_column_width(points: float) -> float:
    """openpyxl/OOXML column width for a width in points (96 dpi, 7 px digits).

    That's the unit the remote engine's ``column_width`` uses. Excel stores
    ``width = pixels / max_digit_width`` truncated to 1/256.
    """
    pixels = points * 96 / 72
    return math.floor(pixels / 7 * 256) / 256


def column_width_to_points(width: float) -> float:
    """Inverse of :func:`points_to_column_width` (up to the 1/256 truncation)."""
    return width * 7 * 72 / 96


def _argb(hex_color: str) -> str:
    value = str(hex_color).lstrip("#")
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", value):
        raise HarnessError(f"Expected a #RRGGBB color, got {hex_color!r}")
    return "FF" + value.upper()


def _unqualified(address: str) -> str:
    return address.rsplit("!", 1)[-1].replace("$", "")


def _coord(min_row: int, min_col: int, max_row: int, max_col: int) -> str:
    start = f"{get_column_letter(min_col)}{min_row}"
    if (min_row, min_col) == (max_row, max_col):
        return start
    return f"{start}:{get_column_letter(max_col)}{max_row}"


def _abs_coord(min_row: int, min_col: int, max_row: int, max_col: int) -> str:
    start = f"${get_column_letter(min_col)}${min_row}"
    if (min_row, min_col) == (max_row, max_col):
        return start
    return f"{start}:${get_column_letter(max_col)}${max_row}"


def _bounds(address: str) -> tuple[int, int, int, int]:
    """(min_row, min_col, max_row, max_col) for A1/A:A/1:1 style addresses."""
    min_col, min_row, max_col, max_row = range_boundaries(_unqualified(address))
    return (
        min_row or 1,
        min_col or 1,
        max_row or MAX_ROWS,
        max_col or MAX_COLUMNS,
    )


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _contains(outer, inner) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


def _subtract(a, b) -> list[tuple[int, int, int, int]]:
    """Rectangle a minus rectangle b, as up to four rectangles."""
    if not _overlaps(a, b):
        return [a]
    pieces = []
    if a[0] < b[0]:
        pieces.append((a[0], a[1], b[0] - 1, a[3]))
    if a[2] > b[2]:
        pieces.append((b[2] + 1, a[1], a[2], a[3]))
    top, bottom = max(a[0], b[0]), min(a[2], b[2])
    if a[1] < b[1]:
        pieces.append((top, a[1], bottom, b[1] - 1))
    if a[3] > b[3]:
        pieces.append((top, b[3] + 1, bottom, a[3]))
    return pieces


def _range_tuples(multi_cell_range) -> list[tuple[int, int, int, int]]:
    return [(r.min_row, r.min_col, r.max_row, r.max_col) for r in multi_cell_range.ranges]


def _sqref(rects: Iterable[tuple[int, int, int, int]]) -> str:
    return " ".join(_coord(*rect) for rect in rects)


def _valid_sheet_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= 31
        and not re.search(r"[\[\]:*?/\\]", name)
        and not name.startswith("'")
        and not name.endswith("'")
        and name.casefold() != "history"
    )


def _quote_sheet(name: str) -> str:
    """A sheet name as Excel writes it in a reference: quoted only if needed."""
    parts = name.split(":")  # 3-D references span two sheets
    if all(
        re.fullmatch(r"[^\W\d][\w.]*", part)
        and not re.fullmatch(r"[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*|[Rr]|[Cc]", part)
        for part in parts
    ):
        return name
    return "'" + name.replace("'", "''") + "'"


def _iso_from_serial(serial: float) -> str:
    """What the Office.js client sends for a date cell: JS Date.toISOString()."""
    millis = round((serial - 25569) * 86400 * 1000)
    stamp = _UNIX_EPOCH + dt.timedelta(milliseconds=millis)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------
# Payload
# --------------------------------------------------------------------------


def payload_from_xlsx(
    path: str | os.PathLike,
    *,
    active_sheet: str | None = None,
    client: str = DEFAULT_CLIENT,
    selection: str | None = None,
    uncached_formulas: str = "empty",
    custom_date_formats_as_serial: bool = False,
    layout_features: bool = False,
) -> dict:
    """Build the remote-engine JSON payload for the workbook at ``path``.

    Mirrors what the xlwings client sends with every request:

    * ``client``/``version``: the engine only accepts a different version from
      the ``"Office.js"`` client, so ``version`` is always xlwings' own.
    * ``book``: ``name`` (file name), ``active_sheet_index`` (0-based, or the
      position of ``active_sheet``), ``selection`` (unqualified address, no $)
      and, for Office.js, ``calculation``.
    * ``names``: defined names; sheet-scoped ones carry their scope sheet.
    * ``sheets``: per worksheet (chartsheets are not worksheets), ``values`` is the
      rectangle from A1 to the last cell of the *values-only* used range. Empty
      cells are ``""``, integral numbers are ints (as JSON from JavaScript),
      dates are ISO strings like ``"2024-01-02T00:00:00.000Z"``, errors are their
      text (``"#N/A"``), formula cells carry their cached value. Office.js
      payloads also have ``visibility``, ``used_range_address``, ``print_area``,
      ``notes``, ``show_gridlines``, ``tables``, ``pictures``, ``shapes``,
      ``charts`` and ``pivot_tables``; other clients send only name, values,
      pictures and tables, like the real ones.

    ``uncached_formulas`` decides what a formula cell without a cached value
    (e.g. a workbook written by openpyxl) sends: ``"empty"`` (``""``),
    ``"formula"`` (its formula text) or ``"error"`` (raise).

    ``custom_date_formats_as_serial=True`` sends dates whose number format is not
    one of Excel's built-in date/time formats as serial numbers, which is what
    Office.js does for number-format category "Custom".

    ``layout_features=True`` adds to each sheet what xlwings' own clients do not send
    but a client could read from Excel (Office.js ``getMergedAreasOrNullObject`` and the
    rows' and columns' ``hidden``): ``merged_areas`` (A1 addresses), ``hidden_rows`` and
    ``hidden_columns`` (1-based numbers). The remote engine keeps them in the sheet's
    ``api`` dictionary, where cityopp-xl's Excel front end reads them.
    """
    path = Path(path)
    if uncached_formulas not in ("empty", "formula", "error"):
        raise ValueError("uncached_formulas must be 'empty', 'formula' or 'error'")
    is_office_js = client == OFFICE_JS
    wb = openpyxl.load_workbook(path, data_only=False)
    wb_values = openpyxl.load_workbook(path, data_only=True)
    worksheets = wb.worksheets

    if active_sheet is not None:
        titles = [ws.title for ws in worksheets]
        if active_sheet not in titles:
            raise KeyError(f"No worksheet {active_sheet!r} in {path.name}: {titles}")
        active_index = titles.index(active_sheet)
    else:
        active_index = worksheets.index(wb.active) if wb.active in worksheets else 0
    active_ws = worksheets[active_index]
    if selection is None:
        selection = _sheet_selection(active_ws)

    book = {
        "name": path.name,
        "active_sheet_index": active_index,
        "selection": selection,
    }
    if is_office_js:
        book["calculation"] = {
            "manual": "Manual",
            "autoNoTable": "AutomaticExceptTables",
        }.get(wb.calculation.calcMode, "Automatic")

    sheets = []
    for ws in worksheets:
        ws_values = wb_values[ws.title]
        values, used = _sheet_values(
            ws,
            ws_values,
            epoch=wb.epoch,
            uncached_formulas=uncached_formulas,
            custom_date_formats_as_serial=custom_date_formats_as_serial,
            empty_sheet=[[]] if client == VBA else [[""]],
        )
        sheet = {
            "name": ws.title,
            "values": values,
            "pictures": _pictures_payload(ws, is_office_js),
            "tables": _tables_payload(ws, is_office_js),
        }
        if layout_features:
            sheet.update(_layout_features_payload(ws))
        if is_office_js:
            sheet.update(
                {
                    "visibility": {"hidden": "Hidden", "veryHidden": "VeryHidden"}.get(
                        ws.sheet_state, "Visible"
                    ),
                    "print_area": _print_area_payload(ws),
                    "notes": [
                        {"address": cell.coordinate}
                        for cell in ws._cells.values()
                        if cell.comment is not None
                    ],
                    "used_range_address": _coord(*used) if used else None,
                    "used_range_row_count": used[2] - used[0] + 1 if used else None,
                    "used_range_column_count": used[3] - used[1] + 1 if used else None,
                    "shapes": [
                        {**picture, "type": "Image"} for picture in sheet["pictures"]
                    ],
                    "charts": [
                        {
                            "name": f"Chart {ix}",
                            "chart_type": None,
                            "left": None,
                            "top": None,
                            "width": None,
                            "height": None,
                        }
                        for ix, _ in enumerate(ws._charts, start=1)
                    ],
                    "show_gridlines": ws.sheet_view.showGridLines is not False,
                }
            )
            if not getattr(ws, "_pivots", None):
                sheet["pivot_tables"] = []
        sheets.append(sheet)

    payload = {
        "client": client,
        "version": xw.__version__,
        "book": book,
        "names": _names_payload(wb, worksheets, is_office_js),
        "sheets": sheets,
    }
    return payload


def _layout_features_payload(ws) -> dict:
    hidden_columns = set()
    for dimension in ws.column_dimensions.values():
        if dimension.hidden and dimension.min:
            hidden_columns.update(range(dimension.min, (dimension.max or dimension.min) + 1))
    return {
        "merged_areas": sorted(str(merged.coord) for merged in ws.merged_cells.ranges),
        "hidden_rows": sorted(number for number, dimension in ws.row_dimensions.items() if dimension.hidden),
        "hidden_columns": sorted(hidden_columns),
    }


def _sheet_selection(ws: Worksheet) -> str | None:
    try:
        selection = ws.sheet_view.selection[0]
    except (IndexError, AttributeError):
        return "A1"
    sqref = str(selection.sqref or selection.activeCell or "A1")
    return _unqualified(sqref.split()[0])


def _sheet_values(
    ws,
    ws_values,
    *,
    epoch,
    uncached_formulas,
    custom_date_formats_as_serial,
    empty_sheet,
):
    used = None
    for (row, col), cell in ws._cells.items():
        if cell.value is None:
            continue
        if used is None:
            used = [row, col, row, col]
        else:
            used = [min(used[0], row), min(used[1], col), max(used[2], row), max(used[3], col)]
    if used is None:
        return empty_sheet, None
    nrows, ncols = used[2], used[3]
    values = [[""] * ncols for _ in range(nrows)]
    for (row, col), cell in ws._cells.items():
        if cell.value is None:
            continue
        if cell.data_type == "f":
            cached = ws_values._cells.get((row, col))
            value = cached.value if cached is not None else None
            if value is None:
                if uncached_formulas == "error":
                    raise HarnessError(
                        f"{ws.title}!{cell.coordinate} has a formula without a cached "
                        "value (workbooks written by openpyxl have none)"
                    )
                formula = cell.value
                value = getattr(formula, "text", formula) if uncached_formulas == "formula" else None
            source = cached if cached is not None else cell
        else:
            value, source = cell.value, cell
        values[row - 1][col - 1] = _payload_value(
            value, source, epoch, custom_date_formats_as_serial
        )
    return values, tuple(used)


def _payload_value(value, cell, epoch, custom_date_formats_as_serial):
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        serial = to_excel(value, epoch=epoch)
        if custom_date_formats_as_serial and cell.number_format not in _DATE_BUILTIN_FORMATS:
            return _json_number(serial)
        # Office.js converts the serial with the 1900 date system, always.
        return _iso_from_serial(serial)
    if isinstance(value, (int, float)):
        return _json_number(value)
    if isinstance(value, str):
        return value
    return str(value)


def _json_number(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _pictures_payload(ws, is_office_js):
    pictures = []
    for ix, image in enumerate(getattr(ws, "_images", []), start=1):
        width = getattr(image, "width", None)
        height = getattr(image, "height", None)
        picture = {
            "name": f"Picture {ix}",
            "width": width * 0.75 if width is not None else None,
            "height": height * 0.75 if height is not None else None,
        }
        if is_office_js:
            picture.update({"left": None, "top": None, "lock_aspect_ratio": None})
        pictures.append(picture)
    return pictures


def _table_geometry(table):
    min_row, min_col, max_row, max_col = _bounds(table.ref)
    header_rows = 1 if table.headerRowCount is None else table.headerRowCount
    totals_rows = table.totalsRowCount or 0
    return min_row, min_col, max_row, max_col, header_rows, totals_rows


def _tables_payload(ws, is_office_js):
    tables = []
    for table in ws.tables.values():
        min_row, min_col, max_row, max_col, headers, totals = _table_geometry(table)
        style = table.tableStyleInfo
        entry = {
            "name": table.displayName or table.name,
            "range_address": _coord(min_row, min_col, max_row, max_col),
            "header_row_range_address": (
                _coord(min_row, min_col, min_row, max_col) if headers else None
            ),
            "data_body_range_address": _coord(
                min_row + headers, min_col, max_row - totals, max_col
            ),
            "total_row_range_address": (
                _coord(max_row, min_col, max_row, max_col) if totals else None
            ),
            "show_headers": bool(headers),
            "show_totals": bool(totals),
            "table_style": style.name if style is not None and style.name else "",
            "show_autofilter": table.autoFilter is not None,
        }
        if is_office_js:
            entry.update(
                {
                    "row_count": max_row - min_row + 1,
                    "column_count": max_col - min_col + 1,
                    "show_table_style_first_column": bool(style and style.showFirstColumn),
                    "show_table_style_last_column": bool(style and style.showLastColumn),
                    "show_table_style_row_stripes": bool(style and style.showRowStripes),
                    "show_table_style_column_stripes": bool(
                        style and style.showColumnStripes
                    ),
                }
            )
        tables.append(entry)
    return tables


def _print_area_payload(ws):
    area = ws.print_area
    if not area:
        return None
    return ",".join(_unqualified(part) for part in area.split(","))


def _names_payload(wb, worksheets, is_office_js):
    positions = {ws.title: ix for ix, ws in enumerate(worksheets)}
    entries = [(name, None) for name in wb.defined_names.values()]
    for ws in worksheets:
        entries.extend((name, ws) for name in ws.defined_names.values())
    names = []
    for defined_name, scope in entries:
        if defined_name.name.startswith("_xlnm.") or defined_name.hidden:
            continue
        sheet_index = address = None
        if defined_name.type == "RANGE":
            try:
                destinations = list(defined_name.destinations)
            except Exception:  # noqa: BLE001 - unparsable definition
                destinations = []
            if len(destinations) == 1 and destinations[0][0] in positions:
                sheet_index = positions[destinations[0][0]]
                address = _unqualified(destinations[0][1])
        if not is_office_js and address is None:
            continue  # older clients send named ranges only
        entry = {
            "name": defined_name.name,
            "sheet_index": sheet_index,
            "address": address,
            "scope_sheet_name": scope.title if scope is not None else None,
            "scope_sheet_index": positions[scope.title] if scope is not None else None,
            "book_scope": scope is None,
        }
        if is_office_js:
            entry["refers_to"] = "=" + (defined_name.attr_text or "")
        names.append(entry)
    return names


# --------------------------------------------------------------------------
# Running code against the payload
# --------------------------------------------------------------------------


def run_macro(
    path: str | os.PathLike,
    macro: Callable[[xw.Book], Any],
    *,
    active_sheet: str | None = None,
    client: str = DEFAULT_CLIENT,
    status_bar: str = "raise",
    **payload_options: Any,
) -> MacroRun:
    """Run ``macro(book)`` on a remote-engine Book built from the workbook at path.

    Returns ``(actions, book)`` (a :class:`MacroRun`): the recorded actions after a
    JSON round trip, exactly as a client would receive them, and the Book.

    ``status_bar="raise"`` keeps the engine's behaviour: ``book.app.status_bar``
    raises NotImplementedError on the remote engine. ``status_bar="record"``
    lets code that targets the desktop engines run anyway: messages assigned to
    ``book.app.status_bar`` are collected in ``MacroRun.status_messages`` (no
    action is recorded, as there is none for it).
    """
    if status_bar not in ("raise", "record"):
        raise ValueError("status_bar must be 'raise' or 'record'")
    ensure_remote_engine()
    payload = payload_from_xlsx(
        path, active_sheet=active_sheet, client=client, **payload_options
    )
    payload = json.loads(json.dumps(payload, allow_nan=False))
    book = xw.Book(json=payload)
    messages: list[Any] = []
    if status_bar == "record":
        app_class = type(book.app.impl)
        original = app_class.__dict__["status_bar"]

        def _get(self):
            return messages[-1] if messages else False

        def _set(self, value):
            messages.append(value)

        app_class.status_bar = property(_get, _set)
        try:
            macro(book)
        finally:
            app_class.status_bar = original
    else:
        macro(book)
    actions = wire_roundtrip(book.json()["actions"])
    return MacroRun(actions, book, messages, payload)


# --------------------------------------------------------------------------
# Applying actions
# --------------------------------------------------------------------------


def apply_actions(
    src: str | os.PathLike,
    actions: Sequence[Mapping] | Mapping | MacroRun,
    dst: str | os.PathLike,
    *,
    client: str | None = None,
    coerce_strings: bool = True,
    macros: Mapping[str, Callable[..., Any]] | None = None,
    note_author: str = "",
) -> ApplyResult:
    """Apply recorded actions to a copy of the workbook at src and save it as dst.

    ``actions`` is ``book.json()["actions"]``, ``book.json()`` itself or the
    :class:`MacroRun` from :func:`run_macro`. Actions go through a JSON round trip
    first, so values a client could never receive raise
    :class:`ActionSerializationError`.

    Each action is applied the way the Office.js client applies it in Excel;
    addresses are ``sheet_position`` (0-based worksheet position at the time of
    the action) plus 0-based ``start_row``/``start_column`` and
    ``row_count``/``column_count``. An action the harness doesn't know, or can't
    reproduce, raises :class:`UnsupportedActionError` naming it; an action Excel
    would reject raises :class:`ExcelRuleError`.

    ``client`` (default: the payload's client if ``actions`` is a MacroRun,
    otherwise no check) rejects actions the VBA and Office Scripts clients have
    no handler for. ``coerce_strings=False`` stores written strings verbatim
    instead of parsing them like Excel. ``macros`` maps macro names to Python
    stand-ins ``fn(workbook, *args)`` for ``runMacro`` actions; any other macro
    raises. ``note_author`` is the author of notes added with ``add_note``.

    Returns an :class:`ApplyResult` with the alerts, status-bar messages,
    coercions, autofits and macro calls.
    """
    status_messages: list[Any] = []
    if isinstance(actions, MacroRun):
        status_messages = list(actions.status_messages)
        if client is None and actions.payload is not None:
            client = actions.payload.get("client")
        actions = actions.actions
    elif isinstance(actions, Mapping):
        actions = actions["actions"]
    actions = wire_roundtrip(actions)

    src = Path(src)
    dst = Path(dst)
    keep_vba = src.suffix.lower() in (".xlsm", ".xltm", ".xlam")
    wb = openpyxl.load_workbook(src, keep_vba=keep_vba)
    saved = _saved_formula_values(src)
    result = ApplyResult(path=dst, status_messages=status_messages)
    applier = _Applier(
        wb,
        result,
        client=client,
        coerce_strings=coerce_strings,
        macros=dict(macros or {}),
        note_author=note_author,
    )
    for action in actions:
        applier.apply(action)
    applier.finish()
    wb.save(dst)
    cache_formula_values(dst, wb, saved)
    return result


def _saved_formula_values(path: Path) -> dict:
    """(sheet, cell) → (formula, cached value) of every formula saved with a value in the
    workbook at ``path``."""
    formulas = openpyxl.load_workbook(path, read_only=True)
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    saved = {}
    try:
        for ws in formulas.worksheets:
            if not hasattr(ws, "iter_rows"):
                continue
            for row, cached in zip(ws.iter_rows(), values[ws.title].iter_rows(values_only=True)):
                for c, value in zip(row, cached):
                    if isinstance(c.value, str) and c.value.startswith("=") and value is not None:
                        saved[(ws.title, c.coordinate)] = (c.value, value)
    finally:
        formulas.close()
        values.close()
    return saved


_CELL = r"\$?([A-Z]{1,3})\$?(\d+)"
_ONE_CELL = re.compile(rf"^(?:('(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?{_CELL}$")
_SUM_RANGE = re.compile(rf"^SUM\({_CELL}:{_CELL}\)$")
_RANK_IN = re.compile(rf"^RANK\({_CELL},{_CELL}:{_CELL}(?:,0)?\)$")
_TIER_IF = re.compile(rf'^IF\({_CELL}>=(-?[0-9.E+-]+),"((?:[^"]|"")*)",(.*)\)$')
_TEXT = re.compile(r'^"((?:[^"]|"")*)"$')


class _NotCalculated(Exception):
    """A formula outside the subset :func:`cache_formula_values` computes."""


def _calculate(wb, sheet: str, row: int, column: int, memo: dict):
    key = (sheet, row, column)
    if key in memo:
        return memo[key]
    value = wb[sheet].cell(row=row, column=column).value
    if isinstance(value, str) and value.startswith("="):
        value = _expression(wb, sheet, value[1:], memo)
    memo[key] = value
    return value


def _expression(wb, sheet: str, text: str, memo: dict):
    def cell(letters, number, on=sheet):
        return _calculate(wb, on, int(number), column_index_from_string(letters), memo)

    def area(c1, r1, c2, r2):
        return [
            cell(get_column_letter(c), r)
            for c in range(column_index_from_string(c1), column_index_from_string(c2) + 1)
            for r in range(int(r1), int(r2) + 1)
        ]

    if match := _ONE_CELL.match(text):
        target = match[1] or sheet
        if target.startswith("'"):
            target = target[1:-1].replace("''", "'")
        value = cell(match[2], match[3], target)
        return 0 if value is None else value
    if match := _SUM_RANGE.match(text):
        return sum(v for v in area(*match.groups()) if isinstance(v, (int, float)) and not isinstance(v, bool))
    if match := _RANK_IN.match(text):
        x = cell(match[1], match[2])
        numbers = [v for v in area(*match.groups()[2:]) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        return 1 + sum(v > x for v in numbers)
    if match := _TIER_IF.match(text):
        value = cell(match[1], match[2])
        return match[4].replace('""', '"') if value >= float(match[3]) else _expression(wb, sheet, match[5], memo)
    if match := _TEXT.match(text):
        return match[1].replace('""', '"')
    raise _NotCalculated(text)


def cache_formula_values(path: Path, wb, saved: dict | None = None) -> None:
    """Save, in the workbook at ``path`` (just saved from ``wb`` by openpyxl), the values of
    the formulas Excel would have calculated: those of the audit trail's subset (see the
    module docstring). Any other formula keeps the value ``saved`` holds for it (from
    :func:`_saved_formula_values` of the workbook before the run) when its text is the same
    (the presentation sheets, whose formulas read the score sheets); else it has none."""
    from saved_values import formula_cell

    from cityopp_xl.adapters.xlsxpackage import Package, replace_parts

    memo: dict = {}
    found: dict[str, dict[str, object]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("=") and c.data_type == "f":
                    try:
                        found.setdefault(ws.title, {})[c.coordinate] = _calculate(wb, ws.title, c.row, c.column, memo)
                    except (_NotCalculated, TypeError):
                        formula, value = (saved or {}).get((ws.title, c.coordinate), (None, None))
                        if formula == c.value:
                            found.setdefault(ws.title, {})[c.coordinate] = value
    if not found:
        return
    package = Package(path)
    try:
        parts = {entry.name: entry.part for entry in package.sheets}
        xml = {name: package.read(parts[name]).decode("utf-8") for name in found}
    finally:
        package.close()
    changed = {}
    for name, values in found.items():
        def cached(match, values=values):
            value = values.get(match[1])
            return match[0] if value is None else formula_cell(match[1], match[2], match[3], value)

        changed[parts[name]] = re.sub(r'<c r="([A-Z]+\d+)"((?: s="\d+")?)>(<f>[^<]*</f>)(?:<v></v>|<v/>|<v />)?</c>', cached, xml[name]).encode("utf-8")
    replace_parts(path, changed)


class _Rect:
    """A rectangle of cells on one worksheet (1-based, inclusive)."""

    def __init__(self, ws: Worksheet, min_row: int, min_col: int, max_row: int, max_col: int):
        self.ws = ws
        self.min_row, self.min_col = min_row, min_col
        self.max_row, self.max_col = max_row, max_col

    @property
    def bounds(self):
        return (self.min_row, self.min_col, self.max_row, self.max_col)

    @property
    def nrows(self):
        return self.max_row - self.min_row + 1

    @property
    def ncols(self):
        return self.max_col - self.min_col + 1

    @property
    def full_columns(self):
        return self.min_row == 1 and self.max_row >= MAX_ROWS

    @property
    def full_rows(self):
        return self.min_col == 1 and self.max_col >= MAX_COLUMNS

    @property
    def huge(self):
        return self.full_columns or self.full_rows

    @property
    def coord(self):
        return _coord(*self.bounds)

    def rows(self) -> range:
        return range(self.min_row, self.max_row + 1)

    def columns(self) -> range:
        return range(self.min_col, self.max_col + 1)

    def cells(self) -> Iterator:
        """The cells of the rectangle; only existing ones for whole rows/columns."""
        if self.huge:
            for (row, col) in sorted(self.ws._cells):
                if self.min_row <= row <= self.max_row and self.min_col <= col <= self.max_col:
                    yield self.ws._cells[(row, col)]
            return
        for row in self.rows():
            for col in self.columns():
                yield self.ws.cell(row=row, column=col)

    def dimensions(self) -> Iterator:
        """Column/row dimensions carrying the style of whole columns/rows."""
        if self.full_columns and not self.full_rows:
            for col in self.columns():
                yield self.ws.column_dimensions[get_column_letter(col)]
        elif self.full_rows and not self.full_columns:
            for row in self.rows():
                yield self.ws.row_dimensions[row]


_H_ALIGN = {
    "General": "general",
    "Left": "left",
    "Center": "center",
    "Right": "right",
    "Fill": "fill",
    "Justify": "justify",
    "CenterAcrossSelection": "centerContinuous",
    "Distributed": "distributed",
}
_V_ALIGN = {
    "Top": "top",
    "Center": "center",
    "Bottom": "bottom",
    "Justify": "justify",
    "Distributed": "distributed",
}
_BORDER_STYLE = {
    ("continuous", "hairline"): "hair",
    ("continuous", "thin"): "thin",
    ("continuous", "medium"): "medium",
    ("continuous", "thick"): "thick",
    ("dash", "hairline"): "dashed",
    ("dash", "thin"): "dashed",
    ("dash", "medium"): "mediumDashed",
    ("dash", "thick"): "mediumDashed",
    ("dash_dot", "hairline"): "dashDot",
    ("dash_dot", "thin"): "dashDot",
    ("dash_dot", "medium"): "mediumDashDot",
    ("dash_dot", "thick"): "mediumDashDot",
    ("dash_dot_dot", "hairline"): "dashDotDot",
    ("dash_dot_dot", "thin"): "dashDotDot",
    ("dash_dot_dot", "medium"): "mediumDashDotDot",
    ("dash_dot_dot", "thick"): "mediumDashDotDot",
    ("dot", "hairline"): "dotted",
    ("dot", "thin"): "dotted",
    ("dot", "medium"): "dotted",
    ("dot", "thick"): "dotted",
    ("double", "hairline"): "double",
    ("double", "thin"): "double",
    ("double", "medium"): "double",
    ("double", "thick"): "double",
    ("slant_dash_dot", "hairline"): "slantDashDot",
    ("slant_dash_dot", "thin"): "slantDashDot",
    ("slant_dash_dot", "medium"): "slantDashDot",
    ("slant_dash_dot", "thick"): "slantDashDot",
}
_BORDER_PARTS = {
    "hair": ("continuous", "hairline"),
    "thin": ("continuous", "thin"),
    "medium": ("continuous", "medium"),
    "thick": ("continuous", "thick"),
    "dashed": ("dash", "thin"),
    "mediumDashed": ("dash", "medium"),
    "dashDot": ("dash_dot", "thin"),
    "mediumDashDot": ("dash_dot", "medium"),
    "dashDotDot": ("dash_dot_dot", "thin"),
    "mediumDashDotDot": ("dash_dot_dot", "medium"),
    "dotted": ("dot", "thin"),
    "double": ("double", "thick"),
    "slantDashDot": ("slant_dash_dot", "medium"),
}
_CF_OPERATORS = {
    "Between": "between",
    "NotBetween": "notBetween",
    "EqualTo": "equal",
    "NotEqualTo": "notEqual",
    "GreaterThan": "greaterThan",
    "LessThan": "lessThan",
    "GreaterThanOrEqual": "greaterThanOrEqual",
    "LessThanOrEqual": "lessThanOrEqual",
}
_CF_THRESHOLDS = {
    "LowestValue": "min",
    "HighestValue": "max",
    "Number": "num",
    "Percent": "percent",
    "Percentile": "percentile",
    "Formula": "formula",
}
_CF_ICON_SETS = {
    "ThreeArrows": "3Arrows",
    "ThreeArrowsGray": "3ArrowsGray",
    "ThreeFlags": "3Flags",
    "ThreeTrafficLights1": "3TrafficLights1",
    "ThreeTrafficLights2": "3TrafficLights2",
    "ThreeSigns": "3Signs",
    "ThreeSymbols": "3Symbols",
    "ThreeSymbols2": "3Symbols2",
    "FourArrows": "4Arrows",
    "FourArrowsGray": "4ArrowsGray",
    "FourRedToBlack": "4RedToBlack",
    "FourRating": "4Rating",
    "FourTrafficLights": "4TrafficLights",
    "FiveArrows": "5Arrows",
    "FiveArrowsGray": "5ArrowsGray",
    "FiveRating": "5Rating",
    "FiveQuarters": "5Quarters",
}
_DV_OPERATORS = {
    "between": "between",
    "not_between": "notBetween",
    "equal_to": "equal",
    "not_equal_to": "notEqual",
    "greater_than": "greaterThan",
    "less_than": "lessThan",
    "greater_than_or_equal": "greaterThanOrEqual",
    "less_than_or_equal": "lessThanOrEqual",
}
_DV_TYPES = {
    "whole_number": "whole",
    "decimal": "decimal",
    "date": "date",
    "time": "time",
    "text_length": "textLength",
    "custom": "custom",
}
_CALCULATION = {"Automatic": "auto", "Manual": "manual", "AutomaticExceptTables": "autoNoTable"}

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_PERCENT_RE = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))%")
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ISO_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?Z?"
)
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


class _Applier:
    def __init__(self, wb, result, *, client, coerce_strings, macros, note_author):
        self.wb = wb
        self.result = result
        self.client = client
        self.coerce_strings = coerce_strings
        self.macros = macros
        self.note_author = note_author
        self.active = wb.active if wb.active in wb.worksheets else wb.worksheets[0]
        self.func = None

    # -- plumbing ---------------------------------------------------------

    def apply(self, action: Mapping) -> None:
        func = action.get("func")
        self.func = func
        allowed = _CLIENT_ACTIONS.get(self.client) if self.client else None
        if allowed is not None and func not in allowed:
            raise UnsupportedActionError(
                func, f"the {self.client!r} client has no handler for this action"
            )
        handler = getattr(self, f"_do_{func}", None) if isinstance(func, str) else None
        if handler is None:
            raise UnsupportedActionError(
                str(func), _KNOWN_UNSUPPORTED.get(func, "unknown action")
            )
        handler(action, list(action.get("args") or []))

    def finish(self) -> None:
        self.func = None
        # Excel keeps table column names in step with the header cells
        for ws in self.wb.worksheets:
            for table in ws.tables.values():
                min_row, min_col, _, max_col, headers, _ = _table_geometry(table)
                if not headers or any(
                    ws.cell(row=min_row, column=c).data_type == "f"
                    for c in range(min_col, max_col + 1)
                ):
                    continue
                self._normalize_headers(ws, min_row, min_col, max_col)
                names = [str(ws.cell(row=min_row, column=c).value) for c in range(min_col, max_col + 1)]
                columns = list(table.tableColumns)
                if len(columns) == len(names):
                    for column, name in zip(columns, names):
                        column.name = name
                else:
                    table.tableColumns = self._table_columns(ws, min_row, min_col, max_col, columns)
        active = self.active
        if active not in self.wb.worksheets or active.sheet_state != "visible":
            visible = [ws for ws in self.wb.worksheets if ws.sheet_state == "visible"]
            active = visible[0] if visible else self.wb.worksheets[0]
        for ws in self.wb.worksheets:
            ws.sheet_view.tabSelected = ws is active
        self.wb.active = self.wb._sheets.index(active)

    def fail(self, message: str):
        raise ExcelRuleError(self.func, message)

    def sheet(self, position) -> Worksheet:
        worksheets = self.wb.worksheets
        if not isinstance(position, int) or not 0 <= position < len(worksheets):
            raise HarnessError(
                f"{self.func}: sheet_position {position!r} doesn't exist "
                f"({len(worksheets)} worksheets)"
            )
        return worksheets[position]

    def rect(self, action) -> _Rect:
        keys = ("start_row", "start_column", "row_count", "column_count")
        if any(action.get(key) is None for key in keys):
            raise HarnessError(f"{self.func}: action has no range coordinates")
        ws = self.sheet(action.get("sheet_position"))
        min_row = action["start_row"] + 1
        min_col = action["start_column"] + 1
        return _Rect(
            ws,
            min_row,
            min_col,
            min_row + action["row_count"] - 1,
            min_col + action["column_count"] - 1,
        )

    def rect_from_address(self, ws, address) -> _Rect:
        return _Rect(ws, *_bounds(address))

    def sheets_index(self, position: int) -> int:
        """Index into wb._sheets (which includes chartsheets) for a position."""
        worksheets = self.wb.worksheets
        if position >= len(worksheets):
            return len(self.wb._sheets)
        return self.wb._sheets.index(worksheets[position])

    def all_formula_cells(self) -> Iterator:
        for ws in self.wb.worksheets:
            for cell in ws._cells.values():
                if cell.data_type == "f":
                    yield cell

    # -- values -----------------------------------------------------------

    def typed(self, value, cell):
        """Excel's reading of a value written through range.values/formulas."""
        if value is None or value == "":
            return None, None
        if isinstance(value, bool):
            return value, None
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise ActionSerializationError(f"{self.func}: non-finite number {value!r}")
            return value, None
        if not isinstance(value, str):
            raise HarnessError(f"{self.func}: can't write a {type(value).__name__} to a cell")
        if len(value) > 32767:
            self.fail(f"text longer than 32,767 characters in {cell.coordinate}")
        if value.startswith("=") and len(value) > 1:
            return value, None  # a formula (write_cell keeps it text in "@" cells)
        if not self.coerce_strings or cell.number_format == "@":
            return value, None
        stored, number_format = self._parse_typed_input(value)
        if stored is not value:
            self.result.coerced.append(
                Coercion(cell.parent.title, cell.coordinate, value, stored)
            )
        return stored, number_format

    @staticmethod
    def _parse_typed_input(text: str):
        stripped = text.strip()
        if _NUMBER_RE.fullmatch(stripped):
            number = float(stripped)
            if re.fullmatch(r"[+-]?\d+", stripped) and abs(number) < 2**53:
                number = int(stripped)
            return number, None
        match = _PERCENT_RE.fullmatch(stripped)
        if match:
            return float(match.group(1)) / 100, "0%"
        if stripped.upper() in ("TRUE", "FALSE"):
            return stripped.upper() == "TRUE", None
        match = _ISO_DATE_RE.fullmatch(stripped)
        if match:
            try:
                return dt.datetime(*map(int, match.groups())), _DATE_FORMAT
            except ValueError:
                return text, None
        match = _ISO_DATETIME_RE.fullmatch(stripped)
        if match:
            year, month, day, hour, minute, second, fraction = match.groups()
            try:
                stamp = dt.datetime(
                    int(year),
                    int(month),
                    int(day),
                    int(hour),
                    int(minute),
                    int(second or 0),
                    int((fraction or "0").ljust(6, "0")),
                )
            except ValueError:
                return text, None
            fmt = _DATE_FORMAT if stamp.time() == dt.time() else _DATETIME_FORMAT
            return stamp, fmt
        if len(stripped) > 1 and stripped[0] in "+-":
            # Excel reads a leading + or - as the start of a formula
            return "=" + stripped, None
        if text.startswith("'"):
            return text[1:], None
        return text, None

    def write_cell(self, cell, value) -> None:
        if isinstance(cell, MergedCell):
            if value is None or value == "":
                return
            self.fail(f"can't change part of the merged cell {cell.coordinate}")
        stored, number_format = self.typed(value, cell)
        quote_prefix = (
            isinstance(value, str)
            and value.startswith("'")
            and self.coerce_strings
            and cell.number_format != "@"
        )
        was_general = cell.number_format == "General"
        cell.value = stored  # openpyxl gives dates a default format of its own
        if isinstance(stored, str) and cell.number_format == "@":
            cell.data_type = "s"
        if number_format and was_general:
            cell.number_format = number_format
        if quote_prefix:
            cell.quotePrefix = True

    def _do_setValues(self, action, args):
        rect = self.rect(action)
        values = action.get("values")
        self._check_matrix(values, rect)
        for r, row in enumerate(values):
            for c, value in enumerate(row):
                cell = rect.ws.cell(row=rect.min_row + r, column=rect.min_col + c)
                self.write_cell(cell, value)

    def _check_matrix(self, values, rect):
        if (
            not isinstance(values, list)
            or len(values) != rect.nrows
            or any(not isinstance(row, list) or len(row) != rect.ncols for row in values)
        ):
            shape = (
                (len(values), [len(row) for row in values])
                if isinstance(values, list)
                else type(values).__name__
            )
            self.fail(
                f"values {shape} don't match the range {rect.coord} "
                f"({rect.nrows}x{rect.ncols})"
            )

    def _do_setFormula(self, action, args):
        rect = self.rect(action)
        values = action.get("values")
        if isinstance(values, list):
            self._check_matrix(values, rect)
            for r, row in enumerate(values):
                for c, value in enumerate(row):
                    cell = rect.ws.cell(row=rect.min_row + r, column=rect.min_col + c)
                    self.write_cell(cell, value)
            return
        # One formula for a bigger range: Excel adjusts relative references
        origin = _coord(rect.min_row, rect.min_col, rect.min_row, rect.min_col)
        for cell in rect.cells():
            value = values
            if isinstance(values, str) and values.startswith("="):
                value = Translator(values, origin=origin).translate_formula(cell.coordinate)
            self.write_cell(cell, value)

    def _do_setFormulaArray(self, action, args):

        rect = self.rect(action)
        text = str(args[0])
        if not text.startswith("="):
            text = "=" + text
        for cell in rect.cells():
            if cell.coordinate != _coord(rect.min_row, rect.min_col, rect.min_row, rect.min_col):
                cell.value = None
        rect.ws.cell(row=rect.min_row, column=rect.min_col).value = ArrayFormula(
            rect.coord, text
        )

    def _do_setRangeName(self, action, args):
        rect = self.rect(action)
        self._add_name(
            self.wb.defined_names,
            args[0],
            f"{_quote_sheet(rect.ws.title)}!{_abs_coord(*rect.bounds)}",
        )

    # -- clearing ---------------------------------------------------------

    def _clear_contents(self, rect):
        for cell in rect.cells():
            if not isinstance(cell, MergedCell):
                cell.value = None

    def _clear_formats(self, rect):
        for cell in rect.cells():
            cell.style = "Normal"
        for dim in rect.dimensions():
            dim._style = StyleArray()  # no named-style setter on dimensions
        for merged in list(rect.ws.merged_cells.ranges):
            if _contains(rect.bounds, (merged.min_row, merged.min_col, merged.max_row, merged.max_col)):
                rect.ws.unmerge_cells(merged.coord)
        self._remove_conditional_formats(rect)

    def _clear_all(self, rect):
        self._clear_contents(rect)
        self._clear_formats(rect)
        for cell in rect.cells():
            if cell.hyperlink is not None:
                cell.hyperlink = None
            if cell.comment is not None:
                cell.comment = None

    def _do_rangeClearContents(self, action, args):
        self._clear_contents(self.rect(action))

    def _do_rangeClearFormats(self, action, args):
        self._clear_formats(self.rect(action))

    def _do_rangeClear(self, action, args):
        self._clear_all(self.rect(action))

    def _whole_sheet(self, action) -> _Rect:
        return _Rect(self.sheet(action.get("sheet_position")), 1, 1, MAX_ROWS, MAX_COLUMNS)

    def _do_sheetClearContents(self, action, args):
        self._clear_contents(self._whole_sheet(action))

    def _do_sheetClearFormats(self, action, args):
        rect = self._whole_sheet(action)
        self._clear_formats(rect)
        for dim in list(rect.ws.column_dimensions.values()) + list(rect.ws.row_dimensions.values()):
            dim._style = StyleArray()  # no named-style setter on dimensions

    def _do_sheetClear(self, action, args):
        rect = self._whole_sheet(action)
        self._clear_all(rect)
        for dim in list(rect.ws.column_dimensions.values()) + list(rect.ws.row_dimensions.values()):
            dim._style = StyleArray()  # no named-style setter on dimensions

    # -- formats ----------------------------------------------------------

    def _style(self, rect, apply: Callable[[Any], None]):
        for cell in rect.cells():
            apply(cell)
        for dim in rect.dimensions():
            apply(dim)

    def _do_setNumberFormat(self, action, args):
        number_format = str(args[0])

        def apply(target):
            target.number_format = number_format

        self._style(self.rect(action), apply)

    def _do_setFontProperty(self, action, args):
        prop, value = args[0], args[1]
        if prop in ("bold", "italic"):
            attr, value = prop, bool(value)
        elif prop == "size":
            attr, value = "size", float(value)
        elif prop == "color":
            attr, value = "color", Color(rgb=_argb(value))
        elif prop == "name":
            attr, value = "name", str(value)
        else:
            raise UnsupportedActionError(self.func, f"font property {prop!r}")

        def apply(target):
            font = copy.copy(target.font)
            setattr(font, attr, value)
            target.font = font

        self._style(self.rect(action), apply)

    def _fill(self, color):
        if color is None:
            return PatternFill(fill_type=None)
        argb = _argb(color)
        return PatternFill(fill_type="solid", fgColor=argb, bgColor=argb)

    def _do_setRangeColor(self, action, args):
        fill = self._fill(args[0])

        def apply(target):
            target.fill = fill

        self._style(self.rect(action), apply)

    def _do_setRangeColors(self, action, args):
        rect = self.rect(action)
        matrix = args[0]
        self._check_matrix(matrix, rect)
        for r, row in enumerate(matrix):
            for c, color in enumerate(row):
                if color == "keep":
                    continue
                rect.ws.cell(row=rect.min_row + r, column=rect.min_col + c).fill = self._fill(color)

    def _alignment(self, action, **changes):
        def apply(target):
            alignment = copy.copy(target.alignment)
            for key, value in changes.items():
                setattr(alignment, key, value)
            target.alignment = alignment

        self._style(self.rect(action), apply)

    def _do_setWrapText(self, action, args):
        self._alignment(action, wrap_text=bool(args[0]))

    def _do_setHorizontalAlignment(self, action, args):
        if args[0] not in _H_ALIGN:
            raise HarnessError(f"{self.func}: unknown alignment {args[0]!r}")
        self._alignment(action, horizontal=_H_ALIGN[args[0]])

    def _do_setVerticalAlignment(self, action, args):
        if args[0] not in _V_ALIGN:
            raise HarnessError(f"{self.func}: unknown alignment {args[0]!r}")
        self._alignment(action, vertical=_V_ALIGN[args[0]])

    def _do_rangeAdjustIndent(self, action, args):
        amount = int(args[0])

        def apply(target):
            alignment = copy.copy(target.alignment)
            alignment.indent = max(0, min(250, int(alignment.indent or 0) + amount))
            target.alignment = alignment

        self._style(self.rect(action), apply)

    def _do_setBorderProperty(self, action, args):
        side_name, attribute, value = args
        rect = self.rect(action)
        if rect.huge:
            raise UnsupportedActionError(self.func, "borders on entire rows/columns")
        if attribute not in ("line_style", "weight", "color"):
            raise HarnessError(f"{self.func}: unknown border attribute {attribute!r}")
        targets: list[tuple[Any, str]] = []
        for cell in rect.cells():
            r, c = cell.row, cell.column
            if side_name == "edge_top" and r == rect.min_row:
                targets.append((cell, "top"))
            elif side_name == "edge_bottom" and r == rect.max_row:
                targets.append((cell, "bottom"))
            elif side_name == "edge_left" and c == rect.min_col:
                targets.append((cell, "left"))
            elif side_name == "edge_right" and c == rect.max_col:
                targets.append((cell, "right"))
            elif side_name == "inside_horizontal":
                if r < rect.max_row:
                    targets.append((cell, "bottom"))
                if r > rect.min_row:
                    targets.append((cell, "top"))
            elif side_name == "inside_vertical":
                if c < rect.max_col:
                    targets.append((cell, "right"))
                if c > rect.min_col:
                    targets.append((cell, "left"))
            elif side_name in ("diagonal_down", "diagonal_up"):
                targets.append((cell, side_name))
            elif side_name not in (
                "edge_top",
                "edge_bottom",
                "edge_left",
                "edge_right",
            ):
                raise HarnessError(f"{self.func}: unknown border side {side_name!r}")
        for cell, which in targets:
            self._set_border_side(cell, which, attribute, value)

    def _set_border_side(self, cell, which, attribute, value):
        border = copy.copy(cell.border)
        key = "diagonal" if which.startswith("diagonal") else which
        side = copy.copy(getattr(border, key)) or Side()
        line, weight = _BORDER_PARTS.get(side.style, (None, "thin"))
        if attribute == "line_style":
            line = None if value in (None, "none") else value
            if line is not None and (line, weight) not in _BORDER_STYLE:
                raise HarnessError(f"{self.func}: unknown line style {value!r}")
        elif attribute == "weight":
            if ("continuous", value) not in _BORDER_STYLE:
                raise HarnessError(f"{self.func}: unknown border weight {value!r}")
            weight = value
            line = line or "continuous"
        else:
            side.color = Color(rgb=_argb(value))
            line = line or "continuous"
        side.style = _BORDER_STYLE[(line, weight)] if line else None
        if side.style is None:
            side.color = None
        setattr(border, key, side)
        if which == "diagonal_down":
            border.diagonalDown = side.style is not None
        elif which == "diagonal_up":
            border.diagonalUp = side.style is not None
        cell.border = border

    # -- rows and columns -------------------------------------------------

    def _do_setColumnWidth(self, action, args):
        points = args[0]
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            self.fail("column_width must be a non-negative number")
        rect = self.rect(action)
        for col in rect.columns():
            dim = rect.ws.column_dimensions[get_column_letter(col)]
            if points == 0:
                dim.hidden = True
            else:
                dim.width = points_to_column_width(points)
                dim.hidden = False

    def _do_setRowHeight(self, action, args):
        points = float(args[0])
        rect = self.rect(action)
        for row in rect.rows():
            dim = rect.ws.row_dimensions[row]
            if points == 0:
                dim.hidden = True
            else:
                dim.height = points
                dim.hidden = False

    def _do_setRowHidden(self, action, args):
        rect = self.rect(action)
        for row in rect.rows():
            rect.ws.row_dimensions[row].hidden = bool(args[0])

    def _do_setColumnHidden(self, action, args):
        rect = self.rect(action)
        for col in rect.columns():
            rect.ws.column_dimensions[get_column_letter(col)].hidden = bool(args[0])

    def _group(self, action, by, delta):
        rect = self.rect(action)
        if by == "columns":
            dims = [rect.ws.column_dimensions[get_column_letter(c)] for c in rect.columns()]
        else:
            dims = [rect.ws.row_dimensions[r] for r in rect.rows()]
        for dim in dims:
            dim.outline_level = max(0, min(7, (dim.outline_level or 0) + delta))

    def _do_rangeGroup(self, action, args):
        self._group(action, args[0], +1)

    def _do_rangeUngroup(self, action, args):
        self._group(action, args[0], -1)

    def _autofit(self, rect, axis):
        ws = rect.ws
        self.result.autofits.append((ws.title, axis, rect.coord))
        if axis == "rows":
            rows = rect.rows() if not rect.full_columns else sorted({r for r, _ in ws._cells})
            for row in rows:
                if row in ws.row_dimensions:
                    ws.row_dimensions[row].height = None
            return
        widths: dict[int, float] = {}
        merged = {
            (row, col)
            for merged_range in ws.merged_cells.ranges
            for row, col in merged_range.cells
        }
        for (row, col), cell in ws._cells.items():
            if not (rect.min_row <= row <= rect.max_row and rect.min_col <= col <= rect.max_col):
                continue
            if cell.value is None or (row, col) in merged:
                continue
            widths[col] = max(widths.get(col, 0.0), _estimate_width(cell))
        for col, width in widths.items():
            dim = ws.column_dimensions[get_column_letter(col)]
            dim.width = min(255.0, width)

    def _do_setAutofit(self, action, args):
        self._autofit(self.rect(action), "columns" if args[0] == "columns" else "rows")

    def _do_setSheetAutofit(self, action, args):
        self._autofit(self._whole_sheet(action), "columns" if args[0] == "columns" else "rows")

    # -- merge, hyperlinks, notes, selection ------------------------------

    def _do_rangeMerge(self, action, args):
        rect = self.rect(action)
        across = bool(args[0]) if args else False
        blocks = (
            [(row, rect.min_col, row, rect.max_col) for row in rect.rows()]
            if across
            else [rect.bounds]
        )
        for block in blocks:
            for merged in list(rect.ws.merged_cells.ranges):
                existing = (merged.min_row, merged.min_col, merged.max_row, merged.max_col)
                if _overlaps(block, existing):
                    if not _contains(block, existing):
                        self.fail(f"{merged.coord} overlaps {_coord(*block)} only partly")
                    rect.ws.unmerge_cells(merged.coord)
            if block[0] != block[2] or block[1] != block[3]:
                rect.ws.merge_cells(_coord(*block))

    def _do_rangeUnmerge(self, action, args):
        rect = self.rect(action)
        for merged in list(rect.ws.merged_cells.ranges):
            if _overlaps(rect.bounds, (merged.min_row, merged.min_col, merged.max_row, merged.max_col)):
                rect.ws.unmerge_cells(merged.coord)

    def _do_addHyperlink(self, action, args):
        address, text, tip = (list(args) + [None, None, None])[:3]
        if address is None:
            self.fail("a hyperlink needs an address")
        for cell in self.rect(action).cells():
            link = Hyperlink(ref=cell.coordinate, tooltip=tip)
            if str(address).startswith("#"):
                link.location = str(address)[1:]
            else:
                link.target = str(address)
            cell.hyperlink = link
            cell.value = str(text) if text is not None else str(address)
            font = copy.copy(cell.font)
            font.color = Color(rgb="FF0563C1")
            font.underline = "single"
            cell.font = font

    def _do_addNote(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        cell = ws[_unqualified(args[0])]
        if cell.comment is not None:
            self.fail(f"{cell.coordinate} already has a note")
        cell.comment = Comment(str(args[1]), self.note_author)

    def _do_setNoteText(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        cell = ws[_unqualified(args[0])]
        if cell.comment is None:
            self.fail(f"there's no note on {cell.coordinate}")
        cell.comment = Comment(str(args[1]), cell.comment.author or self.note_author)

    def _do_deleteNote(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        ws[_unqualified(args[0])].comment = None

    def _do_rangeSelect(self, action, args):
        rect = self.rect(action)
        view = rect.ws.sheet_view
        if not view.selection:

            view.selection = [Selection()]
        view.selection[0].sqref = rect.coord
        view.selection[0].activeCell = _coord(rect.min_row, rect.min_col, rect.min_row, rect.min_col)
        self.active = rect.ws

    # -- copy, replace, insert/delete --------------------------------------

    def _copy_block(
        self, src: _Rect, dst_ws, dst_row, dst_col, *, what="all", skip_blanks=False, transpose=False
    ):
        """Copy src to the block starting at (dst_row, dst_col), like Range.copyFrom."""
        if src.huge:
            raise UnsupportedActionError(self.func, "copying entire rows/columns")
        if what in ("all", "formats") and any(
            _overlaps(src.bounds, t)
            for cf in src.ws.conditional_formatting
            for t in _range_tuples(cf.sqref)
        ):
            raise UnsupportedActionError(
                self.func, "copying cells with conditional formats is not modelled"
            )
        # Snapshot first: source and destination may overlap
        snapshot = [
            (cell.coordinate, cell.row - src.min_row, cell.column - src.min_col,
             cell.value, cell.data_type, copy.copy(cell._style), cell.hyperlink)
            for cell in src.cells()
        ]
        for origin, dr, dc, value, data_type, style, link in snapshot:
            if transpose:
                dr, dc = dc, dr
            target = dst_ws.cell(row=dst_row + dr, column=dst_col + dc)
            if skip_blanks and value is None:
                continue
            if what in ("all", "formulas", "values"):
                if isinstance(target, MergedCell):
                    self.fail(f"can't change part of the merged cell {target.coordinate}")
                if data_type == "f" and isinstance(value, str):
                    if what == "values":
                        raise UnsupportedActionError(
                            self.func, "pasting values of formulas needs calculated results"
                        )
                    value = Translator(value, origin=origin).translate_formula(target.coordinate)
                target.value = value
            if what in ("all", "formats"):
                target._style = copy.copy(style)
            if what == "all" and link is not None:
                target.hyperlink = Hyperlink(
                    ref=target.coordinate,
                    target=link.target,
                    location=link.location,
                    tooltip=link.tooltip,
                    display=link.display,
                )

    def _do_copyRange(self, action, args):
        src = self.rect(action)
        if args[0] is None:
            raise UnsupportedActionError(self.func, "copying to the clipboard")
        dst_ws = self.sheet(args[0])
        dst = _bounds(args[1])
        self._copy_block(src, dst_ws, dst[0], dst[1])

    def _do_copyFromRange(self, action, args):
        target = self.rect(action)
        src_ws = self.sheet(args[0])
        src = self.rect_from_address(src_ws, args[1])
        copy_type = str(args[2] or "all").lower()
        if copy_type not in ("all", "formulas", "values", "formats"):
            raise UnsupportedActionError(self.func, f"copy type {args[2]!r}")
        self._copy_block(
            src,
            target.ws,
            target.min_row,
            target.min_col,
            what=copy_type,
            skip_blanks=bool(args[3]),
            transpose=bool(args[4]),
        )

    def _do_rangeReplaceAll(self, action, args):
        old, new, whole, match_case = args
        flags = 0 if match_case else re.IGNORECASE
        pattern = re.compile(re.escape(old), flags)
        for cell in self.rect(action).cells():
            if isinstance(cell, MergedCell) or not isinstance(cell.value, str):
                continue
            text = cell.value
            if whole:
                if (text == old) if match_case else (text.casefold() == old.casefold()):
                    cell.value = new
            elif pattern.search(text):
                cell.value = pattern.sub(lambda _: new, text)

    def _guard_shift(self, rect):
        ws = rect.ws
        if any(True for _ in self.all_formula_cells()):
            raise UnsupportedActionError(
                self.func, "shifting cells in a workbook with formulas is not modelled"
            )
        if ws.merged_cells.ranges or ws.tables or ws.conditional_formatting or ws.data_validations.dataValidation:
            raise UnsupportedActionError(
                self.func,
                "shifting cells on a sheet with merged cells, tables, conditional "
                "formats or data validation is not modelled",
            )

    def _do_rangeInsert(self, action, args):
        rect = self.rect(action)
        self._guard_shift(rect)
        shift = args[0]
        ws = rect.ws
        if shift == "down":
            if rect.full_rows:
                ws.insert_rows(rect.min_row, rect.nrows)
            else:
                last = max([r for r, _ in ws._cells] + [rect.min_row])
                if last >= rect.min_row:
                    ws.move_range(
                        _coord(rect.min_row, rect.min_col, last, rect.max_col), rows=rect.nrows
                    )
        elif shift == "right":
            if rect.full_columns:
                ws.insert_cols(rect.min_col, rect.ncols)
            else:
                last = max([c for _, c in ws._cells] + [rect.min_col])
                ws.move_range(
                    _coord(rect.min_row, rect.min_col, rect.max_row, last), cols=rect.ncols
                )
        else:
            raise HarnessError(f"{self.func}: unknown shift {shift!r}")

    def _do_rangeDelete(self, action, args):
        rect = self.rect(action)
        self._guard_shift(rect)
        shift = args[0]
        ws = rect.ws
        self._clear_all(rect)
        if shift == "up":
            if rect.full_rows:
                ws.delete_rows(rect.min_row, rect.nrows)
                return
            last = max([r for r, _ in ws._cells] + [rect.max_row])
            if last > rect.max_row:
                ws.move_range(
                    _coord(rect.max_row + 1, rect.min_col, last, rect.max_col), rows=-rect.nrows
                )
        elif shift == "left":
            if rect.full_columns:
                ws.delete_cols(rect.min_col, rect.ncols)
                return
            last = max([c for _, c in ws._cells] + [rect.max_col])
            if last > rect.max_col:
                ws.move_range(
                    _coord(rect.min_row, rect.max_col + 1, rect.max_row, last), cols=-rect.ncols
                )
        else:
            raise HarnessError(f"{self.func}: unknown shift {shift!r}")

    # -- sheets -----------------------------------------------------------

    def _check_new_sheet_name(self, name, exclude=None):
        if not _valid_sheet_name(name):
            self.fail(f"{name!r} isn't a valid sheet name")
        for ws in self.wb._sheets:
            if ws is not exclude and ws.title.casefold() == name.casefold():
                self.fail(f"a sheet named {name!r} already exists")

    def _do_addSheet(self, action, args):
        position, name = (list(args) + [None, None])[:2]
        if name is None:
            taken = {ws.title.casefold() for ws in self.wb._sheets}
            number = 1
            while f"sheet{number}" in taken:
                number += 1
            name = f"Sheet{number}"
        name = str(name)
        self._check_new_sheet_name(name)
        position = int(position)
        if not 0 <= position <= len(self.wb.worksheets):
            raise HarnessError(f"{self.func}: position {position} out of range")
        ws = self.wb.create_sheet(title=name, index=self.sheets_index(position))
        if self.client == VBA:
            self.active = ws  # Sheets.Add activates the new sheet; Office.js doesn't

    def _do_setSheetName(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        new = str(args[0])
        if new == ws.title:
            return
        self._check_new_sheet_name(new, exclude=ws)
        old = ws.title
        ws.title = new
        self._rewrite_sheet_references(old, new)

    def _do_sheetDelete(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        visible = [s for s in self.wb._sheets if s.sheet_state == "visible"]
        if visible == [ws]:
            self.fail("a workbook must contain at least one visible sheet")
        position = self.wb.worksheets.index(ws)
        title = ws.title
        self.wb.remove(ws)
        self._rewrite_sheet_references(title, None)
        if self.active is ws:
            remaining = self.wb.worksheets
            self.active = remaining[min(position, len(remaining) - 1)]

    def _do_setSheetPosition(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        target = int(args[0])
        worksheets = self.wb.worksheets
        if not 0 <= target < len(worksheets):
            raise HarnessError(f"{self.func}: position {target} out of range")
        sheets = self.wb._sheets
        sheets.remove(ws)
        others = [s for s in sheets if s in worksheets]
        index = sheets.index(others[target]) if target < len(others) else len(sheets)
        sheets.insert(index, ws)

    def _do_copySheet(self, action, args):
        source = self.sheet(action.get("sheet_position"))
        where, target_ix, name = args
        if source.tables or getattr(source, "_images", None) or getattr(source, "_charts", None):
            raise UnsupportedActionError(
                self.func, "copying sheets with tables, pictures or charts is not modelled"
            )
        self._check_new_sheet_name(str(name))
        target = self.sheet(int(target_ix))
        copy_ws = self.wb.copy_worksheet(source)
        copy_ws.title = str(name)
        copy_ws.sheet_view.showGridLines = source.sheet_view.showGridLines
        copy_ws.freeze_panes = source.freeze_panes
        copy_ws.sheet_state = source.sheet_state
        for cf in source.conditional_formatting:
            for rule in cf.rules:
                copy_ws.conditional_formatting.add(str(cf.sqref), copy.copy(rule))
        for dv in source.data_validations.dataValidation:
            copy_ws.add_data_validation(copy.copy(dv))
        for defined in source.defined_names.values():
            copy_ws.defined_names[defined.name] = DefinedName(
                defined.name, attr_text=_rename_in_formula("=" + defined.attr_text, source.title, copy_ws.title)[1:]
            )
        if source.print_area:
            copy_ws.print_area = [_unqualified(p) for p in source.print_area.split(",")]
        sheets = self.wb._sheets
        sheets.remove(copy_ws)
        index = sheets.index(target) + (0 if str(where).lower() == "before" else 1)
        sheets.insert(index, copy_ws)

    def _do_activateSheet(self, action, args):
        ws = self.sheet(int(args[0]))
        if ws.sheet_state != "visible":
            self.fail(f"the hidden sheet {ws.title!r} can't be activated")
        self.active = ws

    def _do_setSheetVisibility(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        state = {"Visible": "visible", "Hidden": "hidden", "VeryHidden": "veryHidden"}.get(args[0])
        if state is None:
            raise HarnessError(f"{self.func}: unknown visibility {args[0]!r}")
        if state != "visible":
            others = [s for s in self.wb._sheets if s is not ws and s.sheet_state == "visible"]
            if not others:
                self.fail("a workbook must contain at least one visible sheet")
            if self.active is ws:
                position = self.wb.worksheets.index(ws)
                after = [s for s in self.wb.worksheets[position + 1 :] if s.sheet_state == "visible"]
                before = [s for s in self.wb.worksheets[:position] if s.sheet_state == "visible"]
                self.active = (after or before[::-1])[0]
        ws.sheet_state = state

    def _do_setShowGridlines(self, action, args):
        self.sheet(action.get("sheet_position")).sheet_view.showGridLines = bool(args[0])

    def _do_setPrintArea(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        value = args[0] if args else None
        ws.print_area = [_unqualified(p) for p in str(value).split(",")] if value else None

    def _do_freezePaneAtRange(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        # Office.js freezeAt(range): the range is what stays frozen in the
        # top-left pane, e.g. "B2" freezes rows 1-2 and columns A-B.
        col_min, row_min, col_max, row_max = range_boundaries(_unqualified(str(args[0])))
        rows = row_max if row_max is not None else 0
        cols = col_max if col_max is not None else 0
        if rows == 0 and cols == 0:
            ws.freeze_panes = None
        else:
            ws.freeze_panes = f"{get_column_letter(cols + 1)}{rows + 1}"

    def _do_freezePaneUnfreeze(self, action, args):
        self.sheet(action.get("sheet_position")).freeze_panes = None

    def _rewrite_sheet_references(self, old: str, new: str | None) -> None:
        """Follow a rename (new) or deletion (None) like Excel does."""
        for cell in self.all_formula_cells():
            value = cell.value
            if isinstance(value, str):
                cell.value = _rename_in_formula(value, old, new)
            elif hasattr(value, "text") and isinstance(value.text, str):
                value.text = _rename_in_formula(value.text, old, new)
        name_dicts = [self.wb.defined_names] + [ws.defined_names for ws in self.wb.worksheets]
        for names in name_dicts:
            for defined in names.values():
                if defined.attr_text:
                    defined.attr_text = _rename_in_formula("=" + defined.attr_text, old, new)[1:]
        for ws in self.wb.worksheets:
            for dv in ws.data_validations.dataValidation:
                for attr in ("formula1", "formula2"):
                    text = getattr(dv, attr)
                    if text:
                        setattr(dv, attr, _rename_in_formula("=" + text, old, new)[1:])
            for cf in ws.conditional_formatting:
                for rule in cf.rules:
                    rule.formula = [_rename_in_formula("=" + f, old, new)[1:] for f in rule.formula]

    # -- names ------------------------------------------------------------

    def _add_name(self, names, name, refers_to):
        name = str(name)
        if any(existing.casefold() == name.casefold() for existing in names):
            self.fail(f"the name {name!r} already exists")
        text = str(refers_to)
        names[name] = DefinedName(name, attr_text=text[1:] if text.startswith("=") else text)

    def _do_namesAdd(self, action, args):
        position = action.get("sheet_position")
        names = self.wb.defined_names if position is None else self.sheet(position).defined_names
        self._add_name(names, args[0], args[1])

    def _scoped_names(self, book_scope, scope_sheet_index):
        return self.wb.defined_names if book_scope else self.sheet(int(scope_sheet_index)).defined_names

    def _find_name(self, names, name):
        for existing in names:
            if existing.casefold() == str(name).casefold():
                return existing
        self.fail(f"there's no name {name!r}")

    def _do_nameDelete(self, action, args):
        name, book_scope, scope_index = args[2], bool(args[4]), args[5]
        names = self._scoped_names(book_scope, scope_index)
        del names[self._find_name(names, name)]

    def _do_setNameRefersTo(self, action, args):
        name, book_scope, scope_index, refers_to = args
        names = self._scoped_names(bool(book_scope), scope_index)
        key = self._find_name(names, name)
        text = str(refers_to)
        names[key].attr_text = text[1:] if text.startswith("=") else text

    # -- tables -----------------------------------------------------------

    def _tables(self, ws) -> list[Table]:
        return list(ws.tables.values())

    def _table(self, action, args) -> tuple[Worksheet, Table]:
        ws = self.sheet(action.get("sheet_position"))
        tables = self._tables(ws)
        index = int(args[0])
        if not 0 <= index < len(tables):
            raise HarnessError(f"{self.func}: there's no table #{index} on {ws.title!r}")
        return ws, tables[index]

    def _all_table_names(self):
        return {t.name.casefold() for ws in self.wb.worksheets for t in ws.tables.values()}

    def _table_columns(self, ws, row, min_col, max_col, previous=()):
        """Table columns named after the (normalized) header cells."""

        kept = {column.name.casefold(): column for column in previous}
        columns = []
        for index, col in enumerate(range(min_col, max_col + 1), start=1):
            name = str(ws.cell(row=row, column=col).value)
            column = copy.copy(kept.get(name.casefold())) or TableColumn(id=index, name=name)
            column.id = index
            columns.append(column)
        return columns

    def _normalize_headers(self, ws, row, min_col, max_col):
        seen: set[str] = set()
        for index, col in enumerate(range(min_col, max_col + 1), start=1):
            cell = ws.cell(row=row, column=col)
            if cell.data_type == "f":
                raise UnsupportedActionError(
                    self.func, "formula headers need their calculated value"
                )
            value = cell.value
            if value is None or value == "":
                text = f"Column{index}"
            elif isinstance(value, bool):
                text = "TRUE" if value else "FALSE"
            elif isinstance(value, float) and value.is_integer():
                text = str(int(value))
            else:
                text = str(value)
            base, suffix = text, 2
            while text.casefold() in seen:
                text = f"{base}{suffix}"
                suffix += 1
            seen.add(text.casefold())
            if cell.value != text:
                cell.value = text
            cell.data_type = "s"

    def _do_addTable(self, action, args):
        ws = self.sheet(action.get("sheet_position"))
        address, has_headers, style, name = (list(args) + [None] * 4)[:4]
        if not has_headers:
            raise UnsupportedActionError(
                self.func,
                "has_headers=False (Excel inserts generated headers and shifts the data down)",
            )
        bounds = _bounds(address)
        for table in self._tables(ws):
            if _overlaps(bounds, _bounds(table.ref)):
                self.fail(f"{_coord(*bounds)} overlaps the table {table.name!r}")
        if any(
            _overlaps(bounds, (m.min_row, m.min_col, m.max_row, m.max_col))
            for m in ws.merged_cells.ranges
        ):
            self.fail("a table can't contain merged cells")
        taken = self._all_table_names() | {n.casefold() for n in self.wb.defined_names}
        if not name:
            number = 1
            while f"table{number}" in taken:
                number += 1
            name = f"Table{number}"
        elif str(name).casefold() in taken:
            self.fail(f"the name {name!r} is already taken")
        self._normalize_headers(ws, bounds[0], bounds[1], bounds[3])
        ref = _coord(*bounds)
        table = Table(
            displayName=str(name),
            name=str(name),
            ref=ref,
            tableStyleInfo=TableStyleInfo(
                name=style or "TableStyleMedium2",
                showFirstColumn=False,
                showLastColumn=False,
                showRowStripes=True,
                showColumnStripes=False,
            ),
        )
        # Explicit columns: openpyxl would otherwise add its own (and a filter)
        table.tableColumns = self._table_columns(ws, bounds[0], bounds[1], bounds[3])
        table.autoFilter = AutoFilter(ref=ref)
        ws.add_table(table)

    def _do_setTableName(self, action, args):
        ws, table = self._table(action, args)
        new = str(args[1])
        if new.casefold() != table.name.casefold() and new.casefold() in (
            self._all_table_names() | {n.casefold() for n in self.wb.defined_names}
        ):
            self.fail(f"the name {new!r} is already taken")
        old = table.name
        items = list(dict.items(ws.tables))  # TableList.items() yields refs, not tables
        ws.tables.clear()
        for key, value in items:
            if value is table:
                table.name = table.displayName = new
                key = new
            ws.tables[key] = value
        pattern = re.compile(rf"(?<![\w.]){re.escape(old)}\[", re.IGNORECASE)
        for cell in self.all_formula_cells():
            if isinstance(cell.value, str):
                cell.value = pattern.sub(f"{new}[", cell.value)

    def _do_setTableStyle(self, action, args):
        _, table = self._table(action, args)
        info = table.tableStyleInfo or TableStyleInfo()
        info.name = args[1] or None
        table.tableStyleInfo = info

    def _table_flag(self, action, args, attr):
        _, table = self._table(action, args)
        info = table.tableStyleInfo or TableStyleInfo()
        setattr(info, attr, bool(args[1]))
        table.tableStyleInfo = info

    def _do_showTableStyleFirstColumn(self, action, args):
        self._table_flag(action, args, "showFirstColumn")

    def _do_showTableStyleLastColumn(self, action, args):
        self._table_flag(action, args, "showLastColumn")

    def _do_showTableStyleRowStripes(self, action, args):
        self._table_flag(action, args, "showRowStripes")

    def _do_showTableStyleColumnStripes(self, action, args):
        self._table_flag(action, args, "showColumnStripes")

    def _do_showAutofilterTable(self, action, args):
        _, table = self._table(action, args)
        if bool(args[1]):
            min_row, min_col, max_row, max_col, headers, totals = _table_geometry(table)
            if not headers:
                self.fail("a table without headers has no filter buttons")
            table.autoFilter = AutoFilter(ref=_coord(min_row, min_col, max_row - totals, max_col))
        else:
            table.autoFilter = None

    def _do_showHeadersTable(self, action, args):
        _, table = self._table(action, args)
        if bool(args[1]) != bool(_table_geometry(table)[4]):
            raise UnsupportedActionError(
                self.func, "showing/hiding a table's header row changes its geometry"
            )

    def _do_showTotalsTable(self, action, args):
        _, table = self._table(action, args)
        if bool(args[1]) != bool(_table_geometry(table)[5]):
            raise UnsupportedActionError(
                self.func, "showing/hiding a table's totals row changes its geometry"
            )

    def _do_resizeTable(self, action, args):
        ws, table = self._table(action, args)
        old = _table_geometry(table)
        new = _bounds(args[1])
        if new[0] != old[0] or not _overlaps(new, old[:4]):
            self.fail("a resized table must keep its header row and overlap the old range")
        for other in self._tables(ws):
            if other is not table and _overlaps(new, _bounds(other.ref)):
                self.fail(f"the new range overlaps the table {other.name!r}")
        if old[4]:
            self._normalize_headers(ws, new[0], new[1], new[3])
            columns = self._table_columns(ws, new[0], new[1], new[3], table.tableColumns)
        else:

            columns = [TableColumn(id=i, name=f"Column{i}") for i in range(1, new[3] - new[1] + 2)]
        table.ref = _coord(*new)
        table.tableColumns = columns
        if table.autoFilter is not None:
            table.autoFilter = AutoFilter(ref=_coord(new[0], new[1], new[2] - old[5], new[3]))

    # -- conditional formats and data validation --------------------------

    def _cf_entries(self, rect):
        """(ConditionalFormatting, rule) pairs intersecting rect, by priority."""
        entries = []
        for cf in rect.ws.conditional_formatting:
            if any(_overlaps(rect.bounds, t) for t in _range_tuples(cf.sqref)):
                entries.extend((cf, rule) for rule in cf.rules)
        return sorted(entries, key=lambda pair: pair[1].priority or 0)

    def _remove_conditional_formats(self, rect):
        ws = rect.ws
        old = list(ws.conditional_formatting)
        if not any(
            _overlaps(rect.bounds, t) for cf in old for t in _range_tuples(cf.sqref)
        ):
            return

        new = ConditionalFormattingList()
        for cf in old:
            remaining = [
                piece for t in _range_tuples(cf.sqref) for piece in _subtract(t, rect.bounds)
            ]
            if remaining:
                for rule in cf.rules:
                    new.add(_sqref(remaining), rule)
        new.max_priority = max([r.priority or 0 for cf in new for r in cf.rules] + [0])
        ws.conditional_formatting = new

    def _dxf(self, spec):
        font = None
        if any(spec.get(k) is not None for k in ("font_color", "font_bold", "font_italic")):
            font = Font(
                bold=spec.get("font_bold"),
                italic=spec.get("font_italic"),
                color=_argb(spec["font_color"]) if spec.get("font_color") else None,
            )
        fill = None
        if spec.get("fill_color"):
            argb = _argb(spec["fill_color"])
            fill = PatternFill(fill_type="solid", fgColor=argb, bgColor=argb)
        return font, fill

    @staticmethod
    def _strip_eq(formula):
        text = str(formula)
        return text[1:] if text.startswith("=") else text

    def _cf_rule(self, spec):
        kind = spec.get("type")
        stop = spec.get("stop_if_true") or None
        if kind == "CellValue":
            font, fill = self._dxf(spec)
            formulas = [self._strip_eq(spec["formula1"])]
            if spec.get("formula2") is not None:
                formulas.append(self._strip_eq(spec["formula2"]))
            return CellIsRule(
                operator=_CF_OPERATORS[spec["operator"]],
                formula=formulas,
                stopIfTrue=stop,
                font=font,
                fill=fill,
            )
        if kind == "Custom":
            font, fill = self._dxf(spec)
            return FormulaRule(
                formula=[self._strip_eq(spec["formula"])], stopIfTrue=stop, font=font, fill=fill
            )
        types = [_CF_THRESHOLDS.get(t, "min") for t in spec.get("threshold_types", [])]
        values = list(spec.get("thresholds", []))
        if kind == "ColorScale":
            colors = [_argb(c) for c in spec["colors"]]
            points = list(zip(types, values, colors))
            kwargs = {
                "start_type": points[0][0],
                "start_value": points[0][1],
                "start_color": points[0][2],
                "end_type": points[-1][0],
                "end_value": points[-1][1],
                "end_color": points[-1][2],
            }
            if len(points) == 3:
                kwargs.update(
                    mid_type=points[1][0], mid_value=points[1][1], mid_color=points[1][2]
                )
            return ColorScaleRule(**kwargs)
        if kind == "DataBar":
            if spec.get("gradient") is False:
                raise UnsupportedActionError(
                    self.func, "solid data bars need an Excel 2010 extension openpyxl can't write"
                )
            start_type = "min" if spec["threshold_types"][0] == "Automatic" else types[0]
            end_type = "max" if spec["threshold_types"][1] == "Automatic" else types[1]
            return DataBarRule(
                start_type=start_type,
                start_value=values[0],
                end_type=end_type,
                end_value=values[1],
                color=_argb(spec["bar_color"]),
                showValue=None if spec.get("show_value", True) else False,
            )
        if kind == "IconSet":
            icon = _CF_ICON_SETS.get(spec.get("icon_set"))
            if icon is None:
                raise UnsupportedActionError(
                    self.func, f"icon set {spec.get('icon_set')!r} needs an Excel 2010 extension"
                )
            threshold_type = types[0] if types else "percent"
            return IconSetRule(
                icon_style=icon,
                type=threshold_type,
                values=[0] + values,
                showValue=None if spec.get("show_value", True) else False,
                reverse=True if spec.get("reverse_order") else None,
            )
        raise UnsupportedActionError(self.func, f"conditional format type {kind!r}")

    def _do_addConditionalFormat(self, action, args):
        rect = self.rect(action)
        rule = self._cf_rule(args[0])
        ws = rect.ws
        for cf in ws.conditional_formatting:
            for existing in cf.rules:
                existing.priority = (existing.priority or 0) + 1
        rule.priority = 1
        ws.conditional_formatting.add(rect.coord, rule)
        ws.conditional_formatting.max_priority = max(
            [r.priority or 0 for cf in ws.conditional_formatting for r in cf.rules]
        )

    def _do_clearConditionalFormats(self, action, args):
        self._remove_conditional_formats(self.rect(action))

    def _cf_at(self, action, position):
        entries = self._cf_entries(self.rect(action))
        if not isinstance(position, int) or not 0 <= position < len(entries):
            self.fail(f"there's no conditional format at position {position!r}")
        return entries[position]

    def _check_cf_snapshot(self, position, rule, snapshot):
        """Like the Office.js client: the rule at position must be the one read.

        ConditionalFormat.delete()/set() address a rule by its position in the
        collection object it came from; a rule added through another Range
        object shifts Excel's positions, which the client reports as a change.
        """
        if not isinstance(snapshot, Mapping):
            return
        kinds = {"cellIs": "CellValue", "expression": "Custom", "colorScale": "ColorScale",
                 "dataBar": "DataBar", "iconSet": "IconSet"}
        actual = {"type": kinds.get(rule.type, rule.type)}
        formulas = list(rule.formula or [])
        if rule.type == "cellIs":
            operators = {v: k for k, v in _CF_OPERATORS.items()}
            actual["operator"] = operators.get(rule.operator, rule.operator)
            actual["formula1"] = formulas[0] if formulas else None
            actual["formula2"] = formulas[1] if len(formulas) > 1 else None
        elif rule.type == "expression":
            actual["formula"] = formulas[0] if formulas else None
        for key, value in actual.items():
            if key not in snapshot:
                continue
            expected = snapshot[key]
            if key.startswith("formula") and expected is not None:
                expected = self._strip_eq(expected)
            if (expected if expected is not None else None) != value:
                self.fail(f"conditional-format rule at position {position} changed since it was read")
        if snapshot.get("stop_if_true") is not None and bool(rule.stopIfTrue) != bool(snapshot["stop_if_true"]):
            self.fail(f"conditional-format rule at position {position} changed since it was read")

    def _do_deleteConditionalFormat(self, action, args):
        cf, rule = self._cf_at(action, args[0])
        self._check_cf_snapshot(args[0], rule, args[1] if len(args) > 1 else None)
        ws = self.rect(action).ws
        rules = ws.conditional_formatting._cf_rules[cf]
        rules.remove(rule)
        if not rules:
            del ws.conditional_formatting._cf_rules[cf]

    def _do_setConditionalFormat(self, action, args):
        position, expected, changes = args
        cf, rule = self._cf_at(action, position)
        self._check_cf_snapshot(position, rule, expected)
        kind = (expected or {}).get("type")
        if kind not in ("CellValue", "Custom"):
            raise UnsupportedActionError(self.func, f"changing {kind!r} rules")
        if kind == "CellValue":
            if "operator" in changes:
                rule.operator = _CF_OPERATORS[changes["operator"]]
            formulas = list(rule.formula)
            if changes.get("formula1") is not None:
                formulas[0:1] = [self._strip_eq(changes["formula1"])]
            if "formula2" in changes:
                formulas = formulas[:1] + (
                    [self._strip_eq(changes["formula2"])] if changes["formula2"] is not None else []
                )
            rule.formula = formulas
        elif "formula" in changes:
            rule.formula = [self._strip_eq(changes["formula"])]
        font, fill = self._dxf(changes)
        if font is not None:
            current = copy.copy(rule.dxf.font) if rule.dxf.font else Font()
            for attr, key in (("bold", "font_bold"), ("italic", "font_italic")):
                if changes.get(key) is not None:
                    setattr(current, attr, changes[key])
            if changes.get("font_color"):
                current.color = Color(rgb=_argb(changes["font_color"]))
            rule.dxf.font = current
        if fill is not None:
            rule.dxf.fill = fill
        if changes.get("stop_if_true") is not None:
            rule.stopIfTrue = changes["stop_if_true"]

    def _validations_in(self, rect):
        return [
            dv
            for dv in rect.ws.data_validations.dataValidation
            if any(_overlaps(rect.bounds, t) for t in _range_tuples(dv.sqref))
        ]

    def _remove_validation(self, rect):
        ws = rect.ws
        kept = []
        for dv in ws.data_validations.dataValidation:
            remaining = [p for t in _range_tuples(dv.sqref) for p in _subtract(t, rect.bounds)]
            if remaining:
                dv.sqref = MultiCellRange(_sqref(remaining))
                kept.append(dv)
        ws.data_validations.dataValidation = kept

    def _set_validation(self, rect, **rule):
        """Replace the rule of rect's cells, keeping prompts and error alerts.

        Like Office.js, this fails when the cells have different rules.
        """
        settings = {
            "allow_blank": True,
            "showErrorMessage": True,
            "showInputMessage": True,
            "errorStyle": None,
            "errorTitle": None,
            "error": None,
            "promptTitle": None,
            "prompt": None,
        }
        existing = self._validations_in(rect)
        if existing:
            uncovered = [rect.bounds]
            for t in _range_tuples(existing[0].sqref):
                uncovered = [p for u in uncovered for p in _subtract(u, t)]
            if len(existing) > 1 or uncovered:
                self.fail("the target cells have different validation rules")
            for key in settings:
                settings[key] = getattr(existing[0], key)
        self._remove_validation(rect)
        dv = DataValidation(**rule, **settings)
        dv.sqref = MultiCellRange(rect.coord)
        rect.ws.add_data_validation(dv)

    def _do_setDataValidationList(self, action, args):
        source, in_cell_dropdown = args
        rect = self.rect(action)
        kind = source.get("type")
        if kind == "literal":
            values = [str(v) for v in source["values"]]
            if any("," in v or ";" in v for v in values):
                self.fail("literal list values can't contain separators")
            formula1 = '"' + ",".join(values) + '"'
            if len(formula1) > 257:
                self.fail("a literal list can't exceed 255 characters")
        elif kind == "range":
            src_ws = self.sheet(source["sheet_position"])
            r0, c0 = source["start_row"] + 1, source["start_column"] + 1
            address = _abs_coord(r0, c0, r0 + source["row_count"] - 1, c0 + source["column_count"] - 1)
            formula1 = address if src_ws is rect.ws else f"{_quote_sheet(src_ws.title)}!{address}"
        elif kind == "name":
            formula1 = str(source["name"])
        else:
            raise HarnessError(f"{self.func}: unknown list source {kind!r}")
        self._set_validation(
            rect, type="list", formula1=formula1, showDropDown=not bool(in_cell_dropdown)
        )

    def _do_setDataValidationRule(self, action, args):
        spec = args[0]
        kind = _DV_TYPES.get(spec.get("type"))
        if kind is None:
            raise HarnessError(f"{self.func}: unknown validation type {spec.get('type')!r}")
        rule = {"type": kind, "formula1": self._strip_eq(spec["formula1"])}
        if kind != "custom":
            rule["operator"] = _DV_OPERATORS[spec["operator"]]
            if spec.get("formula2") is not None:
                rule["formula2"] = self._strip_eq(spec["formula2"])
        self._set_validation(self.rect(action), **rule)

    def _do_deleteDataValidation(self, action, args):
        self._remove_validation(self.rect(action))

    # -- application / book level ------------------------------------------

    def _do_alert(self, action, args):
        prompt, title, buttons, mode, callback = (
            ["" if a is None else str(a) for a in args] + [""] * 5
        )[:5]
        self.result.alerts.append(Alert(prompt, title, buttons, mode, callback))
        if self.client == OFFICE_SCRIPTS:
            # That client has no dialog: it throws the prompt, ending the run
            raise HarnessError(f"alert (raised by the Office Scripts client): {prompt}")

    def _do_runMacro(self, action, args):
        name = str(args[0])
        short = name.rsplit("!", 1)[-1]
        macro = self.macros.get(name) or self.macros.get(short)
        if macro is None:
            raise UnsupportedActionError(
                self.func, f"no Python stand-in for the macro {name!r} (pass macros={{...}})"
            )
        self.result.macros_run.append((name, list(args[1:])))
        macro(self.wb, *args[1:])

    def _do_setCalculation(self, action, args):
        mode = _CALCULATION.get(args[0])
        if mode is None:
            raise HarnessError(f"{self.func}: unknown calculation mode {args[0]!r}")
        self.wb.calculation.calcMode = mode

    def _do_calculate(self, action, args):
        # openpyxl can't calculate; make Excel recalculate when it opens the file
        self.wb.calculation.fullCalcOnLoad = True
        self.result.recorded.append((self.func, args))

    def _do_setScreenUpdating(self, action, args):
        self.result.recorded.append((self.func, args))

    def _do_save(self, action, args):
        self.result.recorded.append((self.func, args))


#: Actions apply_actions reproduces.
HANDLED_ACTIONS = frozenset(name[4:] for name in dir(_Applier) if name.startswith("_do_"))
#: Actions the engine can record that apply_actions rejects, with the reason.
UNSUPPORTED_ACTIONS: Mapping[str, str] = dict(_KNOWN_UNSUPPORTED)


def _estimate_width(cell) -> float:
    """Rough autofit width (OOXML units) of a cell's displayed text."""
    value = cell.value
    number_format = cell.number_format or "General"
    if isinstance(value, (dt.datetime, dt.date)):
        text = "0" * (19 if isinstance(value, dt.datetime) and value.time() != dt.time() else 10)
    elif isinstance(value, bool):
        text = "FALSE"
    elif isinstance(value, (int, float)):
        decimals = re.search(r"0\.(0+)", number_format)
        places = len(decimals.group(1)) if decimals else None
        number = value * 100 if "%" in number_format else value
        if places is not None:
            text = f"{number:,.{places}f}" if "," in number_format else f"{number:.{places}f}"
        elif number_format != "General" and "0" in number_format:
            text = f"{number:,.0f}" if "," in number_format else f"{number:.0f}"
        else:
            text = f"{number:.10g}"
        if "%" in number_format:
            text += "%"
    else:
        text = str(value)
    if cell.data_type == "f":
        text = "0" * 8  # the result is unknown without calculation
    longest = max(
        sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)
        for line in text.splitlines() or [""]
    )
    font = cell.font
    scale = (font.size or 11) / 11 * (1.1 if font.bold else 1.0)
    return round(longest * scale + 5 / 7, 2)


def _split_sheet_prefix(prefix: str) -> tuple[list[str], bool] | None:
    """Sheet names of a reference prefix (3-D references have two); None if external."""
    quoted = prefix.startswith("'") and prefix.endswith("'") and len(prefix) >= 2
    inner = prefix[1:-1].replace("''", "'") if quoted else prefix
    if "[" in inner:
        return None
    return inner.split(":"), quoted


def _rename_in_formula(formula: str, old: str, new: str | None) -> str:
    """Rename sheet references from old to new; new=None turns them into #REF!."""
    if not isinstance(formula, str) or not formula.startswith("=") or "!" not in formula:
        return formula
    try:
        tokens = Tokenizer(formula)
    except Exception:  # noqa: BLE001 - leave unparsable formulas alone
        return formula
    changed = False
    for token in tokens.items:
        if token.type != Token.OPERAND or token.subtype != Token.RANGE or "!" not in token.value:
            continue
        prefix, ref = token.value.rsplit("!", 1)
        parsed = _split_sheet_prefix(prefix)
        if parsed is None:
            continue
        names, _ = parsed
        if not any(name.casefold() == old.casefold() for name in names):
            continue
        if new is None:
            token.value = "#REF!" + ref
        else:
            renamed = ":".join(new if n.casefold() == old.casefold() else n for n in names)
            token.value = f"{_quote_sheet(renamed)}!{ref}"
        changed = True
    return tokens.render() if changed else formula

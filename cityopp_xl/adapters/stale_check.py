"""The workbook's own stale check: copies of the input tables on the Log, the formulas that
compare them with the inputs and warn on every output sheet, and reading them back."""

from __future__ import annotations

import re

from ..errors import Problem
from ..model import SheetTable, column_letter, quote_sheet
from ..pipeline import input_fingerprints
from ..provenance import TableCopy, stale_problems
from .layout import _SCORE_SHEET, SHEET_CITIES, SHEET_FRAMEWORK, SHEET_INDICATOR_SCORES, SHEET_LOG, SHEET_OVERALL, SHEET_PUBLISHED, SHEET_RANKS, SHEET_SETTINGS, SheetOutput, cell_text, data_sheet, _rect


#: Blank rows and columns copied around each input table, so that a city or a column added
#: next to a table counts as a change in the workbook's own stale check.
COPY_MARGIN_ROWS = 10


COPY_MARGIN_COLUMNS = 2


#: The workbook's warnings start with this text (and a conditional format turns them red).
ALERT_PREFIX = "Inputs"


STALE_WARNING = "Inputs changed since last Recalculate: "


STALE_UNCHECKED = "Inputs not checked (the Log sheet is missing or was edited): Recalculate. "


#: Log labels of the stale check.
LOG_STALE_SUMMARY = "inputs changed since this Recalculate"


LOG_STALE_HEADER = ["Stale check", "Changed cells", "Input table", "Copy on this sheet"]


def copy_table(sheet: str, rows: list[list], table: SheetTable) -> TableCopy:
    """The cells of an input table as a sheet's values hold them: the header row, the
    body, then :data:`COPY_MARGIN_ROWS` rows below and :data:`COPY_MARGIN_COLUMNS` columns
    to the right (blank unless something is there)."""
    header_row = table.first_row - 1
    width = len(table.frame.columns) + table.first_col - 1 + COPY_MARGIN_COLUMNS
    height = 1 + len(table.frame.index) + COPY_MARGIN_ROWS
    cells = []
    blank = (None,) * width
    for number in range(header_row - 1, header_row - 1 + height):
        part = rows[number][:width] if number < len(rows) else ()
        # A copy keeps what the cell showed: numbers, text, booleans, dates; NaN (the one
        # value not equal to itself) is a blank.
        cells.append(tuple(None if isinstance(value, float) and value != value else value for value in part) + blank[len(part) :])
    return TableCopy(sheet, header_row, tuple(cells))


def fingerprint_sheets(framework) -> dict[str, str]:
    """The sheet each input fingerprint comes from (see :func:`pipeline.input_fingerprints`)."""
    sheets = {"framework": SHEET_FRAMEWORK, "cities": SHEET_CITIES, "settings": SHEET_SETTINGS, "published": SHEET_PUBLISHED}
    for position, dimension in enumerate(framework.dimensions, start=1):
        sheets[dimension] = data_sheet(position)
    return sheets


def read_log(rows: list[list]) -> tuple[str, dict[str, str]]:
    """The run time and the input fingerprints a Log sheet recorded (its values from A1).

    Reads the item/value block under the ``Item`` header, down to its first blank row.
    Returns ``("", {})`` when the sheet holds no run log.
    """
    run_time, prints = "", {}
    started = False
    for row in rows:
        first = cell_text(row[0]) if row else ""
        if not started:
            started = first == "Item"
            continue
        if not first:
            break
        value = cell_text(row[1]) if len(row) > 1 else ""
        if first == "run time":
            run_time = value
        elif first.startswith("fingerprint: "):
            prints[first[len("fingerprint: "):]] = value
    return run_time, prints


def find_stale_problems(inputs, log_rows: list[list] | None) -> list[Problem]:
    """Warnings for the inputs changed since the run a Log sheet recorded, one per input
    sheet (``D3 data: inputs changed since the last Recalculate (...)``); none when there
    is no Log sheet (``log_rows`` None or empty)."""
    if not log_rows:
        return []
    run_time, stored = read_log(log_rows)
    return stale_problems(stored, input_fingerprints(inputs), run_time=run_time, where=fingerprint_sheets(inputs.framework))


def _reference(sheet: str, area: str, absolute: bool = False) -> str:
    if absolute:
        area = ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in area.split(":"))
    return f"{quote_sheet(sheet)}!{area}"


def _text_literal(text: str) -> str:
    """A text as a formula literal; Excel allows at most 255 characters in one literal."""
    text = text.replace('"', '""')
    parts = [text[i : i + 250] for i in range(0, len(text), 250)] or [""]
    return "&".join(f'"{part}"' for part in parts)


def alert_rule(cell: str) -> str:
    """The conditional-format formula (without "=") true while ``cell`` shows a warning."""
    column = "".join(ch for ch in cell if ch.isalpha())
    row = "".join(ch for ch in cell if ch.isdigit())
    return f'LEFT(${column}${row},{len(ALERT_PREFIX)})="{ALERT_PREFIX}"'


def add_stale_check(outputs: list[SheetOutput], inputs) -> None:
    """Give the workbook its own "inputs changed" warning, computed by native formulas.

    The Log gets a copy of every input table (cell for cell, as read) and, per input
    sheet, a formula counting the cells that differ from the copy,
    ``=IFERROR(SUMPRODUCT(1-EXACT(table&"",copy&"")),-1)`` (-1: the table cannot be
    compared, e.g. rows were inserted into it), and a summary cell naming the sheets whose
    count is not 0. Cell A3 of the Overall, score and Indicator scores sheets (the "Written
    by" line) becomes a formula that puts the warning in front of that line while the
    summary is not empty. Nothing is added when the inputs carry no table copies (they did
    not come from a workbook).
    """
    copies = list(getattr(inputs, "table_copies", {}).values())
    log = next((o for o in outputs if o.name == SHEET_LOG), None)
    if log is None or not copies:
        return
    rows = [list(r) for r in log.cells]
    rows.append([])
    rows.append(list(LOG_STALE_HEADER))
    header = len(rows)
    # The values under the formulas are what they show while nothing changed (a file
    # writer saves them as the formulas' cached values).
    rows.append([LOG_STALE_SUMMARY, "", "up to date"])
    summary = f"B{len(rows)}"
    first_count = len(rows) + 1
    placed = []
    top = first_count + len(copies) + 2  # after the count rows, a blank row and a title
    for copy in copies:
        top += 1  # the copy's own title row
        area = f"A{top}:{column_letter(max(copy.width, 1))}{top + copy.height - 1}"
        placed.append((copy, area))
        top += copy.height + 1
    formulas = {}
    for offset, (copy, area) in enumerate(placed):
        row = first_count + offset
        rows.append([copy.sheet, 0, _reference(copy.sheet, copy.area), _reference(SHEET_LOG, area)])
        formulas[f"B{row}"] = f'=IFERROR(SUMPRODUCT(1-EXACT({_reference(copy.sheet, copy.area)}&"",{_reference(SHEET_LOG, area)}&"")),-1)'
    names = "&".join(f'IF(B{first_count + k}<>0,{_text_literal(", " + copy.sheet)},"")' for k, (copy, _) in enumerate(placed))
    formulas[summary] = f"=MID({names},3,2000)"
    status = f"C{header + 1}"
    formulas[status] = f'=IF({summary}="","up to date",{_text_literal(STALE_WARNING)}&{summary})'
    rows.append([])
    rows.append(["Copies of the input tables at this Recalculate (the stale check compares each input table with its copy)"])
    titles = [len(rows)]
    for copy, area in placed:
        rows.append([f"Copy of {_reference(copy.sheet, copy.area)}"])
        titles.append(len(rows))
        rows += [list(r) for r in copy.cells]
        rows.append([])
    log.cells = _rect(rows)
    log.bold = log.bold + [f"A{header}:D{header}"] + [f"A{t}:A{t}" for t in titles]
    log.formula_cells = {**log.formula_cells, **formulas}
    log.alert_cells = log.alert_cells + [status]
    warning_of = _reference(SHEET_LOG, summary, absolute=True)
    for output in outputs:
        if output.name not in (SHEET_OVERALL, SHEET_RANKS, SHEET_INDICATOR_SCORES) and not _SCORE_SHEET.fullmatch(output.name):
            continue
        stamp = cell_text(output.cells[2][0]) if len(output.cells) > 2 and output.cells[2] else ""
        stamp_literal = _text_literal(stamp)
        output.formula_cells = {
            **output.formula_cells,
            "A3": f'=IFERROR(IF({warning_of}="",{stamp_literal},{_text_literal(STALE_WARNING)}&{warning_of}'
            f'&{_text_literal(". These sheets are out of date: Recalculate. ")}&{stamp_literal}),{_text_literal(STALE_UNCHECKED)}&{stamp_literal})',
        }
        output.alert_cells = output.alert_cells + ["A3"]

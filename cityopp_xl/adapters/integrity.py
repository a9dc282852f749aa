"""Checks of a workbook's sheets that both adapters share (files through openpyxl, a live
Excel book through xlwings): sheet size limits, merged cells and hidden rows in input
tables, and output sheets edited by hand.

Decisions (documented in the README, "Reliability"):

* **Size.** A sheet whose used range has more than :data:`MAX_SHEET_ROWS` rows or
  :data:`MAX_SHEET_COLUMNS` columns is refused before its cells are read: no edition has
  more than a few hundred cities or indicators, and reading a million mostly empty rows
  would take minutes and gigabytes. The usual cause is a stray value far below the data.
* **Merged cells** in an input table (its header row and body) are an error naming the
  range: only the top-left cell of a merged range holds a value, so the other cities or
  columns of the range would silently read as blank. Merged cells above the table (a
  title, the row of variable names on a data sheet) are fine.
* **Hidden rows and columns** in an input table are read like any other, with a warning
  naming them, so nobody is surprised by values they cannot see.
* **Edited output sheets.** Every Recalculate records, at the end of the Log sheet, a
  fingerprint of the values it wrote on each output sheet (plus a short digest per row
  and per column, to name the first edited cell). When a later run finds an owned sheet
  whose values no longer match, it warns, naming the sheet and the first changed cell,
  that the hand edits are replaced; scoring goes on. The Log and Problems sheets are not
  fingerprinted (the Log holds the fingerprints; Problems is rewritten by Validate), nor
  are sheets written as live formulas (their values change whenever the spreadsheet
  recalculates). The score sheets and Overall of values mode hold formulas too (the audit
  trail): their cached values, what every reader gets back, are fingerprinted, so a score
  typed over a formula is detected; the cells of the stale check's formulas are left out.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import math
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from ..errors import CityOppError, Problem
from ..model import SheetTable, column_letter, column_number
from . import layout

#: Largest used range of any sheet, in rows and columns (see the module docstring).
MAX_SHEET_ROWS = 100_000
MAX_SHEET_COLUMNS = 1_000


class SheetTooLargeError(CityOppError):
    """Raised when a sheet's used range is over :data:`MAX_SHEET_ROWS` or :data:`MAX_SHEET_COLUMNS`."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def size_problem(sheet: str, rows: int, columns: int, first: str = "A1") -> Problem | None:
    """The problem with a sheet whose used range ends at ``rows`` × ``columns``, or None."""
    if rows <= MAX_SHEET_ROWS and columns <= MAX_SHEET_COLUMNS:
        return None
    return Problem(
        f"{sheet}!{first}:{column_letter(max(columns, 1))}{max(rows, 1)}",
        f"a used range of {rows:,} rows and {columns:,} columns (often a stray value or format far below or right of the data)",
        f"at most {MAX_SHEET_ROWS:,} rows and {MAX_SHEET_COLUMNS:,} columns per sheet: delete the empty rows and columns after the data",
    )


def check_sheet_size(sheet: str, rows: int, columns: int) -> None:
    """Raise :class:`SheetTooLargeError` when a sheet's used range is over the limits."""
    problem = size_problem(sheet, rows, columns)
    if problem is not None:
        raise SheetTooLargeError(problem)


# --------------------------------------------------------------------------- merged and hidden


@dataclass(frozen=True)
class TableRange:
    """An Excel table (a ListObject) on a sheet: its range, header row included
    (1-based, inclusive), and how many totals rows end it."""

    min_row: int
    min_col: int
    max_row: int
    max_col: int
    totals_rows: int = 0


@dataclass(frozen=True)
class SheetFeatures:
    """What a sheet's values alone do not show: merged ranges (``min_row, min_col,
    max_row, max_col``, 1-based), hidden rows and hidden columns (1-based numbers), and
    the Excel tables on the sheet (where an input table ends, and its totals row)."""

    merged: tuple[tuple[int, int, int, int], ...] = ()
    hidden_rows: tuple[int, ...] = ()
    hidden_columns: tuple[int, ...] = ()
    tables: tuple[TableRange, ...] = ()

    def table_at(self, row: int, column: int) -> TableRange | None:
        """The Excel table whose header row holds the cell (``row``, ``column``), if any."""
        for table in self.tables:
            if table.min_row == row and table.min_col <= column <= table.max_col:
                return table
        return None


def _runs(numbers: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def find_layout_problems(table: SheetTable, features: SheetFeatures) -> list[Problem]:
    """Merged cells (errors) and hidden rows or columns (warnings) inside an input table:
    its header row, its body and its columns."""
    top = table.first_row - 1
    bottom = table.first_row + max(len(table.frame.index), 1) - 1
    left = table.first_col
    right = table.first_col + max(len(table.frame.columns), 1) - 1
    problems: list[Problem] = []
    for min_row, min_col, max_row, max_col in sorted(features.merged):
        if max_row < top or min_row > bottom or max_col < left or min_col > right:
            continue
        area = f"{column_letter(min_col)}{min_row}:{column_letter(max_col)}{max_row}"
        problems.append(
            Problem(
                f"{table.sheet}!{area}",
                f"merged cells {area} in the table (only the top-left cell holds a value; the others read as blank)",
                "one value per cell: unmerge the cells and fill each one",
            )
        )
    for first, last in _runs(r for r in features.hidden_rows if top <= r <= bottom):
        rows = f"row {first}" if first == last else f"rows {first}-{last}"
        problems.append(
            Problem(
                f"{table.sheet}!{column_letter(left)}{first}:{column_letter(right)}{last}",
                f"hidden {rows} in the table (read like any other row)",
                "visible rows, so that every value scored can be seen (scoring goes on)",
                "warning",
            )
        )
    for first, last in _runs(c for c in features.hidden_columns if left <= c <= right):
        columns = f"column {column_letter(first)}" if first == last else f"columns {column_letter(first)}-{column_letter(last)}"
        problems.append(
            Problem(
                f"{table.sheet}!{column_letter(first)}{top}:{column_letter(last)}{bottom}",
                f"hidden {columns} in the table (read like any other column)",
                "visible columns, so that every value scored can be seen (scoring goes on)",
                "warning",
            )
        )
    return problems


# --------------------------------------------------------------------------- edited output sheets

#: Header of the block of output fingerprints at the end of the Log sheet.
FINGERPRINT_HEADER = ("Output sheet", "Fingerprint of its values", "Row digests", "Column digests", "Cells left out (formulas)", "Fingerprint of its formats")
_DIGEST = 4  # hex characters per row or column digest
_CELL_LIMIT = 32_000  # longest text a cell holds (Excel: 32,767 characters)
_A1 = re.compile(r"([A-Z]+)(\d+)")


def _canonical(value) -> str:
    """A cell value as comparable text, the same whichever way it was read back: numbers
    to 12 significant digits (a float written and read through Excel or openpyxl compares
    equal), whitespace collapsed, blanks as ""."""
    kind = type(value)
    if value is None:
        return ""
    if kind is int:
        return f"{value:.12g}" if abs(value) >= 10**12 else str(value)
    if kind is str:
        return " ".join(value.split())
    if kind is float:
        return "" if value != value else f"{value + 0.0:.12g}"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return str(value)
        if math.isnan(number):
            return ""
        return f"{number + 0.0:.12g}"
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return " ".join(str(value).split())


class _Collapsed(dict):
    """Each text with its whitespace collapsed (as :func:`_canonical` makes it), made once
    per text: the same city names and labels fill many cells."""

    def __missing__(self, text: str) -> str:
        collapsed = self[text] = " ".join(text.split())
        return collapsed


def _grid(rows: list[list], skip: Iterable[str] = ()) -> list[list[str]]:
    # Whole numbers (most cells of the score sheets), texts and blanks inline, as
    # _canonical makes them: a call per cell is a third of the time on 2.8 million cells.
    canonical, limit, text, texts = _canonical, 10**12, str, _Collapsed()
    grid = [
        [
            (str(v) if -limit < v < limit else canonical(v))
            if type(v) is int
            else (texts[v] if type(v) is text else ("" if v is None else canonical(v)))
            for v in row
        ]
        for row in rows
    ]
    for cell in skip:
        match = _A1.fullmatch(cell)
        if not match:
            continue
        letters, number = match.groups()
        col = column_number(letters)
        row = int(number)
        if row <= len(grid) and col <= len(grid[row - 1]):
            grid[row - 1][col - 1] = ""
    for row in grid:
        while row and row[-1] == "":
            row.pop()
    while grid and not grid[-1]:
        grid.pop()
    return grid


def _hash(parts: Iterable[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _joined_rows(grid: list[list[str]]) -> list[str]:
    """Each row of ``grid`` as the one text its digest and the sheet's fingerprint hash."""
    return ["\x1f".join(row) for row in grid]


def _row_digests(grid: list[list[str]]) -> list[str]:
    return _digests_of(_joined_rows(grid))


def _digests_of(joined: list[str]) -> list[str]:
    return [hashlib.sha256(row.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST] for row in joined]


def _column_digests(grid: list[list[str]]) -> list[str]:
    digests = []
    for column in itertools.zip_longest(*grid, fillvalue=""):
        end = len(column)
        while end and column[end - 1] == "":
            end -= 1
        digests.append(_hash(column[:end])[:_DIGEST])
    return digests


def sheet_fingerprint(rows: list[list], skip: Iterable[str] = ()) -> str:
    """A fingerprint of a sheet's values (16 hex characters), ignoring trailing blanks
    and the cells in ``skip`` (A1 references)."""
    return _grid_fingerprint(_grid(rows, skip))


def _grid_fingerprint(grid: list[list[str]]) -> str:
    return _fingerprint_of(_joined_rows(grid))


def _fingerprint_of(joined: list[str]) -> str:
    return _hash("\x1e".join(row) for row in joined)[:16]


def fingerprinted(output: layout.SheetOutput) -> bool:
    """Whether an output sheet gets a fingerprint (not the Log, Problems, or live formulas)."""
    return output.name not in (layout.SHEET_LOG, layout.SHEET_PROBLEMS) and not output.live


def shown_values(output: layout.SheetOutput) -> list[list]:
    """The values a reader of the written sheet gets back: a formula cell's cached value
    (:attr:`layout.SheetOutput.formula_values`) in place of its formula text."""
    computed = output.formula_values
    if not output.formulas or not computed:
        return output.cells
    shown = []
    for r, row in enumerate(output.cells):
        cached = computed[r] if r < len(computed) else []
        shown.append(
            [
                (cached[c] if c < len(cached) else None) if isinstance(value, str) and value.startswith("=") else value
                for c, value in enumerate(row)
            ]
        )
    return shown


def add_output_fingerprints(outputs: list[layout.SheetOutput]) -> None:
    """Append the block of output fingerprints to the Log sheet's cells (at the end, so
    nothing already on the Log moves)."""
    log = next((o for o in outputs if o.name == layout.SHEET_LOG), None)
    if log is None:
        return
    rows = [[], list(FINGERPRINT_HEADER)]
    header = len(log.cells) + len(rows)
    for output in outputs:
        if output is log:
            continue
        if not fingerprinted(output):
            rows.append([output.name, "", "", "", "", format_fingerprint(output)])
            continue
        skip = sorted(getattr(output, "formula_cells", {}) or {})
        grid = _grid(shown_values(output), skip)
        joined = _joined_rows(grid)  # each row joined once, for its digest and the fingerprint
        row_digests, column_digests = "".join(_digests_of(joined)), "".join(_column_digests(grid))
        rows.append(
            [
                output.name,
                _fingerprint_of(joined),  # sheet_fingerprint of the grid just made
                row_digests if len(row_digests) <= _CELL_LIMIT else "",
                column_digests if len(column_digests) <= _CELL_LIMIT else "",
                ",".join(skip),
                format_fingerprint(output),
            ]
        )
    log.cells = layout.extended_rect(log.cells, rows)
    log.bold = list(log.bold) + [f"A{header}:F{header}"]


def format_fingerprint(output: layout.SheetOutput) -> str:
    """A fingerprint (16 hex characters) of everything an output sheet is written with
    but its values: its extent, fonts, number formats, wraps, alignments, merges,
    conditional formats, column widths, row heights, panes, print settings and page
    breaks, links, notes and tab colour.

    Excel rewrites a sheet whose format fingerprint is the one on the Log by its values
    alone (the formats it holds are those this run would write); see
    :meth:`cityopp_xl.adapters.book.ExcelFront.write`.
    """
    parts = (
        len(output.cells),
        max((len(row) for row in output.cells), default=0),
        output.title_size,
        output.bold,
        output.wrap,
        sorted(output.number_formats.items()),
        output.color_scales,
        output.heatmaps,
        output.rank_scales,
        output.alert_cells,
        sorted(output.widths.items()),
        output.align_right,
        output.merged,
        sorted(output.row_heights.items()),
        output.freeze,
        output.print_area,
        output.print_title_rows,
        output.print_title_columns,
        output.pages_wide,
        output.pages_tall,
        output.orientation,
        output.formulas,
        sorted(output.formula_cells),
        sorted(output.links.items()),
        sorted(output.notes.items()),
        output.tab_color,
        output.row_breaks,
    )
    return _hash([repr(parts)])[:16]


def read_format_fingerprints(log_rows: list[list]) -> dict[str, str]:
    """The format fingerprints recorded on a Log sheet, by output sheet (empty when the
    Log has none: written by an earlier version)."""
    header = [h.casefold() for h in FINGERPRINT_HEADER]
    found: dict[str, str] = {}
    start = None
    for number, row in enumerate(log_rows):
        if len(row) >= len(header) and [layout.cell_text(v).casefold() for v in row[: len(header)]] == header:
            start = number + 1
    if start is None:
        return found
    for row in log_rows[start:]:
        cells = [layout.cell_text(v) for v in row] + [""] * len(header)
        if not cells[0]:
            break
        if re.fullmatch(r"[0-9a-f]{16}", cells[5]):
            found[cells[0]] = cells[5]
    return found


@dataclass(frozen=True)
class StoredFingerprint:
    """One output sheet's record on the Log."""

    fingerprint: str
    row_digests: tuple[str, ...]
    column_digests: tuple[str, ...]
    skip: tuple[str, ...]


def find_stamped_outputs(names: Iterable[str], values_of: Callable[[str], list[list]]) -> set[str]:
    """The sheets named like output sheets that show they were written by cityopp-xl,
    whatever wrote them (a file run, Excel, an earlier version): the stamp in their first
    rows (:func:`layout.has_legacy_stamp`), or, for a sheet whose stamp is a formula a
    reader may not see the value of, a line in the fingerprint block of a stamped Log."""
    candidates = [name for name in names if layout.is_owned(name)]
    stamped = {name for name in candidates if layout.has_legacy_stamp(values_of(name))}
    if layout.SHEET_LOG in stamped:
        listed = read_output_fingerprints(values_of(layout.SHEET_LOG))
        stamped |= {name for name in candidates if name in listed}
    return stamped


def read_output_fingerprints(log_rows: list[list]) -> dict[str, StoredFingerprint]:
    """The output fingerprints recorded on a Log sheet (empty when there are none)."""
    found: dict[str, StoredFingerprint] = {}
    header = [h.casefold() for h in FINGERPRINT_HEADER[:2]]
    start = None
    for number, row in enumerate(log_rows):
        if len(row) >= 2 and [layout.cell_text(v).casefold() for v in row[:2]] == header:
            start = number + 1
    if start is None:
        return found
    for row in log_rows[start:]:
        cells = [layout.cell_text(v) for v in row] + [""] * 5
        name, fingerprint = cells[0], cells[1]
        if not name:
            break
        if not re.fullmatch(r"[0-9a-f]{16}", fingerprint):
            continue

        def chunks(text: str) -> tuple[str, ...]:
            return tuple(text[i : i + _DIGEST] for i in range(0, len(text), _DIGEST)) if re.fullmatch(r"[0-9a-f]*", text) else ()

        skip = tuple(c.strip() for c in cells[4].split(",") if c.strip())
        found[name] = StoredFingerprint(fingerprint, chunks(cells[2]), chunks(cells[3]), skip)
    return found


def _first_change(stored: StoredFingerprint, rows: list[list]) -> tuple[str, int]:
    """The first changed cell (A1) and the number of changed rows, from the digests."""
    grid = _grid(rows, stored.skip)
    empty = _hash([])[:_DIGEST]
    now_rows, now_columns = _row_digests(grid), _column_digests(grid)
    if not stored.row_digests:
        return "A1", 0
    height = max(len(now_rows), len(stored.row_digests))
    changed_rows = [
        i for i in range(height)
        if (now_rows[i] if i < len(now_rows) else empty) != (stored.row_digests[i] if i < len(stored.row_digests) else empty)
    ]
    width = max(len(now_columns), len(stored.column_digests))
    changed_columns = [
        j for j in range(width)
        if (now_columns[j] if j < len(now_columns) else empty) != (stored.column_digests[j] if j < len(stored.column_digests) else empty)
    ]
    # Exact for an edit confined to one row; with several rows edited, the first changed
    # row and the first changed column.
    row = changed_rows[0] + 1 if changed_rows else 1
    column = changed_columns[0] + 1 if changed_columns else 1
    return f"{column_letter(column)}{row}", len(changed_rows)


def find_edited_outputs(sheet_names: Iterable[str], values_of: Callable[[str], list[list]]) -> list[Problem]:
    """Warnings for output sheets whose values changed since the run recorded on the Log.

    ``values_of`` returns a sheet's values from A1 (the same reader as the input sheets).
    """
    names = list(sheet_names)
    if layout.SHEET_LOG not in names:
        return []
    stored = read_output_fingerprints(values_of(layout.SHEET_LOG))
    problems: list[Problem] = []
    for name in names:
        record = stored.get(name)
        if record is None or not layout.is_owned(name):
            continue
        rows = values_of(name)
        if sheet_fingerprint(rows, record.skip) == record.fingerprint:
            continue
        cell, count = _first_change(record, rows)
        differ = f"{count} row{'s differ' if count != 1 else ' differs'}" if count else "its values differ"
        problems.append(
            Problem(
                f"{name}!{cell}",
                f"an output sheet edited by hand since the last Recalculate ({differ} from the fingerprint on the {layout.SHEET_LOG} sheet)",
                "output sheets left as cityopp-xl wrote them: Recalculate replaces the edits (keep notes on a sheet of your own; scoring goes on)",
                "warning",
            )
        )
    return problems

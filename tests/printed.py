"""What a printed page of a workbook shows, estimated from the saved sheets, for tests.

``cut_cells(path)`` lists every printed cell whose text would be cut off on paper: a text
wider than its column and the empty cells to its right inside the print area, a number
wider than its column (Excel prints ###), a wrapped text with a word longer than its
column or more lines than its row is tall. Widths are estimated as
:func:`cityopp_xl.adapters.printing.text_lines` estimates them when it sizes rows.
"""

from __future__ import annotations

import re

import openpyxl
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries

from cityopp_xl.adapters import printing


def _shown(value, number_format: str) -> str:
    """The text a number shows in its format (the formats the add-in writes)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if not isinstance(value, (int, float)):
        return str(value)
    sections = (number_format or "General").split(";")
    code = sections[1] if value < 0 and len(sections) > 1 else sections[2] if value == 0 and len(sections) > 2 else sections[0]
    if value < 0 and len(sections) > 1:
        value = -value
    if not any(c in code for c in "0#?") and code != "General":
        return code.replace('"', "")  # a literal (a dot for a bar, or nothing)
    decimals = len(code.split(".")[1].rstrip("%")) if "." in code else (0 if code != "General" else None)
    if "%" in code:
        value *= 100
    if decimals is None:
        text = f"{value:.10g}"
    else:
        text = f"{value:,.{decimals}f}" if "," in code else f"{value:.{decimals}f}"
    return text + ("%" if "%" in code else "") + ("+" if code.startswith("+") else "")


def _print_box(sheet) -> tuple[int, int, int, int]:
    area = sheet.print_area
    if area:
        first = area.split(",")[0].split("!")[-1].replace("$", "")
        return range_boundaries(first)
    return 1, 1, sheet.max_column, sheet.max_row


def cut_cells(path) -> list[str]:
    book = openpyxl.load_workbook(path)
    found = []
    for sheet in book.worksheets:
        left, top, right, bottom = _print_box(sheet)
        width_of = {c: sheet.column_dimensions[get_column_letter(c)].width or printing.DEFAULT_WIDTH for c in range(1, right + 1)}
        merged = {}
        for area in sheet.merged_cells.ranges:
            merged[(area.min_row, area.min_col)] = sum(width_of.get(c, printing.DEFAULT_WIDTH) for c in range(area.min_col, area.max_col + 1))
            for row in range(area.min_row, area.max_row + 1):
                for column in range(area.min_col, area.max_col + 1):
                    if (row, column) != (area.min_row, area.min_col):
                        merged[(row, column)] = None
        rows = list(sheet.iter_rows(min_row=top, max_row=min(bottom, sheet.max_row), min_col=left, max_col=right))
        for row in rows:
            for cell in row:
                value = cell.value
                if value is None or merged.get((cell.row, cell.column), 0) is None:
                    continue
                if isinstance(value, str) and value.startswith("="):
                    continue  # a formula: its value is checked where it is computed
                text = _shown(value, cell.number_format)
                fill = printing.WRAP_FILL if cell.font.b else printing.NOTE_FILL
                where = f"{sheet.title}!{cell.coordinate}"
                width = merged.get((cell.row, cell.column)) or width_of[cell.column]
                if cell.alignment.wrap_text:
                    longest = max((len(word) for word in re.split(r"[\s-]+", text)), default=0)
                    lines = printing.text_lines(text, width, fill)
                    height = sheet.row_dimensions[cell.row].height or printing.LINE_HEIGHT
                    if longest > width or lines * printing.LINE_HEIGHT > height + 0.5:
                        found.append(f"{where}: {text[:40]!r} needs {lines} lines in a row {height:g} pt tall")
                    continue
                if isinstance(value, (int, float)):
                    if len(text) > width:
                        found.append(f"{where}: {text!r} wider than its column ({width:g})")
                    continue
                # Text runs on over the empty cells to its right, inside the print area.
                column = cell.column + 1
                while (cell.row, cell.column) not in merged and column <= right and sheet.cell(row=cell.row, column=column).value is None:
                    width += width_of[column]
                    column += 1
                if printing.text_lines(text.replace("\n", " "), width, fill) > 1 or "\n" in text:
                    found.append(f"{where}: {text[:40]!r} wider than the {width:g} characters it has")
    return found

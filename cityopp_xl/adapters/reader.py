"""From the values of a workbook's sheets to checked :class:`~cityopp_xl.validate.Inputs`.

Shared by the openpyxl adapter (files) and the xlwings adapter (a live Excel book): each
gives a function returning one sheet's values as a 2-D list (one bulk read per sheet).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

import pandas as pd

from ..datanotes import find_note_problems, published_addresses, read_transcription_notes
from ..errors import Problem
from ..model import Settings, framework_from_table, settings_from_table
from ..validate import CellAddresses, Inputs, find_nothing_to_score, match_city_rows, read_cities, read_dimension_values, read_published
from . import layout, stale_check
from .integrity import SheetFeatures, SheetTooLargeError, find_edited_outputs, find_layout_problems

SheetValues = Callable[[str], list[list]]


def read_inputs(
    sheet_names: Iterable[str],
    values_of: SheetValues,
    features_of: Callable[[str], SheetFeatures] | None = None,
    *,
    unchanged_outputs: Iterable[str] = (),
) -> tuple[Inputs | None, list[Problem]]:
    """Read and check every input sheet.

    Parameters
    ----------
    sheet_names : the workbook's sheet names.
    values_of : returns a sheet's values from A1 as a list of rows; may raise
        :class:`~.integrity.SheetTooLargeError` for a sheet over the size limits.
    features_of : optional; a sheet's merged ranges, hidden rows and columns and Excel
        tables (:class:`~.integrity.SheetFeatures`): merged cells in an input table are an
        error, hidden rows and columns a warning; an Excel table bounds its input table
        and its totals row is skipped.
    unchanged_outputs : output sheets known to be exactly as the add-in wrote them (a
        file front end compares each part with its record): not read for hand edits.

    Returns
    -------
    (Inputs or None, problems): None when an error blocks scoring; every problem names
    its sheet and cell.
    """
    names = list(sheet_names)
    problems: list[Problem] = []
    cache: dict[str, list[list]] = {}
    copies: dict = {}  # sheet → TableCopy, for the workbook's stale check and diffs

    def rows_of(sheet: str) -> list[list]:
        if sheet not in cache:
            cache[sheet] = values_of(sheet) or []
        return cache[sheet]

    def table(sheet: str, first_header: str, required: bool = True):
        if sheet not in names:
            if required:
                problems.append(missing_sheet_problem(sheet, names))
            return None
        try:
            rows = rows_of(sheet)
        except SheetTooLargeError as exc:
            problems.append(exc.problem)
            return None
        features = features_of(sheet) if features_of is not None else None
        found = layout.find_table(sheet, rows, first_header, features.tables if features is not None else ())
        if found is not None and features is not None:
            problems.extend(find_layout_problems(found, features))
        if found is None:
            problems.append(layout.missing_table_problem(sheet, first_header))
        else:
            copies[sheet] = stale_check.copy_table(sheet, rows_of(sheet), found)
        return found

    framework_table = table(layout.SHEET_FRAMEWORK, layout.FIRST_HEADERS[layout.SHEET_FRAMEWORK])
    cities_table = table(layout.SHEET_CITIES, layout.FIRST_HEADERS[layout.SHEET_CITIES])
    framework = None
    if framework_table is not None:
        framework, found = framework_from_table(framework_table)
        problems += found
    cities: list[str] = []
    if cities_table is not None:
        cities, found = read_cities(cities_table)
        problems += found
    settings = Settings()
    settings_table = table(layout.SHEET_SETTINGS, layout.FIRST_HEADERS[layout.SHEET_SETTINGS], required=False)
    if settings_table is not None:
        settings, found = settings_from_table(settings_table)
        problems += found
    if framework is None or not cities:
        return None, problems

    frames, addresses, column_addresses = [], CellAddresses(), {}
    for position, dimension in enumerate(framework.dimensions, start=1):
        sheet = layout.data_sheet(position)
        data = table(sheet, layout.DATA_FIRST_HEADER)
        if data is None:
            continue
        first = rows_of(sheet)[0] if rows_of(sheet) else []
        title = layout.cell_text(first[0] if first else None)
        if title and title != dimension:
            problems.append(Problem(f"{sheet}!A1", f"the title '{title}'", f"'{dimension}', dimension {position} of the Framework sheet (data sheets follow the framework's dimension order)"))
        frame, where, column_where, found = read_dimension_values(data, framework, dimension, cities)
        problems += found
        frames.append(frame)
        addresses.update(where)
        column_addresses.update(column_where)
    published, where_published = None, {}
    published_table = table(layout.SHEET_PUBLISHED, layout.FIRST_HEADERS[layout.SHEET_PUBLISHED], required=False)
    if published_table is not None:
        published, found = read_published(published_table, framework, cities)
        problems += found
        where_published = published_addresses(published_table, framework, match_city_rows(published_table, cities)[0])
    notes = None
    notes_table = table(layout.SHEET_TRANSCRIPTION, layout.FIRST_HEADERS[layout.SHEET_TRANSCRIPTION], required=False)
    if notes_table is not None:
        notes, found = read_transcription_notes(notes_table, framework, cities)
        problems += found

    def output_rows(sheet: str) -> list[list]:
        try:
            return rows_of(sheet)
        except SheetTooLargeError:
            return []  # an oversized output sheet is simply replaced

    unchanged = set(unchanged_outputs)
    if any(layout.is_owned(n) and n not in unchanged for n in names):
        problems += find_edited_outputs([n for n in names if n not in unchanged or n == layout.SHEET_LOG], output_rows)
    if len(frames) == len(framework.dimensions):
        values = pd.concat(frames, axis=1)
        sheets = f"{layout.data_sheet(1)} to {layout.data_sheet(len(frames))}" if len(frames) > 1 else layout.data_sheet(1)
        problems += find_nothing_to_score(values, sheets)
    if any(p.blocking for p in problems) or len(frames) != len(framework.dimensions):
        return None, problems
    inputs = Inputs(framework, values, settings, published, addresses, column_addresses, table_copies=copies, notes=notes, published_addresses=where_published)
    return inputs, problems + find_note_problems(inputs)


def missing_sheet_problem(sheet: str, names: list[str]) -> Problem:
    """A required sheet that is not in the workbook, naming a sheet that looks renamed."""
    import difflib  # only when a sheet is missing

    def loose(name: str) -> str:
        return "".join(name.split()).casefold()

    # Only a sheet that is not itself a sheet the workbook format names can be the renamed one.
    spare = [n for n in names if not layout.is_owned(n) and n not in layout.INPUT_SHEETS and not re.fullmatch(r"D\d+ data", n)]
    near = [n for n in spare if loose(n) == loose(sheet)] or difflib.get_close_matches(sheet, spare, n=1, cutoff=0.75)
    if near:
        return Problem(sheet, f"no sheet '{sheet}', but a sheet '{near[0]}' (renamed?)", f"a sheet named exactly '{sheet}'")
    return Problem(sheet, f"no sheet '{sheet}'", f"a sheet named '{sheet}' (sheets: {', '.join(names)})")

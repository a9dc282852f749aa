"""Data notes: every published figure the workbook does not take as printed.

Three kinds, each tied to the cell it concerns:

- the team's transcription notes (the optional input table ``Transcription notes``): a
  figure of the printed report that the workbook takes otherwise (a garbled token read as
  another number, a value absent from the report's text derived from its row total, a
  block of rows whose labels were shifted);
- published figures inconsistent with their own published components (an overall score
  that is not the sum of its printed dimension totals), found in the reconciliation;
- pre-scored columns that break their declared rule (the warning scoring gives).

Pure: tables and pipelines in, frames and problems out (the cells are named by the
addresses the readers recorded).
"""

from __future__ import annotations

import math

import pandas as pd

from .errors import Problem
from .model import Framework, SheetTable, _text, column_values, tuples
from .scoring import expected_under_rule

#: The columns of the transcription notes table (``note``, ``city`` and ``what`` required).
NOTE_COLUMNS = ["note", "table", "city", "figure", "printed", "taken", "what", "evidence"]
REQUIRED_NOTE_COLUMNS = ("note", "city", "what")
#: ``table`` of a note on the report's overall table (otherwise a dimension's name).
OVERALL_TABLE = "Overall"
#: ``figure`` values naming the published overall score and rank (a dimension's name names
#: its published total; a variable's name its pre-scored input column).
PUBLISHED_FIGURES = {"overall": "overall", "overall rank": "overall_rank", "overall_rank": "overall_rank"}

KIND_TRANSCRIPTION = "transcription"
KIND_INCONSISTENT = "published inconsistent"
KIND_PRESCORED = "pre-scored rule"
#: Columns of :func:`find_data_notes`.
DATA_NOTE_COLUMNS = ["kind", "note", "city", "figure", "cell", "computed", "printed", "uses", "why"]


def read_transcription_notes(table: SheetTable, framework: Framework, cities: list[str]) -> tuple[pd.DataFrame, list[Problem]]:
    """Read the transcription notes table.

    One row per figure (or per city row) a note concerns: ``note`` (its id), ``table``
    (the report's table: a dimension's name or ``Overall``), ``city``, ``figure`` (a
    variable's name: its input cell; a dimension's name, ``overall`` or ``overall rank``:
    the Published sheet's cell; blank: the city's whole row of that table), ``printed``
    (the token as printed, blank when absent from the report's text), ``taken`` (the
    number the workbook takes; required with a figure), ``what`` and ``evidence`` (on a
    note's first row; its further rows may leave them blank).

    Returns
    -------
    (DataFrame with :data:`NOTE_COLUMNS` plus ``row`` (the sheet cell of the note's id),
    problems). Every problem is an error naming the cell: a note that cannot be tied to
    a cell would make the Data notes sheet incomplete.
    """
    frame = table.frame
    headers = {_text(h).casefold(): h for h in frame.columns}
    problems: list[Problem] = []
    missing = [c for c in REQUIRED_NOTE_COLUMNS if c not in headers]
    if missing:
        problems.append(Problem(table.header_row_address(), f"no column {', '.join(repr(c) for c in missing)}", f"the columns {', '.join(NOTE_COLUMNS)}"))
        return pd.DataFrame(columns=NOTE_COLUMNS + ["row"]), problems
    cells = {name: column_values(frame, headers[name]) if name in headers else {} for name in NOTE_COLUMNS}
    known_cities = set(cities)
    variables = {v.name for v in framework.variables}
    dimensions = set(framework.dimensions)
    tables = ", ".join(["Overall", *framework.dimensions])
    rows = []
    said: dict[str, tuple[str, str]] = {}  # note id → its what and evidence (from its first row)
    for row in frame.index:
        values = {name: cells[name].get(row) if cells[name] else None for name in NOTE_COLUMNS}
        texts = {name: _text(value) for name, value in values.items()}
        if not any(texts.values()):
            continue

        def where(name: str) -> str:
            return table.address(row, headers[name]) if name in headers else table.address(row)

        found = len(problems)
        if not texts["note"]:
            problems.append(Problem(where("note"), "a blank note id", "the note's id (e.g. E-2)"))
        if texts["city"] not in known_cities:
            problems.append(Problem(where("city"), f"'{texts['city']}'" if texts["city"] else "a blank city", "a city of the Cities sheet, spelled exactly as there"))
        if not texts["what"] and texts["note"] in said:  # a further cell of a note: its text is on its first row
            texts["what"], texts["evidence"] = said[texts["note"]]
        if not texts["what"]:
            problems.append(Problem(where("what"), "a blank 'what'", "what was printed and what the workbook takes instead (on the note's first row at least)"))
        elif texts["note"] not in said:
            said[texts["note"]] = (texts["what"], texts["evidence"])
        table_name = texts["table"] or OVERALL_TABLE
        if table_name not in dimensions and table_name != OVERALL_TABLE:
            problems.append(Problem(where("table"), f"'{table_name}'", f"the report's table the note concerns: {tables}"))
        figure = texts["figure"]
        if figure and figure not in variables and figure not in dimensions and figure.casefold() not in PUBLISHED_FIGURES:
            problems.append(Problem(where("figure"), f"'{figure}'", "a variable's name, a dimension's name (its published total), 'overall' or 'overall rank', or blank for the city's whole row"))
        taken = math.nan
        if figure:
            value = values["taken"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
                try:
                    taken = float(str(value).strip()) if value is not None and str(value).strip() else math.nan
                except ValueError:
                    taken = math.nan
                if math.isnan(taken):
                    problems.append(Problem(where("taken"), f"'{texts['taken']}'" if texts["taken"] else "a blank cell", "the number the workbook takes for the figure"))
            else:
                taken = float(value)
        if len(problems) > found:
            continue
        if figure.casefold() in PUBLISHED_FIGURES:
            figure = PUBLISHED_FIGURES[figure.casefold()]
        rows.append([texts["note"], table_name, texts["city"], figure, texts["printed"], taken, texts["what"], texts["evidence"], where("note")])
    return pd.DataFrame(rows, columns=NOTE_COLUMNS + ["row"]), problems


def published_addresses(table: SheetTable, framework: Framework, rows: dict) -> dict:
    """(city, published column) → A1 reference of the Published sheet's cell, for the
    cities matched to a row (``rows``: city → table row)."""
    headers = {_text(h).casefold(): h for h in table.frame.columns}
    where = {}
    for name in [*framework.dimensions, "overall", "overall_rank"]:
        header = headers.get(name.casefold())
        if header is None:
            continue
        for city, cell in table.addresses(rows, header).items():
            where[(city, name)] = cell
    return where


class _Cells:
    """``frame.at[row, column]`` for many cells of one frame: its rows' positions and each
    column's array are read once (``at`` runs pandas' indexing machinery for every cell)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.plain = frame.index.is_unique and frame.columns.is_unique
        self.rows: dict | None = None
        self.columns: dict = {}

    def __getitem__(self, key):
        row, column = key
        if not self.plain:
            return self.frame.at[row, column]
        if self.rows is None:
            self.rows = {label: i for i, label in enumerate(self.frame.index.tolist())}
            # A frame of one dtype (the data, the published figures) is read as one
            # array, its columns sliced from it: a column selected by label is a Series.
            if len(set(self.frame.dtypes.tolist())) == 1:
                block = self.frame.to_numpy()
                self.columns = {label: block[:, i] for i, label in enumerate(self.frame.columns)}
        values = self.columns.get(column)
        if values is None:
            values = self.columns[column] = self.frame[column].to_numpy()
        return values[self.rows[row]]


def _cells_of(frame: pd.DataFrame, cells: dict | None) -> "_Cells | pd.DataFrame":
    """What reads ``frame``'s cells as ``[row, column]``: its :class:`_Cells`, kept in
    ``cells`` (by frame) for the next call, or the frame's own ``at`` without ``cells``."""
    if cells is None:
        return frame.at
    found = cells.get(id(frame))
    if found is None or found.frame is not frame:
        found = cells[id(frame)] = _Cells(frame)
    return found


def _row_cells(inputs, table_name: str, city: str, cells: dict | None = None) -> tuple[str | None, list]:
    """The cells of ``city``'s whole row of a report table: the dimension's input columns,
    or, for the overall table, the published overall score (the row's sum, which the
    overall table's notes are confirmed by)."""
    framework = inputs.framework
    if table_name == OVERALL_TABLE:
        columns = ["overall"] if (city, "overall") in inputs.published_addresses else []
        addresses, frame = inputs.published_addresses, inputs.published
    else:
        columns = [c for c in framework.input_columns(table_name) if (city, c) in inputs.addresses]
        addresses, frame = inputs.addresses, inputs.values
    if not columns or frame is None:
        return None, []
    first, last = addresses[(city, columns[0])], addresses[(city, columns[-1])]
    cell = first if first == last else f"{first}:{last.split('!')[-1]}"
    at = _cells_of(frame, cells)
    return cell, [at[city, c] for c in columns]


def _figure_cell(inputs, city: str, figure: str, cells: dict | None = None) -> tuple[str | None, float]:
    """The input cell holding ``figure`` of ``city`` and the value the workbook reads there."""
    if figure in inputs.values.columns:
        return inputs.addresses.get((city, figure)), float(_cells_of(inputs.values, cells)[city, figure])
    published = inputs.published
    if published is not None and figure in published.columns:
        return inputs.published_addresses.get((city, figure)), float(_cells_of(published, cells)[city, figure])
    return None, math.nan


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "blank"
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def find_note_problems(inputs) -> list[Problem]:
    """Warnings for notes that do not match the workbook: a figure whose input cell is
    missing (a variable that is not pre-scored, a column not on the Published sheet), or
    whose cell holds another number than the note says the workbook takes."""
    notes = inputs.notes
    problems = []
    if notes is None:
        return problems
    cells: dict = {}
    for note in tuples(notes):
        if not note.figure:
            continue
        cell, value = _figure_cell(inputs, note.city, note.figure, cells)
        if cell is None:
            problems.append(Problem(note.row, f"note {note.note} concerns '{note.figure}' of {note.city}, which has no input cell in this workbook", "a pre-scored variable or a column of the Published sheet", "warning"))
        elif not (value == note.taken or (math.isnan(value) and math.isnan(note.taken))):
            problems.append(Problem(note.row, f"note {note.note} says the workbook takes {_number(note.taken)} for '{note.figure}' of {note.city}, but {cell} holds {_number(value)}", "the note and the cell agreeing (correct one of them)", "warning"))
    return problems


def find_data_notes(pipeline, reconciliation: pd.DataFrame) -> pd.DataFrame:
    """Every published figure the workbook does not take as printed, one row each.

    Returns
    -------
    DataFrame with :data:`DATA_NOTE_COLUMNS`, transcription notes first (in table order),
    then inconsistent published figures (figure order, then city order), then pre-scored
    columns that break their rule. ``cell``: the input cell (``D1 data!C7``, or a row's
    range) holding what the workbook uses, or None when ``computed`` names the figure the
    workbook computes instead (on the score sheets and Overall). ``printed`` and ``uses``:
    texts (a number as the report prints it; a row's numbers joined by ", "), shown side
    by side and aligned alike.
    """
    inputs = pipeline.inputs
    rows = []
    cells: dict = {}
    if inputs.notes is not None:
        explained: set[str] = set()
        for note in tuples(inputs.notes):
            # A note's text once, on its first row (a note of five rows would print it five times).
            if note.note in explained:
                why = f"Part of note {note.note} (above)."
            else:
                explained.add(note.note)
                what = note.what if note.what.endswith(".") else note.what + "."
                why = what + (f" Evidence: {note.evidence}" if note.evidence else "")
            if note.figure:
                cell, value = _figure_cell(inputs, note.city, note.figure, cells)
                figure = "overall rank" if note.figure == "overall_rank" else note.figure
                rows.append([KIND_TRANSCRIPTION, note.note, note.city, figure, cell, None, note.printed or "absent", _number(value), why])
            else:
                cell, values = _row_cells(inputs, note.table, note.city, cells)
                figure = "its overall table row: overall" if note.table == OVERALL_TABLE else "its row"
                uses = ", ".join(_number(v) for v in values)
                rows.append([KIND_TRANSCRIPTION, note.note, note.city, figure, cell, None, note.printed or "garbled row", uses, why])
    if len(reconciliation):
        from .reconcile import PUBLISHED_INCONSISTENT

        inconsistent = reconciliation[reconciliation["status"] == PUBLISHED_INCONSISTENT]
        for row in tuples(inconsistent):
            column = "overall_rank" if row.figure == "overall rank" else row.figure
            printed_at = inputs.published_addresses.get((row.city, column))
            parts = "the rank of its printed overall score" if row.figure == "overall rank" else (
                "its printed dimension totals add up to" if row.figure == "overall" else "its printed variable scores add up to"
            )
            why = (
                f"The report prints {_number(row.published)}{f' ({printed_at})' if printed_at else ''}, but {parts} {_number(row.published_components)}; "
                f"the workbook computes {_number(row.computed)} from them."
            )
            rows.append([KIND_INCONSISTENT, None, row.city, row.figure, None, row.figure, _number(row.published), _number(row.computed), why])
    framework = pipeline.framework
    prescored_names = [v.name for v in framework.variables if v.prescored]
    if prescored_names:
        given = pipeline["raw"][prescored_names].fillna(1).astype("int64")
        for mismatch in pipeline.mismatches:  # found by scoring, on these given scores
            variable = next(v for v in framework.variables if v.name == mismatch.variable)
            scores = given[mismatch.variable]
            if mismatch.rule == "tiers":
                expected = None
            else:
                expected = expected_under_rule(scores, variable.ties, len(variable.indicators) == 1)
            # The highest given score that its rule would not give: where the column breaks.
            order = {c: i for i, c in enumerate(scores.index.tolist())}
            city = max(mismatch.cities, key=lambda c: (scores[c], -order[c]))
            rule = f"its rule gives {_number(expected[city])}" if expected is not None else "not in its points table"
            why = f"Scored 'ties {mismatch.rule}', the column could not have come from its rule: {city} {_number(scores[city])} ({rule}); {mismatch.detail}. Scoring takes the given scores."
            rows.append([KIND_PRESCORED, None, city, mismatch.variable, inputs.addresses.get((city, mismatch.variable)), None, _number(scores[city]), _number(scores[city]), why])
    return pd.DataFrame(rows, columns=DATA_NOTE_COLUMNS)

"""The Data notes sheet: every published figure the workbook does not take as printed,
each row linked to the cell that holds what the workbook uses (see :mod:`cityopp_xl.datanotes`)."""

from __future__ import annotations

import collections

import pandas as pd

from ..datanotes import KIND_INCONSISTENT, KIND_PRESCORED, KIND_TRANSCRIPTION, find_data_notes
from ..model import quote_sheet, tuples
from ..pipeline import Pipeline
from . import layout, printing

HEADER = ["Kind", "Note", "City", "Figure", "Cell", "Printed", "Workbook uses", "Why"]
HEADER_ROW = 4
#: Column widths (characters): the explanations wrap in the last column.
WIDTHS = {"A": 22, "B": 14, "C": 14, "D": 38, "E": 19, "F": 19, "G": 20, "H": 66}


def link_place(reference: str) -> str:
    """A reader's reference (``D1 data!C7``, ``D1 data!B7:F7``) as a link's place inside
    the workbook (``'D1 data'!C7``)."""
    sheet, _, cells = reference.rpartition("!")
    return f"{quote_sheet(sheet)}!{cells}"


def computed_cell(outputs: list[layout.SheetOutput], pipeline: Pipeline, city: str, figure: str) -> str | None:
    """The cell of an output sheet holding the figure the workbook computes for ``city``:
    a dimension's total on its score sheet, or the overall score or rank on Overall (found
    in the rendered sheet by its ``City`` and ``Total``/``Rank`` headers)."""
    dimensions = list(pipeline.framework.dimensions)
    sheet = layout.score_sheet(dimensions.index(figure) + 1) if figure in dimensions else layout.SHEET_OVERALL
    output = next((o for o in outputs if o.name == sheet), None)
    if output is None:
        return None
    wanted = "Rank" if figure == "overall rank" else "Total"
    for header_row, row in enumerate(output.cells[: layout.HEADER_SEARCH_ROWS], start=1):
        if len(row) > 1 and row[1] == "City" and wanted in row:
            column = row.index(wanted) + 1
            for number in range(header_row + 1, len(output.cells) + 1):
                if output.cells[number - 1][1] == city:
                    return f"{sheet}!{layout.column_letter(column)}{number}"
    return None


def render_data_notes(
    pipeline: Pipeline, reconciliation: pd.DataFrame, outputs: list[layout.SheetOutput], run_time: str, after: str
) -> layout.SheetOutput | None:
    """The Data notes sheet, or None when the workbook takes every published figure as
    printed (no transcription notes, no inconsistent published figure, no pre-scored
    column breaking its rule). ``outputs``: the sheets rendered so far (the score sheets
    and Overall), whose cells the rows of computed figures link to."""
    notes = find_data_notes(pipeline, reconciliation)
    if notes.empty:
        return None
    # Each transcription note's first row (with the note's text) first, then the further
    # cells of the notes (one line each), then the other kinds: the rows that wrap stand
    # together (in Excel, each block of wrapped rows is one call, each row's height another).
    # (The rows as tuples, ordered and counted in plain Python: filtered frames and their
    # concatenation took 0.002 s of a Recalculate of the 2025 master.)
    records = list(tuples(notes))
    transcriptions = [r for r in records if r.kind == KIND_TRANSCRIPTION]
    further = [isinstance(r.why, str) and r.why.startswith("Part of note ") for r in transcriptions]
    records = (
        [r for r, part in zip(transcriptions, further) if not part]
        + [r for r, part in zip(transcriptions, further) if part]
        + [r for r in records if r.kind != KIND_TRANSCRIPTION]
    )
    counts = collections.Counter(r.kind for r in records)
    transcribed = counts[KIND_TRANSCRIPTION]
    noted = len({r.note for r in transcriptions if r.note is not None and r.note == r.note})  # nunique: blanks not counted
    said = []
    if transcribed:
        said.append(
            f"{transcribed} {'cell' if transcribed == 1 else 'cells'} of {noted} transcription {'note' if noted == 1 else 'notes'} (the Transcription "
            "notes sheet: figures of the printed report's tables garbled, merged or shifted in its text and taken otherwise)"
        )
    kinds = (
        (KIND_INCONSISTENT, "published figure inconsistent with its own published components", "published figures inconsistent with their own published components"),
        (KIND_PRESCORED, "pre-scored column that breaks its declared rule", "pre-scored columns that break their declared rule"),
    )
    for kind, one, many in kinds:
        count = counts[kind]
        if count:
            said.append(f"{count} {one if count == 1 else many}")
    listing = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    rows = [
        ["Data notes: published figures the workbook does not take as printed"],
        [f"Listed: {listing}. Each row links to the cell that holds what the workbook uses."],
        [layout._stamp(run_time)],
        HEADER,
    ]
    links: dict[str, str] = {}
    for record in records:
        cell = record.cell if isinstance(record.cell, str) else None
        if cell is None and isinstance(record.computed, str):
            cell = computed_cell(outputs, pipeline, record.city, record.computed)
        number = len(rows) + 1
        if cell is not None:
            links[f"E{number}"] = link_place(cell)
        rows.append([record.kind, record.note, record.city, record.figure, cell, record.printed, record.uses, record.why])
    last = len(rows)
    # Only rows with a text longer than its column wrap (and get a height of their own):
    # a note's text is on its first row, the rows after it fit one line.
    widths = [WIDTHS[layout.column_letter(c)] for c in range(1, len(HEADER) + 1)]
    wrapped: list[list[int]] = []  # runs of wrapped rows, [first, last]
    for number, row in enumerate(rows[HEADER_ROW - 1 :], start=HEADER_ROW):
        if any(isinstance(v, str) and printing.text_lines(v, w) > 1 for v, w in zip(row, widths)):
            if wrapped and wrapped[-1][1] == number - 1:
                wrapped[-1][1] = number
            else:
                wrapped.append([number, number])
    return layout.SheetOutput(
        name=layout.SHEET_DATA_NOTES,
        after=after,
        cells=layout._rect(rows),
        bold=[f"A{HEADER_ROW}:H{HEADER_ROW}"],
        widths=dict(WIDTHS),
        wrap=[f"A{first}:H{end}" for first, end in wrapped],
        freeze=f"A{HEADER_ROW + 1}",
        print_title_rows=f"{HEADER_ROW}:{HEADER_ROW}",
        links=links,
        tab_color=layout.TAB_COLORS["audit"],
    )

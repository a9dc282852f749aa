"""Sheet checks both adapters share (adapters/integrity.py): output sheets edited by hand,
merged cells and hidden rows in input tables, the sheet size limits. The edited-sheet
check gives the same answer whether a sheet was written and read back by the command line
(openpyxl) or by the Excel add-in (xlwings), in either order."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from fixture_helpers import type_over
from remote_harness import apply_actions, run_macro

from cityopp_xl.adapters import book as book_adapter
from cityopp_xl.adapters import layout
from cityopp_xl.adapters.integrity import (
    SheetFeatures,
    add_output_fingerprints,
    find_edited_outputs,
    find_layout_problems,
    sheet_fingerprint,
    size_problem,
)
from cityopp_xl.adapters.xlsx import recalc_file, validate_file
from cityopp_xl.model import SheetTable

RUN_TIME = "2026-01-01T12:00:00+00:00"


def edited(problems):
    return [str(p) for p in problems if "edited by hand" in p.found]


def excel_recalc(path, out):
    run = run_macro(path, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record")
    apply_actions(path, run, out)
    return run


# --------------------------------------------------------------------------- fingerprints


def test_fingerprints_ignore_how_values_come_back():
    written = [["Title"], [None], ["Rank", "City", "Score"], [1, "Ava", 7], [2, "Bel", 6.5], [3, "Cor  x", -0.0]]
    read_back = [["Title", None, None], [None, None, None], ["Rank", "City", "Score"], [1.0, "Ava", 7.0], [2.0, "Bel", 6.500000000000001], [3.0, "Cor x", 0.0], [None, None, None]]
    assert sheet_fingerprint(written) == sheet_fingerprint(read_back)
    assert sheet_fingerprint(written) != sheet_fingerprint([*written[:3], [1, "Ava", 8], *written[4:]])
    # Formula cells are left out: Excel shows their result, not the formula written.
    assert sheet_fingerprint([["=A2"], [1]], ["A1"]) == sheet_fingerprint([["up to date"], [1]], ["A1"])


def test_the_first_edited_cell_is_named():
    outputs = [
        layout.SheetOutput("D1 scores", "D1 data", [["Alpha: scores"], ["note"], ["stamp"], ["Rank", "City", "A"], [1, "Ava", 7], [2, "Bel", 6]]),
        layout.SheetOutput(layout.SHEET_LOG, "Overall", [["Run log"]]),
    ]
    add_output_fingerprints(outputs)
    sheets = {o.name: o.cells for o in outputs}
    sheets["D1 scores"] = [list(r) for r in sheets["D1 scores"]]
    assert find_edited_outputs(sheets, sheets.__getitem__) == []
    sheets["D1 scores"][5][2] = 99
    assert [p.where for p in find_edited_outputs(sheets, sheets.__getitem__)] == ["D1 scores!C6"]
    sheets["D1 scores"].append([None, "my note"])
    (problem,) = find_edited_outputs(sheets, sheets.__getitem__)
    assert problem.where == "D1 scores!B6" and "2 rows differ" in problem.found and problem.severity == "warning"


def test_a_clean_rerun_reports_no_edit(fixture_copy, tmp_path):
    recalc_file(fixture_copy, run_time=RUN_TIME)
    _, problems, _ = validate_file(fixture_copy)
    assert edited(problems) == []


@pytest.mark.parametrize("first", ["cli", "excel"])
def test_the_add_in_and_the_command_line_agree_on_edits(first, fixture_copy, tmp_path):
    scored = tmp_path / "scored.xlsx"
    if first == "cli":
        recalc_file(fixture_copy, scored, run_time=RUN_TIME)
    else:
        excel_recalc(fixture_copy, scored)
    # Untouched: neither adapter sees an edit, whichever wrote the sheets.
    assert edited(validate_file(scored)[1]) == []
    assert edited(book_adapter.read_book(run_macro(scored, lambda book: None).book)[1]) == []
    # Edited: both name the same cell, and Recalculate in Excel lists it on the Problems sheet.
    type_over(scored, "Overall", "C6", 1)  # as Excel saves it: the other formulas keep their values
    expected = edited(validate_file(scored)[1])
    assert len(expected) == 1 and expected[0].startswith("Overall!C6: an output sheet edited by hand")
    again = tmp_path / "again.xlsx"
    excel_recalc(scored, again)
    problems = [list(r) for r in openpyxl.load_workbook(again)[layout.SHEET_PROBLEMS].iter_rows(min_row=5, values_only=True)]
    assert [f"{r[0]}: {r[1]}, expected {r[2]}" for r in problems if "edited by hand" in str(r[1])] == expected


# --------------------------------------------------------------------------- merged and hidden


def table() -> SheetTable:
    frame = pd.DataFrame([["Ava", 1, 2], ["Bel", 3, 4], ["Cor", 5, 6]], columns=["city", "a1 x", "a2 y"])
    return SheetTable("D1 data", frame, first_row=5)  # header on row 4, body rows 5-7, columns A-C


def test_merged_cells_inside_the_table_are_errors_outside_are_fine():
    features = SheetFeatures(merged=((1, 1, 1, 3), (3, 2, 3, 3), (6, 2, 7, 2), (4, 2, 4, 3), (9, 1, 10, 2)))
    assert [(p.where, p.severity) for p in find_layout_problems(table(), features)] == [
        ("D1 data!B4:C4", "error"),
        ("D1 data!B6:B7", "error"),
    ]


def test_hidden_rows_and_columns_are_warnings_grouped_in_runs():
    features = SheetFeatures(hidden_rows=(2, 5, 6, 9), hidden_columns=(3, 7))
    assert [(p.where, p.found.split(" in the table")[0], p.severity) for p in find_layout_problems(table(), features)] == [
        ("D1 data!A5:C6", "hidden rows 5-6", "warning"),
        ("D1 data!C4:C7", "hidden column C", "warning"),
    ]


def test_size_limits():
    assert size_problem("Notes", 100_000, 1_000) is None
    assert size_problem("Notes", 100_001, 3).where == "Notes!A1:C100001"
    assert size_problem("Notes", 10, 1_001).where == "Notes!A1:ALM10"


def test_a_table_ends_where_its_excel_table_ends_and_skips_its_totals_row():
    from cityopp_xl.adapters.integrity import TableRange

    rows = [
        ["Title"],
        ["city", "a1 Output", None, "Notes"],
        ["Ava", 1, None, "checked"],
        ["Bel", 3, 7, None],
        ["Total", 4, 7, None],
        [None, None, None, "a note under the table"],
    ]
    table = layout.find_table("D1 data", rows, "city", (TableRange(2, 1, 5, 3, totals_rows=1),))
    # The blank header inside the Excel table is labelled "" (named by its cell, C2); the
    # note column beside it and the totals row are not part of the table.
    assert list(table.frame.columns) == ["city", "a1 Output", ""]
    assert table.frame["city"].tolist() == ["Ava", "Bel"]
    assert table.header_address("") == "D1 data!C2"
    # Without an Excel table: the table ends before the first blank header.
    plain = layout.find_table("D1 data", rows, "city")
    assert list(plain.frame.columns) == ["city", "a1 Output"]
    assert plain.frame["city"].tolist() == ["Ava", "Bel", "Total"]

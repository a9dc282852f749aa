"""The Data notes sheet: every published figure the 2025 master does not take as printed
(the transcription notes carried in by the build script, Zhongshan's inconsistent overall
score, the pre-scored column that breaks its rule), each linked to the cell holding what
the workbook uses; and the Transcription notes input table's checks."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from cityopp_xl.adapters import layout, render
from cityopp_xl.adapters.xlsx import recalc_file
from cityopp_xl.datanotes import KIND_INCONSISTENT, KIND_PRESCORED, KIND_TRANSCRIPTION, read_transcription_notes
from cityopp_xl.model import SheetTable, framework_from_table

RUN_TIME = "2025-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def master_run(tmp_path_factory):
    """(the Data notes output of a Recalculate of the shipped master, the written workbook)."""
    from conftest import MASTER

    out = tmp_path_factory.mktemp("datanotes") / "scored.xlsm"
    outcome = recalc_file(MASTER, out, run_time=RUN_TIME)
    outputs = render.render_outputs(outcome.pipeline, outcome.problems, run_time=RUN_TIME, source=out.name)
    (notes,) = [o for o in outputs if o.name == layout.SHEET_DATA_NOTES]
    return notes, outputs, openpyxl.load_workbook(out, data_only=True)


def rows_of(output: layout.SheetOutput) -> list[tuple[int, dict]]:
    header = output.cells.index(["Kind", "Note", "City", "Figure", "Cell", "Printed", "Workbook uses", "Why"]) + 1
    return [(number, dict(zip(output.cells[header - 1], row))) for number, row in enumerate(output.cells[header:], start=header + 1)]


def linked_values(book, place: str) -> list:
    sheet, _, cells = place.rpartition("!")
    sheet = sheet.strip("'").replace("''", "'")
    found = book[sheet][cells]
    if isinstance(found, tuple):  # a range: one row of cells
        return [cell.value for row in found for cell in row]
    return [found.value]


def test_every_transcription_note_of_the_edition_is_listed(master_run, shared_data):
    notes, _, _ = master_run
    csv = pd.read_csv(shared_data / "transcription_notes.csv", dtype=str, keep_default_na=False)
    # 29 rows: two are header lines of the report's text holding a stray token ("not data",
    # no figure); the other 27 are notes on figures. Two of those share the id 'O-note'.
    on_figures = csv[csv["confirmed_by"] != "not data"]
    assert (len(csv), len(on_figures)) == (29, 27)
    listed = [row["Note"] for _, row in rows_of(notes) if row["Kind"] == KIND_TRANSCRIPTION]
    assert len(dict.fromkeys(listed)) == 27
    bases = {re.sub(r" \d+$", "", n) for n in listed}
    assert bases == set(on_figures["id"])
    # Every city the notes' blocks list is on a row of its note.
    for note in on_figures.itertuples():
        for part in filter(None, (p.strip() for p in note.rows.split(";"))):
            city = part.split("=")[0]
            assert any(row["Note"] == note.id and row["City"] == city for _, row in rows_of(notes)), (note.id, city)


def test_every_row_links_to_the_cell_holding_what_the_workbook_uses(master_run):
    notes, _, book = master_run
    rows = rows_of(notes)
    assert len(rows) > 27
    for number, row in rows:
        place = notes.links[f"E{number}"]
        sheet = place.rpartition("!")[0].strip("'")
        assert sheet in book.sheetnames
        values = linked_values(book, place)
        # The numbers the row says the workbook uses (a whole row's joined by ", ").
        assert all(isinstance(v, int) for v in values), (number, values)
        assert ", ".join(str(v) for v in values) == row["Workbook uses"], (number, row)
        assert row["Cell"] == place.replace("'", ""), (number, place)


def test_the_notes_say_what_was_printed_and_what_is_taken(master_run):
    notes, _, _ = master_run
    rows = {(r["Note"], r["City"], r["Figure"]): r for _, r in rows_of(notes)}
    yancheng = rows[("E-2", "Yancheng", "Number of brand companies")]
    assert (yancheng["Printed"], yancheng["Workbook uses"]) == ("11", "1")
    assert re.fullmatch(r"D1 data!E\d+", yancheng["Cell"])
    changsha = rows[("TI-1", "Changsha", "R&D investment intensity")]
    assert (changsha["Printed"], changsha["Workbook uses"]) == ("49", "40")
    harbin = rows[("UR-1", "Harbin", "Smart governance capacity")]
    assert (harbin["Printed"], harbin["Workbook uses"]) == ("43", "4")
    weihai = rows[("TI-3", "Weihai", "Innovative enterprises")]
    assert (weihai["Printed"], weihai["Workbook uses"]) == ("absent", "10")
    chongqing = rows[("OD-1", "Chongqing", "Open Development")]
    assert (chongqing["Printed"], chongqing["Workbook uses"]) == ("209", "206")
    assert chongqing["Cell"].startswith("Published!")
    # A note's text is given once, on its first row.
    first = rows[("E-1", "Xi'an", "Per capita economic output")]
    assert first["Why"].startswith("5 rows scrambled") and "Evidence:" in first["Why"]
    assert rows[("E-1", "Dongguan", "its row")]["Why"] == "Part of note E-1 (above)."
    order = [r["Note"] for _, r in rows_of(notes) if r["Kind"] == KIND_TRANSCRIPTION]
    assert order[:27] == list(dict.fromkeys(order)) and rows_of(notes)[27][1]["Why"].startswith("Part of note")


def test_zhongshan_and_the_prescored_rule_are_listed(master_run):
    notes, _, book = master_run
    rows = [(n, r) for n, r in rows_of(notes) if r["Kind"] != KIND_TRANSCRIPTION]
    assert [(r["Kind"], r["City"], r["Figure"]) for _, r in rows] == [
        (KIND_INCONSISTENT, "Zhongshan", "overall"),
        (KIND_PRESCORED, "Nantong", "Per capita consumption expenditure"),
    ]
    (number, zhongshan), (_, prescored) = rows
    assert (zhongshan["Printed"], zhongshan["Workbook uses"]) == ("1062", "1066")
    assert notes.links[f"E{number}"].startswith("Overall!")
    assert "add up to 1066" in zhongshan["Why"]
    # Nantong's 35 follows two cities tied at 36: the rule gives 34.
    assert (prescored["Printed"], prescored["Workbook uses"]) == ("35", "35")
    assert "its rule gives 34" in prescored["Why"] and "36 shared by Zhongshan, Zhaoqing" in prescored["Why"]


def test_the_sheet_is_placed_and_printed_as_an_audit_sheet(master_run):
    notes, outputs, book = master_run
    names = [o.name for o in outputs]
    assert names.index(layout.SHEET_DATA_NOTES) == names.index(layout.SHEET_RECONCILIATION) + 1
    assert notes.after == layout.SHEET_RECONCILIATION
    assert book.sheetnames.index(layout.SHEET_DATA_NOTES) == book.sheetnames.index(layout.SHEET_RECONCILIATION) + 1
    assert book.sheetnames.index(layout.SHEET_LOG) == book.sheetnames.index(layout.SHEET_DATA_NOTES) + 1
    assert notes.print_title_rows == "4:4" and notes.tab_color == layout.TAB_COLORS["audit"]
    assert notes.cells[1][0] == (
        "Listed: 85 cells of 27 transcription notes (the Transcription notes sheet: figures of the printed report's tables garbled, merged or shifted in its text "
        "and taken otherwise), 1 published figure inconsistent with its own published components and 1 pre-scored column that breaks its declared rule. "
        "Each row links to the cell that holds what the workbook uses."
    )
    assert notes.wrap and notes.widths["H"] >= 60 and len(notes.row_heights) < 45
    # The written sheet holds the rendered values.
    written = [list(r) for r in book[layout.SHEET_DATA_NOTES].iter_rows(min_row=5, values_only=True)]
    assert [r[:7] for r in written] == [r[:7] for r in notes.cells[4:]]
    assert layout.SHEET_DATA_NOTES in layout.FIXED_OUTPUT_SHEETS and layout.is_owned(layout.SHEET_DATA_NOTES)


def test_without_the_notes_table_the_master_still_recalculates(tmp_path):
    from conftest import MASTER

    book = openpyxl.load_workbook(MASTER)
    del book[layout.SHEET_TRANSCRIPTION]
    plain = tmp_path / "no-notes.xlsx"
    book.save(plain)
    outcome = recalc_file(plain, tmp_path / "out.xlsx", run_time=RUN_TIME)
    assert not [p for p in outcome.problems if p.blocking]
    assert outcome.pipeline.inputs.notes is None
    scored = openpyxl.load_workbook(tmp_path / "out.xlsx")
    kinds = [r[0] for r in scored[layout.SHEET_DATA_NOTES].iter_rows(min_row=5, values_only=True)]
    assert kinds == [KIND_INCONSISTENT, KIND_PRESCORED]


def test_a_workbook_with_nothing_to_note_has_no_data_notes_sheet(fixture_copy, tmp_path):
    out = tmp_path / "out.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME)
    assert layout.SHEET_DATA_NOTES not in openpyxl.load_workbook(out, read_only=True).sheetnames


def test_a_note_that_disagrees_with_its_cell_is_a_warning_naming_both(tmp_path):
    from conftest import MASTER

    book = openpyxl.load_workbook(MASTER)
    sheet = book[layout.SHEET_TRANSCRIPTION]
    header = [c.value for c in sheet[layout.TABLE_HEADER_ROW]]
    for row in sheet.iter_rows(min_row=layout.TABLE_HEADER_ROW + 1):
        if row[0].value == "E-2":
            row[header.index("taken")].value = 2
            where = row[0].coordinate
    plain = tmp_path / "edited.xlsx"
    book.save(plain)
    outcome = recalc_file(plain, tmp_path / "out.xlsx", run_time=RUN_TIME)
    (warning,) = [p for p in outcome.problems if p.where.startswith(layout.SHEET_TRANSCRIPTION)]
    assert warning.where == f"{layout.SHEET_TRANSCRIPTION}!{where}" and warning.severity == "warning"
    assert re.fullmatch(r"note E-2 says the workbook takes 2 for 'Number of brand companies' of Yancheng, but D1 data!E\d+ holds 1", warning.found)


def framework_2x():
    frame = pd.DataFrame(
        [["1", "Alpha", "Size", "Output", "higher"], ["2", "Beta", "Reach", "Links", "higher"]],
        columns=["id", "dimension", "variable", "indicator", "direction"],
    )
    framework, problems = framework_from_table(SheetTable("Framework", frame))
    return framework


def notes_table(rows):
    frame = pd.DataFrame(rows, columns=["note", "table", "city", "figure", "printed", "taken", "what", "evidence"])
    return SheetTable(layout.SHEET_TRANSCRIPTION, frame, first_row=4)


def test_reading_notes_ties_each_row_to_a_figure_or_a_row():
    table = notes_table(
        [
            ["A-1", "Alpha", "Ava", "Size", "11", 1, "Size printed '11' -> 1", "row sum"],
            ["A-1", "Alpha", "Bel", None, None, None, None, None],  # the note's text is on its first row
            ["O-1", "Overall", "Bel", "overall rank", "7", "6", "rank shifted", None],
            [None, None, None, None, None, None, None, None],  # a blank row is skipped
        ]
    )
    notes, problems = read_transcription_notes(table, framework_2x(), ["Ava", "Bel"])
    assert problems == []
    assert notes[["note", "table", "city", "printed"]].values.tolist() == [
        ["A-1", "Alpha", "Ava", "11"],
        ["A-1", "Alpha", "Bel", ""],
        ["O-1", "Overall", "Bel", "7"],
    ]
    assert notes["figure"].tolist() == ["Size", "", "overall_rank"]
    assert notes["what"].tolist() == ["Size printed '11' -> 1", "Size printed '11' -> 1", "rank shifted"]
    assert notes["evidence"].tolist() == ["row sum", "row sum", ""]
    assert notes["taken"].tolist()[0::2] == [1.0, 6.0] and pd.isna(notes["taken"].iloc[1])
    assert notes["row"].tolist() == [f"{layout.SHEET_TRANSCRIPTION}!A4", f"{layout.SHEET_TRANSCRIPTION}!A5", f"{layout.SHEET_TRANSCRIPTION}!A6"]


def test_a_new_note_without_its_text_is_an_error_naming_the_cell():
    table = notes_table([["A-1", "Alpha", "Ava", None, None, None, None, None]])
    _, problems = read_transcription_notes(table, framework_2x(), ["Ava"])
    assert [str(p) for p in problems] == [
        f"{layout.SHEET_TRANSCRIPTION}!G4: a blank 'what', expected what was printed and what the workbook takes instead (on the note's first row at least)"
    ]


def test_a_notes_table_without_its_columns_names_the_header_row():
    table = SheetTable(layout.SHEET_TRANSCRIPTION, pd.DataFrame([["A-1", "Ava"]], columns=["note", "city"]), first_row=4)
    notes, problems = read_transcription_notes(table, framework_2x(), ["Ava"])
    assert notes.empty
    assert [str(p) for p in problems] == [f"{layout.SHEET_TRANSCRIPTION}!A3: no column 'what', expected the columns note, table, city, figure, printed, taken, what, evidence"]


def test_in_live_formula_mode_the_computed_figure_links_to_its_formula(tmp_path):
    """Overall written as live formulas keeps each city in its row (edition order): the
    Zhongshan row links to that row's total, whose cached value is the computed 1066."""
    from conftest import MASTER

    out = tmp_path / "live.xlsm"
    outcome = recalc_file(MASTER, out, run_time=RUN_TIME, formulas=True)
    outputs = render.render_outputs(outcome.pipeline, outcome.problems, run_time=RUN_TIME, formulas=True)
    (notes,) = [o for o in outputs if o.name == layout.SHEET_DATA_NOTES]
    (overall,) = [o for o in outputs if o.name == layout.SHEET_OVERALL]
    (number, zhongshan), = [(n, r) for n, r in rows_of(notes) if r["Kind"] == KIND_INCONSISTENT]
    sheet, _, cell = notes.links[f"E{number}"].rpartition("!")
    assert sheet == layout.SHEET_OVERALL
    row, column = int(re.sub(r"\D", "", cell)), openpyxl.utils.column_index_from_string(re.sub(r"\d", "", cell))
    assert overall.cells[row - 1][1] == "Zhongshan"
    assert str(overall.cells[row - 1][column - 1]).startswith("=SUM(")
    assert overall.formula_values[row - 1][column - 1] == 1066

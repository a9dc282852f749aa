"""The audit trail of values mode: score sheets and Overall as formulas with cached values,
the Ranks sheet, the one score format, the ties sentence and the published inconsistencies.

Trace Precedents is followed here by parsing the formulas of the written file: from each
Overall total, through the score sheets' totals, down to cells that hold no formula; for
the 2025 master every such cell is a number on a ``Dn data`` sheet. LibreOffice then
recalculates a copy and must reproduce every cached value.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from fixture_helpers import type_over
from libreoffice import recalculated_values

from cityopp_xl.adapters import layout, printing, render, trail
from cityopp_xl.adapters.xlsx import recalc_file, validate_file
from cityopp_xl.model import column_letter, column_number
from cityopp_xl.pipeline import run

RUN_TIME = "2025-01-01T00:00:00+00:00"
SCORE_SHEETS = re.compile(r"D\d+ scores")
_REFERENCE = re.compile(r"(?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z][\w.]*)!)?\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>\d+))?")


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("trail")
    target = folder / "scored.xlsm"
    recalc_file(Path(__file__).parents[1] / "workbook" / "CityOpp2025.xlsm", target, run_time=RUN_TIME)
    return target


@pytest.fixture(scope="module")
def formulas_and_values(recalculated):
    return openpyxl.load_workbook(recalculated), openpyxl.load_workbook(recalculated, data_only=True)


def references(formula: str, sheet: str) -> list[tuple[str, str]]:
    """Every cell a formula refers to, ranges expanded: (sheet, A1)."""
    body = re.sub(r'"(?:[^"]|"")*"', "", formula)  # texts inside the formula are no references
    found = []
    for match in _REFERENCE.finditer(body):
        target = match["sheet"] or sheet
        if target.startswith("'"):
            target = target[1:-1].replace("''", "'")
        c1, r1 = column_number(match["c1"]), int(match["r1"])
        c2, r2 = (column_number(match["c2"]), int(match["r2"])) if match["c2"] else (c1, r1)
        found += [(target, f"{column_letter(c)}{r}") for c in range(c1, c2 + 1) for r in range(r1, r2 + 1)]
    return found


def leaves(book, sheet: str, cell: str, seen=None) -> set[tuple[str, str]]:
    """The cells without a formula that ``sheet!cell`` depends on (Trace Precedents to the end)."""
    seen = set() if seen is None else seen
    value = book[sheet][cell].value
    if not (isinstance(value, str) and value.startswith("=")):
        return {(sheet, cell)}
    found = set()
    for target in references(value, sheet):
        if target not in seen:
            seen.add(target)
            found |= leaves(book, *target, seen=seen)
    return found


def test_every_overall_total_traces_down_to_the_data_cells(formulas_and_values):
    book, values = formulas_and_values
    overall = book[layout.SHEET_OVERALL]
    assert overall["A4"].value == "Rank" and overall["M4"].value == "Total"
    checked = 0
    for row in range(5, 65):
        total = overall[f"M{row}"]
        assert total.value == f"=SUM(C{row}:L{row})"
        found = leaves(book, layout.SHEET_OVERALL, f"M{row}")
        # Every precedent chain ends at a number on a data sheet: the 50 given variable scores.
        assert {sheet for sheet, _ in found} == {layout.data_sheet(p) for p in range(1, 11)}
        assert len(found) == 50
        assert all(isinstance(values[sheet][cell].value, int) for sheet, cell in found)
        assert sum(values[sheet][cell].value for sheet, cell in found) == values[layout.SHEET_OVERALL][f"M{row}"].value
        # The chain walks Overall -> the score sheet's Total -> the variable scores -> the data.
        first = overall[f"C{row}"].value
        assert re.fullmatch(r"='D1 scores'!H\d+", first)
        checked += 1
    assert checked == 60


def test_score_sheets_hold_sum_rank_and_references(formulas_and_values):
    book, values = formulas_and_values
    for name in [n for n in book.sheetnames if SCORE_SHEETS.fullmatch(n)]:
        sheet = book[name]
        for row in range(5, 65):
            assert sheet[f"A{row}"].value == f"=RANK(H{row},H$5:H$64)"
            assert sheet[f"H{row}"].value == f"=SUM(C{row}:G{row})"
            for letter in "CDEFG":
                assert re.fullmatch(rf"='{name.replace('scores', 'data')}'!{'[B-Z]'}\d+", sheet[f"{letter}{row}"].value)
            assert sheet[f"H{row}"].number_format == layout.SCORE_FORMAT
        assert values[name]["A5"].value == 1
        assert layout.TIES_ORDER in values[name]["A2"].value


def test_libreoffice_recalculating_the_file_reproduces_every_cached_value(recalculated, formulas_and_values):
    _, values = formulas_and_values
    recalculated_by_lo = recalculated_values(recalculated)
    names = [layout.SHEET_OVERALL, layout.SHEET_RANKS] + [n for n in values.sheetnames if SCORE_SHEETS.fullmatch(n)]
    compared = 0
    for name in names:
        cached = [list(r) for r in values[name].iter_rows(min_row=4, values_only=True)]
        computed = recalculated_by_lo[name][3 : 3 + len(cached)]
        for r, (want, got) in enumerate(zip(cached, computed), start=4):
            for c, (a, b) in enumerate(zip(want, got), start=1):
                assert (a, name, r, c) == (b, name, r, c)  # whole numbers and texts: exact
                compared += a is not None
    assert compared > 60 * (10 * 7 + 14 + 12) - 60


def test_a_score_typed_over_a_formula_is_still_detected(recalculated, tmp_path):
    copy = tmp_path / "edited.xlsm"
    copy.write_bytes(recalculated.read_bytes())
    assert not [p for p in validate_file(copy)[1] if "edited by hand" in p.found]
    type_over(copy, layout.SHEET_OVERALL, "E7", 1)
    (problem,) = [p for p in validate_file(copy)[1] if "edited by hand" in p.found]
    assert problem.where == "Overall!E7"


def test_the_ranks_sheet_matches_the_pipeline(formulas_and_values):
    book, values = formulas_and_values
    assert book.sheetnames.index(layout.SHEET_RANKS) == book.sheetnames.index(layout.SHEET_OVERALL) + 1
    inputs, _, pipeline = validate_file(Path(__file__).parents[1] / "workbook" / "CityOpp2025.xlsm")
    ranks = values[layout.SHEET_RANKS]
    dimensions = list(pipeline.framework.dimensions)
    assert [c.value for c in ranks[4]] == ["Overall rank", "City", *dimensions]
    rows = [list(r) for r in ranks.iter_rows(min_row=5, values_only=True)]
    assert len(rows) == 60
    overall = pipeline["overall"]["rank"]
    assert [r[0] for r in rows] == sorted(int(v) for v in overall)
    for row in rows:
        city = row[1]
        assert row[0] == overall[city]
        assert row[2:] == [int(pipeline["dimension_ranks"].at[city, d]) for d in dimensions]
    formulas = book[layout.SHEET_RANKS]
    assert formulas["A5"].value == "=Overall!A5" and re.fullmatch(r"='D1 scores'!A\d+", formulas["C5"].value)
    scales = [(str(f.sqref), f.rules[0]) for f in formulas.conditional_formatting if f.rules[0].type == "colorScale"]
    assert [area for area, _ in scales] == [f"{column_letter(c)}5:{column_letter(c)}64" for c in [1, *range(3, 13)]]
    rule = scales[0][1]
    assert rule.type == "colorScale" and rule.colorScale.color[0].rgb.endswith("63BE7B") and rule.colorScale.color[-1].rgb.endswith("F8696B")


def test_a_published_total_inconsistent_with_its_components_is_flagged_on_its_row(formulas_and_values):
    book, values = formulas_and_values
    overall = values[layout.SHEET_OVERALL]
    assert overall["O4"].value == "Note"
    flagged = {r[1]: r[14] for r in overall.iter_rows(min_row=5, values_only=True) if r[14]}
    assert flagged == {"Zhongshan": "published overall 1062; its dimensions sum to 1066"}
    row = next(r for r in range(5, 65) if overall[f"B{r}"].value == "Zhongshan")
    note = book[layout.SHEET_OVERALL][f"M{row}"].comment
    if note is not None:  # written once the writers render notes
        assert "1062" in note.text


def test_no_note_column_without_published_figures():
    inputs = validate_file(Path(__file__).parents[1] / "workbook" / "CityOpp2025.xlsm")[0]
    inputs.published = None
    outputs = {o.name: o for o in render.render_outputs(run(inputs), [], run_time=RUN_TIME)}
    assert "Note" not in outputs[layout.SHEET_OVERALL].cells[3]
    assert not outputs[layout.SHEET_OVERALL].notes


def test_given_scores_are_traced_to_their_cells_from_read_columns_and_from_cells_set_one_by_one():
    inputs = validate_file(Path(__file__).parents[1] / "workbook" / "CityOpp2025.xlsm")[0]
    pipeline = run(inputs)
    given = trail.given_score_cells(pipeline)
    # The 2025 master gives every variable's scores: each city's cell, on its data sheet.
    assert len(given) == len(inputs.values.index) * len(inputs.framework.variables)
    assert given["Shanghai", "Economic aggregate potential"] == "'D1 data'!B6"
    inputs.addresses = dict(inputs.addresses.items())  # references set one by one, as code may give them
    assert trail.given_score_cells(run(inputs)) == given


def test_scores_computed_from_raw_values_say_so_on_their_header_and_link_to_the_indicator_scores():
    inputs = validate_file(Path(__file__).parent / "data" / "raw_fixture.xlsx")[0]
    pipeline = run(inputs)
    outputs = {o.name: o for o in render.render_outputs(pipeline, [], run_time=RUN_TIME)}
    indicator = outputs[layout.SHEET_INDICATOR_SCORES]
    checked = 0
    for position, dimension in enumerate(pipeline.framework.dimensions, start=1):
        sheet = outputs[layout.score_sheet(position)]
        assert sheet.formulas and not sheet.live
        for j, variable in enumerate(pipeline.framework.variables_of(dimension)):
            header = f"{column_letter(3 + j)}4"
            if variable.prescored:
                assert header not in sheet.notes
                continue
            assert "Computed by cityopp-xl" in sheet.notes[header]
            target = sheet.links[header]
            letter = re.fullmatch(r"'Indicator scores'!([A-Z]+)6", target)[1]
            assert indicator.cells[4][column_number(letter) - 1] == variable.name
            # The score is written as the value computed (no formula), the same on both sheets.
            column = [row[2 + j] for row in sheet.cells[4:]]
            assert all(isinstance(v, int) for v in column)
            checked += 1
    assert checked


def test_one_score_format_on_every_score_table():
    inputs = validate_file(Path(__file__).parent / "data" / "raw_fixture.xlsx")[0]
    for formulas in (False, True):
        outputs = {o.name: o for o in render.render_outputs(run(inputs), [], run_time=RUN_TIME, formulas=formulas)}
        for name, output in outputs.items():
            if SCORE_SHEETS.fullmatch(name) or name in (layout.SHEET_OVERALL, layout.SHEET_RANKS, layout.SHEET_INDICATOR_SCORES):
                # Scores in the one format; the city column, text after the rank, is only set off from it.
                assert output.number_formats and set(output.number_formats.values()) - {printing.TEXT_AFTER_NUMBERS} == {layout.SCORE_FORMAT}, name
                texts = [area for area, code in output.number_formats.items() if code == printing.TEXT_AFTER_NUMBERS]
                assert all(area.startswith("B") for area in texts), (name, texts)

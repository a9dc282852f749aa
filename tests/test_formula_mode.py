"""Live-formula mode, checked in a real spreadsheet application.

``cityopp recalc --formulas`` writes the Indicator scores, score and Overall sheets as
formulas over the input cells. LibreOffice headless opens each workbook, recalculates it
and hands back the computed values (tests/libreoffice.py); every score cell is compared
with the Python engine's stages: indicator scores (and each target distance and sum
column), variable scores, dimension totals and ranks, overall totals, ranks and tiers.
Inputs are then changed in the formula workbook itself, and the spreadsheet must follow
the engine run on the changed inputs. The Excel path (xlwings, through the remote engine)
must write the same formulas as the command line, cell for cell.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from libreoffice import recalculated_values
from ooxml import ooxml_errors
from remote_harness import apply_actions, run_macro
from test_book import RUN_TIME, assert_same_workbook, recalc_in_excel

from cityopp_xl.adapters import book as book_adapter
from cityopp_xl.adapters import formulas as formula_module
from cityopp_xl.adapters import layout
from cityopp_xl.adapters.xlsx import recalc_file, validate_file
from cityopp_xl.errors import InputError
from cityopp_xl.pipeline import Pipeline

# --------------------------------------------------------------------------- helpers


def engine(path: Path) -> Pipeline:
    """The Python engine's run on a workbook's inputs (read exactly as recalc reads them)."""
    inputs, problems, pipeline = validate_file(path)
    assert pipeline is not None, problems
    return pipeline


def _same(got, expected) -> bool:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return got in (None, "")
    if isinstance(expected, str):
        return got == expected
    return isinstance(got, (int, float)) and not isinstance(got, bool) and float(got) == float(expected)


def score_differences(values: dict[str, list[list]], pipeline: Pipeline) -> tuple[list[tuple], int]:
    """Every score cell of the recalculated formula sheets against the engine.

    Returns (differences as (sheet, row, column, got, expected), number of cells compared).
    Fails when a column of the Indicator scores sheet is not recognised or a stage is not
    covered, so nothing goes unchecked.
    """
    framework = pipeline.framework
    cities = list(pipeline["raw"].index)
    n = len(cities)
    raw, indicators, variables = pipeline["raw"], pipeline["indicator_scores"], pipeline["variable_scores"]
    differences: list[tuple] = []
    compared = 0

    def check(sheet, row, column, got, expected):
        nonlocal compared
        compared += 1
        if not _same(got, expected):
            differences.append((sheet, row, column, got, expected))

    # Indicator scores: edition order from row 7; columns recognised by their headers.
    rows = values[layout.SHEET_INDICATOR_SCORES]
    variable_row, header = rows[4], rows[5]
    by_header = {f"{i.id} {i.name} [{i.direction}]": i for i in framework.indicators}
    distance = {f"{i.id} {i.name}: {i.direction.distance_label}": i for i in framework.indicators if i.direction.distance_label}
    seen_indicators, seen_variables = set(), set()
    single_best = {v.name: v.indicators[0].id for v in framework.variables if not v.prescored and len(v.indicators) == 1 and v.ties == "best"}
    for c, title in enumerate(header[2:], start=2):
        variable = variable_row[c]
        for i, city in enumerate(cities):
            got = rows[6 + i][c]
            if title in by_header:
                expected = indicators.at[city, by_header[title].id]
            elif title in distance:
                x = raw.at[city, distance[title].id]
                # A spreadsheet stores 15 significant digits, the precision the engine ranks distances at.
                expected = math.nan if math.isnan(x) else float(f"{abs(x - distance[title].direction.target):.15g}")
            elif title == "sum of indicator scores":
                expected = sum(indicators.at[city, ind.id] for ind in framework.variable(variable).indicators)
            elif title.startswith("variable score") or title == "given variable score":
                expected = variables.at[city, variable]
            else:
                pytest.fail(f"unrecognised Indicator scores column {title!r}")
            check(layout.SHEET_INDICATOR_SCORES, 7 + i, c + 1, got, expected)
        if title in by_header:
            seen_indicators.add(by_header[title].id)
            if single_best.get(variable) == by_header[title].id:
                seen_variables.add(variable)
        elif title.startswith("variable score") or title == "given variable score":
            seen_variables.add(variable)
    for i, city in enumerate(cities):
        assert rows[6 + i][0] == city
        check(layout.SHEET_INDICATOR_SCORES, 7 + i, 2, rows[6 + i][1], n)
    scored = {i.id for v in framework.variables if not v.prescored for i in v.indicators}
    assert seen_indicators == scored
    assert seen_variables == {v.name for v in framework.variables}

    # Dimension sheets and Overall: edition order from row 5.
    for position, dimension in enumerate(framework.dimensions, start=1):
        sheet = layout.score_sheet(position)
        rows = values[sheet]
        names = [v.name for v in framework.variables_of(dimension)]
        assert rows[3] == ["Rank", "City", *names, "Total"]
        for i, city in enumerate(cities):
            row = rows[4 + i]
            assert row[1] == city
            check(sheet, 5 + i, 1, row[0], pipeline["dimension_ranks"].at[city, dimension])
            for k, name in enumerate(names):
                check(sheet, 5 + i, 3 + k, row[2 + k], variables.at[city, name])
            check(sheet, 5 + i, 3 + len(names), row[2 + len(names)], pipeline["dimension_scores"].at[city, dimension])
    rows = values[layout.SHEET_OVERALL]
    dimensions = list(framework.dimensions)
    assert rows[3] == ["Rank", "City", *dimensions, "Total", "Tier"]
    overall = pipeline["overall"]
    for i, city in enumerate(cities):
        row = rows[4 + i]
        assert row[1] == city
        check(layout.SHEET_OVERALL, 5 + i, 1, row[0], overall.at[city, "rank"])
        for k, dimension in enumerate(dimensions):
            check(layout.SHEET_OVERALL, 5 + i, 3 + k, row[2 + k], pipeline["dimension_scores"].at[city, dimension])
        check(layout.SHEET_OVERALL, 5 + i, 3 + len(dimensions), row[2 + len(dimensions)], overall.at[city, "overall"])
        check(layout.SHEET_OVERALL, 5 + i, 4 + len(dimensions), row[3 + len(dimensions)], overall.at[city, "tier"])
    return differences, compared


def sorted_like_value_mode(rows: list[list], width: int) -> list[list]:
    """A formula sheet's body sorted as value mode sorts it: by rank, ties in edition order."""
    body = [list(r[:width]) for r in rows[4:] if r and r[1] is not None]
    return sorted(body, key=lambda r: r[0])  # sorted() is stable: ties keep edition order


def assert_matches_value_mode(values: dict[str, list[list]], value_book: Path, pipeline: Pipeline) -> None:
    """The recalculated formula sheets, sorted by rank, are the value-mode sheets cell for cell."""
    book = openpyxl.load_workbook(value_book, read_only=True, data_only=True)  # value mode's cached values
    try:
        names = [layout.score_sheet(p) for p in range(1, len(pipeline.framework.dimensions) + 1)] + [layout.SHEET_OVERALL]
        for name in names:
            expected = [list(r) for r in book[name].iter_rows(values_only=True)]
            # Value mode's Overall may end in a Note column (published figures that disagree
            # with their own components), which formula mode does not write.
            expected = [r[: r.index("Note")] if "Note" in r else r for r in expected[:4]] + expected[4:]
            width = len([v for v in expected[3] if v is not None])
            expected[3] = expected[3][:width]
            assert values[name][3][:width] == expected[3]
            got = sorted_like_value_mode(values[name], width)
            assert got == [list(r[:width]) for r in expected[4:] if r and r[1] is not None], name
    finally:
        book.close()


def formula_cells(path: Path, sheet: str) -> list[str]:
    """The formulas among a sheet's score cells (rows below the header: the lines above it
    may hold other formulas, such as the stale-input warning)."""
    book = openpyxl.load_workbook(path)
    first = 7 if sheet == layout.SHEET_INDICATOR_SCORES else 5
    return [c.value for row in book[sheet].iter_rows(min_row=first) for c in row if c.data_type == "f"]


@pytest.fixture
def fixture_formulas(fixture_copy, tmp_path) -> Path:
    out = tmp_path / "formulas.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME, formulas=True)
    return out


@pytest.fixture
def master_formulas(master_copy, tmp_path) -> Path:
    out = tmp_path / "formulas.xlsm"
    recalc_file(master_copy, out, run_time=RUN_TIME, formulas=True)
    return out


# --------------------------------------------------------------------------- LibreOffice


@pytest.mark.libreoffice
def test_raw_fixture_recalculates_in_libreoffice_to_the_engine(fixture_copy, fixture_formulas, tmp_path):
    pipeline = engine(fixture_copy)
    values = recalculated_values(fixture_formulas)
    differences, compared = score_differences(values, pipeline)
    assert differences == []
    assert compared == 7 * (1 + 22 + 2 * 7 + 5)  # N and 22 columns; two score sheets; Overall
    values_mode = tmp_path / "values.xlsx"
    recalc_file(fixture_copy, values_mode, run_time=RUN_TIME)
    assert_matches_value_mode(values, values_mode, pipeline)


@pytest.mark.libreoffice
def test_2025_master_recalculates_in_libreoffice_to_the_engine(master_copy, master_formulas, tmp_path):
    pipeline = engine(master_copy)
    values = recalculated_values(master_formulas)
    differences, compared = score_differences(values, pipeline)
    assert differences == []
    assert compared == 60 * (1 + 50) + 10 * 60 * 7 + 60 * 13
    values_mode = tmp_path / "values.xlsm"
    recalc_file(master_copy, values_mode, run_time=RUN_TIME)
    assert_matches_value_mode(values, values_mode, pipeline)
    # The published figures the value mode reproduces, from the spreadsheet's own formulas.
    published = pipeline.inputs.published
    overall = {row[1]: row for row in values[layout.SHEET_OVERALL][4:64]}
    ranks_agree = sum(overall[city][0] == published.at[city, "overall_rank"] for city in published.index)
    assert ranks_agree == 60


def _change_fixture_inputs(path: Path, out: Path) -> None:
    """Edit input cells of a formula-mode workbook, as a reviewer would."""
    book = openpyxl.load_workbook(path)
    d1, d2 = book["D1 data"], book["D2 data"]
    d1["B5"] = 30  # Ava's output ties Fen at the top
    d1["B8"] = None  # Dun loses its output value: scores 1
    d1["D6"] = -0.2  # Bel's trade balance moves away from the target
    d1["E9"] = 1  # Eld's tier 3 -> tier 1
    d1["E10"] = 4  # Fen gets a tier
    d2["C7"] = "n/a"  # a text marker: no value
    d2["G11"] = 5  # Gal joins the worst-rule tie at the top of Safety
    d2["I5"] = 2  # Culture is no longer all tied
    book.save(out)


@pytest.mark.libreoffice
def test_changing_an_input_updates_every_score_like_the_engine(fixture_copy, fixture_formulas, tmp_path):
    changed = tmp_path / "changed.xlsx"
    _change_fixture_inputs(fixture_formulas, changed)
    before, after = engine(fixture_copy), engine(changed)
    # The edits change scores at every level, so the check below is a real test.
    assert not before["indicator_scores"].equals(after["indicator_scores"])
    assert not before["overall"]["rank"].equals(after["overall"]["rank"])
    values = recalculated_values(changed)
    differences, _ = score_differences(values, after)
    assert differences == []


@pytest.mark.libreoffice
def test_changing_a_prescored_score_in_the_2025_master_updates_the_ranks(master_formulas, tmp_path):
    changed = tmp_path / "changed.xlsm"
    book = openpyxl.load_workbook(master_formulas, keep_vba=True)
    sheet = book["D1 data"]
    sheet["B5"], sheet["B6"] = sheet["B6"].value, sheet["B5"].value  # swap Beijing and Shanghai
    book["D10 data"]["C7"] = 60
    book.save(changed)
    pipeline = engine(changed)
    values = recalculated_values(changed)
    differences, _ = score_differences(values, pipeline)
    assert differences == []


@pytest.mark.libreoffice
def test_data_rows_in_another_order_than_the_cities_sheet(fixture_copy, tmp_path):
    book = openpyxl.load_workbook(fixture_copy)
    sheet = book["D2 data"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=5, max_row=11)]
    for offset, row in enumerate(reversed(rows)):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=5 + offset, column=column, value=value)
    book.save(fixture_copy)
    out = tmp_path / "formulas.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME, formulas=True)
    sheet = openpyxl.load_workbook(out)[layout.SHEET_INDICATOR_SCORES]
    hubs = next(cell.column_letter for cell in sheet[6] if cell.value == "b1 Hubs [higher]")
    assert sheet[f"{hubs}7"].value.startswith("=IF(ISNUMBER('D2 data'!B11),")  # Ava's row is now the last
    differences, _ = score_differences(recalculated_values(out), engine(fixture_copy))
    assert differences == []


@pytest.mark.libreoffice
def test_a_decimal_target_other_than_zero(fixture_copy, tmp_path):
    # |x + 0.1| for -0.3 and 0.1 is 0.2 for both: tied in the spreadsheet and in the engine.
    book = openpyxl.load_workbook(fixture_copy)
    book["Framework"]["E6"] = "target:-0.1"
    book.save(fixture_copy)
    out = tmp_path / "formulas.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME, formulas=True)
    pipeline = engine(fixture_copy)
    assert pipeline["indicator_scores"]["a3"].tolist() == [5, 5, 6, 2, 7, 3, 1]  # N = 7; Gal has no value
    differences, _ = score_differences(recalculated_values(out), pipeline)
    assert differences == []


# --------------------------------------------------------------------------- the written workbook


def test_formula_workbooks_pass_the_open_xml_checker(fixture_formulas, master_formulas):
    assert ooxml_errors(fixture_formulas) == []
    assert ooxml_errors(master_formulas) == []


def test_formula_workbook_recalculates_on_open_and_keeps_the_vba_project(master_copy, master_formulas):
    with zipfile.ZipFile(master_formulas) as package:
        assert 'fullCalcOnLoad="1"' in package.read("xl/workbook.xml").decode()
        vba = package.read("xl/vbaProject.bin")
    with zipfile.ZipFile(master_copy) as package:
        assert vba == package.read("xl/vbaProject.bin")


def test_every_score_cell_is_a_formula_and_no_function_needs_a_prefix(fixture_formulas):
    book = openpyxl.load_workbook(fixture_formulas)
    for name in ("D1 scores", "D2 scores", layout.SHEET_OVERALL):
        for row in book[name].iter_rows(min_row=5):
            cells = [c for c in row if c.value is not None]
            assert [c.data_type for c in cells] == ["f", "s"] + ["f"] * (len(cells) - 2), (name, row[0].row)
    for row in book[layout.SHEET_INDICATOR_SCORES].iter_rows(min_row=7):
        assert all(c.data_type == "f" for c in row[1:]), row[0].row
    text = " ".join(v for name in ("D1 scores", "D2 scores", layout.SHEET_OVERALL, layout.SHEET_INDICATOR_SCORES) for v in formula_cells(fixture_formulas, name))
    used = set(re_functions(text))
    assert used <= {"IF", "ISNUMBER", "SUMPRODUCT", "ABS", "CHOOSE", "SUM", "RANK", "ROWS"}, used
    assert "_xlfn" not in text and "COUNTIF" not in text


def re_functions(text: str) -> list[str]:
    """The function names a formula text calls."""
    return re.findall(r"([A-Z][A-Z0-9.]*)\(", text)


def test_one_formula_per_rule(fixture_formulas):
    book = openpyxl.load_workbook(fixture_formulas)
    sheet = book[layout.SHEET_INDICATOR_SCORES]
    ava = {}
    for cell in sheet[6]:  # the first column of each title (Innovation comes before Transport)
        ava.setdefault(cell.value, sheet[f"{cell.column_letter}7"].value)
    data = "'D1 data'!"
    assert ava["a1 Output [higher]"] == f"=IF(ISNUMBER({data}B5),$B7-SUMPRODUCT(ISNUMBER({data}$B$5:$B$11)*({data}$B$5:$B$11>{data}B5)),1)"
    assert ava["a2 Debt ratio [lower]"] == f"=IF(ISNUMBER({data}C5),$B7-SUMPRODUCT(ISNUMBER({data}$C$5:$C$11)*({data}$C$5:$C$11<{data}C5)),1)"
    assert ava["a3 Trade balance: distance |x - 0|"] == f'=IF(ISNUMBER({data}D5),ABS({data}D5-0),"")'
    assert ava["a3 Trade balance [target:0]"] == "=IF(ISNUMBER(E7),$B7-SUMPRODUCT(ISNUMBER(E$7:E$13)*(E$7:E$13<E7)),1)"
    assert ava["a4 Plan tier [tiers]"] == f"=IF(ISNUMBER({data}E5),CHOOSE({data}E5,7,5,3,2),1)"
    assert ava["variable score (sum re-scored, ties best)"] == "=$B7-SUMPRODUCT(--(J$7:J$13>J7))"
    assert ava["variable score (sum re-scored, ties worst)"] == "=1+SUMPRODUCT(--(N$7:N$13<N7))"
    assert ava["variable score (indicator score re-scored, ties worst)"] == "=1+SUMPRODUCT(--(U$7:U$13<U7))"
    assert ava["N"] == "=ROWS($A$7:$A$13)"
    scores = book["D1 scores"]
    assert [c.value for c in scores[5]] == ["=RANK(H5,H$5:H$11)", "Ava", "='Indicator scores'!C7", "='Indicator scores'!D7", "='Indicator scores'!F7", "='Indicator scores'!G7", "='Indicator scores'!K7", "=SUM(C5:G5)"]
    overall = book[layout.SHEET_OVERALL]
    assert [c.value for c in overall[5]] == ["=RANK(E5,E$5:E$11)", "Ava", "='D1 scores'!H5", "='D2 scores'!H5", "=SUM(C5:D5)", '=IF(E5>=46,"High",IF(E5>=40,"Mid","Low"))']


def test_master_prescored_scores_point_at_the_input_cells(master_formulas):
    book = openpyxl.load_workbook(master_formulas)
    sheet = book[layout.SHEET_INDICATOR_SCORES]
    assert sheet["C6"].value == "given variable score"
    assert sheet["C7"].value == "='D1 data'!B5"
    assert sheet["AZ66"].value == "='D10 data'!F64"
    log = {row[0]: row[1] for row in book[layout.SHEET_LOG].iter_rows(values_only=True) if row and row[0]}
    assert log["output"].startswith("live formulas")


def test_value_mode_stays_the_default(fixture_copy, tmp_path):
    out = tmp_path / "values.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME)
    # Values mode: the engine's scores; the score sheets and Overall carry only the audit
    # trail's formulas over them (SUM, RANK, references, tiers), never the live scoring.
    assert formula_cells(out, layout.SHEET_INDICATOR_SCORES) == []
    trail = [f for name in ("D1 scores", "D2 scores", layout.SHEET_OVERALL) for f in formula_cells(out, name)]
    assert trail and not [f for f in trail if "SUMPRODUCT" in f or "ISNUMBER" in f]


def test_formula_builders():
    assert formula_module.tier_label_formula("M5", (), "All") == '="All"'
    assert formula_module.tier_label_formula("M5", (('Say "top"', 10.5),), "Rest") == '=IF(M5>=10.5,"Say ""top""","Rest")'
    assert formula_module._number(1e-20) == "1E-20"
    # Text that merely starts with "=" stays text in formula mode.
    assert formula_module._cells([["=not a formula", formula_module.Formula("=1")]]) == [['="=not a formula"', "=1"]]


# --------------------------------------------------------------------------- choosing the mode


def _add_output_setting(path: Path, label: str) -> None:
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    sheet = book[layout.SHEET_SETTINGS]
    sheet.append(["output", label, None])
    for table in sheet.tables.values():
        table.ref = f"A3:C{sheet.max_row}"
    book.save(path)


def test_settings_row_selects_formula_mode_and_the_flag_overrides_it(fixture_copy, tmp_path):
    _add_output_setting(fixture_copy, "formulas")
    by_setting, forced_values = tmp_path / "setting.xlsx", tmp_path / "values.xlsx"
    recalc_file(fixture_copy, by_setting, run_time=RUN_TIME)
    recalc_file(fixture_copy, forced_values, run_time=RUN_TIME, formulas=False)
    assert len(formula_cells(by_setting, layout.SHEET_INDICATOR_SCORES)) > 7 * 5
    assert formula_cells(forced_values, layout.SHEET_INDICATOR_SCORES) == []


def test_unknown_output_setting_is_an_error(fixture_copy):
    _add_output_setting(fixture_copy, "live")
    _, problems, _ = validate_file(fixture_copy)
    assert [(p.where, p.severity) for p in problems] == [("Settings!B7", "error")]
    assert "formulas" in problems[0].expected


def test_cli_formulas_flag(fixture_copy, tmp_path):
    out = tmp_path / "cli.xlsx"
    done = subprocess.run([sys.executable, "-m", "cityopp_xl", "recalc", str(fixture_copy), "-o", str(out), "--formulas"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert formula_cells(out, "D1 scores")[0] == "=RANK(H5,H$5:H$11)"
    help_text = subprocess.run([sys.executable, "-m", "cityopp_xl", "recalc", "--help"], capture_output=True, text=True).stdout
    assert "--formulas / --values" in help_text


def test_numbers_stored_as_text_block_formula_mode_only(fixture_copy, tmp_path):
    book = openpyxl.load_workbook(fixture_copy)
    book["D1 data"]["B6"] = "20"
    book["D2 data"]["D5"] = "1,000"
    book.save(fixture_copy)
    with pytest.raises(InputError) as raised:
        recalc_file(fixture_copy, tmp_path / "formulas.xlsx", formulas=True)
    cells = [p.where for p in raised.value.problems if p.blocking]
    assert cells == ["D1 data!B6", "D2 data!D5"]
    assert not (tmp_path / "formulas.xlsx").exists()
    recalc_file(fixture_copy, tmp_path / "values.xlsx")  # the value mode reads them as numbers


# --------------------------------------------------------------------------- the Excel path


def test_excel_path_writes_the_same_formulas_as_the_cli_on_the_raw_fixture(fixture_copy, fixture_formulas, tmp_path):
    run = run_macro(fixture_copy, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME, formulas=True), status_bar="record")
    applied = apply_actions(fixture_copy, run, tmp_path / "excel.xlsx")
    assert applied.alerts == []
    assert_same_workbook(fixture_formulas, tmp_path / "excel.xlsx")


def test_excel_path_writes_the_same_formulas_as_the_cli_on_the_2025_master(master_copy, master_formulas, tmp_path):
    run = run_macro(master_copy, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME, formulas=True), status_bar="record")
    applied = apply_actions(master_copy, run, tmp_path / "excel.xlsm")
    assert applied.alerts == []
    assert_same_workbook(master_formulas, tmp_path / "excel.xlsm")


def test_ribbon_follows_the_settings_row(fixture_copy, tmp_path):
    _add_output_setting(fixture_copy, "formulas")
    cli = tmp_path / "cli.xlsx"
    recalc_file(fixture_copy, cli, run_time=RUN_TIME)
    recalc_in_excel(fixture_copy, tmp_path / "excel.xlsx")
    assert formula_cells(tmp_path / "excel.xlsx", "Overall")
    assert_same_workbook(cli, tmp_path / "excel.xlsx")


def test_ribbon_reports_numbers_stored_as_text_in_formula_mode(fixture_copy, tmp_path):
    book = openpyxl.load_workbook(fixture_copy)
    book["D1 data"]["B6"] = "20"
    book.save(fixture_copy)
    run = run_macro(fixture_copy, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME, formulas=True), status_bar="record")
    applied = apply_actions(fixture_copy, run, tmp_path / "excel.xlsx")
    assert len(applied.alerts) == 1 and "1 problem(s) block scoring" in applied.alerts[0].prompt
    problems = [list(r) for r in openpyxl.load_workbook(tmp_path / "excel.xlsx")[layout.SHEET_PROBLEMS].iter_rows(values_only=True)]
    assert problems[4][:2] == ["D1 data!B6", "the number '20' stored as text"]

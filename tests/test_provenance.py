"""Provenance and staleness: the Log's fingerprints, ``cityopp validate`` and the Validate
button naming inputs changed since the last Recalculate, and the workbook's own warning,
computed by native formulas (checked in LibreOffice, a real spreadsheet application)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from libreoffice import recalculated_values
from remote_harness import cache_formula_values
from test_cli import cityopp

from cityopp_xl.adapters import layout, render, stale_check
from cityopp_xl.adapters.xlsx import load_book, read_book, recalc_file
from cityopp_xl.pipeline import input_fingerprints, run
from cityopp_xl.provenance import TableCopy, find_stale_inputs, stale_problems

RUN_TIME = "2026-01-01T12:00:00+00:00"
STALE = "inputs changed since the last Recalculate (2026-01-01T12:00:00+00:00); the score sheets are out of date"


# --------------------------------------------------------------------------- core


def test_find_stale_inputs_lists_changed_added_and_dropped_inputs():
    stored = {"framework": "f", "cities": "c", "Alpha": "a", "Old": "o", "all": "x"}
    current = {"framework": "f", "cities": "C", "Alpha": "a", "Beta": "b", "all": "y"}
    assert find_stale_inputs(stored, current) == ["cities", "Beta", "Old"]
    assert find_stale_inputs(stored, dict(stored)) == []
    assert find_stale_inputs({}, current) == []  # never recalculated: nothing to compare


def test_stale_problems_are_warnings_naming_the_sheet():
    problems = stale_problems({"Alpha": "a"}, {"Alpha": "b"}, run_time=RUN_TIME, where={"Alpha": "D1 data"})
    assert [str(p) for p in problems] == [f"D1 data: {STALE}, expected score sheets made from the current inputs (Recalculate)"]
    assert problems[0].severity == "warning" and not problems[0].blocking


def test_table_copy_names_its_cells():
    copy = TableCopy("Settings", 3, (("setting", "label", "value"), ("tier", "High", 46), ("tier", "Mid", 40), (None, None, None)))
    assert copy.area == "Settings!A3:C6".split("!")[1]
    assert copy.address("tier", "value", occurrence=1) == "Settings!C5"
    assert copy.address("Tier", "Label") == "Settings!B4"
    assert copy.address("other tier", "label") == "" and copy.address("tier", "nothing") == ""


def test_the_log_holds_the_fingerprints_it_is_read_back_with(fixture_copy):
    inputs, _ = read_book(load_book(fixture_copy), fixture_copy)
    outputs = render.render_outputs(run(inputs), [], run_time=RUN_TIME)
    log = next(o for o in outputs if o.name == layout.SHEET_LOG)
    assert stale_check.read_log(log.cells) == (RUN_TIME, input_fingerprints(inputs))
    assert stale_check.find_stale_problems(inputs, log.cells) == []
    assert stale_check.read_log([["Run log"], ["Item", "Value"]]) == ("", {})


def test_formula_text_literals_stay_within_excels_limit(master_copy):
    inputs, _ = read_book(load_book(master_copy), master_copy)
    for output in render.render_outputs(run(inputs), [], run_time=RUN_TIME):
        for address, formula in output.formula_cells.items():
            assert formula.startswith("=")
            for literal in re.findall(r'"((?:[^"]|"")*)"', formula):
                assert len(literal.replace('""', '"')) <= 255, (output.name, address)


# --------------------------------------------------------------------------- cityopp validate


@pytest.fixture
def recalculated(fixture_copy, tmp_path) -> Path:
    out = tmp_path / "scored.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME)
    return out


def edit(path: Path, sheet: str, cell: str, value) -> Path:
    book = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    book[sheet][cell] = value
    book.save(path)
    cache_formula_values(path, book)  # saved as Excel saves it, the formulas with their values
    return path


def test_validate_says_which_inputs_changed_since_the_last_recalculate(recalculated):
    clean = cityopp("validate", recalculated)
    assert clean.returncode == 0 and "0 error(s), 0 warning(s)" in clean.stdout
    edit(recalculated, "D2 data", "C6", 99)  # Bel, b2
    edit(recalculated, "Settings", "C4", 47)  # the first tier's minimum
    result = cityopp("validate", recalculated)
    assert result.returncode == 0, result.stdout  # a warning: scoring is not blocked
    lines = result.stdout.splitlines()
    assert f"warning: Settings: {STALE}, expected score sheets made from the current inputs (Recalculate)" in lines
    assert f"warning: D2 data: {STALE}, expected score sheets made from the current inputs (Recalculate)" in lines
    assert not any(line.startswith("warning: D1 data") or line.startswith("warning: Cities") for line in lines)
    assert "0 error(s), 2 warning(s)" in result.stdout
    # Recalculate brings everything up to date again.
    assert cityopp("recalc", recalculated).returncode == 0
    assert "0 error(s), 0 warning(s)" in cityopp("validate", recalculated).stdout


def test_a_workbook_never_recalculated_has_no_stale_warning(fixture_copy):
    assert "0 warning(s)" in cityopp("validate", fixture_copy).stdout


def test_validate_button_says_which_inputs_changed(fixture_copy, tmp_path):
    from remote_harness import apply_actions, run_macro

    from cityopp_xl.adapters import book as book_adapter

    once = tmp_path / "once.xlsx"
    apply_actions(fixture_copy, run_macro(fixture_copy, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record"), once)
    applied = apply_actions(once, run_macro(once, book_adapter.run_validate, status_bar="record"), tmp_path / "checked.xlsx")
    assert applied.alerts[0].prompt == "No problems found: the workbook is ready to Recalculate."
    edit(once, "D1 data", "B5", 11)  # Ava, a1
    applied = apply_actions(once, run_macro(once, book_adapter.run_validate, status_bar="record"), tmp_path / "stale.xlsx")
    prompt = applied.alerts[0].prompt
    assert "0 error(s) and 1 warning(s)" in prompt
    assert "Inputs changed since the last Recalculate: D1 data. The score sheets are out of date." in prompt
    problems = [list(r) for r in openpyxl.load_workbook(tmp_path / "stale.xlsx")[layout.SHEET_PROBLEMS].iter_rows(min_row=5, values_only=True)]
    assert problems[0][:2] == ["D1 data", STALE]


# --------------------------------------------------------------------------- the workbook's own warning (LibreOffice)


def warning_cells(values: dict) -> dict[str, str]:
    """Cell A3 of the Overall, score and Indicator scores sheets as the spreadsheet computed it."""
    return {name: rows[2][0] for name, rows in values.items() if name == layout.SHEET_OVERALL or name.endswith(" scores")}


def log_stale_rows(values: dict) -> dict[str, object]:
    rows = values[layout.SHEET_LOG]
    start = next(k for k, row in enumerate(rows) if row and row[0] == stale_check.LOG_STALE_SUMMARY)
    found = {"summary": rows[start][1], "status": rows[start][2]}
    for row in rows[start + 1 :]:
        if not row or row[0] is None:
            break
        found[row[0]] = row[1]
    return found


def assert_up_to_date(values: dict) -> None:
    stale = log_stale_rows(values)
    assert stale["summary"] in ("", None) and stale["status"] == "up to date", stale
    assert all(v == 0 for k, v in stale.items() if k not in ("summary", "status")), stale
    cells = warning_cells(values)
    assert cells and all(text.startswith("Written by cityopp-xl") for text in cells.values()), cells


def test_the_workbook_shows_the_stale_warning_by_itself(recalculated, tmp_path):
    assert_up_to_date(recalculated_values(recalculated))
    edited = tmp_path / "edited.xlsx"
    shutil.copy2(recalculated, edited)
    edit(edited, "D2 data", "C6", 99)
    edit(edited, "D2 data", "A12", "Hal")  # a new city just under the table
    values = recalculated_values(edited)
    stale = log_stale_rows(values)
    assert stale["summary"] == "D2 data"
    assert stale["status"] == "Inputs changed since last Recalculate: D2 data"
    assert stale["D2 data"] == 2 and stale["D1 data"] == 0 and stale["Cities"] == 0
    for name, text in warning_cells(values).items():
        assert text.startswith("Inputs changed since last Recalculate: D2 data. These sheets are out of date: Recalculate. Written by cityopp-xl"), name
    # The workbook's check is cell for cell: a cell whose text changed warns even when it
    # reads as the same input (cityopp validate compares what the cells read as).
    spaced = tmp_path / "spaced.xlsx"
    shutil.copy2(recalculated, spaced)
    edit(spaced, "Cities", "A5", "Ava ")
    assert log_stale_rows(recalculated_values(spaced))["summary"] == "Cities"
    assert "0 warning(s)" in cityopp("validate", spaced).stdout


def test_the_warning_is_red_while_it_shows(recalculated):
    book = openpyxl.load_workbook(recalculated)
    for name in (layout.SHEET_OVERALL, layout.SHEET_INDICATOR_SCORES, "D1 scores", "D2 scores"):
        rules = [(str(cf.sqref), rule) for cf in book[name].conditional_formatting for rule in cf.rules]
        alert = [rule for area, rule in rules if area == "A3"]
        assert len(alert) == 1 and alert[0].type == "expression", name
        assert alert[0].formula == [stale_check.alert_rule("A3")]
        assert alert[0].dxf.font.b and alert[0].dxf.font.color.rgb.endswith("C00000")


def test_excel_path_workbook_is_up_to_date_in_a_spreadsheet(fixture_copy, tmp_path):
    from remote_harness import apply_actions, run_macro

    from cityopp_xl.adapters import book as book_adapter

    out = tmp_path / "excel.xlsx"
    apply_actions(fixture_copy, run_macro(fixture_copy, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record"), out)
    assert_up_to_date(recalculated_values(out))
    edit(out, "Cities", "B6", "P9")  # a province: not read for scoring, still an input cell
    assert log_stale_rows(recalculated_values(out))["summary"] == "Cities"


def test_master_workbook_is_up_to_date_then_stale(master_copy, tmp_path):
    out = tmp_path / "scored.xlsm"
    recalc_file(master_copy, out, run_time=RUN_TIME)
    assert_up_to_date(recalculated_values(out))
    edit(out, "D3 data", "C7", 12)
    values = recalculated_values(out)
    assert log_stale_rows(values)["summary"] == "D3 data"
    assert warning_cells(values)["D3 scores"].startswith("Inputs changed since last Recalculate: D3 data.")
    result = cityopp("validate", out)
    assert result.returncode == 0
    assert f"warning: D3 data: {STALE}" in result.stdout

"""The Excel add-in's macros through the real xlwings code path, without Excel.

xlwings' remote engine builds a real ``xw.Book`` from a payload made from the workbook
file; the macro runs the same code Excel runs; the recorded actions are applied back onto
a copy of the file (tests/remote_harness.py, which fails on any action it does not know);
the result is compared with ``cityopp recalc`` cell for cell.
"""

from __future__ import annotations

from collections import Counter

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from remote_harness import apply_actions, cache_formula_values, run_macro

from cityopp_xl.adapters import book as book_adapter
from cityopp_xl.adapters import audit_sheets, layout
from cityopp_xl.adapters.xlsx import recalc_file

RUN_TIME = "2026-01-01T12:00:00+00:00"


def recalc_in_excel(path: Path, out: Path, **kwargs):
    run = run_macro(path, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record", **kwargs)
    applied = apply_actions(path, run, out)
    return run, applied


def sheet_cells(book, name):
    return [list(r) for r in book[name].iter_rows(values_only=True)]


def assert_same_workbook(a: Path, b: Path) -> None:
    one, two = openpyxl.load_workbook(a), openpyxl.load_workbook(b)
    assert one.sheetnames == two.sheetnames
    for name in one.sheetnames:
        left, right = sheet_cells(one, name), sheet_cells(two, name)
        # Trailing empty rows/columns aside, every cell is equal.
        strip = lambda rows: [tuple(v for v in r) for r in rows if any(v is not None for v in r)]  # noqa: E731
        assert strip(left) == strip(right), name
        if layout.is_owned(name):
            s1, s2 = one[name], two[name]
            assert s1.freeze_panes == s2.freeze_panes, name
            for row in s1.iter_rows():
                for cell in row:
                    other = s2[cell.coordinate]
                    assert bool(cell.font.b) == bool(other.font.b), (name, cell.coordinate)
                    assert cell.number_format == other.number_format, (name, cell.coordinate)


@pytest.fixture
def cli_result(fixture_copy, tmp_path):
    out = tmp_path / "cli.xlsx"
    recalc_file(fixture_copy, out, run_time=RUN_TIME)
    return out


def test_recalculate_in_excel_equals_the_cli_on_the_raw_fixture(fixture_copy, cli_result, tmp_path):
    run, applied = recalc_in_excel(fixture_copy, tmp_path / "excel.xlsx")
    assert applied.alerts == []
    assert any("scoring 7 cities" in str(m) for m in run.status_messages)
    assert run.status_messages[-1] is False  # the status bar is given back to Excel
    assert_same_workbook(cli_result, tmp_path / "excel.xlsx")


def test_recalculate_in_excel_equals_the_cli_on_the_2025_master(master_copy, tmp_path):
    cli = tmp_path / "cli.xlsm"
    recalc_file(master_copy, cli, run_time=RUN_TIME)
    run, applied = recalc_in_excel(master_copy, tmp_path / "excel.xlsm")
    assert applied.alerts == []
    assert_same_workbook(cli, tmp_path / "excel.xlsm")


def test_rerun_in_excel_replaces_only_owned_sheets(fixture_copy, tmp_path):
    once = tmp_path / "once.xlsx"
    recalc_in_excel(fixture_copy, once)
    book = openpyxl.load_workbook(once)
    book.create_sheet("Notes")["A1"] = "mine"
    book.save(once)
    cache_formula_values(once, book)  # saved as Excel saves it, the formulas with their values
    twice = tmp_path / "twice.xlsx"
    recalc_in_excel(once, twice)
    assert openpyxl.load_workbook(twice).sheetnames == openpyxl.load_workbook(once).sheetnames
    assert openpyxl.load_workbook(twice)["Notes"]["A1"].value == "mine"


def test_blocked_recalculate_writes_only_the_problems_sheet_and_one_alert(fixture_copy, tmp_path):
    good = tmp_path / "good.xlsx"
    recalc_in_excel(fixture_copy, good)
    book = openpyxl.load_workbook(good)
    book["D1 data"]["B5"] = "n.v."
    book["D2 data"]["D6"] = "#N/A"
    book.save(good)
    run, applied = recalc_in_excel(good, tmp_path / "bad.xlsx")
    assert len(applied.alerts) == 1
    assert "2 problem(s) block scoring" in applied.alerts[0].prompt
    after = openpyxl.load_workbook(tmp_path / "bad.xlsx")
    before = openpyxl.load_workbook(good)
    problems = sheet_cells(after, layout.SHEET_PROBLEMS)
    cells = {r[0] for r in problems[4:]}
    assert {"D1 data!B5", "D2 data!D6"} <= cells
    # Scores of the last good run are untouched; nothing else changed.
    for name in before.sheetnames:
        if name != layout.SHEET_PROBLEMS:
            assert sheet_cells(before, name) == sheet_cells(after, name), name


def test_validate_writes_no_scores(fixture_copy, tmp_path):
    book = openpyxl.load_workbook(fixture_copy)
    book["D1 data"]["C6"] = "n/a"
    book.save(fixture_copy)
    run = run_macro(fixture_copy, book_adapter.run_validate)
    applied = apply_actions(fixture_copy, run, tmp_path / "validated.xlsx")
    after = openpyxl.load_workbook(tmp_path / "validated.xlsx")
    assert not any(layout.is_owned(n) for n in after.sheetnames if n != layout.SHEET_PROBLEMS)
    assert "0 error(s) and 1 warning(s)" in applied.alerts[0].prompt
    assert sheet_cells(after, layout.SHEET_PROBLEMS)[4][:2] == ["D1 data!C6", "'n/a' (read as a blank: no value, scores 1)"]


def _big_workbook(path: Path, cities: int, seed: int = 7) -> Path:
    """The 2025 framework with raw values (ties and gaps) for ``cities`` cities."""
    from cityopp_xl.adapters.template import load_cities, load_framework
    from cityopp_xl.adapters.xlsx import write_input_workbook

    framework = load_framework(None)
    rng = np.random.default_rng(seed)
    names = [(f"City {i:04d}", "P") for i in range(cities)]
    columns = framework.input_columns()
    values = pd.DataFrame(rng.integers(1, 40, size=(cities, len(columns))).astype(float), index=[c for c, _ in names], columns=columns)
    values = values.mask(rng.random(values.shape) < 0.1)
    values["39"] = rng.integers(1, 8, size=cities).astype(float)
    write_input_workbook(path, framework, names, values=values)
    return path


def test_round_trips_do_not_grow_with_the_number_of_cities(tmp_path):
    counts = {}
    for cities in (60, 600):
        path = _big_workbook(tmp_path / f"b{cities}.xlsx", cities)
        run = run_macro(path, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME))
        # Counted by kind of call and sheet: equal totals could hide one sheet's extra
        # calls behind another's fewer.
        counts[cities] = Counter((a["func"], a["sheet_position"]) for a in run.actions)
        # One bulk write per output sheet.
        writes = [a for a in run.actions if a["func"] == "setValues"]
        assert len(writes) == len({a["sheet_position"] for a in writes}) or len(writes) <= 30
    assert counts[60] == counts[600]


def test_analyze_recalculates_and_shows_the_analysis_sheet(fixture_copy, tmp_path):
    run = run_macro(fixture_copy, lambda book: book_adapter.run_analyze(book, run_time=RUN_TIME), status_bar="record")
    applied = apply_actions(fixture_copy, run, tmp_path / "analyzed.xlsx")
    assert applied.alerts == []
    book = openpyxl.load_workbook(tmp_path / "analyzed.xlsx")
    assert book.active.title == layout.SHEET_ANALYSIS
    assert layout.SHEET_OVERALL in book.sheetnames and layout.SHEET_LOG in book.sheetnames


def test_a_workbook_with_no_value_at_all_is_stopped_in_excel_too(tmp_path):
    """The no-value case of the bad-input corpus: the ribbon's Recalculate stops with one
    alert and the Problems sheet names the same error as the command line."""
    source = Path(__file__).resolve().parent / "data" / "bad" / "no_value_anywhere.xlsx"
    path = tmp_path / "empty.xlsx"
    shutil.copyfile(source, path)
    run, applied = recalc_in_excel(path, tmp_path / "after.xlsx")
    assert len(applied.alerts) == 1 and "1 problem(s) block scoring" in applied.alerts[0].prompt
    problems = sheet_cells(openpyxl.load_workbook(tmp_path / "after.xlsx"), layout.SHEET_PROBLEMS)
    row = next(r for r in problems if r[0] == "D1 data to D2 data")
    assert row[1:3] == ["no value at all (every input cell is blank, so every city would tie everywhere)", "the edition's values: with none there is nothing to score"]
BAD = Path(__file__).resolve().parent / "data" / "bad"


def _problems_rows(path: Path) -> list[list]:
    """The Problems sheet's rows but its time stamp (row 3)."""
    rows = sheet_cells(openpyxl.load_workbook(path), layout.SHEET_PROBLEMS)
    return [list(r) for i, r in enumerate(rows) if i != 2]


def test_the_ribbon_reports_a_merged_cell_in_a_data_table_as_the_command_line_does(tmp_path):
    from cityopp_xl.adapters.xlsx import validate_file

    source = BAD / "merged_cells_in_table.xlsx"
    run = run_macro(source, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record", layout_features=True)
    applied = apply_actions(source, run, tmp_path / "excel.xlsx")
    assert len(applied.alerts) == 1 and "1 problem(s) block scoring" in applied.alerts[0].prompt
    _, problems, _ = validate_file(source)  # the command line's problems: the same cells and words
    expected = [list(r) for i, r in enumerate(audit_sheets.problems_sheet(problems).cells) if i != 2]
    assert _problems_rows(tmp_path / "excel.xlsx") == expected
    assert expected[3][0] == "D1 data!C6:C7"
    # Nothing but the Problems sheet was written.
    assert openpyxl.load_workbook(tmp_path / "excel.xlsx").sheetnames == openpyxl.load_workbook(source).sheetnames + [layout.SHEET_PROBLEMS]


def _quiet_actions(actions: list[dict]) -> list[tuple]:
    return [(a["func"], a["args"][0]) for a in actions if a["func"] in ("setScreenUpdating", "setCalculation")]


def test_an_unexpected_failure_ends_in_the_alert_and_the_problems_sheet(fixture_copy, tmp_path, monkeypatch):
    from cityopp_xl.adapters import recalculate

    def fail(inputs):
        raise RuntimeError("boom")

    monkeypatch.setattr(recalculate, "run", fail)
    run = run_macro(fixture_copy, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record")
    applied = apply_actions(fixture_copy, run, tmp_path / "failed.xlsx")
    message = "cityopp-xl: internal error (RuntimeError: boom), expected no error: this is a bug in cityopp-xl, please report it with the workbook"
    assert applied.alert_prompts == [f"CityOpp stopped: {message}"]
    assert _problems_rows(tmp_path / "failed.xlsx")[3] == ["cityopp-xl", "internal error (RuntimeError: boom)", message.split(", expected ", 1)[1], "error"]
    assert run.status_messages[-1] is False  # the status bar is given back to Excel


def test_a_failure_while_writing_restores_screen_updating_and_calculation(fixture_copy, monkeypatch):
    calls = []

    def fail_on_the_third_sheet(book, output, sheet=None):
        calls.append(output.name)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return write_sheet(book, output, sheet)

    write_sheet = book_adapter.write_sheet
    monkeypatch.setattr(book_adapter, "write_sheet", fail_on_the_third_sheet)
    results = []
    run = run_macro(fixture_copy, lambda book: results.append(book_adapter.run_recalculate(book, run_time=RUN_TIME)), status_bar="record")
    assert results[0].problems[0].found == "internal error (RuntimeError: disk full)"
    funcs = [a["func"] for a in run.actions]
    # Off before the first write, back on (and automatic) after the failure, then the
    # Problems sheet written the same way, then the alert.
    assert _quiet_actions(run.actions) == [("setScreenUpdating", False), ("setCalculation", "Manual"), ("setCalculation", "Automatic"), ("setScreenUpdating", True)] * 2
    assert funcs.index("setValues") > funcs.index("setCalculation")
    assert funcs[-1] == "alert"


def test_recalculate_of_the_2025_master_takes_at_most_150_calls(master_copy, tmp_path):
    run, applied = recalc_in_excel(master_copy, tmp_path / "excel.xlsm")
    assert applied.alerts == []
    assert len(run.actions) <= 150, len(run.actions)
    funcs = [a["func"] for a in run.actions]
    quiet = [i for i, f in enumerate(funcs) if f in ("setScreenUpdating", "setCalculation")]
    writes = [i for i, f in enumerate(funcs) if f in ("setValues", "sheetClear", "sheetClearContents")]
    assert quiet[1] < writes[0] and writes[-1] < quiet[2]
    # A second Recalculate of its own result costs the same.
    again, _ = recalc_in_excel(tmp_path / "excel.xlsm", tmp_path / "again.xlsm")
    assert len(again.actions) == len(run.actions)


class _FakeRange:
    """Just enough of Excel's COM Range for :func:`book._desktop_features` (1-based)."""

    def __init__(self, sheet, r1, c1, r2, c2):
        self.sheet, self.Row, self.Column = sheet, r1, c1
        self.last = (r2, c2)
        self.Rows = type("Count", (), {"Count": r2 - r1 + 1})()
        self.Columns = type("Count", (), {"Count": c2 - c1 + 1})()

    @property
    def Address(self):
        return f"{self.Row},{self.Column}:{self.last}"

    @property
    def MergeCells(self):
        return None if self.sheet.merged else False

    @property
    def MergeArea(self):
        for r1, c1, r2, c2 in self.sheet.merged:
            if r1 <= self.Row <= r2 and c1 <= self.Column <= c2:
                return _FakeRange(self.sheet, r1, c1, r2, c2)
        return self

    def Cells(self, row, column):
        return _FakeRange(self.sheet, self.Row + row - 1, self.Column + column - 1, self.Row + row - 1, self.Column + column - 1)

    def Find(self, What, LookAt, SearchFormat, After=None):
        # Excel searches on from After, wrapping round to the first match.
        starts = sorted((r1, c1) for r1, c1, _, _ in self.sheet.merged)
        after = (After.Row, After.Column) if After is not None else (0, 0)
        found = [s for s in starts if s > after] or starts
        return _FakeRange(self.sheet, *found[0], *found[0]) if found else None

    def SpecialCells(self, kind):
        assert kind == 12
        areas = self.sheet.visible
        return type("Visible", (), {"Areas": _FakeAreas(self.sheet, areas)})()


class _FakeAreas:
    def __init__(self, sheet, areas):
        self.sheet, self.areas, self.Count = sheet, areas, len(areas)

    def __call__(self, index):
        return _FakeRange(self.sheet, *self.areas[index - 1])


class _FakeSheet:
    def __init__(self, used, merged, visible):
        self.merged, self.visible = merged, visible
        self.UsedRange = _FakeRange(self, *used)
        self.Application = type("App", (), {"FindFormat": type("Find", (), {"Clear": lambda self: None, "MergeCells": False})()})()


def test_desktop_features_find_merged_areas_and_hidden_rows_and_columns():
    """The COM reading of desktop Excel (which these tests cannot run) on a stand-in: row 8
    and column C hidden, C6:C7 and A1:G1 merged."""
    sheet = _FakeSheet((1, 1, 11, 7), [(1, 1, 1, 7), (6, 3, 7, 3)], [(1, 1, 7, 2), (1, 4, 7, 7), (9, 1, 11, 2), (9, 4, 11, 7)])
    merged, hidden_rows, hidden_columns = book_adapter._desktop_features(sheet)
    assert sorted(merged) == [(1, 1, 1, 7), (6, 3, 7, 3)]
    assert (hidden_rows, hidden_columns) == ((8,), (3,))
    plain = _FakeSheet((1, 1, 11, 7), [], [(1, 1, 11, 7)])
    assert book_adapter._desktop_features(plain) == ((), (), ())


def test_a_sheet_edited_by_hand_gets_its_formats_written_again(master_copy, tmp_path):
    once = tmp_path / "once.xlsm"
    recalc_in_excel(master_copy, once)
    book = openpyxl.load_workbook(once, keep_vba=True)
    book["D3 scores"].insert_rows(6)  # a row inserted by hand: the formats below it moved
    book.save(once)
    cache_formula_values(once, book)  # saved as Excel saves it, the formulas with their values
    run, _ = recalc_in_excel(once, tmp_path / "twice.xlsm")
    position = openpyxl.load_workbook(once).sheetnames.index("D3 scores")
    cleared = {a["func"] for a in run.actions if a["sheet_position"] == position}
    assert "sheetClear" in cleared and "sheetClearContents" not in cleared
    others = {a["func"] for a in run.actions if a["sheet_position"] == position + 2}  # D4 scores, untouched
    assert others == {"sheetClearContents", "setValues"}

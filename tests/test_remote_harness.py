"""The remote-engine harness must reproduce what Excel would do with the actions."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName

try:  # tests/ as a package
    from tests import remote_harness as rh
except ImportError:  # tests/ on sys.path (pytest's default rootdir handling)
    import remote_harness as rh

import xlwings as xw


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


def _set_cached_value(path: Path, sheet_xml: str, cell: str, value: str) -> None:
    """Give a formula cell a cached result, as Excel would have saved it."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == sheet_xml:
                text = data.decode()
                text, count = re.subn(
                    rf'(<c r="{cell}"[^>]*>\s*<f>[^<]*</f>)\s*(<v\s*/>|<v>\s*</v>)?',
                    rf"\1<v>{value}</v>",
                    text,
                )
                assert count == 1, text
                data = text.encode()
            zout.writestr(item, data)
    tmp.replace(path)


@pytest.fixture
def source(tmp_path) -> Path:
    wb = Workbook()
    data = wb.active
    data.title = "Input"
    data.append(["City", "Population", "Score", "Capital", "Founded", "Double"])
    data.append(["Shanghai", 24.9, 87.5, False, dt.datetime(1291, 1, 1), "=B2*2"])
    data.append(["Beijing", 21.9, 91, True, dt.datetime(2024, 1, 2), None])
    data.append(["Chengdu", None, 70.25, False, None, None])
    data.cell(row=4, column=5).number_format = "yyyy-mm-dd"
    data["H6"] = "#N/A"
    wb.defined_names["Cities"] = DefinedName("Cities", attr_text="Input!$A$2:$A$4")
    data.defined_names["LocalScore"] = DefinedName("LocalScore", attr_text="Input!$C$2")
    scratch = wb.create_sheet("Scratch")
    scratch["B3"] = "scratch"
    wb.create_sheet("Report")
    wb.create_sheet("Empty")
    path = tmp_path / "cities.xlsx"
    wb.save(path)
    _set_cached_value(path, "xl/worksheets/sheet1.xml", "F2", "49.8")
    return path


def _reopen(path: Path):
    return load_workbook(path)


# --------------------------------------------------------------------------
# Payload
# --------------------------------------------------------------------------


def test_payload_encodes_values_like_the_office_js_client(source):
    payload = rh.payload_from_xlsx(source)

    assert payload["client"] == rh.OFFICE_JS
    assert payload["version"] == xw.__version__
    assert payload["book"] == {
        "name": "cities.xlsx",
        "active_sheet_index": 0,
        "selection": "A1",
        "calculation": "Automatic",
    }
    assert [s["name"] for s in payload["sheets"]] == ["Input", "Scratch", "Report", "Empty"]
    values = payload["sheets"][0]["values"]
    # A1 to the last used cell (H6), empty cells as ""
    assert len(values) == 6 and all(len(row) == 8 for row in values)
    assert values[1] == ["Shanghai", 24.9, 87.5, False, "1291-01-01T00:00:00.000Z", 49.8, "", ""]
    # Integral numbers arrive as ints, like JSON produced by JavaScript
    assert values[2][2] == 91 and isinstance(values[2][2], int)
    assert values[2][4] == "2024-01-02T00:00:00.000Z"
    assert values[3][1] == "" and values[5][7] == "#N/A"
    assert payload["sheets"][0]["used_range_address"] == "A1:H6"
    scratch = payload["sheets"][1]
    assert scratch["used_range_address"] == "B3"
    assert scratch["values"] == [["", ""], ["", ""], ["", "scratch"]]
    empty = payload["sheets"][3]
    assert empty["values"] == [[""]] and empty["used_range_address"] is None
    assert {n["name"]: (n["sheet_index"], n["address"], n["book_scope"]) for n in payload["names"]} == {
        "Cities": (0, "A2:A4", True),
        "LocalScore": (0, "C2", False),
    }


def test_payload_options(source):
    payload = rh.payload_from_xlsx(source, active_sheet="Report")
    assert payload["book"]["active_sheet_index"] == 2
    with pytest.raises(KeyError):
        rh.payload_from_xlsx(source, active_sheet="Nope")

    legacy = rh.payload_from_xlsx(source, client=rh.VBA)
    assert set(legacy["sheets"][0]) == {"name", "values", "pictures", "tables"}
    assert legacy["sheets"][3]["values"] == [[]]

    serial = rh.payload_from_xlsx(source, custom_date_formats_as_serial=True)
    assert serial["sheets"][0]["values"][2][4] == 45293  # custom "yyyy-mm-dd" format


def test_book_reads_the_payload(source):
    actions, book = rh.run_macro(source, lambda book: None)
    assert actions == []
    sheet = book.sheets["Input"]
    assert book.sheets.active.name == "Input"
    assert sheet["A1"].expand().value[1] == [
        "Shanghai", 24.9, 87.5, False, dt.datetime(1291, 1, 1), 49.8,
    ]
    assert sheet["H6"].value is None  # errors read as None
    assert sheet.used_range.address == "$A$1:$H$6"
    assert book.sheets["Scratch"].used_range.address == "$B$3"
    assert book.names["Cities"].refers_to_range.value == ["Shanghai", "Beijing", "Chengdu"]
    assert book.sheets["Input"].names["Input!LocalScore"].refers_to_range.value == 87.5
    assert book.sheets["Input"].visible and book.sheets["Input"].show_gridlines


def test_uncached_formulas(tmp_path):
    wb = Workbook()
    wb.active["A1"] = 2
    wb.active["A2"] = "=A1*2"
    path = tmp_path / "uncached.xlsx"
    wb.save(path)
    assert rh.payload_from_xlsx(path)["sheets"][0]["values"] == [[2], [""]]
    assert rh.payload_from_xlsx(path, uncached_formulas="formula")["sheets"][0]["values"] == [
        [2],
        ["=A1*2"],
    ]
    with pytest.raises(rh.HarnessError, match="cached"):
        rh.payload_from_xlsx(path, uncached_formulas="error")


# --------------------------------------------------------------------------
# The main round trip
# --------------------------------------------------------------------------


def _report_macro(book: xw.Book) -> None:
    input_sheet = book.sheets["Input"]
    cities = input_sheet["A2:A4"].value
    out = book.sheets.add("Results", after=input_sheet)
    out["A1"].value = [
        ["City", "Rank", "Score", "Top", "As of"],
        *[[city, rank, 100.0 - 10 * rank, rank == 1, dt.date(2024, 5, 1)] for rank, city in enumerate(cities, 1)],
    ]
    out["C2:C4"].number_format = "0.0"
    out["A1:E1"].font.bold = True
    out["A1:E1"].font.color = (255, 255, 255)
    out["A1:E1"].font.size = 12
    out["A1:E1"].color = "#1F4E78"
    out["A:A"].column_width = 120
    out["B:E"].column_width = 60
    out.freeze_panes.freeze_at("A1")
    out["F2"].formula = "=C2*2"
    book.names.add("Ranking", "=Results!$A$1:$E$4")
    book.sheets["Scratch"].delete()
    book.sheets["Report"].name = "Summary"
    book.app.alert("Ranking done", title="cityopp")


def test_macro_round_trip(source, tmp_path):
    actions, book = rh.run_macro(source, _report_macro)

    funcs = [a["func"] for a in actions]
    assert funcs[:2] == ["addSheet", "setValues"]
    assert funcs.count("setValues") == 1  # the whole block in one call
    assert actions[0]["args"] == [1, "Results"]
    assert [s.name for s in book.sheets] == ["Input", "Results", "Summary", "Empty"]

    dst = tmp_path / "out.xlsx"
    result = rh.apply_actions(source, actions, dst)
    wb = _reopen(dst)

    # Sheets: added after Input, Scratch deleted, Report renamed
    assert wb.sheetnames == ["Input", "Results", "Summary", "Empty"]
    ws = wb["Results"]
    # The 2D block with mixed types
    assert [[c.value for c in row] for row in ws["A1:E4"]] == [
        ["City", "Rank", "Score", "Top", "As of"],
        ["Shanghai", 1, 90, True, dt.datetime(2024, 5, 1)],
        ["Beijing", 2, 80, False, dt.datetime(2024, 5, 1)],
        ["Chengdu", 3, 70, False, dt.datetime(2024, 5, 1)],
    ]
    assert ws["E2"].is_date and ws["E2"].number_format == "yyyy-mm-dd"
    assert ws["F2"].value == "=C2*2"
    # Formats
    assert all(ws[f"C{r}"].number_format == "0.0" for r in (2, 3, 4))
    assert ws["B2"].number_format == "General"
    for cell in ws["A1:E1"][0]:
        assert cell.font.bold is True
        assert cell.font.color.rgb == "FFFFFFFF"
        assert cell.font.size == 12
        assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == "FF1F4E78"
    assert ws["A2"].font.bold is not True and ws["A2"].fill.fill_type is None
    # column_width is in points on the remote engine
    assert ws.column_dimensions["A"].width == pytest.approx(rh.points_to_column_width(120))
    assert rh.column_width_to_points(ws.column_dimensions["A"].width) == pytest.approx(120, abs=0.1)
    for letter in "BCDE":
        assert ws.column_dimensions[letter].width == pytest.approx(rh.points_to_column_width(60))
    # freeze_at("A1") freezes row 1 and column A: the scrolling pane starts at B2
    assert ws.freeze_panes == "B2"
    # Names and references
    assert wb.defined_names["Ranking"].attr_text == "Results!$A$1:$E$4"
    assert wb.defined_names["Cities"].attr_text == "Input!$A$2:$A$4"
    # Alerts are collected, in order
    assert result.alerts == [rh.Alert("Ranking done", "cityopp", "ok", "", "")]
    assert result.alert_prompts == ["Ranking done"]
    assert result.status_messages == []
    # The untouched sheet is intact, including the workbook's active sheet
    assert wb["Input"]["A3"].value == "Beijing"
    assert wb.active.title == "Input"


def test_output_can_be_read_back_through_the_engine(source, tmp_path):
    dst = tmp_path / "out.xlsx"
    rh.apply_actions(source, rh.run_macro(source, _report_macro), dst)
    _, book = rh.run_macro(dst, lambda book: None, active_sheet="Results")
    assert book.sheets.active.name == "Results"
    assert book.sheets["Results"]["A1"].expand().value[1] == [
        "Shanghai", 1, 90, True, dt.datetime(2024, 5, 1),
    ]
    # openpyxl writes no cached values: the formula cell reads as empty
    assert book.sheets["Results"]["F2"].value is None


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:no explicit representation of timezones")
def test_value_encodings(source, tmp_path):
    def macro(book):
        sheet = book.sheets["Empty"]
        sheet["A1"].value = [
            [np.int64(5), np.float64(2.5), np.nan, pd.NA, pd.NaT, None],
            [
                dt.datetime(2024, 1, 2, 3, 4, 5, 678),
                pd.Timestamp("2024-01-02"),
                np.datetime64("2024-03-04T05:06:07"),
                dt.date(2024, 1, 2),
                dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                "=A1*2",
            ],
        ]
        sheet["A3"].options(index=False).value = pd.DataFrame({"x": [1, 2], "y": ["a", None]})

    actions, _ = rh.run_macro(source, macro)
    assert actions[0]["values"] == [
        [5.0, 2.5, "", "", "", ""],
        [
            "2024-01-02 03:04:05",  # microseconds dropped
            "2024-01-02",  # midnight becomes a date
            "2024-03-04 05:06:07",
            "2024-01-02",
            "2024-01-02 03:04:00",  # timezone dropped, not converted
            "=A1*2",
        ],
    ]
    dst = tmp_path / "out.xlsx"
    rh.apply_actions(source, actions, dst)
    ws = _reopen(dst)["Empty"]
    assert [c.value for c in ws[1]] == [5, 2.5, None, None, None, None]
    assert [c.value for c in ws[2]] == [
        dt.datetime(2024, 1, 2, 3, 4, 5),
        dt.datetime(2024, 1, 2),
        dt.datetime(2024, 3, 4, 5, 6, 7),
        dt.datetime(2024, 1, 2),
        dt.datetime(2024, 1, 2, 3, 4),
        "=A1*2",
    ]
    assert ws["A2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert ws["B2"].number_format == "yyyy-mm-dd"
    assert [[c.value for c in row] for row in ws["A3:B5"]] == [["x", "y"], [1, "a"], [2, None]]


def test_strings_are_parsed_like_typed_input(source, tmp_path):
    def macro(book):
        sheet = book.sheets["Empty"]
        sheet["A1"].value = [["001", "1.5e3", "12%", "true", "2024-02-03", "-x", "'007", "Chengdu"]]
        sheet["A2"].number_format = "@"
        sheet["A2"].value = "001"

    run = rh.run_macro(source, macro)
    dst = tmp_path / "out.xlsx"
    result = rh.apply_actions(source, run, dst)
    ws = _reopen(dst)["Empty"]
    assert [c.value for c in ws[1]] == [
        1, 1500, 0.12, True, dt.datetime(2024, 2, 3), "=-x", "007", "Chengdu",
    ]
    assert ws["C1"].number_format == "0%"
    assert ws["A2"].value == "001"  # Text-formatted cells keep text
    assert [(c.cell, c.written) for c in result.coerced] == [
        ("A1", "001"), ("B1", "1.5e3"), ("C1", "12%"), ("D1", "true"),
        ("E1", "2024-02-03"), ("F1", "-x"), ("G1", "'007"),
    ]

    verbatim = tmp_path / "verbatim.xlsx"
    rh.apply_actions(source, run.actions, verbatim, coerce_strings=False)
    ws = _reopen(verbatim)["Empty"]
    assert [c.value for c in ws[1]][:3] == ["001", "1.5e3", "12%"]


@pytest.mark.parametrize(
    "value", [np.bool_(True), float("inf"), dt.time(12, 30), decimal.Decimal("1.5")]
)
def test_values_a_client_cannot_receive_are_rejected(source, value):
    def macro(book):
        book.sheets[0]["A1"].value = value

    with pytest.raises(rh.ActionSerializationError, match="setValues"):
        rh.run_macro(source, macro)


def test_reads_do_not_see_writes_of_the_same_run(source):
    seen = {}

    def macro(book):
        sheet = book.sheets["Empty"]
        sheet["A1"].value = 42
        seen["value"] = sheet["A1"].value
        seen["used"] = sheet.used_range.address

    rh.run_macro(source, macro)
    assert seen == {"value": None, "used": "$A$1"}


# --------------------------------------------------------------------------
# Errors, unsupported features, app-level calls
# --------------------------------------------------------------------------


def _action(func, **kwargs):
    base = {
        "func": func,
        "args": [None],
        "values": None,
        "sheet_position": None,
        "start_row": None,
        "start_column": None,
        "row_count": None,
        "column_count": None,
    }
    base.update(kwargs)
    return base


def test_unknown_action_raises(source, tmp_path):
    with pytest.raises(rh.UnsupportedActionError, match="'frobnicate'") as excinfo:
        rh.apply_actions(source, [_action("frobnicate")], tmp_path / "out.xlsx")
    assert excinfo.value.func == "frobnicate"
    assert not (tmp_path / "out.xlsx").exists()


def test_every_recordable_action_is_handled_or_explicitly_unsupported():
    """Fails when a new xlwings version records an action the harness doesn't know."""
    engine_source = (Path(xw.__file__).parent / "pro" / "_xlremote.py").read_text()
    funcs = set(re.findall(r'func="([A-Za-z]+)"', engine_source))
    funcs |= set(re.findall(r'_queue\(\s*"([A-Za-z]+)"', engine_source))
    funcs |= set(re.findall(r'"((?:apply|clear)AutoFilter(?:Range|Table))"', engine_source))
    funcs -= {"name", "function", "number_format"}  # pivot value-field attributes
    assert len(funcs) > 100
    assert funcs - rh.HANDLED_ACTIONS - set(rh.UNSUPPORTED_ACTIONS) == set()
    assert rh.HANDLED_ACTIONS.isdisjoint(rh.UNSUPPORTED_ACTIONS)


def test_known_but_unsupported_action_raises(source, tmp_path):
    def macro(book):
        book.sheets["Input"]["A1:B4"].autofill(book.sheets["Input"]["A1:B8"])

    actions, _ = rh.run_macro(source, macro)
    with pytest.raises(rh.UnsupportedActionError, match="rangeAutofill"):
        rh.apply_actions(source, actions, tmp_path / "out.xlsx")


def test_actions_a_legacy_client_cannot_apply(source, tmp_path):
    run = rh.run_macro(source, lambda book: setattr(book.sheets[0]["A1"].font, "bold", True))
    rh.apply_actions(source, run, tmp_path / "ok.xlsx")  # Office.js handles it
    with pytest.raises(rh.UnsupportedActionError, match="setFontProperty.*VBA"):
        rh.apply_actions(source, run.actions, tmp_path / "vba.xlsx", client=rh.VBA)


def test_excel_rules_are_enforced(source, tmp_path):
    with pytest.raises(rh.ExcelRuleError, match="already exists"):
        rh.apply_actions(source, [_action("addSheet", args=[0, "input"])], tmp_path / "o.xlsx")
    only_one = tmp_path / "one.xlsx"
    Workbook().save(only_one)
    with pytest.raises(rh.ExcelRuleError, match="visible sheet"):
        rh.apply_actions(only_one, [_action("sheetDelete", sheet_position=0)], tmp_path / "o.xlsx")


def test_status_bar_is_not_supported_by_the_remote_engine(source, tmp_path):
    def macro(book):
        book.app.status_bar = "Scoring 1/3"
        book.app.status_bar = False

    with pytest.raises(NotImplementedError, match="status_bar"):
        rh.run_macro(source, macro)

    run = rh.run_macro(source, macro, status_bar="record")
    assert run.actions == []  # nothing is sent to the client
    assert run.status_messages == ["Scoring 1/3", False]
    result = rh.apply_actions(source, run, tmp_path / "out.xlsx")
    assert result.status_messages == ["Scoring 1/3", False]
    # The patch is undone afterwards
    with pytest.raises(NotImplementedError):
        rh.run_macro(source, macro)


def test_macros_need_a_stand_in(source, tmp_path):
    run = rh.run_macro(source, lambda book: book.macro("Refresh")(1, "x"))
    with pytest.raises(rh.UnsupportedActionError, match="Refresh"):
        rh.apply_actions(source, run, tmp_path / "out.xlsx")
    calls = []
    result = rh.apply_actions(
        source, run, tmp_path / "out.xlsx", macros={"Refresh": lambda wb, *a: calls.append(a)}
    )
    assert calls == [(1, "x")]
    assert result.macros_run == [("'cities.xlsx'!Refresh", [1, "x"])]


# --------------------------------------------------------------------------
# Sheets
# --------------------------------------------------------------------------


def test_sheet_order_follows_the_engine(source, tmp_path):
    """Whatever order the engine's Book reports is the order Excel ends up with."""

    def macro(book):
        sheets = book.sheets
        sheets.add("First", before=sheets["Input"])
        sheets.add("AfterScratch", after=sheets["Scratch"])
        sheets.add("BeforeReport", before=sheets["Report"])
        sheets.add("Last")
        sheets["Empty"].move(before=sheets["First"])
        sheets["Scratch"].copy(after=sheets["Last"])
        sheets["AfterScratch"].delete()

    actions, book = rh.run_macro(source, macro)
    dst = tmp_path / "out.xlsx"
    rh.apply_actions(source, actions, dst)
    assert _reopen(dst).sheetnames == [s.name for s in book.sheets]
    copied = _reopen(dst)["Scratch (2)"]
    assert copied["B3"].value == "scratch"


def test_sheets_add_before_is_off_by_one(source):
    """xlwings 0.37.8's remote Sheets.add(before=X) inserts one position too early."""
    _, book = rh.run_macro(source, lambda b: b.sheets.add("New", before=b.sheets["Report"]))
    assert [s.name for s in book.sheets] == ["Input", "New", "Scratch", "Report", "Empty"]


@pytest.mark.parametrize(
    ("frozen", "expected"),
    [("A1", "B2"), ("B2", "C3"), ("A:A", "B1"), ("1:1", "A2"), ("A1:C2", "D3"), ("$B$1", "C2")],
)
def test_freeze_panes(source, tmp_path, frozen, expected):
    run = rh.run_macro(source, lambda b: b.sheets["Input"].freeze_panes.freeze_at(frozen))
    dst = tmp_path / "out.xlsx"
    rh.apply_actions(source, run, dst)
    assert _reopen(dst)["Input"].freeze_panes == expected

    run = rh.run_macro(dst, lambda b: b.sheets["Input"].freeze_panes.unfreeze())
    rh.apply_actions(dst, run, tmp_path / "unfrozen.xlsx")
    assert _reopen(tmp_path / "unfrozen.xlsx")["Input"].freeze_panes is None


def test_rename_and_delete_update_references(source, tmp_path):
    wb = load_workbook(source)
    wb["Report"]["A1"] = "=SUM(Input!B2:B4)+'Scratch'!B3"
    wb.defined_names["Remote"] = DefinedName("Remote", attr_text="Scratch!$B$3")
    prepared = tmp_path / "prepared.xlsx"
    wb.save(prepared)

    def macro(book):
        book.sheets["Input"].name = "City Data"
        book.sheets["Scratch"].delete()

    dst = tmp_path / "out.xlsx"
    rh.apply_actions(prepared, rh.run_macro(prepared, macro), dst)
    out = _reopen(dst)
    assert out["Report"]["A1"].value == "=SUM('City Data'!B2:B4)+#REF!B3"
    assert out.defined_names["Cities"].attr_text == "'City Data'!$A$2:$A$4"
    assert out.defined_names["Remote"].attr_text == "#REF!$B$3"
    assert out["City Data"].defined_names["LocalScore"].attr_text == "'City Data'!$C$2"


def test_sheet_visibility_activation_and_gridlines(source, tmp_path):
    def macro(book):
        book.sheets["Report"].activate()
        book.sheets["Scratch"].visible = False
        book.sheets["Report"].show_gridlines = False
        book.sheets["Input"].page_setup.print_area = "A1:F4"

    dst = tmp_path / "out.xlsx"
    rh.apply_actions(source, rh.run_macro(source, macro), dst)
    wb = _reopen(dst)
    assert wb.active.title == "Report"
    assert wb["Scratch"].sheet_state == "hidden"
    assert wb["Report"].sheet_view.showGridLines is False
    assert wb["Input"].print_area == "'Input'!$A$1:$F$4"


# --------------------------------------------------------------------------
# Ranges: clearing, formats, tables, conditional formats, validation
# --------------------------------------------------------------------------


def test_clear_variants(source, tmp_path):
    def macro(book):
        sheet = book.sheets["Input"]
        sheet["A1:F1"].font.bold = True
        sheet["A1"].clear_contents()
        sheet["B1"].clear_formats()
        sheet["C1"].clear()
        sheet["A2:B2"].merge()
        book.sheets["Scratch"].clear()

    dst = tmp_path / "out.xlsx"
    rh.apply_actions(source, rh.run_macro(source, macro), dst)
    ws = _reopen(dst)["Input"]
    assert ws["A1"].value is None and ws["A1"].font.bold
    assert ws["B1"].value == "Population" and not ws["B1"].font.bold
    assert ws["C1"].value is None and not ws["C1"].font.bold
    assert ws["D1"].font.bold
    assert [str(r) for r in ws.merged_cells.ranges] == ["A2:B2"]
    assert ws["A2"].value == "Shanghai"
    assert _reopen(dst)["Scratch"]["B3"].value is None


def test_formats_tables_rules_and_validation(source, tmp_path):
    def macro(book):
        sheet = book.sheets["Input"]
        table = sheet.tables.add(sheet["A1:F4"], name="CityTable", table_style_name="TableStyleLight9")
        table.show_table_style_first_column = True
        sheet["B2:B4"].conditional_formats.add_cell_value(
            "less_than", 22, fill_color="#FFC7CE", font_bold=True
        )
        sheet["C2:C4"].conditional_formats.add_custom("=$D2", font_color=(255, 0, 0))
        sheet["C2:C4"].conditional_formats.add_color_scale(["#F8696B", "#63BE7B"])
        sheet["J2:J9"].data_validation.set_list(["low", "high"])
        sheet["K2"].data_validation.set_whole_number("between", 1, 10)
        sheet["A6:C7"].borders.set("outside", line_style="continuous", weight="medium", color="#000000")
        sheet["A6"].horizontal_alignment = "center"
        sheet["A6"].wrap_text = True
        sheet["A6"].add_hyperlink("https://example.org", "Example")
        sheet["A7"].add_note("Source: statistics yearbook")
        sheet["2:3"].row_height = 24
        sheet["A1:C1"].autofit()

    dst = tmp_path / "out.xlsx"
    result = rh.apply_actions(source, rh.run_macro(source, macro), dst, note_author="cityopp")
    ws = _reopen(dst)["Input"]

    table = ws.tables["CityTable"]
    assert table.ref == "A1:F4"
    assert table.tableStyleInfo.name == "TableStyleLight9"
    assert table.tableStyleInfo.showFirstColumn is True
    assert [c.name for c in table.tableColumns] == [
        "City", "Population", "Score", "Capital", "Founded", "Double",
    ]

    rules = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    (cell_is,) = rules["B2:B4"]
    assert (cell_is.type, cell_is.operator, cell_is.formula) == ("cellIs", "lessThan", ["22"])
    assert cell_is.dxf.font.b is True and cell_is.dxf.fill.fgColor.rgb == "FFFFC7CE"
    scale, expression = sorted(rules["C2:C4"], key=lambda r: r.priority)
    # The newest rule has the highest priority, as with Office.js
    assert scale.type == "colorScale" and scale.priority == 1
    assert expression.type == "expression" and expression.formula == ["$D2"]
    assert cell_is.priority == 3

    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    assert validations["J2:J9"].type == "list"
    assert validations["J2:J9"].formula1 == '"low,high"'
    assert validations["J2:J9"].showDropDown in (None, False)  # dropdown shown
    assert (validations["K2"].type, validations["K2"].operator) == ("whole", "between")
    assert (validations["K2"].formula1, validations["K2"].formula2) == ("1", "10")

    assert ws["A6"].border.top.style == "medium" and ws["A6"].border.left.style == "medium"
    assert ws["B6"].border.left.style is None and ws["B7"].border.bottom.style == "medium"
    assert ws["C7"].border.right.color.rgb == "FF000000"
    assert ws["A6"].alignment.horizontal == "center" and ws["A6"].alignment.wrap_text
    assert ws["A6"].hyperlink.target == "https://example.org" and ws["A6"].value == "Example"
    assert ws["A7"].comment.text == "Source: statistics yearbook"
    assert ws.row_dimensions[2].height == 24 and ws.row_dimensions[3].height == 24
    assert result.autofits == [("Input", "columns", "A1:C1"), ("Input", "rows", "A1:C1")]
    assert ws.column_dimensions["A"].width > 4


def test_more_range_actions(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    for r in range(1, 6):
        ws.append([f"n{r}", r, r * 1.5])
    wb.create_sheet("T")
    source = tmp_path / "src.xlsx"
    wb.save(source)

    def macro(book):
        s = book.sheets["S"]
        s["B:B"].number_format = "0.00"
        s["A1:B2"].set_colors([[(255, 0, 0), ...], [None, "#00FF00"]])
        table = s.tables.add(s["A1:C5"])
        table.name = "Data"
        table.show_autofilter = False
        table.resize(s["A1:C4"])
        rules = s["B1:B5"].conditional_formats  # one collection object: see below
        rule = rules.add_cell_value("greater_than", 2, fill_color="#FFFF00")
        rules.add_cell_value("between", 1, 3, font_italic=True)
        rule.delete()
        s["D1:D3"].data_validation.set_list(["x", "y"])
        s["D2"].data_validation.delete()
        s["G1:G3"].formula = "=B1*2"  # one formula for a range: references adjust
        s["A1:A2"].copy(book.sheets["T"]["C3"])
        book.sheets["T"]["A10"].copy_from(s["A1:A2"], transpose=True)
        s["A1:A5"].replace_all("n", "city", whole=False, match_case=True)
        s["3:3"].rows.hidden = True
        s["C:C"].columns.hidden = True
        s["4:5"].group()
        book.app.calculation = "manual"
        book.app.calculate()
        book.sheets["T"]["B1"].name = "TB1"

    dst = tmp_path / "out.xlsx"
    result = rh.apply_actions(source, rh.run_macro(source, macro), dst)
    out = _reopen(dst)
    s, t = out["S"], out["T"]
    assert s.column_dimensions["B"].number_format == "0.00" and s["B4"].number_format == "0.00"
    assert (s["A1"].fill.fgColor.rgb, s["B1"].fill.fill_type) == ("FFFF0000", None)
    assert (s["A2"].fill.fill_type, s["B2"].fill.fgColor.rgb) == (None, "FF00FF00")
    table = s.tables["Data"]
    assert (table.ref, table.autoFilter) == ("A1:C4", None)
    # Header cells are text, and the table columns follow them (here: after replace_all)
    assert [c.name for c in table.tableColumns] == ["city1", "1", "1.5"]
    assert s["B1"].value == "1"
    (cf,) = s.conditional_formatting
    assert [(r.operator, r.formula) for r in cf.rules] == [("between", ["1", "3"])]
    assert [(str(dv.sqref), dv.formula1) for dv in s.data_validations.dataValidation] == [
        ("D1 D3", '"x,y"')
    ]
    assert [s[f"G{r}"].value for r in (1, 2, 3)] == ["=B1*2", "=B2*2", "=B3*2"]
    assert [t["C3"].value, t["C4"].value, t["A10"].value, t["B10"].value] == ["n1", "n2", "n1", "n2"]
    assert [s[f"A{r}"].value for r in range(1, 6)] == ["city1", "city2", "city3", "city4", "city5"]
    assert s.row_dimensions[3].hidden and s.column_dimensions["C"].hidden
    assert s.row_dimensions[4].outline_level == 1 and s.row_dimensions[5].outline_level == 1
    assert out.calculation.calcMode == "manual" and out.calculation.fullCalcOnLoad
    assert result.recorded == [("calculate", [])]
    assert out.defined_names["TB1"].attr_text == "T!$B$1"


def test_conditional_format_positions_are_checked(source, tmp_path):
    """A rule object only knows its position in the collection it came from."""

    def macro(book):
        rng = book.sheets["Input"]["B2:B4"]
        first = rng.conditional_formats.add_cell_value("greater_than", 2)
        rng.conditional_formats.add_cell_value("less_than", 1)  # a second collection
        first.delete()  # sent as position 0, which is now the "less_than" rule

    with pytest.raises(rh.ExcelRuleError, match="changed since it was read"):
        rh.apply_actions(source, rh.run_macro(source, macro), tmp_path / "out.xlsx")


def test_insert_and_delete_shift_cells(tmp_path):
    wb = Workbook()
    for r in range(1, 6):
        wb.active.append([f"n{r}", r, r * 1.5])
    source = tmp_path / "src.xlsx"
    wb.save(source)

    def macro(book):
        s = book.sheets[0]
        s["2:2"].insert("down")
        s["A1:A2"].delete("up")
        s["B1:B2"].insert("right")
        s["C:C"].delete("left")

    dst = tmp_path / "out.xlsx"
    rh.apply_actions(source, rh.run_macro(source, macro), dst)
    assert list(_reopen(dst).active.iter_rows(values_only=True)) == [
        ("n2", None, 1.5),
        ("n3", None, None),
        ("n4", 2, None),
        ("n5", 3, None),
        (None, 4, None),
        (None, 5, None),
    ]


def test_xlsm_keeps_its_vba_project(tmp_path):
    source = tmp_path / "addin.xlsm"
    source.write_bytes((Path(xw.__file__).parent / "quickstart.xlsm").read_bytes())
    dst = tmp_path / "out.xlsm"

    def macro(book):
        book.sheets[0]["A1"].value = "hello"

    rh.apply_actions(source, rh.run_macro(source, macro), dst)
    with zipfile.ZipFile(dst) as archive:
        assert "xl/vbaProject.bin" in archive.namelist()
    assert load_workbook(dst, keep_vba=True).worksheets[0]["A1"].value == "hello"

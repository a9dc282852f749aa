"""Write the corpus of broken workbooks in tests/data/bad/ and cases.json (run from anywhere).

    python tests/data/bad/make_bad.py

Each case is a realistic mistake made to a copy of tests/data/raw_fixture.xlsx (a 7-city
raw-value workbook: cities Ava, Bel, Cor, Dun, Eld, Fen, Gal on rows 5-11 of the data
sheets) with openpyxl, or by editing its zip package directly (the untrusted-file cases).
Every case carries, typed by hand here, the exact lines ``cityopp validate`` prints and
the exit codes of ``cityopp validate`` and ``cityopp recalc``; tests/test_bad_inputs.py
checks them and that the file is byte-identical afterwards.

The output is deterministic: fixed document properties and fixed zip timestamps, so a
rerun rewrites identical files. Every file is small (the zip bombs are highly compressed:
the 500 MB part is a few hundred kilobytes).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

import openpyxl  # noqa: E402

SOURCE = HERE.parent / "raw_fixture.xlsx"
FIXED_TIME = dt.datetime(2025, 1, 1)
ZIP_TIME = (2025, 1, 1, 0, 0, 0)
D2_PART = "xl/worksheets/sheet6.xml"  # the 'D2 data' sheet of the fixture

# Expected-text pieces shared by many cases.
NUMBER = "expected a number, or a blank cell for no value"
BLANK = "expected a number or a blank cell"
WORKBOOK = "an Excel workbook (.xlsx or .xlsm), which is a zip package"

CASES: list[dict] = []


def case(name: str, mistake: str, *, validate: int, recalc: int, problems=(), message: str | None = None, suffix: str = ".xlsx", **situation):
    """Register a case built by the decorated function (book -> None, or path -> None for
    raw cases). ``problems``: the error:/warning: lines of ``cityopp validate``, in order;
    ``message``: the one stderr line of both commands for a file refused as a whole
    (``{file}`` stands for the file's name). ``situation``: how the file is found, for a
    workbook refused in place only: ``beside`` (files next to it, ``{file}`` standing
    for its name), ``read_only`` (True), and ``recalc_message``, the one stderr line of
    ``cityopp recalc`` in place (``{path}`` standing for its path); with ``-o`` to another
    file the run goes ahead."""

    def register(build):
        CASES.append(
            {
                "name": name,
                "file": name + suffix,
                "mistake": mistake,
                "validate_exit": validate,
                "recalc_exit": recalc,
                "problems": list(problems),
                "message": message,
                **situation,
                "build": build,
            }
        )
        return build

    return register


# --------------------------------------------------------------------------- helpers


def load():
    return openpyxl.load_workbook(SOURCE)


def save(book, path: Path) -> None:
    book.properties.created = FIXED_TIME
    book.properties.modified = FIXED_TIME
    book.properties.lastModifiedBy = None
    book.save(path)
    normalise_zip(path)


def normalise_zip(path: Path, replace: dict[str, bytes] | None = None) -> None:
    """Rewrite a package with fixed timestamps (and some parts replaced), deterministically."""
    replace = replace or {}
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            data = replace.get(name, data)
            if name == "docProps/core.xml":  # openpyxl stamps the time of saving
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z", data)
            target.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def part_of(name: str) -> bytes:
    with zipfile.ZipFile(SOURCE) as source:
        return source.read(name)


def rename_city(book, old: str, new: str) -> None:
    for sheet in ("Cities", "D1 data", "D2 data"):
        for row in book[sheet].iter_rows(min_col=1, max_col=1):
            if row[0].value == old:
                row[0].value = new


def widen_table(sheet, name: str, ref: str) -> None:
    """Give an Excel table a new range, with a column for every header of it."""
    from openpyxl.utils import range_boundaries
    from openpyxl.worksheet.table import TableColumn

    table = sheet.tables[name]
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    table.ref = ref
    if table.autoFilter is not None:
        table.autoFilter.ref = ref
    names = [str(sheet.cell(row=min_row, column=c).value or f"Column{c}") for c in range(min_col, max_col + 1)]
    table.tableColumns = [TableColumn(id=i, name=n) for i, n in enumerate(names, start=1)]


def write_huge_part(path: Path, part: str, size: int) -> None:
    """Copy the fixture with ``part`` padded by whitespace to ``size`` bytes, deflated in
    a stream (never held in memory)."""
    original = part_of(part)
    head, tail = original[: -len(b"</worksheet>")], b"</worksheet>"
    padding = size - len(original)
    with zipfile.ZipFile(SOURCE) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != part:
                new = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
                new.compress_type = zipfile.ZIP_DEFLATED
                new.external_attr = 0o600 << 16
                target.writestr(new, source.read(info))
                continue
            new = zipfile.ZipInfo(part, date_time=ZIP_TIME)
            new.compress_type = zipfile.ZIP_DEFLATED
            new.external_attr = 0o600 << 16
            new.file_size = size
            with target.open(new, "w", force_zip64=True) as handle:
                handle.write(head)
                chunk = b" " * (1 << 20)
                while padding > 0:
                    handle.write(chunk[: min(padding, len(chunk))])
                    padding -= len(chunk)
                handle.write(tail)


# --------------------------------------------------------------------------- numbers as text


@case("text_na", "'n/a' typed for a missing value", validate=0, recalc=0,
      problems=["warning: D1 data!C6: 'n/a' (read as a blank: no value, scores 1), " + BLANK])
def _(book):
    book["D1 data"]["C6"] = "n/a"


@case("text_em_dash", "an em dash '—' for a missing value", validate=0, recalc=0,
      problems=["warning: D1 data!F7: '—' (read as a blank: no value, scores 1), " + BLANK])
def _(book):
    book["D1 data"]["F7"] = "—"


@case("thousands_separator", "'12,345' typed with a thousands separator (read as 12345)", validate=0, recalc=0)
def _(book):
    book["D1 data"]["B6"] = "12,345"


@case("percent_text", "'15%' typed as text (read as 0.15)", validate=0, recalc=0)
def _(book):
    book["D1 data"]["C5"] = "15%"


@case("full_width_digits", "full-width digits '１２３' from a Chinese input method (read as 123)", validate=0, recalc=0)
def _(book):
    book["D1 data"]["F5"] = "１２３"


@case("minus_sign_and_nbsp", "a typographic minus '−0.3' and '20\u00a0000' with a non-breaking space (read as -0.3 and 20000)", validate=0, recalc=0)
def _(book):
    book["D1 data"]["D5"] = "−0.3"
    book["D1 data"]["B6"] = "20\u00a0000"


@case("chinese_unit", "'1.2万' (12,000 written with the Chinese unit wan)", validate=1, recalc=2,
      problems=["error: D1 data!B5: '1.2万', " + NUMBER])
def _(book):
    book["D1 data"]["B5"] = "1.2万"


@case("decimal_comma", "'0,9' with a decimal comma (ambiguous: not a thousands group)", validate=1, recalc=2,
      problems=["error: D1 data!C7: '0,9', " + NUMBER])
def _(book):
    book["D1 data"]["C7"] = "0,9"


@case("number_with_unit", "'100 km' typed with its unit", validate=1, recalc=2,
      problems=["error: D2 data!D5: '100 km', " + NUMBER])
def _(book):
    book["D2 data"]["D5"] = "100 km"


# --------------------------------------------------------------------------- other cell types


@case("excel_div0", "an Excel error #DIV/0! from a formula pasted as values", validate=1, recalc=2,
      problems=["error: D2 data!H5: the Excel error #DIV/0!, " + NUMBER])
def _(book):
    book["D2 data"]["H5"] = "#DIV/0!"


@case("excel_na", "an Excel error #N/A from a failed lookup", validate=1, recalc=2,
      problems=["error: D1 data!B8: the Excel error #N/A, " + NUMBER])
def _(book):
    book["D1 data"]["B8"] = "#N/A"


@case("formula_without_saved_value", "a formula written by a script that never ran Excel (no saved value)", validate=1, recalc=2,
      problems=["error: D1 data!B5: the formula '=B6*2' with no calculated value saved (open and save the workbook in Excel, or paste values), " + NUMBER])
def _(book):
    book["D1 data"]["B5"] = "=B6*2"


@case("date_in_number_cell", "a number that Excel turned into a date", validate=1, recalc=2,
      problems=["error: D1 data!B7: the date 2024-03-01, " + NUMBER])
def _(book):
    book["D1 data"]["B7"] = dt.datetime(2024, 3, 1)


@case("boolean_in_number_cell", "TRUE where a number belongs", validate=1, recalc=2,
      problems=["error: D2 data!B5: the boolean TRUE, " + NUMBER])
def _(book):
    book["D2 data"]["B5"] = True


# --------------------------------------------------------------------------- city rows


@case("blank_city_name", "a city name deleted on a row that still has data", validate=1, recalc=2,
      problems=[
          "error: D2 data!A7: a blank city name on a row with data, expected a city name from the Cities sheet",
          "error: D2 data!A5:A11: no row for city 'Cor', expected one row per city of the Cities sheet",
      ])
def _(book):
    book["D2 data"]["A7"] = None


@case("blank_row_inside_table", "an empty row left inside a data table (skipped)", validate=0, recalc=0)
def _(book):
    sheet = book["D2 data"]
    for column in range(1, 10):
        sheet.cell(row=12, column=column).value = sheet.cell(row=11, column=column).value
        sheet.cell(row=11, column=column).value = None


@case("duplicate_city_row", "a city pasted twice in a data sheet", validate=1, recalc=2,
      problems=["error: D2 data!A12: city 'Bel' again (first at D2 data!A6), expected each city on one row only"])
def _(book):
    sheet = book["D2 data"]
    for column in range(1, 10):
        sheet.cell(row=12, column=column, value=sheet.cell(row=6, column=column).value)


@case("duplicate_city_on_cities_sheet", "a city listed twice on the Cities sheet", validate=1, recalc=2,
      problems=["error: Cities!A11: city 'Cor' again (first at Cities!A6), expected each city once"])
def _(book):
    book["Cities"]["A11"] = "Cor"
    book["Cities"]["B11"] = "P2"


@case("city_apostrophe_missing", "'Xian' in one sheet for 'Xi'an' on the Cities sheet", validate=1, recalc=2,
      problems=["error: D2 data!A8: city 'Xian', expected 'Xi'an', as spelled on the Cities sheet"])
def _(book):
    rename_city(book, "Dun", "Xi'an")
    book["D2 data"]["A8"] = "Xian"


@case("city_curly_apostrophe", "'Xi’an' with a typographic apostrophe for 'Xi'an'", validate=1, recalc=2,
      problems=["error: D1 data!A8: city 'Xi’an', expected 'Xi'an', as spelled on the Cities sheet"])
def _(book):
    rename_city(book, "Dun", "Xi'an")
    book["D1 data"]["A8"] = "Xi’an"


@case("city_other_case", "'XI'AN' in capitals for 'Xi'an'", validate=1, recalc=2,
      problems=["error: D2 data!A8: city 'XI'AN', expected 'Xi'an', as spelled on the Cities sheet"])
def _(book):
    rename_city(book, "Dun", "Xi'an")
    book["D2 data"]["A8"] = "XI'AN"


@case("city_trailing_spaces", "'Xi'an  ' with trailing spaces (trimmed: matches)", validate=0, recalc=0)
def _(book):
    rename_city(book, "Dun", "Xi'an")
    book["D1 data"]["A8"] = "Xi'an  "
    book["D2 data"]["A8"] = " Xi'an"


@case("city_missing_from_one_sheet", "a city's row deleted from one data sheet", validate=1, recalc=2,
      problems=["error: D2 data!A5:A10: no row for city 'Gal', expected one row per city of the Cities sheet"])
def _(book):
    book["D2 data"].delete_rows(11)


@case("unknown_city", "a city that is not on the Cities sheet", validate=1, recalc=2,
      problems=["error: D1 data!A12: city 'Hex', expected a city listed on the Cities sheet"])
def _(book):
    book["D1 data"]["A12"] = "Hex"
    book["D1 data"]["B12"] = 3


@case("one_city", "an edition with a single city", validate=1, recalc=2,
      problems=["error: Cities!A4: 1 city ('Ava') on the Cities sheet, expected at least 2 cities to rank (scores are ranks among the cities)"])
def _(book):
    for sheet, first in (("Cities", 5), ("D1 data", 6), ("D2 data", 6)):
        book[sheet].delete_rows(first, 10)


# --------------------------------------------------------------------------- columns and framework


@case("unknown_indicator_column", "a data column headed with an id the Framework does not have", validate=1, recalc=2,
      problems=[
          "error: D1 data!G4: column 'a9 Firms', expected an indicator of this dimension as listed on the Framework sheet",
          "error: D1 data!A4:G4: no column for 'a6 Firms', expected one column per indicator of this dimension, as on the Framework sheet",
      ])
def _(book):
    book["D1 data"]["G4"] = "a9 Firms"


@case("duplicated_indicator_column", "an indicator column pasted twice (beside the table: Excel widens the table and renames the copy's header)", validate=1, recalc=2,
      problems=["error: D1 data!H4: indicator 'a6 Firms2' again (first at D1 data!G4), expected each indicator in one column"])
def _(book):
    sheet = book["D1 data"]
    for row in range(4, 12):
        sheet.cell(row=row, column=8, value=sheet.cell(row=row, column=7).value)
    sheet["H4"] = "a6 Firms2"
    widen_table(sheet, "Data_D1", "A4:H11")


@case("duplicated_indicator_id", "two Framework rows with the same indicator id", validate=1, recalc=2,
      problems=["error: Framework!A9: indicator id 'a5' again (first at Framework!A8), expected a unique id per indicator"])
def _(book):
    book["Framework"]["A9"] = "a5"


@case("variable_with_4_indicators", "an indicator moved into a variable that already has 3", validate=1, recalc=2,
      problems=[
          "error: Framework!C12: variable 'Transport' with 4 indicators, expected 1 to 3 indicators per variable",
          "warning: Framework!B10: dimension 'Beta' with 4 variables, expected 5 variables per dimension, as in the published method (scoring goes on)",
      ])
def _(book):
    book["Framework"]["C16"] = "Transport"


@case("variable_with_0_indicators", "a variable named on a row of its own, with no indicator yet", validate=1, recalc=2,
      problems=["error: Framework!C18: variable 'Openness' with 0 indicators (no id, indicator or direction on its row), expected 1 to 3 indicators per variable: fill in the row's indicator or delete the row"])
def _(book):
    book["Framework"]["B18"] = "Beta"
    book["Framework"]["C18"] = "Openness"


@case("dimension_with_4_variables", "two variables merged, leaving a dimension with 4 (editions change: a warning)", validate=0, recalc=0,
      problems=["warning: Framework!B10: dimension 'Beta' with 4 variables, expected 5 variables per dimension, as in the published method (scoring goes on)"])
def _(book):
    book["Framework"]["C16"] = "Culture"


@case("unknown_direction", "a direction that is not higher, lower, target:T or tiers", validate=1, recalc=2,
      problems=["error: Framework!E5: direction 'smaller', expected higher, lower, target:T or tiers"])
def _(book):
    book["Framework"]["E5"] = "smaller"


@case("malformed_target", "a target without a number", validate=1, recalc=2,
      problems=["error: Framework!E6: direction 'target:zero', expected 'target:T' with a number T, such as 'target:0'"])
def _(book):
    book["Framework"]["E6"] = "target:zero"


@case("unknown_tie_rule", "a tie rule that is not best or worst", validate=1, recalc=2,
      problems=["error: Framework!F10: tie rule 'average', expected best or worst"])
def _(book):
    book["Framework"]["F10"] = "average"


@case("tier_outside_points_table", "tier 9 when the points table has 4 entries", validate=1, recalc=2,
      problems=["error: D1 data!E8: tier 9, expected a whole tier number from 1 to 4 (the points table has 4 entries)"])
def _(book):
    book["D1 data"]["E8"] = 9


@case("tier_not_whole", "tier 1.5", validate=1, recalc=2,
      problems=["error: D1 data!E5: tier 1.5, expected a whole tier number from 1 to 4 (the points table has 4 entries)"])
def _(book):
    book["D1 data"]["E5"] = 1.5


@case("settings_tier_not_a_number", "a tier minimum typed as a word", validate=1, recalc=2,
      problems=["error: Settings!C4: 'high', expected a minimum overall score (a number)"])
def _(book):
    book["Settings"]["C4"] = "high"


# --------------------------------------------------------------------------- sheets and layout


@case("merged_cells_in_table", "two cities' values merged into one cell", validate=1, recalc=2,
      problems=["error: D1 data!C6:C7: merged cells C6:C7 in the table (only the top-left cell holds a value; the others read as blank), expected one value per cell: unmerge the cells and fill each one"])
def _(book):
    book["D1 data"].merge_cells("C6:C7")


@case("merged_title_is_fine", "the title row merged across the sheet (outside the table: fine)", validate=0, recalc=0)
def _(book):
    book["D1 data"].merge_cells("A1:G1")
    book["D2 data"].merge_cells("D3:F3")  # the variable name above its three indicators


@case("hidden_row", "a city's row hidden in a data sheet", validate=0, recalc=0,
      problems=["warning: D2 data!A8:I8: hidden row 8 in the table (read like any other row), expected visible rows, so that every value scored can be seen (scoring goes on)"])
def _(book):
    book["D2 data"].row_dimensions[8].hidden = True


@case("hidden_column", "an indicator column hidden in a data sheet", validate=0, recalc=0,
      problems=["warning: D1 data!C4:C11: hidden column C in the table (read like any other column), expected visible columns, so that every value scored can be seen (scoring goes on)"])
def _(book):
    book["D1 data"].column_dimensions["C"].hidden = True


@case("input_sheet_missing", "the Cities sheet deleted", validate=1, recalc=2,
      problems=["error: Cities: no sheet 'Cities', expected a sheet named 'Cities' (sheets: About, Framework, Settings, D1 data, D2 data)"])
def _(book):
    del book["Cities"]


@case("input_sheet_renamed", "a data sheet renamed 'D2 Data'", validate=1, recalc=2,
      problems=["error: D2 data: no sheet 'D2 data', but a sheet 'D2 Data' (renamed?), expected a sheet named exactly 'D2 data'"])
def _(book):
    book["D2 data"].title = "renaming"  # openpyxl, like Excel, compares names without case
    book["renaming"].title = "D2 Data"


@case("wrong_dimension_title", "a data sheet whose title names another dimension", validate=1, recalc=2,
      problems=["error: D1 data!A1: the title 'Alfa', expected 'Alpha', dimension 1 of the Framework sheet (data sheets follow the framework's dimension order)"])
def _(book):
    book["D1 data"]["A1"] = "Alfa"


@case("header_row_missing", "the 'city' header overwritten", validate=1, recalc=2,
      problems=["error: D2 data!A1: no header row starting with 'city' in the first 12 rows, expected a table whose first header cell is 'city'"])
def _(book):
    book["D2 data"]["A4"] = "town"


@case("output_sheet_edited", "a score typed over on an output sheet after a Recalculate", validate=0, recalc=0,
      problems=["warning: D1 scores!D6: an output sheet edited by hand since the last Recalculate (1 row differs from the fingerprint on the Log sheet), expected output sheets left as cityopp-xl wrote them: Recalculate replaces the edits (keep notes on a sheet of your own; scoring goes on)"])
def _(book):
    from cityopp_xl.adapters.xlsx import recalc_file

    os.environ["LOGNAME"] = "reviewer"  # the Log records the user: the same on every machine
    with tempfile.TemporaryDirectory() as folder:
        scored = Path(folder) / "scored.xlsx"
        save(book, Path(folder) / "source.xlsx")
        recalc_file(Path(folder) / "source.xlsx", scored, run_time="2025-01-01T00:00:00+00:00")
        edited = openpyxl.load_workbook(scored)
    edited["D1 scores"]["D6"] = 99
    return edited


@case("header_id_and_name_disagree", "a header typed with one indicator's id and another's name", validate=1, recalc=2,
      problems=["error: D1 data!C4: header 'a2 Output': id a2 is indicator 'a2 Debt ratio', but 'Output' names indicator 'a1 Output', "
                "expected a header whose id and indicator name agree ('a2 Debt ratio' or 'a1 Output', as on the Framework sheet)"])
def _(book):
    book["D1 data"]["C4"] = "a2 Output"


@case("tier_minimums_out_of_order", "tier minimums typed in the wrong order (Mid above High)", validate=1, recalc=2,
      problems=["error: Settings!C4:C5: tier 'Mid' with minimum 50 below tier 'High' with minimum 46, "
                "expected tier minimums strictly falling from the first tier row down (the highest tier first)"])
def _(book):
    book["Settings"]["C5"] = 50


@case("tier_minimums_equal", "two tiers with the same minimum", validate=1, recalc=2,
      problems=["error: Settings!C4:C5: tier 'Mid' with minimum 46 below tier 'High' with minimum 46, "
                "expected tier minimums strictly falling from the first tier row down (the highest tier first)"])
def _(book):
    book["Settings"]["C5"] = 46


@case("note_beside_the_table", "a note column one blank column right of a data table (ignored: the Excel table ends before it)", validate=0, recalc=0)
def _(book):
    sheet = book["D1 data"]
    sheet["I4"] = "Checked by"
    sheet["I5"] = "Ana, 3 March"
    sheet["J6"] = "source: yearbook p. 12"


@case("note_beside_a_plain_range", "a note one blank column right of a data range that is not an Excel table (ignored: the table ends at the first blank header)", validate=0, recalc=0)
def _(book):
    sheet = book["D2 data"]
    del sheet.tables["Data_D2"]
    sheet["K4"] = "Notes"
    sheet["K6"] = "revised figure"


@case("table_totals_row", "an Excel table with its totals row shown (a 'Total' row under the cities, skipped)", validate=0, recalc=0)
def _(book):
    sheet = book["D1 data"]
    sheet["A12"] = "Total"
    for column in range(2, 8):
        sheet.cell(row=12, column=column, value=sum(sheet.cell(row=r, column=column).value or 0 for r in range(5, 12) if isinstance(sheet.cell(row=r, column=column).value, (int, float))))
    table = sheet.tables["Data_D1"]
    table.ref = "A4:G12"
    table.autoFilter.ref = "A4:G11"
    table.totalsRowCount = 1
    table.tableColumns[0].totalsRowLabel = "Total"
    for column in table.tableColumns[1:]:
        column.totalsRowFunction = "sum"


_IN_PLACE = "nothing was changed: close it in {program} (or write the result elsewhere with -o)"


@case("open_in_excel", "the workbook recalculated in place while it is open in Excel (its owner file ~$NAME beside it)", validate=0, recalc=2,
      beside=["~${file}"], recalc_message="cityopp: {path}: the workbook is open in Excel (its owner file ~${file} is beside it); " + _IN_PLACE.format(program="Excel"))
def _(book):
    pass


@case("open_in_libreoffice", "the workbook recalculated in place while it is open in LibreOffice (its lock file .~lock.NAME# beside it)", validate=0, recalc=2,
      beside=[".~lock.{file}#"], recalc_message="cityopp: {path}: the workbook is open in LibreOffice (its owner file .~lock.{file}# is beside it); " + _IN_PLACE.format(program="LibreOffice"))
def _(book):
    pass


@case("read_only_workbook", "a read-only workbook recalculated in place", validate=0, recalc=2,
      read_only=True, recalc_message="cityopp: {path}: the workbook is read-only (protected, or held by a program); " + _IN_PLACE.format(program="Excel"))
def _(book):
    pass


# --------------------------------------------------------------------------- uninformative data


@case("every_value_tied", "one value filled down every column of a data sheet", validate=0, recalc=0,
      problems=["warning: D2 data!B5:I11: the same value for every city in each column of 'Beta' (every city gets the same score), expected values that tell cities apart (scoring goes on)"])
def _(book):
    for row in book["D2 data"].iter_rows(min_row=5, max_row=11, min_col=2, max_col=9):
        for cell in row:
            cell.value = 5


@case("every_value_missing", "a data sheet whose values were never filled in", validate=0, recalc=0,
      problems=["warning: D1 data!B5:G11: no value at all in the data of 'Alpha' (every city scores 1 in each of its indicators), expected the dimension's values (scoring goes on)"])
def _(book):
    for row in book["D1 data"].iter_rows(min_row=5, max_row=11, min_col=2, max_col=7):
        for cell in row:
            cell.value = None


@case("no_value_anywhere", "a workbook whose data sheets were never filled in (a new template)", validate=1, recalc=2,
      problems=["warning: D1 data!B5:G11: no value at all in the data of 'Alpha' (every city scores 1 in each of its indicators), expected the dimension's values (scoring goes on)",
                "warning: D2 data!B5:I11: no value at all in the data of 'Beta' (every city scores 1 in each of its indicators), expected the dimension's values (scoring goes on)",
                "error: D1 data to D2 data: no value at all (every input cell is blank, so every city would tie everywhere), expected the edition's values: with none there is nothing to score"])
def _(book):
    for name, last_column in (("D1 data", 7), ("D2 data", 9)):
        for row in book[name].iter_rows(min_row=5, max_row=11, min_col=2, max_col=last_column):
            for cell in row:
                cell.value = None


@case("column_missing", "one indicator column left empty", validate=0, recalc=0,
      problems=["warning: D2 data!H5:H11: no value for any city in column 'b7 PM2.5' (every city scores 1), expected the indicator's values (scoring goes on)"])
def _(book):
    for row in book["D2 data"].iter_rows(min_row=5, max_row=11, min_col=8, max_col=8):
        row[0].value = None


# --------------------------------------------------------------------------- files refused as a whole


@case("not_a_zip_csv", "a CSV export renamed .xlsx", validate=2, recalc=2,
      message="cityopp: {file}: a file that is not a zip package (perhaps a CSV, HTML or text file renamed), expected " + WORKBOOK)
def _(path: Path):
    path.write_bytes(b"city,a1\nAva,10\nBel,20\n")


@case("empty_file", "an empty file (a failed download)", validate=2, recalc=2,
      message="cityopp: {file}: an empty file, expected " + WORKBOOK)
def _(path: Path):
    path.write_bytes(b"")


@case("old_xls_or_encrypted", "an Excel 97-2003 file (or a password-protected workbook) named .xlsx", validate=2, recalc=2,
      message="cityopp: {file}: an OLE compound file: an Excel 97-2003 .xls workbook, or a workbook encrypted with a password, "
      "expected an .xlsx or .xlsm workbook without a password to open (save it as .xlsx/.xlsm, or remove the password, in Excel)")
def _(path: Path):
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


@case("truncated_download", "a workbook cut short by an interrupted download", validate=2, recalc=2,
      message="cityopp: {file}: a file that is not a zip package (a truncated or damaged workbook), expected " + WORKBOOK)
def _(path: Path):
    data = SOURCE.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 5])


@case("zip_without_workbook", "a zip archive that is not a workbook", validate=2, recalc=2,
      message="cityopp: {file}: a zip package without a workbook part (xl/workbook.xml), expected an Excel workbook (.xlsx or .xlsm)")
def _(path: Path):
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("notes.txt", date_time=ZIP_TIME)
        archive.writestr(info, "not a workbook\n")


@case("entity_expansion", "an XML 'billion laughs' entity bomb in a sheet", validate=2, recalc=2,
      message="cityopp: {file}: the part xl/worksheets/sheet6.xml declares a document type (<!DOCTYPE>): entity definitions can expand to gigabytes or read other files, "
      "expected XML parts without a document type declaration, as Excel writes them (refused unread)")
def _(path: Path):
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    doctype = "<?xml version=\"1.0\"?>\n<!DOCTYPE worksheet [" + "".join(levels) + "]>\n"
    sheet = part_of(D2_PART).replace(b"<v>Ava</v>", b"<v>&lol9;</v>").replace(b">Ava<", b">&lol9;<", 1)
    shutil.copy(SOURCE, path)
    normalise_zip(path, {D2_PART: doctype.encode() + sheet})


@case("external_entity", "an XML external entity that would read a local file", validate=2, recalc=2,
      message="cityopp: {file}: the part xl/workbook.xml declares a document type (<!DOCTYPE>): entity definitions can expand to gigabytes or read other files, "
      "expected XML parts without a document type declaration, as Excel writes them (refused unread)")
def _(path: Path):
    workbook = part_of("xl/workbook.xml")
    doctype = b'<?xml version="1.0"?>\n<!DOCTYPE workbook [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    shutil.copy(SOURCE, path)
    normalise_zip(path, {"xl/workbook.xml": doctype + workbook.replace(b'name="About"', b'name="&secret;"')})


@case("zip_bomb", "a sheet part that expands 60 MB from a few kilobytes", validate=2, recalc=2,
      message="cityopp: {file}: the part xl/worksheets/sheet6.xml expands {ratio} times ({packed} to 60 MB), the signature of a zip bomb, "
      "expected at most 100 times for parts over 1 MB, as real workbooks compress (refused unread)")
def _(path: Path):
    write_huge_part(path, D2_PART, 60 * 1024 * 1024)


@case("part_500_mb", "a 500 MB sheet part", validate=2, recalc=2,
      message="cityopp: {file}: the part xl/worksheets/sheet6.xml unpacks to 500 MB, expected at most 64 MB per part "
      "(refused unread; a workbook this large is not an edition's data)")
def _(path: Path):
    write_huge_part(path, D2_PART, 500 * 1024 * 1024)


@case("million_rows", "a stray value typed in row 1,000,000 of a data sheet", validate=2, recalc=2,
      message="cityopp: {file}: D2 data!A1:I1000000: a used range of 1,000,000 rows and 9 columns (often a stray value or format far below or right of the data), "
      "expected at most 100,000 rows and 1,000 columns per sheet: delete the empty rows and columns after the data (refused unread, part xl/worksheets/sheet6.xml)")
def _(book):
    book["D2 data"]["A1000000"] = "x"


# --------------------------------------------------------------------------- transcription notes


@case("transcription_notes_malformed", "a Transcription notes table with an unknown city, a word for the value taken, a blank note id, an unknown table and figure",
      validate=1, recalc=2,
      problems=[
          "error: Transcription notes!C4: 'Avaa', expected a city of the Cities sheet, spelled exactly as there",
          "error: Transcription notes!F4: 'one', expected the number the workbook takes for the figure",
          "error: Transcription notes!A5: a blank note id, expected the note's id (e.g. E-2)",
          "error: Transcription notes!B5: 'Gamma', expected the report's table the note concerns: Overall, Alpha, Beta",
          "error: Transcription notes!D5: 'Nothing', expected a variable's name, a dimension's name (its published total), 'overall' or 'overall rank', or blank for the city's whole row",
          "error: Transcription notes!F5: a blank cell, expected the number the workbook takes for the figure",
      ])
def _(book):
    sheet = book.create_sheet("Transcription notes", 4)
    sheet["A1"] = "Transcription notes"
    sheet.append([])
    sheet.append(["note", "table", "city", "figure", "printed", "taken", "what", "evidence"])
    sheet.append(["A-1", "Alpha", "Avaa", "Size", "12", "one", "Size printed '12' -> 1", None])
    sheet.append([None, "Gamma", "Bel", "Nothing", None, None, "a row shifted", None])


# --------------------------------------------------------------------------- writing


def build(entry: dict, target: Path) -> None:
    function = entry["build"]
    annotation = next(iter(function.__code__.co_varnames[:1]), "")
    if annotation == "path":  # a raw file, written deterministically by the function
        function(target)
        return
    book = load()
    result = function(book)
    save(result if result is not None else book, target)


def main() -> None:
    for old in HERE.glob("*.xlsx"):
        old.unlink()
    table = []
    for entry in CASES:
        target = HERE / entry["file"]
        build(entry, target)
        if target.stat().st_size > 1024 * 1024:
            raise SystemExit(f"{target.name}: {target.stat().st_size:,} bytes; corpus files must stay under 1 MB")
        record = {k: v for k, v in entry.items() if k != "build"}
        if record["message"] and "{ratio}" in record["message"]:
            with zipfile.ZipFile(target) as archive:
                info = archive.getinfo(D2_PART)
            ratio = info.file_size / info.compress_size
            packed = f"{info.compress_size:,} bytes" if info.compress_size < 1024 * 1024 else f"{info.compress_size / 1048576:,.0f} MB"
            record["message"] = record["message"].replace("{ratio}", f"{ratio:,.0f}").replace("{packed}", packed)
        table.append(record)
    (HERE / "cases.json").write_text(json.dumps(table, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(table)} cases to {HERE}")


if __name__ == "__main__":
    main()

"""Reading a worksheet part without a spreadsheet object model (adapters/sheetxml.py).

* Every form of a cell reads as openpyxl's own sheet parser reads it with
  ``data_only=True``, by both of the reader's paths (its scan of the part's text and its
  visit of each element), with two documented differences.
* Merged ranges and hidden rows and columns (:func:`read_features`) read from only the end
  of a part are what reading the whole part gives.
* A workbook saved by LibreOffice (shared strings, its own number forms) reads as openpyxl
  reads it, and a Recalculate finds no output sheet edited.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from xml.sax.saxutils import escape

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._reader import WorkSheetParser

from conftest import ROOT
from remote_harness import cache_formula_values

from cityopp_xl.adapters import layout
from cityopp_xl.adapters.integrity import SheetFeatures
from cityopp_xl.adapters.sheetxml import MAIN, DateStyles, UnsafeXML, _features, _scan_cells, _visit_cells, parse, read_features, read_sheet
from cityopp_xl.adapters.xlsx import recalc_file, validate_file
from cityopp_xl.adapters.xlsxpackage import FileFront
from cityopp_xl.validate import UncalculatedFormula

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Style 0 plain, 1 a number format that is a date, 2 one that is a duration.
EPOCH = dt.datetime(1899, 12, 30)
STYLES = DateStyles(frozenset({1, 2}), frozenset({2}), EPOCH)


def openpyxl_values(xml: bytes, shared: list) -> dict:
    """What openpyxl's own sheet parser reads from a sheet part with ``data_only=True``
    (the reference)."""
    parser = WorkSheetParser(io.BytesIO(xml), shared, True, EPOCH, set(STYLES.dates), set(STYLES.durations))
    return {(cell["row"], cell["column"]): cell["value"] for _, row in parser.parse() for cell in row}


# --------------------------------------------------------------------------- every form of a cell

numbers = st.one_of(
    st.integers(-(10**15), 10**15).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(0, 60000).map(lambda x: f"{x:.6E}"),
    st.sampled_from(["0", "-0", "1e3", "1E-2", ".5", "007"]),
)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
cell_forms = st.one_of(
    st.tuples(st.just("number"), numbers),
    st.tuples(st.just("inline"), texts),
    st.tuples(st.just("shared"), texts),
    st.tuples(st.just("rich"), st.lists(texts, min_size=1, max_size=3)),
    st.tuples(st.just("empty_inline"), st.just("")),
    st.tuples(st.just("bool"), st.sampled_from(["0", "1"])),
    st.tuples(st.just("error"), st.sampled_from(["#N/A", "#DIV/0!", "#VALUE!"])),
    st.tuples(st.just("formula"), st.sampled_from(["SUM(A1:A3)", "A1*2", "\"a\"&B2"])),
    st.tuples(st.just("str"), texts),
    st.tuples(st.just("iso_date"), st.dates().map(lambda d: d.isoformat())),
    st.tuples(st.just("blank"), st.just("")),
    st.tuples(st.just("empty_value"), st.just("")),
)


#: The XML of each form of a cell: {r} and {s} its address and style attributes, {x} its content.
CELL_XML = {
    "number": "<c{r}{s}><v>{x}</v></c>",
    "inline": '<c{r}{s} t="inlineStr"><is><t xml:space="preserve">{x}</t></is></c>',
    "shared": '<c{r}{s} t="s"><v>{x}</v></c>',
    "rich": '<c{r}{s} t="inlineStr"><is>{x}</is></c>',
    "empty_inline": '<c{r}{s} t="inlineStr"><is><t/></is></c>',
    "bool": '<c{r}{s} t="b"><v>{x}</v></c>',
    "error": '<c{r}{s} t="e"><v>{x}</v></c>',
    "formula": "<c{r}{s}><f>{x}</f><v>3</v></c>",
    "str": '<c{r}{s} t="str"><v>{x}</v></c>',
    "iso_date": '<c{r}{s} t="d"><v>{x}</v></c>',
    "blank": "<c{r}{s}/>",
    "empty_value": "<c{r}{s}><v></v></c>",
}


def cell_xml(address: str | None, form: str, content, style: int, shared: list) -> str:
    if form == "shared":
        shared.append(content)
        content = str(len(shared) - 1)
    elif form == "rich":
        content = "".join(f"<r><rPr><b/></rPr><t>{escape(t)}</t></r>" for t in content)
    else:
        content = escape(content)
    return CELL_XML[form].format(r=f' r="{address}"' if address else "", s=f' s="{style}"' if style else "", x=content)


sheets = st.lists(
    st.tuples(
        st.booleans(),  # the row carries its number
        st.integers(0, 3),  # rows skipped before it
        st.lists(
            st.tuples(st.booleans(), st.integers(0, 2), st.sampled_from([0, 0, 3, 1, 2]), cell_forms),  # addressed, columns skipped, style, content
            max_size=6,
        ),
    ),
    max_size=8,
)


def sheet_xml(rows, *, shared: list) -> bytes:
    """A sheet part built from the drawn rows: cells with and without addresses, rows
    with and without numbers, in every form above."""
    out, number = [], 0
    for numbered, skip_rows, cells in rows:
        number += 1 + (skip_rows if numbered else 0)
        parts, column = [], 0
        for addressed, skip_columns, style, (form, content) in cells:
            column += 1 + (skip_columns if addressed else 0)
            address = f"{get_column_letter(column)}{number}" if addressed else None
            parts.append(cell_xml(address, form, content, style, shared))
        out.append(f'<row r="{number}">' if numbered else "<row>")
        out.append("".join(parts) + "</row>")
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>{"".join(out)}</sheetData></worksheet>'.encode()


def as_openpyxl_reads(values: dict, reference: dict) -> dict:
    """The reader's values with its two departures from openpyxl put back:

    * a formula-result text saved empty (``t="str"`` with ``<v></v>``) reads as "", a blank
      text (openpyxl: None); both read as a blank cell;
    * a number formatted as a date but outside the dates a workbook holds stays the number
      (openpyxl: the text "#VALUE!", with a warning), so a data cell is reported with the
      number it holds.
    """
    out = {}
    for key, value in values.items():
        expected = reference.get(key, "absent")
        if value == "" and expected is None:
            value = None
        elif expected == "#VALUE!" and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = "#VALUE!"
        out[key] = value
    return out


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date")  # openpyxl's, for serials out of range
@FUZZ
@given(sheets)
def test_every_form_of_a_cell_reads_as_openpyxl_reads_it(rows):
    shared: list = []
    xml = sheet_xml(rows, shared=shared)
    reference = openpyxl_values(xml, shared)
    read = read_sheet(xml, shared, STYLES).values
    assert as_openpyxl_reads(read, reference) == reference
    # Both paths of the reader: the scan of the text (when the part is in the plain form
    # it reads) and the visit of each element give the same values.
    scanned = _scan_cells(xml, shared, STYLES)
    visited = _visit_cells(parse(xml), shared, STYLES)
    assert visited == read
    if scanned is not None:
        assert scanned == visited


def test_the_common_forms_and_the_rest_are_each_read():
    shared = ["shared text"]
    xml = (
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="2">'
        '<c r="A2"><v>12</v></c><c r="B2"><v>1.5</v></c><c r="C2" t="inlineStr"><is><t> padded </t></is></c>'
        '<c r="D2" t="s"><v>0</v></c><c r="E2" s="3"/><c r="F2" s="1"><v>45000</v></c><c r="G2"><f>A2*2</f><v>24</v></c>'
        '<c r="H2" t="b"><v>1</v></c><c r="I2" t="e"><v>#N/A</v></c><c t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c>'
        '<c r="K2"><f>B2*2</f></c>'
        "</row></sheetData></worksheet>"
    ).encode()
    values = read_sheet(xml, shared, STYLES).values
    uncalculated = values.pop((2, 11))
    assert isinstance(uncalculated, UncalculatedFormula) and uncalculated == "=B2*2"
    assert values == {
        (2, 1): 12, (2, 2): 1.5, (2, 3): " padded ", (2, 4): "shared text", (2, 5): None,
        (2, 6): dt.datetime(2023, 3, 15), (2, 7): 24, (2, 8): True, (2, 9): "#N/A", (2, 10): "rich",
    }  # fmt: skip
    reference = openpyxl_values(xml, shared)
    del reference[2, 11]  # openpyxl: None for a formula with no saved value; the reader names it
    assert values == reference


def test_a_book_whose_default_style_is_a_date():
    xml = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>45000</v></c></row></sheetData></worksheet>'.encode()
    assert read_sheet(xml, [], DateStyles(frozenset({0}), frozenset(), EPOCH)).values == {(1, 1): dt.datetime(2023, 3, 15)}


# --------------------------------------------------------------------------- merged and hidden

SHIPPED = sorted((ROOT / "workbook").glob("*.xls[xm]"))

HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" mc:Ignorable="x14ac" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
ROWS = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Title</t></is></c></row><row r="2"><c r="A2"><v>1</v></c></row></sheetData>'
MERGES = '<mergeCells count="2"><mergeCell ref="A1:D1"/><mergeCell ref="B3:C4"/></mergeCells>'


def _worksheets(path):
    with zipfile.ZipFile(path) as package:
        return [(name, package.read(name)) for name in package.namelist() if name.startswith("xl/worksheets/sheet")]


@pytest.mark.parametrize("book", SHIPPED, ids=lambda p: p.name)
def test_every_sheet_of_the_shipped_workbooks_reads_the_same(book):
    sheets = _worksheets(book)
    assert any(b"mergeCell" in xml for _, xml in sheets)
    for name, xml in sheets:
        assert read_features(xml) == _features(parse(xml)), name


@pytest.mark.parametrize(
    "xml",
    [
        HEAD + ROWS + MERGES + "</worksheet>",
        HEAD + ROWS + MERGES + '<mc:AlternateContent><mc:Choice Requires="x14ac"/></mc:AlternateContent></worksheet>',
        HEAD + "<sheetData/>" + MERGES + "</worksheet>",
        HEAD + ROWS + MERGES + "<headerFooter><oddHeader><![CDATA[</sheetData>]]></oddHeader></headerFooter></worksheet>",
        HEAD.replace("<worksheet", "<x:worksheet").replace('xmlns="', 'xmlns:x="') + ROWS.replace("<", "<x:").replace("<x:/", "</x:") + MERGES.replace("<", "<x:").replace("<x:/", "</x:") + "</x:worksheet>",
    ],
    ids=["plain", "prefixed-extension", "empty-sheetdata", "cdata", "prefixed-root"],
)
def test_merged_ranges_read_from_the_end_of_a_part_match_the_whole_part(xml):
    data = xml.encode()
    features = read_features(data)
    assert features == _features(parse(data))
    assert features.merged == ((1, 1, 1, 4), (3, 2, 4, 3))


def test_hidden_rows_still_read_the_whole_part():
    xml = (HEAD + ROWS.replace('<row r="2">', '<row r="2" hidden="1">') + MERGES + "</worksheet>").encode()
    assert read_features(xml).hidden_rows == (2,)
    assert read_features(xml).merged == ((1, 1, 1, 4), (3, 2, 4, 3))


def test_a_part_declaring_a_document_type_is_refused_whichever_way_it_is_read():
    xml = ('<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY e "x">]>' + HEAD.split("\n", 1)[1] + ROWS + MERGES + "</worksheet>").encode()
    with pytest.raises(UnsafeXML):
        read_features(xml)


def test_a_part_with_nothing_merged_or_hidden_is_not_parsed():
    assert read_features(b"not even XML, and no merged cell") == SheetFeatures()


# --------------------------------------------------------------------------- a workbook saved by LibreOffice


def test_a_workbook_saved_by_a_spreadsheet_application_reads_as_openpyxl_reads_it(tmp_path):
    """LibreOffice writes shared strings and its own number forms, as Excel does: every
    sheet reads as openpyxl reads it, and a Recalculate finds no output sheet edited; an
    edit saved as Excel saves it is found."""
    from conftest import MASTER
    from libreoffice import convert

    master, scored = tmp_path / "master.xlsm", tmp_path / "scored.xlsm"
    shutil.copy2(MASTER, master)
    recalc_file(master, scored)
    resaved = convert(scored, "xlsx", tmp_path / "lo")
    with zipfile.ZipFile(resaved) as package:
        assert "xl/sharedStrings.xml" in package.namelist()
    reference = openpyxl.load_workbook(resaved, data_only=True)
    front = FileFront(resaved)
    try:
        for name in reference.sheetnames:
            expected = [list(row) for row in reference[name].iter_rows(values_only=True)]
            while expected and all(v is None for v in expected[-1]):
                expected.pop()
            read = front.values(name)
            width = max([len(r) for r in read + expected] or [0])
            pad = lambda rows: [[None if v == "" else v for v in r] + [None] * (width - len(r)) for r in rows]  # noqa: E731
            assert pad(read) == pad(expected), name
    finally:
        front.package.close()
    assert [p for p in validate_file(resaved)[1] if "edited by hand" in p.found] == []
    edited = openpyxl.load_workbook(resaved)
    edited[layout.SHEET_OVERALL]["C6"] = 1
    edited.save(tmp_path / "edited.xlsx")
    cache_formula_values(tmp_path / "edited.xlsx", edited)  # saved as Excel saves it, the formulas with their values
    # Saved as Excel saves it: the row's total and rank recalculated (its first changed cell
    # is the rank in A6), and the Ranks sheet, which refers to that rank, changed with it.
    assert [p.where for p in recalc_file(tmp_path / "edited.xlsx").problems if "edited by hand" in p.found] == [f"{layout.SHEET_OVERALL}!A6", f"{layout.SHEET_RANKS}!A6"]

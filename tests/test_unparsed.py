"""Loading a workbook with its owned sheets read as values only (adapters/unparsed.py):
the values are exactly the ones openpyxl reads, in every form a spreadsheet application
writes a cell; the sheets stay in place; such a book is never saved with a sheet left
empty."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path
from types import SimpleNamespace
from xml.sax.saxutils import escape

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.utils import get_column_letter

from remote_harness import cache_formula_values

from cityopp_xl.adapters import layout
from cityopp_xl.adapters.package import PackageError
from cityopp_xl.adapters.unparsed import UnparsedSheet, UnsafeSheetXML, sheet_values
from cityopp_xl.adapters.xlsx import _sheet_rows, load_book, recalc_file, save_atomically, validate_file

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: Style 0 plain, 1 a number format that is a date, 2 one that is a duration.
BOOK = SimpleNamespace(epoch=dt.datetime(1899, 12, 30), _date_formats={1, 2}, _timedelta_formats={2})


def openpyxl_values(xml: bytes, shared: list) -> dict:
    """What openpyxl's own sheet parser reads from a sheet part (the reference)."""
    parser = WorkSheetParser(io.BytesIO(xml), shared, False, BOOK.epoch, BOOK._date_formats, BOOK._timedelta_formats)
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


@pytest.mark.filterwarnings("ignore:Cell .* is marked as a date")  # openpyxl's, for serials out of range
@FUZZ
@given(sheets)
def test_every_form_of_a_cell_reads_as_openpyxl_reads_it(rows):
    shared: list = []
    xml = sheet_xml(rows, shared=shared)
    assert sheet_values(xml, shared, BOOK) == openpyxl_values(xml, shared)


def test_the_common_forms_and_the_rest_are_each_read():
    shared = ["shared text"]
    xml = (
        f'<worksheet xmlns="{MAIN}"><sheetData><row r="2">'
        '<c r="A2"><v>12</v></c><c r="B2"><v>1.5</v></c><c r="C2" t="inlineStr"><is><t> padded </t></is></c>'
        '<c r="D2" t="s"><v>0</v></c><c r="E2" s="3"/><c r="F2" s="1"><v>45000</v></c><c r="G2"><f>A2*2</f><v>24</v></c>'
        '<c r="H2" t="b"><v>1</v></c><c r="I2" t="e"><v>#N/A</v></c><c t="inlineStr"><is><r><t>ri</t></r><r><t>ch</t></r></is></c>'
        "</row></sheetData></worksheet>"
    ).encode()
    assert sheet_values(xml, shared, BOOK) == {
        (2, 1): 12, (2, 2): 1.5, (2, 3): " padded ", (2, 4): "shared text", (2, 5): None,
        (2, 6): dt.datetime(2023, 3, 15), (2, 7): "=A2*2", (2, 8): True, (2, 9): "#N/A", (2, 10): "rich",
    }  # fmt: skip
    assert sheet_values(xml, shared, BOOK) == openpyxl_values(xml, shared)


def test_a_book_whose_default_style_is_a_date():
    book = SimpleNamespace(epoch=BOOK.epoch, _date_formats={0}, _timedelta_formats=set())
    xml = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1"><v>45000</v></c></row></sheetData></worksheet>'.encode()
    assert sheet_values(xml, [], book) == {(1, 1): dt.datetime(2023, 3, 15)}


def test_a_sheet_part_declaring_a_document_type_is_refused():
    xml = f'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaa">]><worksheet xmlns="{MAIN}"><sheetData/></worksheet>'.encode()
    with pytest.raises(UnsafeSheetXML):
        sheet_values(xml, [], BOOK)


# --------------------------------------------------------------------------- real workbooks


@pytest.fixture(scope="module")
def scored_master(tmp_path_factory) -> Path:
    from conftest import MASTER

    folder = tmp_path_factory.mktemp("scored")
    shutil.copy2(MASTER, folder / "master.xlsm")
    recalc_file(folder / "master.xlsm", folder / "scored.xlsm")
    return folder / "scored.xlsm"


def assert_loads_alike(path: Path) -> None:
    full = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm", keep_links=True)
    light = load_book(path, owned_as_values=True)
    assert [(s.title, s.sheet_state) for s in light.worksheets] == [(s.title, s.sheet_state) for s in full.worksheets]
    owned = [s.title for s in light.worksheets if isinstance(s, UnparsedSheet)]
    assert owned == [name for name in full.sheetnames if layout.is_owned(name)] and len(owned) > 10
    for name in full.sheetnames:
        assert _sheet_rows(light[name]) == _sheet_rows(full[name]), name
    assert [s.print_title_rows for s in light.worksheets if s.title not in owned] == [
        s.print_title_rows for s in full.worksheets if s.title not in owned
    ]


def test_a_scored_workbook_loads_with_the_values_openpyxl_reads(scored_master):
    assert_loads_alike(scored_master)


def test_a_workbook_saved_by_a_spreadsheet_application_too(scored_master, tmp_path):
    """LibreOffice writes shared strings and its own number forms, as Excel does: the
    values still match, and a Recalculate finds no output sheet edited."""
    from libreoffice import convert

    resaved = convert(scored_master, "xlsx", tmp_path)
    with zipfile_names(resaved) as names:
        assert "xl/sharedStrings.xml" in names
    assert_loads_alike(resaved)
    assert [p for p in validate_file(resaved)[1] if "edited by hand" in p.found] == []
    edited = openpyxl.load_workbook(resaved)
    edited[layout.SHEET_OVERALL]["C6"] = 1
    edited.save(tmp_path / "edited.xlsx")
    cache_formula_values(tmp_path / "edited.xlsx", edited)  # saved as Excel saves it, the formulas with their values
    # Saved as Excel saves it: the row's total and rank recalculated (its first changed cell
    # is the rank in A6), and the Ranks sheet, which refers to that rank, changed with it.
    assert [p.where for p in recalc_file(tmp_path / "edited.xlsx").problems if "edited by hand" in p.found] == [f"{layout.SHEET_OVERALL}!A6", f"{layout.SHEET_RANKS}!A6"]


def zipfile_names(path: Path):
    import zipfile

    class Names:
        def __enter__(self):
            self.archive = zipfile.ZipFile(path)
            return set(self.archive.namelist())

        def __exit__(self, *exc):
            self.archive.close()

    return Names()


def test_a_book_with_a_sheet_left_unparsed_is_never_saved(scored_master, tmp_path):
    target = tmp_path / "target.xlsm"
    shutil.copy2(scored_master, target)
    before = target.read_bytes()
    book = load_book(scored_master, owned_as_values=True)
    with pytest.raises(RuntimeError, match="would be saved empty"):
        save_atomically(book, scored_master, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["target.xlsm"]


def test_a_malformed_owned_sheet_is_refused_like_any_unreadable_part(scored_master, tmp_path):
    import zipfile

    broken = tmp_path / "broken.xlsm"
    with zipfile.ZipFile(scored_master) as source, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as target:
        log_part = next(n for n in source.namelist() if n.startswith("xl/worksheets/sheet") and b"Fingerprint of its values" in source.read(n))
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data[: len(data) // 2] if item.filename == log_part else data)
    before = broken.read_bytes()
    with pytest.raises(PackageError, match=r"broken.xlsm: the workbook cannot be read \(XMLSyntaxError"):
        recalc_file(broken)
    assert broken.read_bytes() == before

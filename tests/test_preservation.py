"""Recalculate edits the workbook package: nothing of the team's workbook is lost.

The workbook is built here with XlsxWriter from the 2025 inputs of the shipped master,
with what research teams add to their workbooks on input sheets and on a sheet of their
own (sparklines, Excel 2010 data bars, a text box, a form button calling a macro, a header
logo, rich text, comments with an author, an in-cell picture, a checkbox, a dynamic-array
formula with ``metadata.xml``, ignored-error flags, Company and Manager properties, a
picture with a hyperlink, a chart and formulas over the Overall sheet), plus threaded
comments with a reply, the ``persons`` part and customXml parts injected at package level.
It is recalculated three times (the first adds the output sheets); every part the add-in
does not own must come out byte for byte, and the later runs must be a fixed point. A
variant saved by LibreOffice goes through the same checks.
"""

from __future__ import annotations

import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from cityopp_xl.adapters import layout
from cityopp_xl.adapters.xlsx import recalc_file
from cityopp_xl.adapters.xlsxpackage import OWNED_NAME, FileFront
from cityopp_xl.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
MASTER = ROOT / "workbook" / "CityOpp2025.xlsm"
RUN_TIME = "2026-01-01T12:00:00+00:00"
TEAM_SHEET = "Team notes"
#: The parts a Recalculate may change besides the owned sheets' parts.
EDITED = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml", "xl/styles.xml", "docProps/app.xml"}


def _png() -> bytes:
    """A 2 x 2 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _input_sheets() -> list[tuple[str, list[list]]]:
    front = FileFront(MASTER)
    try:
        names = [n for n in front.sheet_names() if n in layout.INPUT_SHEETS or (n.startswith("D") and n.endswith(" data"))]
        return [(name, front.values(name)) for name in names]
    finally:
        front.close()


def build_team_workbook(path: Path, image: Path) -> None:
    xlsxwriter = pytest.importorskip("xlsxwriter")
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"title": "CCO 2025", "company": "Research team", "manager": "Team lead", "author": "Analyst"})
    bold = book.add_format({"bold": True})
    red = book.add_format({"color": "red"})
    for name, rows in _input_sheets():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                else:
                    sheet.write_number(r, c, value)
        if name == "D1 data":
            # Rich text in the note, a comment with an author, a data bar with the Excel
            # 2010 extension, sparklines, a text box and a button, a header logo.
            sheet.write_rich_string(1, 0, "Raw values, ", bold, "one row", " per city ", red, "(checked)")
            sheet.write_comment(4, 1, "Checked against the yearbook", {"author": "Reviewer One"})
            sheet.conditional_format(4, 1, 63, 1, {"type": "data_bar", "data_bar_2010": True})
            sheet.add_sparkline(0, 8, {"range": f"'{name}'!B5:F5"})
            sheet.insert_textbox(0, 10, "Source notes", {"width": 200, "height": 60})
            sheet.insert_button(4, 10, {"macro": "CityOppRecalculate", "caption": "Recalculate"})
            sheet.set_header("&L&G", {"image_left": str(image)})
            sheet.ignore_errors({"number_stored_as_text": "A1:A70"})
    team = book.add_worksheet(TEAM_SHEET)
    team.write_string(0, 0, "Team notes")
    team.write_formula(1, 0, "=Overall!M5", None, 2446)
    team.write_formula(2, 0, "=(45*2)/2", None, 45)
    team.write_dynamic_array_formula(3, 0, 7, 0, "=SORT(Overall!M5:M9,1,-1)", None, 2446)
    team.write_rich_string(10, 0, "Read ", bold, "this", " first")
    team.write_comment(10, 0, "A note", {"author": "Analyst"})
    team.insert_image(12, 0, str(image), {"url": "https://example.org/logo"})
    team.embed_image(12, 4, str(image))
    team.insert_checkbox(14, 0, True)
    team.add_sparkline(16, 0, {"range": f"'{TEAM_SHEET}'!A4:A8"})
    team.ignore_errors({"eval_error": "A1:A20"})
    chart = book.add_chart({"type": "column"})
    chart.add_series({"categories": "=Overall!$B$5:$B$14", "values": "=Overall!$M$5:$M$14"})
    team.insert_chart(20, 2, chart)
    book.close()
    _inject_package_parts(path)


_THREADED = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments">'
    '<threadedComment ref="A11" dT="2025-03-01T10:00:00.00" personId="{11111111-1111-1111-1111-111111111111}" id="{22222222-2222-2222-2222-222222222222}"><text>Is this final?</text></threadedComment>'
    '<threadedComment ref="A11" dT="2025-03-02T10:00:00.00" personId="{11111111-1111-1111-1111-111111111111}" id="{33333333-3333-3333-3333-333333333333}" parentId="{22222222-2222-2222-2222-222222222222}"><text>Yes.</text></threadedComment>'
    "</ThreadedComments>"
)
_PERSONS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments">'
    '<person displayName="Analyst" id="{11111111-1111-1111-1111-111111111111}" userId="analyst@example.org" providerId="AD"/></personList>'
)
_CUSTOM_XML = '<?xml version="1.0" encoding="UTF-8" standalone="no"?><sensitivity xmlns="urn:example:labels"><label>Internal</label></sensitivity>'
_CUSTOM_PROPS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    '<ds:datastoreItem ds:itemID="{44444444-4444-4444-4444-444444444444}" xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
    "<ds:schemaRefs/></ds:datastoreItem>"
)


def _inject_package_parts(path: Path) -> None:
    """Add threaded comments (on the team sheet), persons and customXml parts."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    from lxml import etree

    workbook = etree.fromstring(parts["xl/workbook.xml"])
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main", "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    rid = next(s.get(f"{{{ns['r']}}}id") for s in workbook.iterfind("m:sheets/m:sheet", ns) if s.get("name") == TEAM_SHEET)
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = rels.split(f'Id="{rid}"')[0].rsplit("<Relationship", 1)[1] + rels.split(f'Id="{rid}"')[1].split("/>")[0]
    sheet_part = "xl/" + target.split('Target="')[1].split('"')[0]
    sheet_rels = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    parts["xl/threadedComments/threadedComment1.xml"] = _THREADED.encode()
    parts["xl/persons/person.xml"] = _PERSONS.encode()
    parts["customXml/item1.xml"] = _CUSTOM_XML.encode()
    parts["customXml/itemProps1.xml"] = _CUSTOM_PROPS.encode()
    parts["customXml/_rels/item1.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps" Target="itemProps1.xml"/></Relationships>'
    ).encode()
    parts[sheet_rels] = parts[sheet_rels].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdTC1" Type="http://schemas.microsoft.com/office/2017/10/relationships/threadedComment" Target="../threadedComments/threadedComment1.xml"/></Relationships>',
    )
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdP1" Type="http://schemas.microsoft.com/office/2017/10/relationships/person" Target="persons/person.xml"/>'
        '<Relationship Id="rIdCX1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml" Target="../customXml/item1.xml"/></Relationships>',
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/threadedComments/threadedComment1.xml" ContentType="application/vnd.ms-excel.threadedcomments+xml"/>'
        b'<Override PartName="/xl/persons/person.xml" ContentType="application/vnd.ms-excel.person+xml"/>'
        b'<Override PartName="/customXml/itemProps1.xml" ContentType="application/vnd.openxmlformats-officedocument.customXmlProperties+xml"/></Types>',
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def _owned_parts(path: Path) -> set[str]:
    """The parts of the owned sheets, with their relationships and the parts those point to
    (an output sheet's notes: its comments part and their drawing)."""
    from cityopp_xl.adapters.xlsxpackage import rels_path, resolve

    front = FileFront(path)
    try:
        owned = front.owned()
        parts = {entry.part for entry in front.package.sheets if entry.name in owned}
        for part in list(parts):
            rels = rels_path(part)
            if front.package.has(rels):
                parts.add(rels)
                for target, mode in re.findall(r'Target="([^"]+)"(?:\s+TargetMode="([^"]+)")?', front.package.read(rels).decode()):
                    if mode != "External":
                        parts.add(resolve(part, target))
        return parts
    finally:
        front.close()


def _assert_preserved(before: Path, after: Path) -> None:
    """Every part of ``before`` that is not an owned sheet or a part listing sheets is in
    ``after`` byte for byte (calcChain.xml alone may go)."""
    old, new = _parts(before), _parts(after)
    owned_before, owned_after = _owned_parts(before), _owned_parts(after)
    changed = [
        name
        for name, data in old.items()
        if name not in EDITED and name not in owned_before and name != "xl/calcChain.xml" and new.get(name) != data
    ]
    assert changed == []
    added = set(new) - set(old)
    assert added <= owned_after, added - owned_after


@pytest.fixture(scope="module")
def team_workbook(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("team")
    image = folder / "logo.png"
    image.write_bytes(_png())
    path = folder / "Team2025.xlsx"
    build_team_workbook(path, image)
    return path


def _recalculated_three_times(source: Path, folder: Path) -> tuple[Path, Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    original = folder / "original.xlsx"
    shutil.copy2(source, original)
    work = folder / "Team2025.xlsx"
    shutil.copy2(source, work)
    recalc_file(work, run_time=RUN_TIME)
    first = folder / "first.xlsx"
    shutil.copy2(work, first)
    recalc_file(work, run_time=RUN_TIME)
    second = folder / "second.xlsx"
    shutil.copy2(work, second)
    recalc_file(work, run_time=RUN_TIME)
    return original, first, second, work


def _check(source: Path, folder: Path) -> None:
    original, first, second, third = _recalculated_three_times(source, folder)
    _assert_preserved(original, first)
    _assert_preserved(first, second)
    # A fixed point: the same inputs and time stamp give the same package, part for part.
    assert _parts(second) == _parts(third)
    # The team's formulas over the output sheets keep their text and cached values.
    team_part = next(e.part for e in FileFront(original).package.sheets if e.name == TEAM_SHEET)
    assert _parts(third)[team_part] == _parts(original)[team_part]
    front = FileFront(third)
    try:
        assert front.values(TEAM_SHEET)[1][0] == FileFront(original).values(TEAM_SHEET)[1][0]
        assert front.owned() >= {"Overall", "Log", "D1 scores"}
        assert front.unchanged() == front.owned()
        overall = front.values("Overall")
        assert overall[4][1] == "Shanghai" and overall[4][12] == 2446
    finally:
        front.close()


def test_recalculate_keeps_every_part_it_does_not_own(team_workbook, tmp_path):
    parts = _parts(team_workbook)
    # The features are really in the workbook built.
    for expected in ("xl/metadata.xml", "xl/persons/person.xml", "xl/threadedComments/threadedComment1.xml", "customXml/item1.xml", "xl/richData/richValueRel.xml"):
        assert expected in parts, expected
    assert any(b"x14:sparklineGroups" in data for data in parts.values())
    assert any(b"x14:dataBar" in data for data in parts.values())
    assert b"<Company>Research team</Company>" in parts["docProps/app.xml"]
    _check(team_workbook, tmp_path / "xlsxwriter")
    app = _parts(tmp_path / "xlsxwriter" / "Team2025.xlsx")["docProps/app.xml"]
    assert b"<Company>Research team</Company>" in app and b"<vt:lpstr>Overall</vt:lpstr>" in app


def test_a_workbook_saved_by_libreoffice_is_edited_the_same_way(team_workbook, tmp_path):
    from libreoffice import convert

    saved = convert(team_workbook, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    _check(saved, tmp_path / "libreoffice")


def test_no_new_open_xml_error(team_workbook, tmp_path):
    from ooxml import error_keys

    _, _, _, third = _recalculated_three_times(team_workbook, tmp_path / "checked")
    assert error_keys(third) - error_keys(team_workbook) == set()


def test_a_sheet_of_the_team_named_like_an_output_sheet_is_never_replaced(team_workbook, tmp_path):
    for name in ("Analysis", "Log", "Diff", "D11 scores"):
        path = tmp_path / f"{name}.xlsx"
        shutil.copy2(team_workbook, path)
        _rename_sheet(path, TEAM_SHEET, name)
        before = path.read_bytes()
        with pytest.raises(InputError) as raised:
            recalc_file(path, run_time=RUN_TIME)
        assert [str(p) for p in raised.value.problems if p.blocking] == [
            f"{name}: a sheet '{name}' that cityopp-xl did not write, named like one of its output sheets, "
            f"expected output sheet names left to cityopp-xl: rename the sheet '{name}' (nothing was changed)"
        ]
        assert path.read_bytes() == before


def test_ownership_is_recorded_and_earlier_workbooks_are_recognised(tmp_path):
    path = tmp_path / "master.xlsm"
    shutil.copy2(MASTER, path)
    front = FileFront(path)
    try:  # the shipped workbook: recognised by the stamps of an earlier version
        legacy = front.owned()
    finally:
        front.close()
    assert {"Overall", "Log", "D1 scores", "Analysis"} <= legacy
    recalc_file(path, run_time=RUN_TIME)
    workbook = _parts(path)["xl/workbook.xml"].decode()
    assert workbook.count(f'name="{OWNED_NAME}"') == len(legacy)
    front = FileFront(path)
    try:
        assert front.owned() == legacy and front.unchanged() == legacy
    finally:
        front.close()


def _rename_sheet(path: Path, old: str, new: str) -> None:
    parts = _parts(path)
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(f'name="{old}"'.encode(), f'name="{new}"'.encode())
    for name in list(parts):
        if name == "docProps/app.xml":
            parts[name] = parts[name].replace(f">{old}<".encode(), f">{new}<".encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def test_live_formulas_are_saved_with_the_values_a_spreadsheet_computes(tmp_path):
    """Live-formula mode: every formula cell of the score sheets carries the engine's value
    as its cached value, the value LibreOffice computes when it recalculates the file."""
    from libreoffice import recalculated_values

    from cityopp_xl.validate import UncalculatedFormula

    out = tmp_path / "formulas.xlsm"
    recalc_file(MASTER, out, run_time=RUN_TIME, formulas=True)
    computed = recalculated_values(out)
    front = FileFront(out)
    try:
        for sheet in ("Overall", "D1 scores", "D10 scores", "Indicator scores", "Log"):
            saved = front.values(sheet)
            assert not any(isinstance(v, UncalculatedFormula) for row in saved for v in row), sheet
            top = 3 if sheet != "Log" else 0  # the stamps in A3 differ only by the time zone shown
            for r, row in enumerate(saved[top:], start=top):
                for c, value in enumerate(row):
                    theirs = computed[sheet][r][c] if r < len(computed[sheet]) and c < len(computed[sheet][r]) else None
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        assert theirs == pytest.approx(value, rel=1e-12), (sheet, r + 1, c + 1)
                    elif sheet != "Log":
                        assert (theirs or None) == (value or None), (sheet, r + 1, c + 1)
    finally:
        front.close()


def test_excel_tables_and_their_totals_rows_are_read_from_the_package(tmp_path):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "tables.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("D1 data")
    sheet.add_table(3, 0, 6, 1, {"name": "Data_D1", "data": [["A", 1], ["B", 2]], "columns": [{"header": "city"}, {"header": "1 GDP", "total_function": "sum"}], "total_row": True})
    book.add_worksheet("Notes")
    book.close()
    front = FileFront(path)
    try:
        (table,) = front.tables("D1 data")
        assert (table.name, table.area, table.header_rows, table.totals_rows) == ("Data_D1", (4, 1, 7, 2), 1, 1)
        assert front.tables("Notes") == []
    finally:
        front.close()

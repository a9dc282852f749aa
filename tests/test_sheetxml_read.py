"""Reading a worksheet's merged ranges and hidden rows and columns
(:func:`cityopp_xl.adapters.sheetxml.read_features`) from only the end of a part gives what
reading the whole part gives."""

from __future__ import annotations

import zipfile

import pytest

from conftest import ROOT

from cityopp_xl.adapters.sheetxml import MAIN, UnsafeXML, _features, parse, read_features
from cityopp_xl.adapters.integrity import SheetFeatures

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

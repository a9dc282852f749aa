"""Untrusted workbook files (adapters/package.py and the openpyxl load path): zip bombs,
oversized parts and sheets, XML entities, files that are not workbooks, links to other
workbooks and formulas. Each is refused quickly with a clear message, or read without
following, running or evaluating anything."""

from __future__ import annotations

import hashlib
import re
import shutil
import struct
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from cityopp_xl.adapters import package, xlsx
from cityopp_xl.adapters.package import PackageError, check_package
from cityopp_xl.adapters.xlsx import load_book, recalc_file, validate_file

TESTS = Path(__file__).resolve().parent
BAD = TESTS / "data" / "bad"
RAW_FIXTURE = TESTS / "data" / "raw_fixture.xlsx"
D1_PART = "xl/worksheets/sheet5.xml"  # 'D1 data' of the fixture


def rebuild(source: Path, target: Path, replace: dict[str, bytes] = (), add: dict[str, bytes] = ()) -> Path:
    """Copy a package part by part, replacing or adding parts."""
    replace, add = dict(replace), dict(add)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
        for name, data in add.items():
            new.writestr(name, data)
    return target


def part(name: str, source: Path = RAW_FIXTURE) -> bytes:
    with zipfile.ZipFile(source) as archive:
        return archive.read(name)


# --------------------------------------------------------------------------- refused quickly


@pytest.mark.parametrize("name", ["zip_bomb", "part_500_mb", "million_rows", "entity_expansion", "external_entity"])
def test_bombs_are_refused_in_well_under_a_second(name, tmp_path):
    path = shutil.copyfile(BAD / f"{name}.xlsx", tmp_path / f"{name}.xlsx")
    start = time.perf_counter()
    with pytest.raises(PackageError):
        load_book(path)
    assert time.perf_counter() - start < 1.0


def test_a_declared_size_that_lies_fails_cleanly(tmp_path):
    """A part whose header claims fewer bytes than it inflates to: zipfile stops at the
    declared size (so memory stays bounded) and the damaged part is reported."""
    path = shutil.copyfile(RAW_FIXTURE, tmp_path / "lying.xlsx")
    data = bytearray(path.read_bytes())
    name = D1_PART.encode()
    true_size = len(part(D1_PART))
    for signature, size_offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_offset = 30 if signature == b"PK\x03\x04" else 46
            name_length = struct.unpack_from("<H", data, start + (26 if signature == b"PK\x03\x04" else 28))[0]
            if data[start + name_offset : start + name_offset + name_length] == name:
                assert struct.unpack_from("<I", data, start + size_offset)[0] == true_size
                struct.pack_into("<I", data, start + size_offset, 100)
            start += 4
    path.write_bytes(bytes(data))
    with pytest.raises(PackageError, match=r"lying\.xlsx: the part xl/worksheets/sheet5\.xml cannot be read \(Bad CRC-32 .*\), expected an Excel workbook \(\.xlsx or \.xlsm\) that Excel can open"):
        validate_file(path)


def test_limits_on_the_total_size_and_the_number_of_parts(tmp_path, monkeypatch):
    path = shutil.copyfile(RAW_FIXTURE, tmp_path / "book.xlsx")
    check_package(path)
    total = sum(info.file_size for info in zipfile.ZipFile(path).infolist())
    monkeypatch.setattr(package, "MAX_PACKAGE_BYTES", total - 1)
    with pytest.raises(PackageError, match=r"book\.xlsx: parts that unpack to .* in all, expected at most .* in all \(refused unread\)"):
        check_package(path)
    monkeypatch.setattr(package, "MAX_PACKAGE_BYTES", total)
    monkeypatch.setattr(package, "MAX_PARTS", 5)
    with pytest.raises(PackageError, match=r"book\.xlsx: \d+ parts in the package, expected at most 5 parts"):
        check_package(path)


def test_a_used_range_over_the_limit_without_a_dimension_is_refused_after_loading(tmp_path):
    """No <dimension> to check before loading: the loaded sheet is checked before its
    rows are materialised, and the problem names the sheet."""
    book = openpyxl.load_workbook(RAW_FIXTURE)
    book["D2 data"]["A150000"] = "stray"
    path = tmp_path / "stray.xlsx"
    book.save(path)
    sheet = part("xl/worksheets/sheet6.xml", path)
    assert b'<dimension ref="A1:I150000"' in sheet
    path = rebuild(path, tmp_path / "nodimension.xlsx", {"xl/worksheets/sheet6.xml": re.sub(rb"<dimension [^>]*>", b"", sheet)})
    _, problems, _ = validate_file(path)
    assert [str(p) for p in problems if p.blocking] == [
        "D2 data!A1:I150000: a used range of 150,000 rows and 9 columns (often a stray value or format far below or right of the data), "
        "expected at most 100,000 rows and 1,000 columns per sheet: delete the empty rows and columns after the data"
    ]


# --------------------------------------------------------------------------- XML entities


def test_openpyxl_parses_through_defusedxml():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_entities_are_refused_even_past_the_preflight_check(monkeypatch):
    """openpyxl itself (through defusedxml) refuses the entity bomb the pre-flight check
    catches first, so a DTD the check could miss is still never expanded."""
    from defusedxml import DefusedXmlException

    with pytest.raises(ValueError) as raised:  # openpyxl wraps the refusal
        openpyxl.load_workbook(BAD / "entity_expansion.xlsx")
    assert isinstance(raised.value.__cause__ or raised.value.__context__, DefusedXmlException)
    # And the adapter, asked to skip nothing, turns it into a clear refusal.
    monkeypatch.setattr(xlsx, "check_package", lambda path: None)
    with pytest.raises(PackageError, match=r"entity_expansion\.xlsx: an XML part declares entities \(EntitiesForbidden\), expected XML parts as Excel writes them"):
        load_book(BAD / "entity_expansion.xlsx")


@pytest.mark.parametrize(
    ("prolog_kb", "refusal"),
    [
        # Past the 4 KB read first: the rest of the part's first 64 KB is read.
        (10, r"the part xl/worksheets/sheet5\.xml declares a document type"),
        (70, r"the part xl/worksheets/sheet5\.xml has no XML element in its first 64 KB"),
    ],
)
def test_a_doctype_hidden_behind_a_long_prolog_is_refused(prolog_kb, refusal, tmp_path):
    sheet = part(D1_PART)
    hidden = b'<?xml version="1.0"?>\n<!--' + b" " * (prolog_kb * 1024) + b'-->\n<!DOCTYPE worksheet [<!ENTITY a "b">]>\n' + sheet
    path = rebuild(RAW_FIXTURE, tmp_path / "hidden.xlsx", {D1_PART: hidden})
    with pytest.raises(PackageError, match=r"hidden\.xlsx: " + refusal):
        load_book(path)


def test_a_used_range_past_the_first_read_of_a_sheet_is_checked(tmp_path):
    """A sheet whose cells do not start in its first 4 KB is read up to 64 KB for its
    recorded used range, as before."""
    sheet = part(D1_PART)
    start = re.search(rb"<worksheet[^>]*>", sheet).end()
    padded = sheet[:start] + b"<!--" + b" " * (10 * 1024) + b"-->" + re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:I2000000"', sheet[start:])
    assert b'ref="A1:I2000000"' in padded
    path = rebuild(RAW_FIXTURE, tmp_path / "padded.xlsx", {D1_PART: padded})
    with pytest.raises(PackageError, match=r"padded\.xlsx: .*\(refused unread, part xl/worksheets/sheet5\.xml\)"):
        check_package(path)


# --------------------------------------------------------------------------- links, formulas, macros


def with_external_link(target: Path) -> Path:
    """The fixture with D1 data!B5 = [1]Sheet1!A1, a link to another workbook whose value
    cached in this file is 42 (the linked file does not exist)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    link = (
        f'<externalLink xmlns="{main}" xmlns:r="{rel}"><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames>'
        '<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>42</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>'
    ).encode()
    link_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/externalLinkPath" Target="file:///nonexistent/secret.xlsx" TargetMode="External"/></Relationships>'
    ).encode()
    workbook = part("xl/workbook.xml").replace(b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rId99"/></externalReferences>')
    rels = part("xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>", f'<Relationship Type="{rel}/externalLink" Target="/xl/externalLinks/externalLink1.xml" Id="rId99" /></Relationships>'.encode()
    )
    types = part("[Content_Types].xml").replace(
        b"</Types>",
        b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml" /></Types>',
    )
    sheet = part(D1_PART).replace(b'<c r="B5" t="n"><v>10</v></c>', b'<c r="B5"><f>[1]Sheet1!A1</f><v>42</v></c>')
    assert b"[1]Sheet1!A1" in sheet
    return rebuild(
        RAW_FIXTURE,
        target,
        {"xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types, D1_PART: sheet},
        {"xl/externalLinks/externalLink1.xml": link, "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels},
    )


def test_links_to_other_workbooks_are_read_from_the_cache_and_kept(tmp_path):
    path = with_external_link(tmp_path / "linked.xlsx")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = recalc_file(path, tmp_path / "out.xlsx")
    assert result.pipeline["raw"].at["Ava", "a1"] == 42  # the saved value, never fetched
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with zipfile.ZipFile(tmp_path / "out.xlsx") as archive:
        names = archive.namelist()
        assert "xl/externalLinks/externalLink1.xml" in names  # the link is kept, not dropped
        assert b"[1]Sheet1!A1" in archive.read(D1_PART)


def test_formulas_are_read_as_saved_never_evaluated(tmp_path):
    """A formula whose saved result disagrees with what it would compute: the saved
    result is used (Python never evaluates a workbook's formulas)."""
    sheet = part(D1_PART).replace(b'<c r="B5" t="n"><v>10</v></c>', b'<c r="B5"><f>1+1</f><v>17</v></c>')
    path = rebuild(RAW_FIXTURE, tmp_path / "formula.xlsx", {D1_PART: sheet})
    inputs, problems, _ = validate_file(path)
    assert problems == [] and inputs.values.at["Ava", "a1"] == 17


def test_macros_are_kept_as_bytes_and_never_run(master_copy, tmp_path):
    """Reading an .xlsm loads its VBA project as opaque bytes; nothing in it is executed
    (openpyxl has no VBA engine) and a recalculation keeps it byte for byte."""
    book = load_book(master_copy)
    assert book.vba_archive is not None
    before = part("xl/vbaProject.bin", master_copy)
    recalc_file(master_copy, tmp_path / "out.xlsm")
    assert part("xl/vbaProject.bin", tmp_path / "out.xlsm") == before

"""The CityOpp VBA project and ribbon (cityopp_xl.adapters.macros).

Excel cannot run here, so the checks are made with independent readers: oletools'
``olevba`` in strict mode reads the VBA project back module by module, the Open XML SDK
checker validates the package (customUI included), and LibreOffice imports the VBA project.
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import struct
import subprocess
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olefile
import openpyxl
import pytest
from ooxml import error_keys, ooxml_errors

with warnings.catch_warnings():  # oletools still uses pyparsing's deprecated names
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser, VBA_Project, decompress_stream

from cityopp_xl.adapters import macros
from cityopp_xl.adapters.xlsxpackage import order_font_children

CUSTOM_UI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CUSTOM_UI14_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
MODULE_NAMES = ["ThisWorkbook", "xlwings", "Dictionary", "CityOppRibbon"]
CALLBACKS = {
    "CityOpp_Recalculate": ("CityOppRecalculate", "recalculate"),
    "CityOpp_Validate": ("CityOppValidate", "validate"),
    "CityOpp_Analyze": ("CityOppAnalyze", "analyze"),
    "CityOpp_Compare": ("CityOppCompare", "compare"),
}
#: The Reviewer copy button: its callback, its macro and the Python function it runs.
SHARE = ("CityOpp_Share", "CityOppShare", "share")


def write_plain(path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "About"
    book.active["A1"] = "CityOpp test workbook"
    book.create_sheet("Cities").append(["city", "province"])
    book.save(path)
    order_font_children(path)  # as write_input_workbook does after openpyxl saves
    return path


@pytest.fixture(scope="module")
def xlsm(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("macros")
    target = folder / "book.xlsm"
    macros.make_macro_enabled(write_plain(folder / "plain.xlsx"), target)
    return target


@contextlib.contextmanager
def open_book(path: Path):
    """``openpyxl.load_workbook(path, keep_vba=True)``, closing the copy of the archive it
    keeps (left to the garbage collector, that copy can fail to close noisily)."""
    book = openpyxl.load_workbook(path, keep_vba=True)
    try:
        yield book
    finally:
        book.vba_archive.close()


def read_part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def vba_sources(path: Path) -> dict[str, bytes]:
    """Module name -> module source as stored, in project order, read by olevba in strict
    mode: a record of the PROJECT or dir stream that is not as MS-OVBA says raises."""
    data = read_part(path, "xl/vbaProject.bin")
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_POTENTIAL)
    project = VBA_Project(ole, "", "PROJECT", "VBA/dir", relaxed=False)
    project.parse_project_stream()
    list(project.parse_modules())
    assert [m.streamname for m in project.modules] == [m.name for m in project.modules]
    # The PROJECT stream's module kinds, as olevba names their files.
    assert project.module_ext == {"thisworkbook": "cls", "xlwings": "bas", "dictionary": "cls", "cityoppribbon": "bas"}
    parser = VBA_Parser("vbaProject.bin", data=data, relaxed=False)  # the reader olevba's users run
    try:
        assert [stream for _, stream, _, _ in parser.extract_macros()] == [f"VBA/{m.name}" for m in project.modules]
    finally:
        parser.close()
    return {m.name: bytes(m.code_raw) for m in project.modules}


def relationships(xml: bytes) -> list[dict[str, str]]:
    return [dict(r.attrib) for r in ElementTree.fromstring(xml).iter(f"{{{RELS_NS}}}Relationship")]


def dir_records(vba_project: bytes) -> list[int]:
    """The record ids of a project's dir stream, in order."""
    ole = olefile.OleFileIO(vba_project)
    data = bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read())))
    ids, position = [], 0
    while position < len(data):
        record, size = struct.unpack_from("<HI", data, position)
        ids.append(record)
        position += 6 + (6 if record == 0x0009 else size)  # PROJECTVERSION's "size" is a reserved 4
    return ids


# --------------------------------------------------------------------------- the VBA project


def test_modules_read_back_byte_for_byte(xlsm):
    sources = vba_sources(xlsm)
    assert list(sources) == MODULE_NAMES
    xlwings_bas = macros.xlwings_file("xlwings.bas").read_bytes()
    assert sources["xlwings"] == xlwings_bas
    assert sources["CityOppRibbon"] == macros.crlf(macros.RIBBON_MODULE.read_bytes())
    dictionary = macros.xlwings_file("addin/Dictionary.cls").read_bytes()
    assert sources["Dictionary"] == macros.class_module_source(dictionary)
    code_only = dictionary.split(b"\r\nAttribute VB_Description", 1)[1].split(b"\r\n", 1)[1]
    assert sources["Dictionary"].endswith(code_only)
    assert sources["ThisWorkbook"].startswith(b'Attribute VB_Name = "ThisWorkbook"\r\nAttribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"')
    assert {m.name: m.source for m in macros.vba_modules()} == sources


def test_vba_has_run_python_and_the_four_callbacks(xlsm):
    sources = vba_sources(xlsm)
    assert b"Public Function RunPython(PythonCommand As String)" in sources["xlwings"]
    ribbon = sources["CityOppRibbon"].decode("cp1252")
    for callback, (macro, function) in CALLBACKS.items():
        assert f"Public Sub {callback}(control As Object)\r\n    {macro}\r\nEnd Sub" in ribbon
        run = f'RunPython "import cityopp_xl.adapters.book as cityopp; cityopp.{function}()"'
        assert f"Public Sub {macro}()\r\n    {run}\r\nEnd Sub" in ribbon
    assert macros.RIBBON_ACTIONS == {**{callback: function for callback, (_, function) in CALLBACKS.items()}, SHARE[0]: SHARE[2]}


def vba_sub(source: str, name: str) -> str:
    """The text of one Sub or Function of a module, from its declaration to its end."""
    match = re.search(rf"(?:Public |Private )?(Sub|Function) {name}\(.*?\r\nEnd \1", source, re.S)
    assert match, f"no {name} in the module"
    return match.group(0)


def test_reviewer_copy_macro_asks_for_a_saved_book_and_a_target_then_runs_share(xlsm):
    ribbon = vba_sources(xlsm)["CityOppRibbon"].decode("cp1252")
    callback, macro, function = SHARE
    assert f"Public Sub {callback}(control As Object)\r\n    {macro}\r\nEnd Sub" in ribbon
    body = vba_sub(ribbon, macro)
    lines = [line.strip() for line in body.split("\r\n")]
    # A book with no file or unsaved changes is refused before any dialog: the copy is made from the file.
    saved = lines.index('If ThisWorkbook.Path = "" Or Not ThisWorkbook.Saved Then')
    assert lines[saved + 1].startswith('MsgBox "Save this workbook first') and lines[saved + 3] == "Exit Sub"
    asked = next(i for i, line in enumerate(lines) if line.startswith("target = Application.GetSaveAsFilename("))
    assert asked > saved and '"Excel workbook (*.xlsx), *.xlsx"' in lines[asked]
    assert lines[asked + 1] == "If VarType(target) = vbBoolean Then Exit Sub"  # Cancel returns False
    replace = lines.index("If FileExists(CStr(target)) Then")
    assert "Replace it?" in lines[replace + 1] and lines[replace + 2] == 'force = "True"'
    run = f'RunPython "import cityopp_xl.adapters.book as cityopp; cityopp.{function}(" & PythonText(CStr(target)) & ", force=" & force & ")"'
    assert lines[-2] == run
    # The target reaches Python as a single-quoted literal with its backslashes and quotes escaped.
    quoted = vba_sub(ribbon, "PythonText")
    assert 'Replace(Replace(text, "\\", "\\\\"), "\'", "\\\'")' in quoted
    # What that VBA gives for a Windows path with a quote reads back, in Python, as the path.
    import ast

    path = "C:\\Users\\o'Neill\\CityOpp 2025 review.xlsx"
    literal = "'" + path.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert ast.literal_eval(literal) == path
    from cityopp_xl.adapters import book

    assert callable(getattr(book, function))


def test_project_is_source_only_and_laid_out_like_xlwings_own(xlsm):
    ours = read_part(xlsm, "xl/vbaProject.bin")
    ole = olefile.OleFileIO(ours, raise_defects=olefile.DEFECT_POTENTIAL)
    assert sorted("/".join(p) for p in ole.listdir()) == sorted(
        ["PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir"] + [f"VBA/{name}" for name in MODULE_NAMES]
    )
    # Version 0xFFFF: Excel ignores every compiled cache and compiles from the source.
    assert ole.openstream("VBA/_VBA_PROJECT").read() == bytes.fromhex("cc61ffff000100")
    project = ole.openstream("PROJECT").read().decode("cp1252")
    assert project.startswith(f'ID="{macros.PROJECT_ID}"\r\nDocument=ThisWorkbook/&H00000000\r\nModule=xlwings\r\nClass=Dictionary\r\nModule=CityOppRibbon\r\n')
    # Same project information records as the source-only project xlwings ships to Excel
    # users (written without Excel), minus its library references.
    with zipfile.ZipFile(macros.xlwings_file("quickstart_standalone.xlsm")) as shipped:
        theirs = shipped.read("xl/vbaProject.bin")
    reference_ids = {0x0016, 0x003E, 0x0033, 0x002F, 0x0030, 0x000D, 0x000E}
    information = [r for r in dir_records(theirs) if r not in reference_ids]
    # 14 PROJECTINFORMATION records, then PROJECTMODULES and PROJECTCOOKIE.
    assert dir_records(ours)[:16] == information[:16]
    assert information[14:16] == [0x000F, 0x0013]
    module = [0x0019, 0x0047, 0x001A, 0x0032, 0x001C, 0x0048, 0x0031, 0x001E, 0x002C]
    kinds = (0x0022, 0x0021, 0x0022, 0x0021)  # document, procedural, class, procedural
    assert dir_records(ours)[16:] == sum(([*module, kind, 0x002B] for kind in kinds), []) + [0x0010]


def test_project_flags_decrypt_to_unprotected_and_visible():
    # The decryption is checked on xlwings' shipped project, written by another tool.
    with zipfile.ZipFile(macros.xlwings_file("quickstart_standalone.xlsm")) as shipped:
        project = olefile.OleFileIO(shipped.read("xl/vbaProject.bin")).openstream("PROJECT").read().decode("cp1252")
    values = dict(line.split("=", 1) for line in project.split("\r\n") if "=" in line and not line.startswith("&H"))
    project_id = values["ID"].strip('"')
    decrypted = {key: macros._decrypt(bytes.fromhex(values[key].strip('"')), project_id) for key in ("CMG", "DPB", "GC")}
    assert decrypted == {"CMG": b"\x00\x00\x00\x00", "DPB": b"\x00", "GC": b"\xff"}
    for data in (b"\x00\x00\x00\x00", b"\x00", b"\xff", b"some longer data"):
        assert macros._decrypt(macros._encrypt(data)) == data


def test_vba_project_is_deterministic(xlsm, tmp_path):
    again = tmp_path / "again.xlsm"
    macros.make_macro_enabled(write_plain(tmp_path / "plain.xlsx"), again)
    assert read_part(again, "xl/vbaProject.bin") == read_part(xlsm, "xl/vbaProject.bin") == macros.build_vba_project()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a",
        b"abc" * 3000,
        b"x" * 9000,  # one long run: every copy token at its maximum length (ms_ovba_compression's bug)
        random.Random(1).randbytes(9000),  # incompressible: raw chunks
        b"Sub A()\r\n" + b"    x = 1\r\n" * 800 + b"End Sub\r\n",
    ],
    ids=["empty", "one-byte", "repeats", "long-run", "random", "code"],
)
def test_compression_round_trips(data):
    assert bytes(decompress_stream(bytearray(macros.compress(data)))) == data


def test_incompressible_chunk_is_stored_raw():
    data = random.Random(2).randbytes(4096)
    assert macros.compress(data) == b"\x01" + struct.pack("<H", 0x3FFF) + data


def test_compound_file_streams_read_back():
    streams = {"PROJECT": b"p" * 10, "VBA/dir": b"d" * 5000, "VBA/a": b"", "VBA/b" + "c" * 20: bytes(range(256)) * 30}
    ole = olefile.OleFileIO(macros._compound_file(streams), raise_defects=olefile.DEFECT_POTENTIAL)
    assert {"/".join(p): ole.openstream("/".join(p)).read() for p in ole.listdir()} == streams


# --------------------------------------------------------------------------- the package


def test_ribbon_calls_existing_callbacks(xlsm):
    root_rels = relationships(read_part(xlsm, "_rels/.rels"))
    ui = [r for r in root_rels if r["Type"] == CUSTOM_UI14_REL]
    assert [r["Target"] for r in ui] == ["customUI/customUI14.xml"]
    custom_ui = ElementTree.fromstring(read_part(xlsm, "customUI/customUI14.xml"))
    assert custom_ui.tag == f"{{{CUSTOM_UI_NS}}}customUI"
    tab = custom_ui.find(f".//{{{CUSTOM_UI_NS}}}tab")
    assert tab.get("label") == "CityOpp"
    buttons = custom_ui.findall(f".//{{{CUSTOM_UI_NS}}}button")
    assert [b.get("label") for b in buttons] == ["Recalculate", "Validate", "Analyze", "Compare with…", "Reviewer copy"]
    assert [b.get("onAction") for b in buttons] == [*CALLBACKS, SHARE[0]]
    assert all(b.get("imageMso") and b.get("screentip") for b in buttons)
    ribbon = vba_sources(xlsm)["CityOppRibbon"].decode("cp1252")
    for button in buttons:
        assert f"Public Sub {button.get('onAction')}(control As Object)" in ribbon


def test_package_parts_are_wired(xlsm):
    types = ElementTree.fromstring(read_part(xlsm, "[Content_Types].xml"))
    overrides = {o.get("PartName"): o.get("ContentType") for o in types if o.tag.endswith("Override")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"
    workbook_rels = relationships(read_part(xlsm, "xl/_rels/workbook.xml.rels"))
    assert [r["Target"] for r in workbook_rels if r["Type"] == VBA_REL] == ["vbaProject.bin"]
    with open_book(xlsm) as book:
        assert book.code_name == "ThisWorkbook"
        # No sheet has a codeName: Excel gives each its own document module when it opens the file.
        assert [ws.sheet_properties.codeName for ws in book.worksheets] == [None, None]


def test_open_xml_checker_accepts_the_xlsm(xlsm):
    assert ooxml_errors(xlsm) == []


def test_refuses_a_wrong_target_or_a_second_project(xlsm, tmp_path):
    with pytest.raises(macros.MacroError, match=r"must be an \.xlsm"):
        macros.make_macro_enabled(write_plain(tmp_path / "plain.xlsx"), tmp_path / "out.xlsx")
    with pytest.raises(macros.MacroError, match="already has a VBA project"):
        macros.make_macro_enabled(xlsm, tmp_path / "twice.xlsm")


# --------------------------------------------------------------------------- openpyxl round trip


def test_restore_after_openpyxl_resave(xlsm, tmp_path):
    saved = tmp_path / "saved.xlsm"
    with open_book(xlsm) as book:
        book.create_sheet("Added")["A1"] = 1
        book.save(saved)
    resaved = error_keys(saved)
    # openpyxl's re-save writes its fonts out of the schema's order again, and only that.
    assert {path for _, path, _, _ in resaved} <= {"/xl/styles.xml"}

    macros.restore_macro_parts(xlsm, saved)

    for part in ("xl/vbaProject.bin", "customUI/customUI14.xml"):
        assert read_part(saved, part) == read_part(xlsm, part), part
    assert [r["Target"] for r in relationships(read_part(saved, "_rels/.rels")) if r["Type"] == CUSTOM_UI14_REL] == ["customUI/customUI14.xml"]
    assert [r["Target"] for r in relationships(read_part(saved, "xl/_rels/workbook.xml.rels")) if r["Type"] == VBA_REL] == ["vbaProject.bin"]
    with open_book(saved) as again:
        assert again.sheetnames == ["About", "Cities", "Added"]
        assert again.code_name == "ThisWorkbook"
    assert vba_sources(saved) == vba_sources(xlsm)
    assert error_keys(saved) == resaved  # the restore adds none

    restored = saved.read_bytes()
    macros.restore_macro_parts(xlsm, saved)
    assert saved.read_bytes() == restored, "restore_macro_parts is not idempotent"


def test_restore_puts_back_what_was_stripped(xlsm, tmp_path):
    # A copy without the macro parts, their relationships and content types, and the
    # workbook's codeName and macro-enabled content type: everything restore may have to add.
    strip = {
        "_rels/.rels": [(rb"<Relationship [^>]*ui/extensibility[^>]*/>", b"")],
        "xl/_rels/workbook.xml.rels": [(rb"<Relationship [^>]*vbaProject[^>]*/>", b"")],
        "[Content_Types].xml": [(rb"<Override [^>]*vbaProject[^>]*/>", b""), (rb"ms-excel\.sheet\.macroEnabled\.main", b"openxmlformats-officedocument.spreadsheetml.sheet.main")],
        "xl/workbook.xml": [(rb' codeName="ThisWorkbook"', b"")],
    }
    stripped = tmp_path / "stripped.xlsm"
    with zipfile.ZipFile(xlsm) as source, zipfile.ZipFile(stripped, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in ("xl/vbaProject.bin", "customUI/customUI14.xml"):
                continue
            data = source.read(info)
            for pattern, replacement in strip.get(info.filename, []):
                data, count = re.subn(pattern, replacement, data)
                assert count == 1, (info.filename, pattern)
            target.writestr(info, data)
    assert not VBA_Parser(str(stripped)).detect_vba_macros()

    macros.restore_macro_parts(xlsm, stripped)

    for part in ("xl/vbaProject.bin", "customUI/customUI14.xml"):
        assert read_part(stripped, part) == read_part(xlsm, part), part
    assert CUSTOM_UI14_REL in {r["Type"] for r in relationships(read_part(stripped, "_rels/.rels"))}
    assert VBA_REL in {r["Type"] for r in relationships(read_part(stripped, "xl/_rels/workbook.xml.rels"))}
    types = read_part(stripped, "[Content_Types].xml")
    assert b"application/vnd.ms-office.vbaProject" in types and b"macroEnabled" in types
    with open_book(stripped) as book:
        assert book.code_name == "ThisWorkbook"
    assert vba_sources(stripped) == vba_sources(xlsm)
    assert ooxml_errors(stripped) == []


def test_restore_is_a_no_op_without_macros(tmp_path):
    plain = write_plain(tmp_path / "plain.xlsx")
    copy = tmp_path / "copy.xlsx"
    shutil.copy(plain, copy)
    before = copy.read_bytes()
    macros.restore_macro_parts(plain, copy)
    assert copy.read_bytes() == before


# --------------------------------------------------------------------------- another reader


@pytest.mark.libreoffice
def test_libreoffice_imports_every_module(xlsm, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice is not installed: run `bash scripts/install-test-tools.sh`", pytrace=False)
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "ods", "--outdir", str(tmp_path), str(xlsm)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    converted = tmp_path / "book.ods"
    assert converted.is_file(), "LibreOffice could not load the workbook"
    kinds = {}
    with zipfile.ZipFile(converted) as archive:
        for name in MODULE_NAMES:
            module = ElementTree.fromstring(archive.read(f"Basic/VBAProject/{name}.xml"))
            kinds[name] = module.get("{http://openoffice.org/2000/script}moduleType")
            if name == "CityOppRibbon":
                assert "Public Sub CityOpp_Compare(control As Object)" in module.text
    assert kinds == {"ThisWorkbook": "document", "xlwings": "normal", "Dictionary": "class", "CityOppRibbon": "normal"}

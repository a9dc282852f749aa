"""Macro-enabled workbooks: the CityOpp VBA project, the CityOpp ribbon, and keeping both
intact when openpyxl re-saves an .xlsm.

:func:`make_macro_enabled` turns a plain .xlsx written by openpyxl into an .xlsm that carries

* ``xl/vbaProject.bin``: a VBA project with four modules,

  - ``ThisWorkbook``, the workbook's document module (no code);
  - ``xlwings``, xlwings' standalone module with the whole ``RunPython``, read at build time
    from the installed xlwings package (``xlwings/xlwings.bas``);
  - ``Dictionary``, the class that module needs on macOS (``xlwings/addin/Dictionary.cls``);
  - ``CityOppRibbon`` (``cityopp_xl/vba/CityOppRibbon.bas``), the ribbon callbacks
    ``CityOpp_Recalculate(control)`` ... and the plain macros ``CityOppRecalculate`` ...
    that run ``cityopp_xl.adapters.book`` through ``RunPython``;

* ``customUI/customUI14.xml`` (``cityopp_xl/vba/customUI14.xml``): the CityOpp ribbon tab.

Why the VBA project is written from source here
-----------------------------------------------
VBA cannot be compiled without Office. MS-OVBA (section 1.6) defines the interoperable form
of a project: source code only, with ``_VBA_PROJECT.Version`` set to 0xFFFF so that Excel
ignores every compiled cache and compiles the project from its source when it opens the
file. That is the form xlwings itself ships: the VBA of ``quickstart_standalone.xlsm`` was
not saved by Excel (its ``_VBA_PROJECT`` stream is the 7-byte source-only header), and
``xlwings quickstart --standalone`` hands it to users of desktop Excel on Windows and
macOS. Reusing that ``vbaProject.bin`` as it is would
give no CityOpp callbacks, and a ribbon button can only call a macro that exists in the
project, so the project is built from the ``.bas`` sources instead, record for record in
the layout of xlwings' shipped project (same PROJECTINFORMATION records, source-only module
streams at offset 0, ``ThisWorkbook`` with the Excel workbook base class, ``Dictionary``
as a class module).

The project has no library references: the ribbon callbacks declare ``control As Object``
instead of ``IRibbonControl``, so no reference to the Office type library can ever show up
as MISSING on another PC (Excel's own library and VBA's are always available).

The writer is the standard library only (below: MS-OVBA compression, the ``dir``,
``PROJECT`` and ``PROJECTwm`` streams, and a compound file writer). PyPI ``ms-ovba`` 0.0.1
was evaluated and not used: besides the compression bug of ``ms_ovba_compression`` 1.0.1
(copy-token maximum length ``0xFFFF << (bitcount + 3)`` instead of MS-OVBA's
``(0xFFFF >> bitcount) + 3``, which silently corrupts modules such as xlwings.bas), it has
no class modules (any non-document module gets the procedural MODULETYPE), encrypts CMG/DPB/GC with a random seed (two
builds differ), appends to stale ``*.new`` files and writes its temporary files into the
current folder, and ``ms_cfb`` 0.0.6 counts FAT sectors per 512 entries instead of 128.

Soundness is checked by ``tests/test_macros.py`` with readers written by others: oletools'
``olevba`` (strict mode) reads every module back byte for byte, LibreOffice imports every
module with its kind (document, class, standard), and the Open XML SDK checker accepts the
package. Excel itself is not available to the tests. The build is deterministic: same
sources, same bytes.

Document modules
----------------
Only ``ThisWorkbook`` is a document module, tied to the workbook by ``<workbookPr
codeName="ThisWorkbook"/>`` (without it Excel would add a second one, "ThisWorkbook1").
Sheets get no document module and no ``codeName``: Excel gives a sheet that has none its
own document module when it opens the file (macro files written by XlsxWriter and vbamc
rely on this), whereas a document module whose sheet is gone lingers in the project as an
orphan. The output sheets are deleted and rewritten on every run and the build may add
sheets, so any fixed list of sheet modules would soon be wrong.

After openpyxl re-saves an .xlsm (``load_workbook(keep_vba=True)`` then ``save``) it keeps
``vbaProject.bin``, the customUI parts and the workbook ``codeName``, but drops the root
relationship of a ``customUI14.xml`` part (it keeps only the 2006 relationship type),
the ``vbaProject.bin`` relationships part (signatures) and the content types of signature
parts. :func:`restore_macro_parts` puts all of that back from the original.
"""

from __future__ import annotations

import html
import importlib.util
import os
import posixpath
import re
import stat
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from ..errors import CityOppError

# --------------------------------------------------------------------------- sources

VBA_FOLDER = Path(__file__).resolve().parents[1] / "vba"
RIBBON_MODULE = VBA_FOLDER / "CityOppRibbon.bas"
CUSTOM_UI = VBA_FOLDER / "customUI14.xml"

#: The five ribbon buttons: the VBA callback each ``onAction`` names, and the function of
#: ``cityopp_xl.adapters.book`` it runs.
RIBBON_ACTIONS = {
    "CityOpp_Recalculate": "recalculate",
    "CityOpp_Validate": "validate",
    "CityOpp_Analyze": "analyze",
    "CityOpp_Compare": "compare",
    "CityOpp_Share": "share",
}

#: The VBA project's identifier. Fixed, so that rebuilding gives the same bytes.
PROJECT_ID = "{F929D7E9-1124-50F8-92F8-C490182FFF12}"
PROJECT_NAME = "VBAProject"
CODEPAGE = 1252
WORKBOOK_CODE_NAME = "ThisWorkbook"

# Excel's Workbook coclass and the base of every VBA class module (VB_Base attributes).
_WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
_CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"

_THIS_WORKBOOK = (
    'Attribute VB_Name = "ThisWorkbook"\r\n'
    f'Attribute VB_Base = "{_WORKBOOK_BASE}"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\n"
    "Attribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = True\r\n"
    "Attribute VB_Exposed = True\r\n"
    "Attribute VB_TemplateDerived = False\r\n"
    "Attribute VB_Customizable = True\r\n"
)

# --------------------------------------------------------------------------- package names

_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_VBA_PROJECT_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
#: customUI.xml (2006 namespace) and customUI14.xml (2009/07 namespace) are related from the
#: package root with these two types; mixing them up is a validation error.
_CUSTOM_UI_RELS = (
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
)
_CUSTOM_UI14_REL = _CUSTOM_UI_RELS[1]
_VBA_CONTENT_TYPE = "application/vnd.ms-office.vbaProject"
_MACRO_WORKBOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CONTENT_TYPES = "[Content_Types].xml"
_ROOT_RELS = "_rels/.rels"
_CUSTOM_UI_PART = "customUI/customUI14.xml"
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


class MacroError(CityOppError):
    """Raised when a workbook cannot be given the CityOpp VBA project and ribbon."""


# --------------------------------------------------------------------------- public API


def make_macro_enabled(src: Path, dst: Path) -> None:
    """Turn an openpyxl-written .xlsx at src into an .xlsm at dst with the CityOpp VBA project and ribbon.

    Parameters
    ----------
    src : Path
        A plain workbook (.xlsx) without a VBA project.
    dst : Path
        The .xlsm to write (replaced atomically; may be ``src`` itself).

    Raises
    ------
    MacroError
        If ``dst`` is not an .xlsm, or ``src`` already has a VBA project.
    """
    src, dst = Path(src), Path(dst)
    if dst.suffix.lower() != ".xlsm":
        raise MacroError(f"{dst}: a workbook with the CityOpp ribbon must be an .xlsm, not '{dst.suffix}'")
    package = _Package.read(src)
    workbook = package.main_part()
    workbook_rels = _rels_part(workbook)
    if _find_relationships(package.get(workbook_rels), {_VBA_PROJECT_REL}):
        raise MacroError(f"{src}: already has a VBA project")
    if _find_relationships(package.get(_ROOT_RELS), set(_CUSTOM_UI_RELS)):
        raise MacroError(f"{src}: already has a ribbon (customUI) part")

    vba_part = posixpath.join(posixpath.dirname(workbook), "vbaProject.bin")
    package.put(vba_part, build_vba_project())
    package.put(_CUSTOM_UI_PART, ribbon_xml())
    package.put(workbook_rels, _add_relationship(package.get(workbook_rels), _VBA_PROJECT_REL, posixpath.basename(vba_part)))
    package.put(_ROOT_RELS, _add_relationship(package.get(_ROOT_RELS), _CUSTOM_UI14_REL, _CUSTOM_UI_PART))
    types = _ContentTypes(package.get(_CONTENT_TYPES))
    types.set_override("/" + workbook, _MACRO_WORKBOOK)
    types.set_override("/" + vba_part, _VBA_CONTENT_TYPE)
    if types.resolve("/" + _CUSTOM_UI_PART) != "application/xml":
        types.set_override("/" + _CUSTOM_UI_PART, "application/xml")
    package.put(_CONTENT_TYPES, types.to_bytes())
    package.put(workbook, _set_code_name(package.get(workbook), WORKBOOK_CODE_NAME))
    package.write(dst)


def restore_macro_parts(original: Path, saved: Path) -> None:
    """After openpyxl re-saved a copy of an .xlsm (load_workbook(keep_vba=True) ... save), make `saved` carry
    exactly the original's vbaProject.bin (+ its rels/signature parts), customUI parts, and the root-rels /
    [Content_Types].xml entries they need, byte for byte. Idempotent; a no-op for a file without macros.

    Also puts back the workbook's ``codeName`` and macro-enabled content type if they were
    lost. ``saved`` is rewritten through a temporary file in its folder only when
    something was missing.
    """
    source = _Package.read(Path(original))
    macro_parts, ui_relationships = _macro_parts(source)
    if not macro_parts:
        return
    target = _Package.read(Path(saved))
    before = dict(target.parts)

    for name in macro_parts:
        target.put(name, source.get(name))

    source_types = _ContentTypes(source.get(_CONTENT_TYPES))
    target_types = _ContentTypes(target.get(_CONTENT_TYPES))
    for name in macro_parts:
        if name.endswith(".rels"):
            continue
        wanted = source_types.resolve("/" + name)
        if wanted is not None and target_types.resolve("/" + name) != wanted:
            target_types.set_override("/" + name, wanted)

    source_workbook = source.main_part()
    target_workbook = target.main_part()
    source_rels = source.parts.get(_rels_part(source_workbook))
    source_vba = _find_relationships(source_rels, {_VBA_PROJECT_REL}) if source_rels else []
    if source_vba:
        workbook_rels = _rels_part(target_workbook)
        vba_target = _resolve(source_workbook, source_vba[0][1])
        relative = posixpath.relpath(vba_target, posixpath.dirname(target_workbook))
        if not any(_resolve(target_workbook, t) == vba_target for _, t in _find_relationships(target.get(workbook_rels), {_VBA_PROJECT_REL})):
            target.put(workbook_rels, _add_relationship(target.get(workbook_rels), _VBA_PROJECT_REL, relative))
        workbook_type = source_types.resolve("/" + source_workbook)
        if workbook_type and "macroEnabled" in workbook_type and target_types.resolve("/" + target_workbook) != workbook_type:
            target_types.set_override("/" + target_workbook, workbook_type)
        code_name = _get_code_name(source.get(source_workbook))
        if code_name and _get_code_name(target.get(target_workbook)) != code_name:
            target.put(target_workbook, _set_code_name(target.get(target_workbook), code_name))

    root_rels = target.get(_ROOT_RELS)
    present = {(kind, _resolve("", t)) for kind, t in _find_relationships(root_rels, set(_CUSTOM_UI_RELS))}
    for kind, part, rel_id in ui_relationships:
        if (kind, part) not in present:
            root_rels = _add_relationship(root_rels, kind, part, preferred_id=rel_id)
    target.put(_ROOT_RELS, root_rels)
    if target_types.changed:
        target.put(_CONTENT_TYPES, target_types.to_bytes())

    if target.parts != before:
        target.write(Path(saved))


def ribbon_xml() -> bytes:
    """The customUI14.xml part, as stored in ``cityopp_xl/vba``."""
    return CUSTOM_UI.read_bytes()


# --------------------------------------------------------------------------- VBA modules


@dataclass(frozen=True)
class VbaModule:
    """One module of the VBA project: ``kind`` is "document", "module" or "class";
    ``source`` is the module stream's text (cp1252, CRLF line ends)."""

    name: str
    kind: str
    source: bytes


def xlwings_file(relative: str) -> Path:
    """A file of the installed xlwings package (found without importing xlwings)."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise MacroError("xlwings is not installed: its standalone VBA module is needed to build the workbook")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise MacroError(f"{path}: missing from the installed xlwings package")
    return path


def vba_modules() -> list[VbaModule]:
    """The modules of the CityOpp VBA project, in project order."""
    return [
        VbaModule("ThisWorkbook", "document", _THIS_WORKBOOK.encode("ascii")),
        VbaModule("xlwings", "module", _module_source(xlwings_file("xlwings.bas").read_bytes(), "xlwings")),
        VbaModule("Dictionary", "class", class_module_source(xlwings_file("addin/Dictionary.cls").read_bytes())),
        VbaModule("CityOppRibbon", "module", _module_source(RIBBON_MODULE.read_bytes(), "CityOppRibbon")),
    ]


def crlf(text: bytes) -> bytes:
    """``text`` with CRLF line ends (VBA's), whatever a checkout did to them."""
    return re.sub(rb"\r?\n", b"\r\n", text)


def _module_source(text: bytes, name: str) -> bytes:
    text = crlf(text)
    first = text.split(b"\r\n", 1)[0]
    if first != f'Attribute VB_Name = "{name}"'.encode("ascii"):
        raise MacroError(f"module {name}: its first line must be Attribute VB_Name = \"{name}\", found {first!r}")
    try:
        text.decode("cp1252")
    except UnicodeDecodeError as error:
        raise MacroError(f"module {name}: not cp1252 text ({error})") from None
    return text


def class_module_source(exported: bytes) -> bytes:
    """The module stream text of a class module exported by the VBA editor (.cls).

    An export starts with a ``VERSION 1.0 CLASS`` / ``BEGIN`` ... ``END`` block and leaves
    out three attributes that Excel keeps in the stream: this drops the block and adds
    ``VB_Base`` (after ``VB_Name``) and ``VB_TemplateDerived``/``VB_Customizable`` (after
    ``VB_Exposed``), as in the class modules Excel saves. The code is unchanged.
    """
    lines = crlf(exported).split(b"\r\n")
    if lines and lines[0].startswith(b"VERSION "):
        if b"END" not in lines:
            raise MacroError("class module: its VERSION/BEGIN block has no END line")
        lines = lines[lines.index(b"END") + 1 :]
    result = []
    for line in lines:
        result.append(line)
        if line.startswith(b"Attribute VB_Name = "):
            result.append(f'Attribute VB_Base = "{_CLASS_BASE}"'.encode("ascii"))
        elif line.startswith(b"Attribute VB_Exposed = "):
            result += [b"Attribute VB_TemplateDerived = False", b"Attribute VB_Customizable = False"]
    name = re.match(rb'Attribute VB_Name = "([^"]+)"', result[0])
    if not name:
        raise MacroError("class module: no Attribute VB_Name line")
    return _module_source(b"\r\n".join(result), name.group(1).decode("ascii"))


def build_vba_project(modules: list[VbaModule] | None = None) -> bytes:
    """The bytes of ``vbaProject.bin`` for ``modules`` (default: :func:`vba_modules`).

    Deterministic: the same modules always give the same bytes.
    """
    modules = vba_modules() if modules is None else modules
    unknown = [m.name for m in modules if m.kind not in ("document", "module", "class")]
    if unknown:
        raise MacroError(f"modules of unknown kind: {', '.join(unknown)}")
    streams = {
        "PROJECT": _project_stream(modules),
        "PROJECTwm": _project_wm_stream(modules),
        # MS-OVBA 2.3.4.1: Reserved1 0x61CC, Version 0xFFFF (ignore every cache: compile from
        # source), Reserved2 0x00, Reserved3 0x0001, no PerformanceCache.
        "VBA/_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0001),
        "VBA/dir": compress(_dir_stream(modules)),
    }
    for module in modules:
        streams[f"VBA/{module.name}"] = compress(module.source)
    return _compound_file(streams)


# --------------------------------------------------------------------------- MS-OVBA streams


def _record(record_id: int, data: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def _text_records(record_id: int, unicode_id: int, text: str) -> bytes:
    """An MBCS record followed by its UTF-16 twin (the twin's id stands where a size would)."""
    return _record(record_id, text.encode("cp1252")) + _record(unicode_id, text.encode("utf-16-le"))


def _dir_stream(modules: list[VbaModule]) -> bytes:
    """The uncompressed ``dir`` stream (MS-OVBA 2.3.4.2): project information, no
    references, the module records, the terminator."""
    out = bytearray()
    out += _record(0x0001, struct.pack("<I", 3))  # PROJECTSYSKIND: 64-bit Windows, as xlwings' file
    out += _record(0x0002, struct.pack("<I", 0x0409))  # PROJECTLCID
    out += _record(0x0014, struct.pack("<I", 0x0409))  # PROJECTLCIDINVOKE
    out += _record(0x0003, struct.pack("<H", CODEPAGE))  # PROJECTCODEPAGE
    out += _record(0x0004, PROJECT_NAME.encode("cp1252"))  # PROJECTNAME
    out += _text_records(0x0005, 0x0040, "")  # PROJECTDOCSTRING
    out += _record(0x0006, b"") + _record(0x003D, b"")  # PROJECTHELPFILEPATH: none (two MBCS copies)
    out += _record(0x0007, struct.pack("<I", 0))  # PROJECTHELPCONTEXT
    out += _record(0x0008, struct.pack("<I", 0))  # PROJECTLIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)  # PROJECTVERSION: Reserved 4, major 1, minor 0
    out += _text_records(0x000C, 0x003C, "")  # PROJECTCONSTANTS
    out += _record(0x000F, struct.pack("<H", len(modules)))  # PROJECTMODULES
    out += _record(0x0013, struct.pack("<H", 0xFFFF))  # PROJECTCOOKIE
    for module in modules:
        out += _text_records(0x0019, 0x0047, module.name)  # MODULENAME, MODULENAMEUNICODE
        out += _text_records(0x001A, 0x0032, module.name)  # MODULESTREAMNAME
        out += _text_records(0x001C, 0x0048, "")  # MODULEDOCSTRING
        out += _record(0x0031, struct.pack("<I", 0))  # MODULEOFFSET: source at 0, no cache
        out += _record(0x001E, struct.pack("<I", 0))  # MODULEHELPCONTEXT
        out += _record(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        # MODULETYPE: 0x0021 procedural; 0x0022 document, class or designer module.
        out += struct.pack("<HI", 0x0021 if module.kind == "module" else 0x0022, 0)
        out += struct.pack("<HI", 0x002B, 0)  # module terminator
    out += struct.pack("<HI", 0x0010, 0)  # dir terminator
    return bytes(out)


def _project_stream(modules: list[VbaModule]) -> bytes:
    """The ``PROJECT`` stream (MS-OVBA 2.3.1): unprotected, visible, no password."""
    lines = [f'ID="{PROJECT_ID}"']
    for module in modules:
        if module.kind == "document":
            lines.append(f"Document={module.name}/&H00000000")
        else:
            lines.append(f"{'Module' if module.kind == 'module' else 'Class'}={module.name}")
    protection = _encrypt(struct.pack("<I", 0)).hex().upper()  # not protected
    password = _encrypt(bytes([0x00])).hex().upper()  # no password
    visibility = _encrypt(bytes([0xFF])).hex().upper()  # visible
    lines += [
        f'Name="{PROJECT_NAME}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{protection}"',
        f'DPB="{password}"',
        f'GC="{visibility}"',
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
    ]
    lines += [f"{module.name}=0, 0, 0, 0, C" for module in modules]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _project_wm_stream(modules: list[VbaModule]) -> bytes:
    """The ``PROJECTwm`` stream (MS-OVBA 2.3.3): each module name in MBCS and UTF-16."""
    out = bytearray()
    for module in modules:
        out += module.name.encode("cp1252") + b"\x00" + module.name.encode("utf-16-le") + b"\x00\x00"
    return bytes(out + b"\x00\x00")


#: Seed of the CMG/DPB/GC data encryption (MS-OVBA 2.4.3.2). Any value is allowed; a fixed
#: one keeps builds reproducible, and (seed & 6) == 0 means no filler bytes.
_ENCRYPTION_SEED = 0x41


def _encrypt(data: bytes, project_id: str = PROJECT_ID, seed: int = _ENCRYPTION_SEED) -> bytes:
    """MS-OVBA 2.4.3.2 data encryption of ``data`` for the PROJECT stream."""
    if seed & 6:
        raise ValueError("a seed with filler bytes would need random filler; use (seed & 6) == 0")
    version = 2
    project_key = sum(project_id.encode("cp1252")) & 0xFF
    out = bytearray([seed, version ^ seed, project_key ^ seed])
    unencrypted_1, encrypted_1, encrypted_2 = project_key, project_key ^ seed, version ^ seed
    for byte in struct.pack("<I", len(data)) + data:
        encrypted = byte ^ ((unencrypted_1 + encrypted_2) & 0xFF)
        out.append(encrypted)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, encrypted, byte
    return bytes(out)


def _decrypt(data: bytes, project_id: str = PROJECT_ID) -> bytes:
    """Inverse of :func:`_encrypt` (also reads encryptions with filler bytes)."""
    seed, version_enc, key_enc = data[0], data[1], data[2]
    if version_enc ^ seed != 2 or key_enc ^ seed != sum(project_id.encode("cp1252")) & 0xFF:
        raise ValueError("not an MS-OVBA encryption for this project id")
    unencrypted_1, encrypted_1, encrypted_2 = key_enc ^ seed, key_enc, version_enc
    plain = bytearray()
    for encrypted in data[3:]:
        byte = encrypted ^ ((unencrypted_1 + encrypted_2) & 0xFF)
        plain.append(byte)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, encrypted, byte
    filler = (seed & 6) // 2
    length = struct.unpack_from("<I", plain, filler)[0]
    return bytes(plain[filler + 4 : filler + 4 + length])


# --------------------------------------------------------------------------- MS-OVBA compression

_CHUNK = 4096


def compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compression: a CompressedContainer of ``data``.

    Greedy longest match within each 4096-byte chunk. A copy token of a match at position
    ``p`` of its chunk uses ``bit_count = max(4, ceil(log2(p)))`` offset bits, so a match may
    be at most ``(0xFFFF >> bit_count) + 3`` bytes long (MS-OVBA 2.4.1.3.19.1): the bound
    ``ms_ovba_compression`` 1.0.1 gets wrong.
    """
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        out += _compress_chunk(data[start : start + _CHUNK])
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    size = len(chunk)
    body = bytearray()
    seen: dict[bytes, list[int]] = {}
    position = 0

    def remember(start: int, stop: int) -> None:
        for p in range(start, min(stop, size - 2)):
            seen.setdefault(chunk[p : p + 3], []).append(p)

    while position < size:
        flag_at = len(body)
        body.append(0)
        for bit in range(8):
            if position >= size:
                break
            bit_count = max(4, (position - 1).bit_length())
            longest = min((0xFFFF >> bit_count) + 3, size - position)
            best_length, best_offset = 0, 0
            for candidate in reversed(seen.get(chunk[position : position + 3], ())):
                length = 3
                while length < longest and chunk[candidate + length] == chunk[position + length]:
                    length += 1
                if length > best_length:
                    best_length, best_offset = length, position - candidate
                    if length == longest:
                        break
            if best_length >= 3:
                token = ((best_offset - 1) << (16 - bit_count)) | (best_length - 3)
                body += struct.pack("<H", token)
                body[flag_at] |= 1 << bit
                remember(position, position + best_length)
                position += best_length
            else:
                body.append(chunk[position])
                remember(position, position + 1)
                position += 1
    if len(body) > _CHUNK:
        if size != _CHUNK:
            raise MacroError("a final compression chunk would grow beyond 4096 bytes")
        return struct.pack("<H", 0x3000 | (_CHUNK + 2 - 3)) + chunk  # raw chunk
    return struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body


# --------------------------------------------------------------------------- compound file (MS-CFB v3)

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_FREESECT, _ENDOFCHAIN, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root storage
    data: bytes = b""
    children: list[_Entry] | None = None
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    black: bool = True
    start: int = _ENDOFCHAIN
    size: int = 0


def _cfb_key(entry: _Entry) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names first, then code points compared in upper case.
    return (len(entry.name.encode("utf-16-le")), entry.name.upper())


def _compound_file(streams: dict[str, bytes]) -> bytes:
    """A version 3 compound file holding ``streams`` (paths like ``"VBA/dir"``).

    Every time stamp and CLSID is zero, siblings form a balanced red-black tree, small
    streams live in the mini stream: the same streams always give the same bytes.
    """
    root = _Entry("Root Entry", 5, children=[])
    storages = {"": root}
    for path in sorted(streams):
        parent = ""
        for part in path.split("/")[:-1]:
            key = f"{parent}/{part}" if parent else part
            if key not in storages:
                storage = _Entry(part, 1, children=[])
                storages[parent].children.append(storage)
                storages[key] = storage
            parent = key
        storages[parent].children.append(_Entry(path.split("/")[-1], 2, data=streams[path]))

    entries: list[_Entry] = []

    def number(entry: _Entry) -> None:
        entries.append(entry)
        for child in sorted(entry.children or [], key=_cfb_key):
            number(child)

    number(root)
    index = {id(entry): i for i, entry in enumerate(entries)}
    for entry in entries:
        if entry.children:
            entry.child = _link_tree(sorted(entry.children, key=_cfb_key), index)

    small = [e for e in entries if e.kind == 2 and len(e.data) < _MINI_CUTOFF]
    large = [e for e in entries if e.kind == 2 and len(e.data) >= _MINI_CUTOFF]
    mini_stream = bytearray()
    mini_fat: list[int] = []
    for entry in small:
        entry.size = len(entry.data)
        count = -(-entry.size // _MINI_SECTOR)
        entry.start = len(mini_fat) if count else _ENDOFCHAIN
        mini_fat += [len(mini_fat) + i + 1 for i in range(count - 1)] + ([_ENDOFCHAIN] if count else [])
        mini_stream += entry.data.ljust(count * _MINI_SECTOR, b"\x00")

    def sectors(length: int) -> int:
        return -(-length // _SECTOR)

    directory = sectors(len(entries) * 128)
    mini_fat_sectors = sectors(len(mini_fat) * 4)
    mini_stream_sectors = sectors(len(mini_stream))
    data_sectors = directory + mini_fat_sectors + mini_stream_sectors + sum(sectors(len(e.data)) for e in large)
    fat_sectors = 1
    while fat_sectors * (_SECTOR // 4) < data_sectors + fat_sectors:
        fat_sectors += 1
    if fat_sectors > 109:
        raise MacroError("VBA project too large for a compound file without DIFAT sectors")

    fat = [_FATSECT] * fat_sectors
    body = bytearray()

    def allocate(content: bytes) -> int:
        count = sectors(len(content))
        if count == 0:
            return _ENDOFCHAIN
        start = len(fat)
        fat.extend([start + i + 1 for i in range(count - 1)] + [_ENDOFCHAIN])
        body.extend(content.ljust(count * _SECTOR, b"\x00"))
        return start

    root.size = len(mini_stream)
    first_mini_fat = _ENDOFCHAIN
    first_directory = allocate(bytes(directory * _SECTOR))  # filled in once every start is known
    if mini_fat:
        first_mini_fat = allocate(b"".join(struct.pack("<I", v) for v in mini_fat).ljust(mini_fat_sectors * _SECTOR, b"\xff"))
    root.start = allocate(bytes(mini_stream)) if mini_stream else _ENDOFCHAIN
    for entry in large:
        entry.size = len(entry.data)
        entry.start = allocate(entry.data)

    directory_bytes = b"".join(_directory_entry(e) for e in entries)
    directory_bytes += _empty_directory_entry() * (directory * 4 - len(entries))
    offset = (first_directory - fat_sectors) * _SECTOR
    body[offset : offset + len(directory_bytes)] = directory_bytes

    fat += [_FREESECT] * (fat_sectors * (_SECTOR // 4) - len(fat))
    difat = list(range(fat_sectors)) + [_FREESECT] * (109 - fat_sectors)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\x00" * 16,
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # little-endian
        9,  # sector shift
        6,  # mini sector shift
        b"\x00" * 6,
        0,  # directory sectors (always 0 in version 3)
        fat_sectors,
        first_directory,
        0,  # transaction signature
        _MINI_CUTOFF,
        first_mini_fat,
        mini_fat_sectors,
        _ENDOFCHAIN,  # no DIFAT sectors
        0,
    ) + struct.pack("<109I", *difat)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return header + fat_bytes + bytes(body)


def _link_tree(children: list[_Entry], index: dict[int, int]) -> int:
    """Link sorted siblings into a balanced binary search tree and colour it as a valid
    red-black tree (the deepest level red when it is not full); return the root's id."""
    depths: dict[int, int] = {}

    def build(low: int, high: int, depth: int) -> int:
        if low > high:
            return _NOSTREAM
        middle = (low + high + 1) // 2
        node = children[middle]
        depths[id(node)] = depth
        node.left = build(low, middle - 1, depth + 1)
        node.right = build(middle + 1, high, depth + 1)
        return index[id(node)]

    root = build(0, len(children) - 1, 0)
    deepest = max(depths.values())
    full = len(children) == 2 ** (deepest + 1) - 1
    for node in children:
        node.black = full or depths[id(node)] < deepest
    return root


def _directory_entry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le")
    if len(name) > 62:
        raise MacroError(f"compound file name too long: {entry.name}")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name) + 2,
        entry.kind,
        1 if entry.black else 0,
        entry.left,
        entry.right,
        entry.child,
        b"\x00" * 16,
        0,
        0,
        0,
        entry.start if entry.kind != 1 else 0,
        entry.size,
    )


def _empty_directory_entry() -> bytes:
    return struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, b"\x00" * 16, 0, 0, 0, 0, 0)


# --------------------------------------------------------------------------- the zip package


class _Package:
    """The parts of an Open XML package, in archive order, rewritten atomically."""

    def __init__(self, infos: list[zipfile.ZipInfo], parts: dict[str, bytes]):
        self.infos = {info.filename: info for info in infos}
        self.parts = parts

    @classmethod
    def read(cls, path: Path) -> _Package:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            return cls(infos, {info.filename: archive.read(info) for info in infos})

    def get(self, name: str) -> bytes:
        try:
            return self.parts[name]
        except KeyError:
            raise MacroError(f"the workbook has no part '{name}'") from None

    def put(self, name: str, data: bytes) -> None:
        self.parts[name] = data

    def main_part(self) -> str:
        found = _find_relationships(self.get(_ROOT_RELS), {_OFFICE_DOCUMENT})
        if not found:
            raise MacroError("the workbook has no officeDocument relationship")
        return _resolve("", found[0][1])

    def write(self, path: Path) -> None:
        handle, temporary = tempfile.mkstemp(prefix=f".~{path.stem}.", suffix=".tmp", dir=path.parent)
        os.close(handle)
        try:
            # mkstemp makes the file private (0600): give it the mode the target has, or
            # the one a new file would get.
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except FileNotFoundError:
                mask = os.umask(0)
                os.umask(mask)
                mode = 0o666 & ~mask
            os.chmod(temporary, mode)
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, data in self.parts.items():
                    old = self.infos.get(name)
                    info = zipfile.ZipInfo(name, date_time=old.date_time if old else _FIXED_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = old.external_attr if old else 0o600 << 16
                    archive.writestr(info, data)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _rels_part(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def _resolve(source: str, target: str) -> str:
    """The part name (no leading slash) a relationship of part ``source`` targets."""
    if target.startswith("/"):
        return posixpath.normpath(target)[1:]
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _find_relationships(rels: bytes, kinds: set[str]) -> list[tuple[str, str]]:
    """(Type, Target) of the internal relationships of ``kinds`` in a .rels part."""
    root = ElementTree.fromstring(rels)
    return [
        (r.get("Type"), r.get("Target"))
        for r in root.iter(f"{{{_PACKAGE_RELS}}}Relationship")
        if r.get("Type") in kinds and r.get("TargetMode") != "External"
    ]


def _add_relationship(rels: bytes, kind: str, target: str, preferred_id: str | None = None) -> bytes:
    """``rels`` with one more relationship (``preferred_id`` when it is free, else the
    first free ``rIdN``)."""
    document = _FlatXml(rels, _PACKAGE_RELS)
    used = {attributes.get("Id") for _, attributes in document.children}
    rel_id = preferred_id if preferred_id and preferred_id not in used else None
    number = 1
    while rel_id is None:
        if f"rId{number}" not in used:
            rel_id = f"rId{number}"
        number += 1
    document.children.append(("Relationship", {"Id": rel_id, "Type": kind, "Target": target}))
    return document.to_bytes()


def _quote_attribute(value: str) -> str:
    """An XML attribute value in double quotes (html.escape: xml.sax.saxutils.quoteattr
    would import urllib and ssl, 10 ms of every Recalculate)."""
    return '"' + html.escape(value, quote=True) + '"'


class _FlatXml:
    """A package part that is a root element of childless elements, all in one namespace
    ([Content_Types].xml, *.rels). Written back with the namespace as the default one, so
    no ElementTree namespace registration (process-wide state) is needed."""

    def __init__(self, xml: bytes, namespace: str):
        root = ElementTree.fromstring(xml)
        self.namespace = namespace
        self.tag = self._local(root)
        self.children: list[tuple[str, dict[str, str]]] = []
        for child in root:
            if len(child) or any(name.startswith("{") for name in child.attrib):
                raise MacroError(f"unexpected content in a <{self.tag}> part: {child.tag}")
            self.children.append((self._local(child), dict(child.attrib)))

    def _local(self, element: ElementTree.Element) -> str:
        prefix = f"{{{self.namespace}}}"
        if not element.tag.startswith(prefix):
            raise MacroError(f"unexpected element {element.tag} (expected the namespace {self.namespace})")
        return element.tag[len(prefix) :]

    def to_bytes(self) -> bytes:
        parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', f"<{self.tag} xmlns={_quote_attribute(self.namespace)}>"]
        for tag, attributes in self.children:
            parts.append(f"<{tag}" + "".join(f" {name}={_quote_attribute(value)}" for name, value in attributes.items()) + "/>")
        parts.append(f"</{self.tag}>")
        return "".join(parts).encode("utf-8")


class _ContentTypes:
    """[Content_Types].xml: look up a part's content type, add or change overrides."""

    def __init__(self, xml: bytes):
        self.document = _FlatXml(xml, _CONTENT_TYPES_NS)
        self.changed = False

    def resolve(self, part: str) -> str | None:
        for tag, attributes in self.document.children:
            if tag == "Override" and attributes.get("PartName", "").lower() == part.lower():
                return attributes.get("ContentType")
        extension = posixpath.splitext(part)[1][1:].lower()
        for tag, attributes in self.document.children:
            if tag == "Default" and attributes.get("Extension", "").lower() == extension:
                return attributes.get("ContentType")
        return None

    def set_override(self, part: str, content_type: str) -> None:
        for tag, attributes in self.document.children:
            if tag == "Override" and attributes.get("PartName", "").lower() == part.lower():
                if attributes.get("ContentType") != content_type:
                    attributes["ContentType"] = content_type
                    self.changed = True
                return
        self.document.children.append(("Override", {"PartName": part, "ContentType": content_type}))
        self.changed = True

    def to_bytes(self) -> bytes:
        return self.document.to_bytes()


_WORKBOOK_ROOT = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)workbook\b[^>]*>")
_CODE_NAME = re.compile(rb'\scodeName\s*=\s*(["\'])(.*?)\1')


def _workbook_pr(workbook_xml: bytes) -> tuple[bytes, re.Match[bytes] | None]:
    """The root element's namespace prefix and its own ``workbookPr`` element (not the
    ``x14:workbookPr`` of an extension list)."""
    root = _WORKBOOK_ROOT.search(workbook_xml)
    if not root:
        raise MacroError("the workbook part has no workbook element")
    prefix = root.group(1)
    pattern = re.compile(rb"<(" + re.escape(prefix) + rb")workbookPr\b([^>]*?)(/?)>")
    return prefix, pattern.search(workbook_xml, root.end())


def _get_code_name(workbook_xml: bytes) -> str | None:
    _, match = _workbook_pr(workbook_xml)
    code_name = _CODE_NAME.search(match.group(2)) if match else None
    return code_name.group(2).decode("utf-8") if code_name else None


def _set_code_name(workbook_xml: bytes, code_name: str) -> bytes:
    """``workbook_xml`` with ``<workbookPr codeName="...">``, edited in place so that
    namespace prefixes and everything else stay as they were."""
    value = code_name.encode("utf-8")
    prefix, match = _workbook_pr(workbook_xml)
    if match:
        _, attributes, close = match.groups()
        if _CODE_NAME.search(attributes):
            attributes = _CODE_NAME.sub(b' codeName="' + value + b'"', attributes, count=1)
        else:
            attributes = attributes.rstrip() + b' codeName="' + value + b'"'
        tag = b"<" + prefix + b"workbookPr" + attributes + (b" />" if close else b">")
        return workbook_xml[: match.start()] + tag + workbook_xml[match.end() :]
    # No workbookPr: it goes after fileVersion and fileSharing (CT_Workbook's sequence).
    position = _WORKBOOK_ROOT.search(workbook_xml).end()
    for element in (b"fileVersion", b"fileSharing"):
        name = re.escape(prefix + element)
        found = re.compile(rb"\s*<" + name + rb"\b(?:[^>]*?/>|[^>]*>.*?</" + name + rb">)", re.S).match(workbook_xml, position)
        if found:
            position = found.end()
    tag = b"<" + prefix + b'workbookPr codeName="' + value + b'"/>'
    return workbook_xml[:position] + tag + workbook_xml[position:]


def _macro_parts(package: _Package) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The parts that make up a package's macros and ribbon, and the root relationships of
    its customUI parts as (Type, part, Id)."""
    return macro_parts(set(package.parts), package.get, package.main_part())


def macro_parts(names: set[str], read, workbook: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The parts of a package (part ``names``, ``read(part) -> bytes``, its ``workbook``
    part) that make up its macros and ribbon: the VBA project with its relationships and
    signature parts, the customUI parts with theirs; and the root relationships of the
    customUI parts as (Type, part, Id)."""
    parts: list[str] = []

    def add_with_relationships(part: str) -> None:
        if part not in names or part in parts:
            return
        parts.append(part)
        rels = _rels_part(part)
        if rels in names:
            parts.append(rels)
            for _, target in _internal_targets(read(rels)):
                add_with_relationships(_resolve(part, target))

    workbook_rels = _rels_part(workbook)
    if workbook_rels in names:
        for _, target in _find_relationships(read(workbook_rels), {_VBA_PROJECT_REL}):
            add_with_relationships(_resolve(workbook, target))
    ui: list[tuple[str, str, str]] = []
    root = ElementTree.fromstring(read(_ROOT_RELS))
    for rel in root.iter(f"{{{_PACKAGE_RELS}}}Relationship"):
        if rel.get("Type") in _CUSTOM_UI_RELS and rel.get("TargetMode") != "External":
            part = _resolve("", rel.get("Target"))
            if part in names:
                ui.append((rel.get("Type"), part, rel.get("Id")))
                add_with_relationships(part)
    return parts, ui


def _internal_targets(rels: bytes) -> list[tuple[str, str]]:
    root = ElementTree.fromstring(rels)
    return [(r.get("Type"), r.get("Target")) for r in root.iter(f"{{{_PACKAGE_RELS}}}Relationship") if r.get("TargetMode") != "External"]

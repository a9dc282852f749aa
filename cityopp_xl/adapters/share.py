"""A reviewer's copy of a master workbook: ``cityopp share BOOK -o REVIEW.xlsx`` and the
ribbon's Reviewer copy.

The copy is the master's package edited, never a workbook loaded and saved again: every
part is copied as stored (:func:`.xlsxpackage.copy_part`) except

* the macros: the VBA project with its relationships and signature parts and the ribbon
  (``customUI``) parts are left out, with their relationships, content types and the
  defined names that call macros; buttons, controls and shapes that run a macro keep
  their place but lose the assignment (:func:`without_macro_calls`); the workbook's content type becomes the plain
  spreadsheet's, so the copy is an .xlsx that opens with no macro warning;
* the Log sheet, rewritten with its human part only: the run, the input fingerprints, the
  variables' rules and the record of the output sheets it wrote (what ``cityopp diff``,
  Validate and Recalculate read from it) stay; the pipeline steps with their raw JSON
  parameters, the copies of the input tables and the stale check's counts over them are
  left out (the stale check's summary cell stays where the score sheets' notes read it);
* the About sheet, which gets a cover note in rows inserted at its top: which master (its
  file name and SHA-256) and which run (the Log's run time and input fingerprint) the copy
  comes from, that it has no macros, and how to send edits back;
* ``xl/workbook.xml`` (the Log's ownership record and print area, names that call macros),
  its relationships, ``[Content_Types].xml`` and ``styles.xml`` (one style appended for the
  cover note's heading).

The master is only read, so it may be open in Excel. A master whose scores are out of date
is refused, naming why: an input changed since the last Recalculate (the stale check), an
output sheet edited by hand, or a formula saved without its value; so is one that cannot be
scored or was never recalculated. The reviewer then sees the figures the master's inputs
give, and every formula carries its value for viewers that never calculate.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..errors import CityOppError, InputError, OutputError
from ..model import column_letter, column_number, quote_sheet
from ..validate import UncalculatedFormula
from . import layout, macros, stale_check
from . import recalculate as sequence
from .integrity import FINGERPRINT_HEADER, find_edited_outputs
from .package import check_output_folder, write_atomically
from .sheetxml import MAIN, REL, StyleBook, parse
from .xlsxpackage import CT, PKG_REL, STYLES_REL, WRITE_LEVEL, FileFront, Package, _new_info, copy_part

#: The content type of a workbook without macros (an .xlsx).
PLAIN_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_M = f"{{{MAIN}}}"
_P = f"{{{PKG_REL}}}"
_C = f"{{{CT}}}"
#: Log rows that mark its sections (first cells of their header rows).
STEP_HEADER = ("Step", "Parameters")
COPIES_TITLE = "Copies of the input tables"
#: What the stale check's status says in a copy (the copies it compares with stay in the master).
STALE_NOT_IN_COPY = "not checked in this reviewer's copy (the copies of the input tables stay in the master)"
#: Defined-name attributes that make a name call a macro.
_MACRO_NAME_FLAGS = ("function", "vbProcedure", "xlm")
_REF = re.compile(r"(\$?)([A-Z]{1,3})(\$?)(\d+)")
_ROWS = re.compile(r"(?<![A-Z$\d])(\$?)(\d+):(\$?)(\d+)(?![\d])")


class ShareError(CityOppError):
    """Raised when a reviewer's copy cannot be made (the message says why and what to do)."""


@dataclass(frozen=True)
class ShareResult:
    """What :func:`share_file` wrote: the copy, and the master and run it came from."""

    written: Path
    master: str
    master_sha256: str
    run_time: str
    inputs_fingerprint: str
    left_out: tuple[str, ...]


def check_share_paths(book: Path, out: Path, force: bool = False) -> None:
    """Refuse, before anything is read, a target that is not a new .xlsx beside an
    existing folder (``force``: an existing one is replaced, unless it is in use)."""
    from .inuse import check_replaceable

    book, out = Path(book), Path(out)
    if out.resolve() == book.resolve() or (out.exists() and out.samefile(book)):
        raise OutputError(f"{out}: the reviewer's copy must be a new file, not the master itself; nothing was written")
    if out.suffix.lower() != ".xlsx":
        raise OutputError(f"{out}: the extension '{out.suffix}', expected .xlsx (a reviewer's copy has no macros); nothing was written")
    check_output_folder(out)
    if out.exists():
        if not force:
            raise OutputError(f"{out}: the file already exists; nothing was written (add --force to replace it)")
        check_replaceable(out)


def share_file(book: Path, out: Path, *, force: bool = False) -> ShareResult:
    """Write the reviewer's copy of the master ``book`` to ``out`` (see the module
    docstring); ``book`` is only read. Whole or not at all."""
    from .xlsx import workbook_lock

    book, out = Path(book), Path(out)
    check_share_paths(book, out, force)
    front = FileFront(book)
    try:
        run_time, fingerprint = _check_master(front)
        package = front.package
        sha = hashlib.sha256(book.read_bytes()).hexdigest()
        cover = cover_note(book.name, sha, run_time, fingerprint, out.name)
        parts, left_out = _edited_parts(package, cover)
        with workbook_lock(out):
            write_atomically(out, book, lambda temporary: _write(package, temporary, parts, left_out))
    finally:
        front.close()
    return ShareResult(out, book.name, sha, run_time, fingerprint, tuple(left_out))


def cover_note(master: str, sha256: str, run_time: str, fingerprint: str, copy: str) -> list[str]:
    """The lines of the cover note on the copy's About sheet (the first is its heading)."""
    return [
        f"Reviewer's copy of {master}, without macros",
        f"Made from the master {master} (SHA-256 {sha256[:16]}) as its Recalculate of {run_time} left it (input fingerprint {fingerprint}).",
        "It has no VBA project and no CityOpp ribbon: it opens without a macro warning, and every figure is as the master holds it.",
        "Edit the input sheets (Framework, Cities, Settings, Published, Dn data) and send this file back; the team compares it with the master:",
        f"cityopp diff {master} {copy}   (or, in the master, CityOpp → Compare with…)",
    ]


# --------------------------------------------------------------------------- the master's checks


def _check_master(front: FileFront) -> tuple[str, str]:
    """The run time and input fingerprint of the master's last Recalculate, after checking
    that its scores are those of its inputs (else :class:`ShareError` or :class:`InputError`)."""
    name = front.name
    inputs, problems, values_of = sequence.read(front)
    if inputs is None:
        raise InputError([p for p in problems if p.blocking])
    log = values_of(layout.SHEET_LOG) if layout.SHEET_LOG in front.sheet_names() else []
    run_time, prints = stale_check.read_log(log)
    if not run_time:
        raise ShareError(f"{name}: no Log sheet of a Recalculate, expected a workbook cityopp-xl has scored: Recalculate first (cityopp recalc {name}); nothing was written")
    stale = stale_check.find_stale_problems(inputs, log)
    if stale:
        raise ShareError(
            f"{name}: inputs changed since the Recalculate of {run_time} ({', '.join(p.where for p in stale)}), "
            f"expected score sheets up to date with their inputs: Recalculate first (cityopp recalc {name}); nothing was written"
        )
    unchanged = front.unchanged()
    edited = find_edited_outputs([n for n in front.sheet_names() if n not in unchanged or n == layout.SHEET_LOG], values_of)
    if edited:
        raise ShareError(
            f"{edited[0].where}: {edited[0].found}, expected the output sheets as the last Recalculate wrote them: "
            f"Recalculate first (cityopp recalc {name}); nothing was written"
        )
    for entry in front.package.sheets:
        if entry.kind != "worksheet" or entry.part is None:
            continue
        cell = _first_uncalculated(values_of(entry.name))
        if cell:
            address, formula = cell
            raise ShareError(
                f"{entry.name}!{address}: a formula saved without its value ({formula[:80]}), expected every formula saved with its value "
                f"(a reviewer's viewer may never calculate): Recalculate first (cityopp recalc {name}), or open the workbook in Excel and save it; nothing was written"
            )
    return run_time, prints.get("all", "")


def _first_uncalculated(rows: list[list]) -> tuple[str, str] | None:
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if isinstance(value, UncalculatedFormula):
                return f"{column_letter(c)}{r}", str(value)
    return None


# --------------------------------------------------------------------------- the copy's parts


def _edited_parts(package: Package, cover: list[str]) -> tuple[dict[str, bytes], list[str]]:
    """The parts the copy writes anew (name → bytes) and the parts it leaves out."""
    names = set(package.infos)
    left_out = list(macros.macro_parts(names, package.read, package.workbook_part)[0])
    gone = set(left_out)
    parts: dict[str, bytes] = {}
    sheets = {entry.name: entry for entry in package.sheets}

    # The package's relationships and content types, without the macro parts (each
    # written anew only when it changes).
    for rels, kinds in (("_rels/.rels", macros._CUSTOM_UI_RELS), (package.workbook_rels_part, (macros._VBA_PROJECT_REL,))):
        root = parse(package.read(rels))
        found = [rel for rel in root if rel.get("Type") in kinds]
        for rel in found:
            root.remove(rel)
        if found:
            parts[rels] = _xml(root)
    types = parse(package.read("[Content_Types].xml"))
    changed = False
    for element in list(types):
        part = (element.get("PartName") or "").lstrip("/")
        if element.tag == f"{_C}Override" and part in gone:
            types.remove(element)
            changed = True
        elif element.tag == f"{_C}Override" and part == package.workbook_part and element.get("ContentType") != PLAIN_WORKBOOK:
            element.set("ContentType", PLAIN_WORKBOOK)
            changed = True
        elif element.tag == f"{_C}Default" and element.get("ContentType") == macros._VBA_CONTENT_TYPE:
            types.remove(element)
            changed = True
    if changed:
        parts["[Content_Types].xml"] = _xml(types)

    workbook = package.workbook  # parsed once by Package; edited here for the copy only
    defined = workbook.find(f"{_M}definedNames")
    for name in list(defined) if defined is not None else []:
        if any(name.get(flag) in ("1", "true") for flag in _MACRO_NAME_FLAGS):
            defined.remove(name)

    for part in sorted(names - gone):
        if part.endswith(".vml") or part.startswith(("xl/ctrlProps/", "xl/drawings/", "xl/worksheets/")) and part.endswith(".xml"):
            data = package.read(part)
            stripped = without_macro_calls(data)
            if stripped != data:
                parts[part] = stripped

    index = {entry.name: i for i, entry in enumerate(package.sheets)}
    log = sheets.get(layout.SHEET_LOG)
    if log is not None and log.part is not None:
        xml, print_area = human_log(package.read(log.part))
        parts[log.part] = xml
        _set_name(defined, "_xlnm.Print_Area", index[log.name], f"{quote_sheet(log.name)}!{print_area}" if print_area else None)
        _set_name(defined, layout.OWNED_NAME, index[log.name], f'"{zlib.crc32(xml):08x}:{len(xml)}"', only_if_present=True)
    about = sheets.get(layout.SHEET_ABOUT)
    styles_part = package.rel_target(STYLES_REL)
    styles = StyleBook.from_xml(package.read(styles_part) if styles_part and package.has(styles_part) else None)
    heading = styles.cell_style((True, 12, None, None, False, False))
    if about is not None and about.part is not None and about.kind == "worksheet":
        xml, shift = with_cover_note(parts.get(about.part) or package.read(about.part), cover, heading)
        parts[about.part] = xml
        if shift and defined is not None:
            for name in defined:
                if name.get("localSheetId") == str(index[about.name]) and name.text:
                    name.text = shift_rows(name.text, shift)
    elif about is None:
        _add_about_sheet(package, parts, workbook, with_cover_note(EMPTY_SHEET, cover, heading)[0])
    if styles.changed and styles_part:
        parts[styles_part] = styles.to_xml()
    parts[package.workbook_part] = _xml(workbook)
    return parts, left_out


#: Where controls and shapes name the macro they run: a form control's VML
#: (``<x:FmlaMacro>``), its ``ctrlProps`` part (``fmlaMacro``), the sheet's ``<controlPr
#: macro>``, a drawing's shape (``macro`` on ``xdr:sp``, ``xdr:pic`` ...: kept empty, as
#: the schema wants the attribute there).
_MACRO_CALLS = (
    (re.compile(rb"<x:FmlaMacro>.*?</x:FmlaMacro>", re.S), b""),
    (re.compile(rb'(<(?:\w+:)?formControlPr\b[^>]*?)\sfmlaMacro="[^"]*"'), rb"\1"),
    (re.compile(rb'(<(?:\w+:)?controlPr\b[^>]*?)\smacro="[^"]*"'), rb"\1"),
    (re.compile(rb'(<xdr:(?:sp|pic|graphicFrame|cxnSp|grpSp)\b[^>]*?\smacro=")[^"]+(")'), rb"\1\2"),
)


def without_macro_calls(xml: bytes) -> bytes:
    """A part with the macro assignments of its controls and shapes taken out (the
    controls and shapes stay; in a workbook without macros they would call nothing)."""
    if b"acro" not in xml:
        return xml
    for pattern, replacement in _MACRO_CALLS:
        xml = pattern.sub(replacement, xml)
    return xml


#: The sheet the cover note goes on when a workbook has no About sheet.
EMPTY_SHEET = (
    f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/><cols><col min="1" max="1" width="120" customWidth="1"/></cols><sheetData/>'
    '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.25" footer="0.3"/>'
    '<pageSetup paperSize="9" orientation="landscape"/></worksheet>'
).encode()


def _add_about_sheet(package: Package, parts: dict[str, bytes], workbook, xml: bytes) -> None:
    """An About sheet holding ``xml``, first in the workbook (the copy of a workbook that
    has none): its part, relationship, content type and ``<sheet>``; the sheet-scoped
    names and the views follow their sheets one place on."""
    from .xlsxpackage import WORKSHEET_REL, WORKSHEET_TYPE

    number = 1
    while package.has(f"xl/worksheets/sheet{number}.xml") or f"xl/worksheets/sheet{number}.xml" in parts:
        number += 1
    part = f"xl/worksheets/sheet{number}.xml"
    parts[part] = xml
    rels = parse(parts.get(package.workbook_rels_part) or package.read(package.workbook_rels_part))
    used = {rel.get("Id") for rel in rels}
    rid = next(f"rId{n}" for n in range(1, len(used) + 2) if f"rId{n}" not in used)
    rel = etree.SubElement(rels, f"{_P}Relationship")
    rel.set("Id", rid)
    rel.set("Type", WORKSHEET_REL)
    rel.set("Target", "/" + part)
    parts[package.workbook_rels_part] = _xml(rels)
    types = parse(parts.get("[Content_Types].xml") or package.read("[Content_Types].xml"))
    override = etree.SubElement(types, f"{_C}Override")
    override.set("PartName", "/" + part)
    override.set("ContentType", WORKSHEET_TYPE)
    parts["[Content_Types].xml"] = _xml(types)
    sheets = workbook.find(f"{_M}sheets")
    element = etree.Element(f"{_M}sheet")
    element.set("name", layout.SHEET_ABOUT)
    element.set("sheetId", str(max((int(s.get("sheetId") or 0) for s in sheets), default=0) + 1))
    element.set(f"{{{REL}}}id", rid)
    sheets.insert(0, element)
    for name in workbook.iter(f"{_M}definedName"):
        if (name.get("localSheetId") or "").isdigit():
            name.set("localSheetId", str(int(name.get("localSheetId")) + 1))
    for view in workbook.iter(f"{_M}workbookView"):  # the same sheet stays active
        view.set("activeTab", str(int(view.get("activeTab") or 0) + 1))
        view.set("firstSheet", "0")


def _set_name(defined, name: str, sheet_index: int, value: str | None, only_if_present: bool = False) -> None:
    if defined is None:
        return
    for element in defined:
        if element.get("name") == name and element.get("localSheetId") == str(sheet_index):
            if value is None:
                defined.remove(element)
            else:
                element.text = value
            return
    if value is not None and not only_if_present:
        element = etree.SubElement(defined, f"{_M}definedName")
        element.set("name", name)
        element.set("localSheetId", str(sheet_index))
        element.text = value


def _write(package: Package, temporary: Path, parts: dict[str, bytes], left_out: list[str]) -> None:
    gone = set(left_out)
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=WRITE_LEVEL) as out:
        for info in package.zip.infolist():
            if info.filename in gone:
                continue
            if info.filename in parts and parts[info.filename] != package.read(info.filename):
                out.writestr(_new_info(info.filename, info), parts[info.filename], compress_type=zipfile.ZIP_DEFLATED, compresslevel=WRITE_LEVEL)
            else:
                copy_part(out, package.zip, info)
        for name, data in parts.items():  # parts the copy adds (an About sheet)
            if name not in package.infos:
                out.writestr(_new_info(name, None), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=WRITE_LEVEL)


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# --------------------------------------------------------------------------- the Log's human part


def _text(value) -> str:
    return layout.cell_text(value)


def human_log(xml: bytes) -> tuple[bytes, str | None]:
    """The Log sheet's part without its machine-only rows, and the print area of what is
    left for people (``A1:E93``; None when the Log is not one cityopp-xl wrote).

    Left out: the pipeline steps (raw JSON parameters), the stale check's count rows and
    the copies of the input tables they compare. Kept: the run and its input fingerprints,
    the variables' rules, the stale check's header and summary row (the summary cell stays
    at its address, which the score sheets' notes read; it is blank, and the status says
    the check is not made in the copy), and the output sheets' fingerprints (moved up under
    it). No formula is left in the copy's Log."""
    root = parse(xml)
    data = root.find(f"{_M}sheetData")
    rows = {int(row.get("r")): row for row in data.findall(f"{_M}row")}
    text = {r: [_cell_text(c) for c in row.findall(f"{_M}c")] for r, row in rows.items()}

    def first_row(match) -> int | None:
        return next((r for r in sorted(text) if match(text[r])), None)

    def block_end(start: int) -> int:
        r = start
        while r + 1 in text and any(text[r + 1]):
            r += 1
        return r

    last = max(rows, default=0)
    drop: set[int] = set()
    steps = first_row(lambda t: tuple(t[:2]) == STEP_HEADER)
    if steps:
        drop |= set(range(steps, block_end(steps) + 1))
    stale = first_row(lambda t: tuple(t[:4]) == tuple(stale_check.LOG_STALE_HEADER))
    summary = stale + 1 if stale and stale + 1 in text and text[stale + 1][:1] == [stale_check.LOG_STALE_SUMMARY] else None
    if summary:
        drop |= set(range(summary + 1, block_end(summary) + 1))
    prints = first_row(lambda t: tuple(t[: len(FINGERPRINT_HEADER)]) == FINGERPRINT_HEADER)
    copies = first_row(lambda t: bool(t) and t[0].startswith(COPIES_TITLE))
    if copies:
        drop |= set(range(copies, (prints if prints and prints > copies else last + 1)))

    # New row numbers: dropped rows out, runs of blank rows made one, the stale check's
    # header and summary where they were.
    mapping: dict[int, int] = {}
    number, blank = 0, False
    for r in range(1, last + 1):
        if r in drop:
            continue
        empty = not any(text.get(r, []))
        if empty and blank:
            continue
        blank = empty
        number += 1
        if r == stale:
            number = stale
        mapping[r] = number
    for r, row in rows.items():
        if r not in mapping or not any(text.get(r, [])):
            data.remove(row)
            continue
        new = mapping[r]
        row.set("r", str(new))
        for cell in row.findall(f"{_M}c"):
            letters = _REF.fullmatch(cell.get("r") or "")
            if letters:
                cell.set("r", f"{letters.group(2)}{new}")
    if stale:  # the header of the one status left
        for cell in rows[stale].findall(f"{_M}c")[1:]:
            rows[stale].remove(cell)
    tiers = first_row(lambda t: t[:1] == ["tiers"])
    if tiers and tiers < (steps or last + 1):
        cells = rows[tiers].findall(f"{_M}c")
        readable = readable_tiers(text[tiers][1] if len(text[tiers]) > 1 else "")
        if readable and len(cells) > 1:
            _set_inline(cells[1], readable)
    if summary:
        for cell in rows[summary].findall(f"{_M}c"):
            letters = _REF.fullmatch(cell.get("r") or "").group(2)
            if letters == "B":
                rows[summary].remove(cell)
            elif letters == "C":
                _set_inline(cell, STALE_NOT_IN_COPY)
    for cell in data.iter(f"{_M}c"):  # the copy's Log holds values only
        formula = cell.find(f"{_M}f")
        if formula is not None:
            cell.remove(formula)
    width = max((column_number(_REF.fullmatch(c.get("r")).group(2)) for c in data.iter(f"{_M}c")), default=1)
    height = max((int(row.get("r")) for row in data.findall(f"{_M}row")), default=1)
    dimension = root.find(f"{_M}dimension")
    if dimension is not None:
        dimension.set("ref", f"A1:{column_letter(width)}{height}")
    for tag in ("rowBreaks", "mergeCells"):
        for element in root.findall(f"{_M}{tag}"):
            root.remove(element)
    human_end = summary or (prints - 2 if prints else height)
    human_width = max(
        (column_number(_REF.fullmatch(c.get("r")).group(2)) for row in data.findall(f"{_M}row") if int(row.get("r")) <= human_end for c in row.findall(f"{_M}c")),
        default=1,
    )
    return _xml(root), f"$A$1:${column_letter(human_width)}${human_end}"


def readable_tiers(text: str) -> str | None:
    """The Log's tier settings (JSON) in words: ``First tier from 2400; ...; Other below``."""
    try:
        settings = json.loads(text)
        tiers = [f"{label} from {minimum:g}" for label, minimum in settings["tiers"]]
        return "; ".join(tiers + [f"{settings['other_tier']} below"])
    except (ValueError, KeyError, TypeError):
        return None


def _cell_text(cell) -> str:
    inline = cell.find(f"{_M}is")
    if inline is not None:
        return "".join(t.text or "" for t in inline.iter(f"{_M}t")).strip()
    value = cell.find(f"{_M}v")
    if cell.get("t") == "s":
        return "\x00shared"  # a shared string: not one of the Log's labels (written inline)
    return (value.text or "").strip() if value is not None else ""


def _set_inline(cell, text: str) -> None:
    for child in list(cell):
        cell.remove(child)
    cell.set("t", "inlineStr")
    inline = etree.SubElement(cell, f"{_M}is")
    etree.SubElement(inline, f"{_M}t").text = text


# --------------------------------------------------------------------------- the cover note on About


def shift_rows(text: str, rows: int) -> str:
    """A1 references and whole-row references (``$3:$4``) in ``text`` moved ``rows`` down."""
    text = _ROWS.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + rows}:{m.group(3)}{int(m.group(4)) + rows}", text)
    return _REF.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{int(m.group(4)) + rows}", text)


def with_cover_note(xml: bytes, lines: list[str], heading_style: int) -> tuple[bytes, int]:
    """The About sheet's part with the cover note in rows inserted at its top (everything
    it held moves down, its merges, links, formats and selection with it), and how many
    rows were inserted. A sheet whose contents cannot all be moved (formulas, drawings,
    comments, tables anchored to its cells) gets the note below its last row instead (0)."""
    root = parse(xml)
    data = root.find(f"{_M}sheetData")
    movable = data.find(f".//{_M}f") is None and all(root.find(f"{_M}{tag}") is None for tag in ("drawing", "legacyDrawing", "tableParts", "oleObjects", "controls"))
    shift = len(lines) + 1 if movable else 0
    if movable:
        for row in data.findall(f"{_M}row"):
            row.set("r", str(int(row.get("r")) + shift))
            for cell in row.findall(f"{_M}c"):
                cell.set("r", shift_rows(cell.get("r"), shift))
        for element in root.iter():
            for attribute in ("ref", "sqref", "activeCell", "topLeftCell"):
                if element.get(attribute) and element.tag != f"{_M}col":
                    element.set(attribute, shift_rows(element.get(attribute), shift))
            if element.tag == f"{_M}brk" and element.get("id"):
                element.set("id", str(int(element.get("id")) + shift))
        first = 1
    else:
        first = max((int(row.get("r")) for row in data.findall(f"{_M}row")), default=0) + 2
    dimension = root.find(f"{_M}dimension")
    for offset, line in enumerate(lines):
        row = etree.Element(f"{_M}row")
        row.set("r", str(first + offset))
        cell = etree.SubElement(row, f"{_M}c")
        cell.set("r", f"A{first + offset}")
        if offset == 0:
            cell.set("s", str(heading_style))
        _set_inline(cell, line)
        if movable:
            data.insert(offset, row)
        else:
            data.append(row)
    if dimension is not None:
        top_left, _, bottom_right = (dimension.get("ref") or "A1").partition(":")
        end = _REF.fullmatch(bottom_right or top_left)
        if end:
            height = max(int(end.group(4)), first + len(lines) - 1)
            dimension.set("ref", f"A1:{end.group(2)}{height}")
    return _xml(root), shift

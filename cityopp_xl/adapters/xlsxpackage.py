"""A workbook file as a package of parts: read its sheets, replace the sheets cityopp-xl
owns, copy every other part byte for byte.

A Recalculate on a file never loads the workbook into a spreadsheet object model and
never saves it again. :class:`FileFront` (the file front end of a Recalculate) reads the
input sheets' values and features straight from their XML (:mod:`.sheetxml`) and writes a
new package in which:

* every part it does not own is the original's bytes: every sheet it does not own with
  its rels, drawings, charts, media, comments, threaded comments, controls and printer
  settings; customXml; the VBA project and ribbon; pivot caches; persons; document
  properties; shared strings; the theme;
* each owned output sheet is a new worksheet part written by :func:`.sheetxml.render_sheet`
  (a replaced sheet keeps its part name, sheet id and relationship id, so every formula,
  chart series and pivot source pointing at it still points at the same cells); its notes
  are a comments part and a legacy VML drawing of its own, and the notes parts of its
  previous version go with it;
* only the parts that list sheets change, minimally: ``xl/workbook.xml`` (its ``<sheet>``
  entries, the output sheets' print names and ownership records, ``fullCalcOnLoad``; every
  other defined name keeps its text and order, sheet-scoped ones follow their sheet), its
  rels, ``[Content_Types].xml``, ``docProps/app.xml`` (sheet titles, when it lists them),
  ``styles.xml`` (styles appended, never renumbered) and ``calcChain.xml`` (removed: Excel
  rebuilds it).

**Ownership by record.** Every sheet the add-in writes to a file gets a hidden
sheet-scoped defined name, :data:`OWNED_NAME`, whose value is the CRC-32 and size of the
part as written (``"crc32:size"``). A sheet named like an output sheet that has neither
that record nor the stamp every output sheet carries in its first three rows
(``Written by cityopp-xl ...``, or the template's ``Not calculated yet: Recalculate ...``:
sheets written in Excel and by earlier versions have only the stamp) is the team's: a run
that would replace or delete it stops with an error naming it, and writes nothing.

An owned sheet whose part still has the recorded CRC-32 and size is known unchanged
without reading its values (:meth:`FileFront.unchanged`).
"""

from __future__ import annotations

import dataclasses
import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..errors import InputError, Problem
from ..model import column_number
from . import layout
from .integrity import SheetFeatures, TableRange, check_sheet_size, find_stamped_outputs
from .package import PackageError, check_package, write_atomically
from .sheetxml import (
    _A1,
    MAIN,
    REL,
    SheetRead,
    StyleBook,
    UnsafeXML,
    calamine_values,
    date_styles,
    parse,
    print_names,
    read_features,
    read_sheet,
    render_comments,
    render_notes_vml,
    render_sheet,
    rows_from,
    schema_ordered_fonts,
    shared_strings,
)

OWNED_NAME = layout.OWNED_NAME

PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
CALC_CHAIN_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
SHARED_STRINGS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
STYLES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
COMMENTS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
VML_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
#: Parts an owned sheet's relationships point to that belong to that sheet alone: when the
#: sheet is replaced or deleted they go with it (unless another part points to them too).
SHEET_ONLY_RELS = ("/comments", "/vmlDrawing", "/threadedComment", "/printerSettings")
#: The relationship id of an output sheet's notes drawing (the only relationships an output
#: sheet has are those of its notes).
NOTES_VML_RID = "rId1"
_M = f"{{{MAIN}}}"
_R = f"{{{REL}}}"
_P = f"{{{PKG_REL}}}"
_C = f"{{{CT}}}"
#: Compression of the parts a run writes (the copied parts keep theirs): level 1 is
#: several times faster than the default on large sheets, for a slightly larger file.
WRITE_LEVEL = 1


class OwnershipError(InputError):
    """Raised when a run would replace or delete a sheet the add-in did not write."""


@dataclass
class SheetEntry:
    """One sheet of the workbook: its ``<sheet>`` element and its part."""

    name: str
    element: object
    rid: str
    part: str | None
    kind: str  # worksheet, chartsheet, dialogsheet, macrosheet


def _xml(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(base: str, target: str) -> str:
    """A relationship target as a part name (no leading slash)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


@dataclass(frozen=True)
class ExcelTable:
    """An Excel table on a sheet: its name, range (``min_row, min_col, max_row, max_col``,
    1-based, header and totals rows included), header rows and totals rows."""

    name: str
    area: tuple[int, int, int, int]
    header_rows: int = 1
    totals_rows: int = 0


class Package:
    """An open workbook package (read side)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.zip = zipfile.ZipFile(self.path)
        self.infos = {info.filename: info for info in self.zip.infolist()}
        self.content_types = parse(self.read("[Content_Types].xml"))
        root_rels = parse(self.read("_rels/.rels"))
        office = next(
            (r.get("Target") for r in root_rels if (r.get("Type") or "").endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        self.workbook_part = resolve("", office)
        self.workbook = parse(self.read(self.workbook_part))
        self.workbook_rels_part = rels_path(self.workbook_part)
        self.workbook_rels = parse(self.read(self.workbook_rels_part))
        self.sheets: list[SheetEntry] = []
        targets = {r.get("Id"): r for r in self.workbook_rels}
        sheets = self.workbook.find(f"{_M}sheets")
        for element in sheets if sheets is not None else []:
            rid = element.get(f"{_R}id")
            rel = targets.get(rid)
            part = resolve(self.workbook_part, rel.get("Target")) if rel is not None and rel.get("TargetMode") != "External" else None
            kind = (rel.get("Type") or "").rsplit("/", 1)[-1] if rel is not None else ""
            self.sheets.append(SheetEntry(element.get("name"), element, rid, part if part in self.infos else None, kind))
        self._strings = None
        self._styles = None

    def read(self, part: str) -> bytes:
        return self.zip.read(part)

    def has(self, part: str) -> bool:
        return part in self.infos

    def rel_target(self, rel_type: str) -> str | None:
        for rel in self.workbook_rels:
            if rel.get("Type") == rel_type:
                return resolve(self.workbook_part, rel.get("Target"))
        return None

    @property
    def strings(self) -> list[str]:
        if self._strings is None:
            part = self.rel_target(SHARED_STRINGS_REL)
            self._strings = shared_strings(self.read(part)) if part and self.has(part) else []
        return self._strings

    @property
    def date_styles(self):
        if self._styles is None:
            part = self.rel_target(STYLES_REL)
            pr = self.workbook.find(f"{_M}workbookPr")
            date1904 = pr is not None and pr.get("date1904") in ("1", "true")
            self._styles = date_styles(self.read(part) if part and self.has(part) else None, date1904)
        return self._styles

    def close(self) -> None:
        self.zip.close()


_UNREADABLE = (zipfile.BadZipFile, KeyError, ValueError, IndexError, etree.XMLSyntaxError, zlib.error, EOFError, AttributeError)


def unreadable(name: str, exc: BaseException) -> PackageError:
    """The error for a package part that cannot be read (or declares a document type)."""
    if isinstance(exc, UnsafeXML):
        return PackageError(
            f"{name}: a worksheet part declares a document type, "
            "expected XML parts as Excel writes them (refused: entity expansion can exhaust memory or read other files)"
        )
    first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return PackageError(
        f"{name}: the workbook cannot be read ({type(exc).__name__}: {first}), "
        "expected an .xlsx or .xlsm workbook that Excel can open (open and save it in Excel, then try again)"
    )


def _open(path: Path) -> Package:
    check_package(path)
    try:
        return Package(path)
    except _UNREADABLE as exc:  # UnsafeXML is a ValueError
        raise unreadable(path.name, exc) from None


class FileFront:
    """A workbook file as the front end of a Recalculate: read sheets, write owned ones.

    Nothing is written until :meth:`save`.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.name = self.path.name
        self.package = _open(self.path)
        self._read: dict[str, SheetRead] = {}
        self._calamine = None
        self._outputs: list[layout.SheetOutput] = []
        self._delete: list[str] = []
        self._records = self._ownership_records()

    # ---------------------------------------------------------------- reading

    def sheet_names(self) -> list[str]:
        return [entry.name for entry in self.package.sheets]

    def _entry(self, sheet: str) -> SheetEntry:
        return next(entry for entry in self.package.sheets if entry.name == sheet)

    def _sheet(self, sheet: str) -> SheetRead:
        if sheet not in self._read:
            entry = self._entry(sheet)
            if entry.part is None or entry.kind != "worksheet":
                self._read[sheet] = SheetRead({}, SheetFeatures())
            else:
                xml = self.package.read(entry.part)
                try:
                    rows = self._calamine_rows(sheet, xml)
                    if rows is not None:
                        self._read[sheet] = SheetRead(None, read_features(xml), rows)
                    else:
                        self._read[sheet] = read_sheet(xml, self.package.strings, self.package.date_styles)
                except _UNREADABLE as exc:
                    raise unreadable(self.name, exc) from None
        return self._read[sheet]

    def _calamine_rows(self, sheet: str, xml: bytes) -> list[list] | None:
        """A sheet's rows from A1 read by python-calamine, as :func:`.sheetxml.read_sheet`
        reads them, or None where calamine's reading could differ: a sheet holding
        formulas (one with no saved value is reported with its text), error codes, ISO
        dates or cells formatted as dates, or one calamine cannot read."""
        if b"<f>" in xml or b"<f " in xml or b'"e"' in xml or b'"d"' in xml or b"<rPh" in xml or b"<x:" in xml:
            return None
        try:
            if self._calamine is None:
                from python_calamine import CalamineWorkbook

                self._calamine = CalamineWorkbook.from_path(str(self.path))
            rows = self._calamine.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - the lxml reader reads it, or names what is wrong
            return None
        return calamine_values(rows)

    def values(self, sheet: str) -> list[list]:
        read = self._sheet(sheet)
        if read.rows is not None:
            check_sheet_size(sheet, len(read.rows), max((len(r) for r in read.rows), default=0))
            return read.rows
        return rows_from(sheet, read.values)

    def features(self, sheet: str) -> SheetFeatures:
        """Merged ranges, hidden rows and columns (from the sheet XML) and the Excel tables
        (from the sheet's table parts), each table from its header row (a table shown
        without one starts on the row above its first row)."""
        features = self._sheet(sheet).features
        tables = tuple(
            TableRange(top - (1 if table.header_rows == 0 else 0), left, bottom, right, table.totals_rows)
            for table in self.tables(sheet)
            for top, left, bottom, right in [table.area]
        )
        return dataclasses.replace(features, tables=tables) if tables else features

    def tables(self, sheet: str) -> list[ExcelTable]:
        """The Excel tables on a worksheet (from its rels and table parts), in part order."""
        entry = self._entry(sheet)
        if entry.part is None or not self.package.has(rels_path(entry.part)):
            return []
        found = []
        for rel in parse(self.package.read(rels_path(entry.part))):
            if not (rel.get("Type") or "").endswith("/table") or rel.get("TargetMode") == "External":
                continue
            part = resolve(entry.part, rel.get("Target") or "")
            if not self.package.has(part):
                continue
            table = parse(self.package.read(part))
            first, _, last = (table.get("ref") or "").partition(":")
            a, b = _A1.match(first), _A1.match(last or first)
            if not (a and b):
                continue
            found.append(
                ExcelTable(
                    table.get("displayName") or table.get("name") or "",
                    (int(a.group(2)), column_number(a.group(1)), int(b.group(2)), column_number(b.group(1))),
                    int(table.get("headerRowCount") or 1),
                    int(table.get("totalsRowCount") or 0),
                )
            )
        return found

    # ---------------------------------------------------------------- ownership

    def _ownership_records(self) -> dict[int, str]:
        """Sheet index → the value of its :data:`OWNED_NAME` record."""
        records = {}
        names = self.package.workbook.find(f"{_M}definedNames")
        for name in names if names is not None else []:
            if name.get("name") == OWNED_NAME and (name.get("localSheetId") or "").isdigit():
                records[int(name.get("localSheetId"))] = (name.text or "").strip()
        return records

    def owned(self) -> set[str]:
        """The sheets this add-in wrote: by their record, or by the stamp every output
        sheet carries in its first rows (sheets written in Excel, or by an earlier
        version; see the module docstring)."""
        sheets = self.package.sheets
        owned = {sheets[i].name for i in self._records if i < len(sheets) and layout.is_owned(sheets[i].name)}
        readable = [entry.name for entry in sheets if entry.name not in owned and entry.kind == "worksheet" and entry.part is not None]
        return owned | find_stamped_outputs(readable, self.values)

    def unchanged(self) -> set[str]:
        """The owned sheets whose part is exactly as the add-in wrote it (its CRC-32 and
        size match the record): their values need not be read to detect hand edits."""
        found = set()
        for index, record in self._records.items():
            if index >= len(self.package.sheets):
                continue
            entry = self.package.sheets[index]
            info = self.package.infos.get(entry.part) if entry.part else None
            if info is not None and record.strip('"') == f"{info.CRC:08x}:{info.file_size}":
                found.add(entry.name)
        return found

    def check_ownership(self, outputs: list[layout.SheetOutput], delete: list[str]) -> None:
        """Refuse to replace or delete a sheet the add-in did not write."""
        owned = self.owned()
        present = set(self.sheet_names())
        problems = [layout.foreign_sheet_problem(name) for name in [o.name for o in outputs] + list(delete) if name in present and name not in owned]
        if problems:
            raise OwnershipError(problems)

    # ---------------------------------------------------------------- writing

    def write(self, outputs: list[layout.SheetOutput], delete: list[str]) -> None:
        """Replace or add the owned ``outputs`` and delete the owned sheets in ``delete``
        (at :meth:`save`); refuses (:class:`OwnershipError`) a sheet it did not write."""
        self.check_ownership(outputs, delete)
        self._outputs = list(outputs)
        self._delete = [name for name in delete if name in self.sheet_names()]

    def show_problems(self, problems: list[Problem], *, blocked: bool, summary: str) -> None:
        """Problems that block the run are raised (:class:`InputError`: nothing is
        written); the command line prints every problem itself."""
        if blocked:
            raise InputError(problems)

    def progress(self, text: str | None) -> None:
        """A file has no status bar (the command line reports when it is done)."""

    def save(self, target: Path, *, active: str | None = None) -> None:
        """Write the edited package to ``target`` whole or not at all
        (:func:`.package.write_atomically`). ``active``: the sheet shown on opening when
        the one shown before was deleted."""

        def write(temporary: Path) -> None:
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=WRITE_LEVEL) as out:
                _Writer(self.package, self._outputs, self._delete, active).write(out)

        write_atomically(target, self.path, write)

    def close(self) -> None:
        self.package.close()


class _Writer:
    """One edit of a package: see the module docstring."""

    def __init__(self, package: Package, outputs: list[layout.SheetOutput], delete: list[str], active: str | None):
        self.package = package
        self.outputs = outputs
        self.delete = set(delete)
        self.active = active
        self.workbook = package.workbook
        self.rels = package.workbook_rels
        self.content_types = package.content_types
        styles_part = package.rel_target(STYLES_REL)
        self.styles_part = styles_part or "xl/styles.xml"
        self.styles = StyleBook.from_xml(package.read(styles_part) if styles_part and package.has(styles_part) else None)
        self.changed_parts: dict[str, bytes] = {}
        self.removed_parts: set[str] = set()

    # ---------------------------------------------------------------- sheet list

    def _plan(self):
        """Edit the ``<sheets>`` list; returns (final entries with their output or None,
        old index → new index for the sheets kept, part → output for the parts to write)."""
        package = self.package
        old = list(package.sheets)
        sheets_element = self.workbook.find(f"{_M}sheets")
        by_name = {entry.name: entry for entry in old}
        order: list[SheetEntry] = [entry for entry in old if entry.name not in self.delete]
        output_of: dict[str, layout.SheetOutput] = {}
        used_ids = {int(e.element.get("sheetId") or 0) for e in old}
        used_rids = {r.get("Id") for r in self.rels}
        used_parts = set(package.infos)
        for output in self.outputs:
            entry = by_name.get(output.name)
            if entry is not None and entry.kind == "worksheet" and entry.part is not None:
                output_of[entry.name] = output
                continue
            if entry is not None:  # an owned sheet that is not a worksheet part: replaced
                order.remove(entry)
                self.delete.add(entry.name)
            sheet_id = max(used_ids | {0}) + 1
            used_ids.add(sheet_id)
            number = 1
            while f"rId{number}" in used_rids:
                number += 1
            rid = f"rId{number}"
            used_rids.add(rid)
            number = 1
            while f"xl/worksheets/sheet{number}.xml" in used_parts:
                number += 1
            part = f"xl/worksheets/sheet{number}.xml"
            used_parts.add(part)
            element = etree.Element(f"{_M}sheet", nsmap={"r": REL})
            element.set("name", output.name)
            element.set("sheetId", str(sheet_id))
            element.set(f"{_R}id", rid)
            rel = etree.SubElement(self.rels, f"{_P}Relationship")
            rel.set("Id", rid)
            rel.set("Type", WORKSHEET_REL)
            rel.set("Target", "/" + part)
            override = etree.SubElement(self.content_types, f"{_C}Override")
            override.set("PartName", "/" + part)
            override.set("ContentType", WORKSHEET_TYPE)
            new = SheetEntry(output.name, element, rid, part, "worksheet")
            names = [e.name for e in order]
            position = names.index(output.after) + 1 if output.after in names else len(order)
            order.insert(position, new)
            output_of[new.name] = output
        # The deleted sheets: their <sheet>, relationship, part, its rels, content type.
        for entry in old:
            if entry.name in self.delete:
                for rel in list(self.rels):
                    if rel.get("Id") == entry.rid:
                        self.rels.remove(rel)
                if entry.part:
                    self._remove_part(entry.part)
                    self._remove_sheet_rels(entry.part)
        for element in list(sheets_element):
            sheets_element.remove(element)
        for entry in order:
            sheets_element.append(entry.element)
        new_index = {id(entry.element): index for index, entry in enumerate(order)}
        old_to_new = {i: new_index[id(e.element)] for i, e in enumerate(old) if id(e.element) in new_index}
        return order, old_to_new, output_of

    def _remove_part(self, part: str) -> None:
        if part in self.package.infos:
            self.removed_parts.add(part)
        for override in list(self.content_types):
            if override.get("PartName", "").lstrip("/") == part:
                self.content_types.remove(override)

    # ---------------------------------------------------------------- defined names and views

    def _names(self, order, old_to_new, output_of, crcs: dict[str, str]) -> None:
        """Sheet-scoped names follow their sheet; the output sheets' print names and
        ownership records are written anew (appended, in output order)."""
        names = self.workbook.find(f"{_M}definedNames")
        if names is None:
            names = etree.Element(f"{_M}definedNames")
            anchors = [self.workbook.find(f"{_M}{tag}") for tag in ("externalReferences", "functionGroups", "sheets")]
            next(a for a in anchors if a is not None).addnext(names)
        owned_old = {i for i, e in enumerate(self.package.sheets) if e.name in self.delete or e.name in output_of}
        for name in list(names):
            local = name.get("localSheetId")
            if local is None or not local.isdigit():
                continue
            index = int(local)
            ours = name.get("name") in ("_xlnm.Print_Titles", "_xlnm.Print_Area", OWNED_NAME)
            if index in owned_old and ours or index not in old_to_new:
                names.remove(name)
                continue
            name.set("localSheetId", str(old_to_new[index]))
        for output in self.outputs:
            index = next(i for i, e in enumerate(order) if e.name == output.name)
            for defined, value in print_names(output):
                element = etree.SubElement(names, f"{_M}definedName")
                element.set("name", defined)
                element.set("localSheetId", str(index))
                element.text = value
            record = etree.SubElement(names, f"{_M}definedName")
            record.set("name", OWNED_NAME)
            record.set("localSheetId", str(index))
            record.set("hidden", "1")
            record.text = f'"{crcs[output.name]}"'
        if len(names) == 0:
            names.getparent().remove(names)

    def _views(self, order, old_to_new) -> None:
        views = self.workbook.find(f"{_M}bookViews")
        if views is None:
            return
        for view in views:
            for attribute in ("activeTab", "firstSheet"):
                value = view.get(attribute)
                if value is None or not value.isdigit():
                    continue
                index = int(value)
                if index in old_to_new:
                    view.set(attribute, str(old_to_new[index]))
                elif attribute == "activeTab":
                    names = [e.name for e in order]
                    view.set(attribute, str(names.index(self.active) if self.active in names else 0))
                else:
                    view.set(attribute, "0")

    def _calc(self) -> None:
        """``fullCalcOnLoad``: the team's formulas that read output sheets recalculate on
        open (their cached values are of the sheets before this run); calcChain removed."""
        calc = self.workbook.find(f"{_M}calcPr")
        if calc is None:
            calc = etree.Element(f"{_M}calcPr")
            later = [self.workbook.find(f"{_M}{tag}") for tag in ("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes", "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")]
            anchor = next((e for e in later if e is not None), None)
            if anchor is not None:
                anchor.addprevious(calc)
            else:
                self.workbook.append(calc)
        calc.set("fullCalcOnLoad", "1")
        for rel in list(self.rels):
            if rel.get("Type") == CALC_CHAIN_REL:
                part = resolve(self.package.workbook_part, rel.get("Target"))
                self.rels.remove(rel)
                self._remove_part(part)

    def _app_titles(self, order) -> None:
        """``docProps/app.xml``: the worksheet titles, when it lists them."""
        part = "docProps/app.xml"
        if not self.package.has(part):
            return
        root = parse(self.package.read(part))
        ep = "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}"
        vt = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
        pairs, titles = root.find(f"{ep}HeadingPairs"), root.find(f"{ep}TitlesOfParts")
        if pairs is None or titles is None:
            return
        pair_vector, title_vector = pairs.find(f"{vt}vector"), titles.find(f"{vt}vector")
        if pair_vector is None or title_vector is None:
            return
        variants = list(pair_vector)
        offset = 0
        for k in range(0, len(variants) - 1, 2):
            label = variants[k].find(f"{vt}lpstr")
            count = variants[k + 1].find(f"{vt}i4")
            if label is None or count is None or not (count.text or "").isdigit():
                return
            if label.text in ("Worksheets", "Feuilles de calcul", "Arbeitsblätter") or k == 0:
                sheets = [e.name for e in order if e.kind == "worksheet"]
                old = int(count.text)
                entries = list(title_vector)
                for element in entries[offset : offset + old]:
                    title_vector.remove(element)
                for position, name in enumerate(sheets):
                    element = etree.Element(f"{vt}lpstr")
                    element.text = name
                    title_vector.insert(offset + position, element)
                count.text = str(len(sheets))
                title_vector.set("size", str(len(title_vector)))
                self.changed_parts[part] = _xml(root)
                return
            offset += int(count.text)

    # ---------------------------------------------------------------- the package

    def write(self, out: zipfile.ZipFile) -> None:
        order, old_to_new, output_of = self._plan()
        self._calc()
        part_of = {entry.part: output_of[entry.name] for entry in order if entry.name in output_of}
        selected = self.active if self.active in output_of and self._active_is_new(order, old_to_new) else None
        crcs: dict[str, str] = {}
        written = set()
        for part in part_of:
            self._remove_sheet_rels(part)
        notes_parts = self._notes_parts(part_of)
        for info in self.package.zip.infolist():
            name = info.filename
            if name in self.removed_parts or name in written:
                continue
            if name in part_of:
                crcs[part_of[name].name] = self._write_sheet(out, name, part_of[name], selected)
                written.add(name)
                continue
            if name in (self.package.workbook_part, self.package.workbook_rels_part, "[Content_Types].xml", self.styles_part, "docProps/app.xml"):
                continue
            if name in self.removed_parts:
                continue
            copy_part(out, self.package.zip, info)
        for part, output in part_of.items():
            if part not in written:
                crcs[output.name] = self._write_sheet(out, part, output, selected)
        self._names(order, old_to_new, output_of, crcs)
        self._views(order, old_to_new)
        self._app_titles(order)
        styles_xml = self.styles.to_xml() if self.styles.changed or not self.package.has(self.styles_part) else self.package.read(self.styles_part)
        finals = {
            self.package.workbook_part: _xml(self.workbook),
            self.package.workbook_rels_part: _xml(self.rels),
            self.styles_part: styles_xml,
        }
        finals.update(self.changed_parts)
        finals.update(notes_parts)
        for name in ("docProps/app.xml",):
            if name not in finals and self.package.has(name):
                finals[name] = self.package.read(name)
        finals["[Content_Types].xml"] = _xml(self.content_types)
        for name, data in finals.items():
            info = self.package.infos.get(name)
            if info is not None and data == self.package.read(name):
                copy_part(out, self.package.zip, info)
            else:
                out.writestr(_new_info(name, info), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=WRITE_LEVEL)

    def _active_is_new(self, order, old_to_new) -> bool:
        views = self.workbook.find(f"{_M}bookViews")
        view = views[0] if views is not None and len(views) else None
        value = view.get("activeTab") if view is not None else None
        return value is None or not value.isdigit() or int(value) not in old_to_new

    def _remove_sheet_rels(self, part: str) -> None:
        """An owned sheet part written anew (or deleted) loses its relationships, and the
        parts only it pointed to (:data:`SHEET_ONLY_RELS`: the notes of its previous
        version, printer settings) go with them; the notes it has now are written anew
        (:meth:`_notes_parts`)."""
        rels = rels_path(part)
        if self.package.has(rels) and rels not in self.removed_parts:
            elsewhere = self._targets_elsewhere(rels)
            for rel in parse(self.package.read(rels)):
                kind = rel.get("Type") or ""
                if rel.get("TargetMode") == "External" or not kind.endswith(SHEET_ONLY_RELS):
                    continue
                target = resolve(part, rel.get("Target") or "")
                if target not in elsewhere:
                    self._remove_part(target)
                    self._remove_part(rels_path(target))
        self._remove_part(rels)

    def _targets_elsewhere(self, rels: str) -> set[str]:
        """The parts that relationship parts other than ``rels`` point to."""
        targets = set()
        for name in self.package.infos:
            if name == rels or not name.endswith(".rels") or name in self.removed_parts:
                continue
            source = posixpath.join(posixpath.dirname(posixpath.dirname(name)), posixpath.basename(name)[: -len(".rels")])
            for rel in parse(self.package.read(name)):
                if rel.get("TargetMode") != "External" and rel.get("Target"):
                    targets.add(resolve(source, rel.get("Target")))
        return targets

    def _notes_parts(self, part_of: dict[str, layout.SheetOutput]) -> dict[str, bytes]:
        """The parts that show the output sheets' notes: for each sheet with notes, a
        comments part, its legacy VML drawing and the sheet's relationships to both (named
        with the lowest free numbers, so that a second run writes the same names), with
        their content types."""
        taken = set(self.package.infos) - self.removed_parts
        parts: dict[str, bytes] = {}

        def free(pattern: str) -> str:
            number = 1
            while pattern.format(number) in taken:
                number += 1
            name = pattern.format(number)
            taken.add(name)
            return name

        for part, output in sorted(part_of.items(), key=lambda item: self.outputs.index(item[1])):
            if not output.notes:
                continue
            comments, vml = free("xl/comments{}.xml"), free("xl/drawings/vmlDrawing{}.vml")
            parts[comments] = render_comments(output)
            parts[vml] = render_notes_vml(output)
            relative = lambda target: posixpath.relpath(target, posixpath.dirname(part))  # noqa: E731
            parts[rels_path(part)] = (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
                f'<Relationship Id="{NOTES_VML_RID}" Type="{VML_REL}" Target="{relative(vml)}"/>'
                f'<Relationship Id="rId2" Type="{COMMENTS_REL}" Target="{relative(comments)}"/></Relationships>'
            ).encode()
            override = etree.SubElement(self.content_types, f"{_C}Override")
            override.set("PartName", "/" + comments)
            override.set("ContentType", COMMENTS_TYPE)
        if parts and not any(d.get("Extension", "").lower() == "vml" for d in self.content_types.iter(f"{_C}Default")):
            defaults = list(self.content_types.iter(f"{_C}Default"))
            default = etree.Element(f"{_C}Default")
            default.set("Extension", "vml")
            default.set("ContentType", VML_TYPE)
            if defaults:
                defaults[-1].addnext(default)
            else:
                self.content_types.insert(0, default)
        return parts

    def _write_sheet(self, out: zipfile.ZipFile, part: str, output: layout.SheetOutput, selected: str | None) -> str:
        info = _new_info(part, self.package.infos.get(part))
        info.compress_type = zipfile.ZIP_DEFLATED
        notes_rid = NOTES_VML_RID if output.notes else None
        with out.open(info, "w", force_zip64=True) as stream:
            for chunk in render_sheet(output, self.styles, selected=output.name == selected, notes_rid=notes_rid):
                stream.write(chunk)
        written = out.getinfo(part) if part in out.NameToInfo else info
        return f"{written.CRC:08x}:{written.file_size}"


def replace_parts(path: Path, parts: dict[str, bytes]) -> None:
    """Rewrite the package at ``path`` with the named parts' new bytes, in their places,
    and every other part copied as stored (:func:`copy_part`), whole or not at all
    (:func:`.package.write_atomically`)."""
    path = Path(path)
    with zipfile.ZipFile(path) as source:
        missing = set(parts) - set(source.NameToInfo)
        if missing:
            raise KeyError(f"{path}: no part {', '.join(sorted(missing))} to replace")

        def write(temporary: Path) -> None:
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=WRITE_LEVEL) as out:
                for info in source.infolist():
                    if info.filename in parts:
                        out.writestr(_new_info(info.filename, info), parts[info.filename], compress_type=zipfile.ZIP_DEFLATED, compresslevel=WRITE_LEVEL)
                    else:
                        copy_part(out, source, info)

        write_atomically(path, path, write)


def order_font_children(path: Path) -> None:
    """Give a workbook the tool built from scratch (openpyxl saved it) a schema-valid
    ``styles.xml``: each font's children in the Open XML schema's order
    (:func:`.sheetxml.schema_ordered_fonts`); every other part is copied as stored, and the
    file is left alone when its fonts already are in order. Never used on a team's
    workbook: Recalculate only appends to its ``styles.xml``."""
    package = Package(path)
    try:
        part = package.rel_target(STYLES_REL)
        if part is None or not package.has(part):
            return
        original = package.read(part)
    finally:
        package.close()
    ordered = schema_ordered_fonts(original)
    if ordered != original:
        replace_parts(path, {part: ordered})


def copy_part(out: zipfile.ZipFile, source: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Copy a part from ``source`` to ``out`` as it is stored: its compressed bytes, CRC and
    sizes, without inflating and deflating it again (the same entry ``ZipFile.writestr``
    would make, several times faster); a part stored in a way this does not copy (an
    encrypted one, a method other than stored or deflated) is read and written again."""
    raw = None
    if not info.flag_bits & 0x1 and info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        source.fp.seek(info.header_offset)
        header = source.fp.read(30)
        if len(header) == 30 and header[:4] == b"PK\x03\x04":
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            source.fp.seek(info.header_offset + 30 + name_length + extra_length)
            raw = source.fp.read(info.compress_size)
    if raw is None or len(raw) != info.compress_size:
        out.writestr(info, source.read(info.filename), compress_type=info.compress_type)
        return
    entry = zipfile.ZipInfo(info.filename, info.date_time)
    entry.compress_type = info.compress_type
    entry.external_attr = info.external_attr
    entry.create_system = info.create_system
    entry.flag_bits = info.flag_bits & ~0x08  # sizes in the local header, no data descriptor
    entry.CRC, entry.compress_size, entry.file_size = info.CRC, info.compress_size, info.file_size
    zip64 = entry.file_size > zipfile.ZIP64_LIMIT or entry.compress_size > zipfile.ZIP64_LIMIT
    # What ZipFile.mkdir does to add an entry whose bytes it already has.
    with out._lock:
        if out._seekable:
            out.fp.seek(out.start_dir)
        entry.header_offset = out.fp.tell()
        out._writecheck(entry)
        out._didModify = True
        out.fp.write(entry.FileHeader(zip64))
        out.fp.write(raw)
        out.filelist.append(entry)
        out.NameToInfo[entry.filename] = entry
        out.start_dir = out.fp.tell()


def _new_info(name: str, original: zipfile.ZipInfo | None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=original.date_time if original is not None else (1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = WRITE_LEVEL
    info.external_attr = original.external_attr if original is not None else 0o600 << 16
    return info

"""Worksheet XML without a spreadsheet object model: read a sheet's values and features,
write an output sheet as its part.

Reading (:func:`read_sheet`): one pass of lxml over a worksheet part gives the values
from A1 as openpyxl would read them with ``data_only=True`` (numbers, shared and inline
strings with their rich-text runs joined, booleans, error codes, dates by number format
and ``t="d"`` cells), a formula cell as its saved value, or
:class:`~cityopp_xl.validate.UncalculatedFormula` when none was saved; and the sheet's
:class:`~.integrity.SheetFeatures` (merged ranges, hidden rows and columns). Workbooks
saved by Excel, LibreOffice, openpyxl and XlsxWriter are read the same way.

Writing (:func:`render_sheet`): a :class:`~.layout.SheetOutput` becomes worksheet XML,
formatted row by row as text (no cell objects), streamed to the package in chunks. Strings
are written inline (``t="inlineStr"``), so the workbook's shared-strings table is never
touched; formula cells carry their cached values (:attr:`.layout.SheetOutput.formula_values`, or the value a formula is written over). Cell styles
come from :class:`StyleBook`, which appends the few styles the output sheets use to
``styles.xml`` and finds them again on the next run (so a second Recalculate writes the
same part).
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
from dataclasses import dataclass, field
from typing import Iterator

from lxml import etree

from ..model import column_letter, column_number
from ..validate import UncalculatedFormula
from . import layout, printing, stale_check
from .integrity import SheetFeatures

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS = f"{{{MAIN}}}"
_ROW, _CELL, _VALUE, _FORMULA, _INLINE, _TEXT, _RUN, _PHONETIC = (
    f"{_NS}{tag}" for tag in ("row", "c", "v", "f", "is", "t", "r", "rPh")
)
_COLS, _COL, _MERGE = f"{_NS}cols", f"{_NS}col", f"{_NS}mergeCell"

#: Day 0 of a workbook's dates (openpyxl's CALENDAR_WINDOWS_1900 and CALENDAR_MAC_1904);
#: openpyxl's date helpers are imported only where a date is read (importing openpyxl is
#: a fifth of a Recalculate of a 60-city workbook, which never needs it).
WINDOWS_1900 = _dt.datetime(1899, 12, 30)
MAC_1904 = _dt.datetime(1904, 1, 1)

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


class UnsafeXML(ValueError):
    """An XML part that declares a document type (never in a part Excel writes)."""


def parse(xml: bytes):
    """Parse a package part: no entity is resolved, no DTD loaded, no network used, and a
    part that declares a document type is refused."""
    root = etree.fromstring(xml, PARSER)
    if root.getroottree().docinfo.doctype:
        raise UnsafeXML("an XML part declares a document type")
    return root


# --------------------------------------------------------------------------- reading


def rich_text(element) -> str:
    """The text of a shared or inline string: its ``<t>``, or its runs' ``<t>`` joined
    (phonetic runs left out)."""
    direct = element.find(_TEXT)
    if direct is not None:
        return direct.text or ""
    return "".join(t.text or "" for run in element.iterfind(_RUN) for t in run.iterfind(_TEXT))


def shared_strings(xml: bytes | None) -> list[str]:
    if not xml:
        return []
    return [rich_text(si) for si in parse(xml)]


@dataclass(frozen=True)
class DateStyles:
    """Which cell styles (indices into ``cellXfs``) format numbers as dates or durations."""

    dates: frozenset[int] = frozenset()
    durations: frozenset[int] = frozenset()
    epoch: _dt.datetime = WINDOWS_1900


def date_styles(styles_xml: bytes | None, date1904: bool = False) -> DateStyles:
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    epoch = MAC_1904 if date1904 else WINDOWS_1900
    if not styles_xml:
        return DateStyles(epoch=epoch)
    root = parse(styles_xml)
    formats = dict(BUILTIN_FORMATS)
    for numfmt in root.iterfind(f"{_NS}numFmts/{_NS}numFmt"):
        try:
            formats[int(numfmt.get("numFmtId"))] = numfmt.get("formatCode") or ""
        except (TypeError, ValueError):
            continue
    dates, durations = set(), set()
    for index, xf in enumerate(root.iterfind(f"{_NS}cellXfs/{_NS}xf")):
        try:
            code = formats.get(int(xf.get("numFmtId") or 0), "")
        except ValueError:
            continue
        if code and is_date_format(code):
            dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
    return DateStyles(frozenset(dates), frozenset(durations), epoch)


_A1 = re.compile(r"([A-Z]{1,3})(\d+)$")


def _number(text: str):
    """A saved number as openpyxl reads it: an int when it has no point or exponent."""
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


@dataclass
class SheetRead:
    """What :func:`read_sheet` found: values by (row, column) from 1, and features (or,
    read by python-calamine, ``rows`` from A1 instead of ``values``)."""

    values: dict[tuple[int, int], object] | None
    features: SheetFeatures
    rows: list[list] | None = None


_CALAMINE_TYPES = frozenset((float, str, int, bool))


def calamine_values(rows: list[list]) -> list[list] | None:
    """python-calamine's rows as :func:`read_sheet` gives them (whole numbers as int, blank
    cells as None, trailing blank rows dropped), or None when a cell holds a type it does
    not read the same way (dates, durations)."""
    out = []
    for row in rows:
        if not set(map(type, row)) <= _CALAMINE_TYPES:
            return None
        out.append(
            [
                (int(value) if value.is_integer() and -layout._EXACT < value < layout._EXACT else value)
                if type(value) is float
                else (value or None)
                if type(value) is str
                else value
                for value in row
            ]
        )
    while out and all(v is None for v in out[-1]):
        out.pop()
    return out


def read_sheet(xml: bytes, strings: list[str], styles: DateStyles) -> SheetRead:
    """The values and features of a worksheet part (see the module docstring).

    The part is parsed whole by lxml (which checks it is well-formed and refuses a
    document type); the cells are then read from its text by :func:`_scan_cells` when it
    is written the way spreadsheet applications write it (unprefixed elements, every cell
    addressed, UTF-8), which is several times faster than visiting each element from
    Python, or else element by element (:func:`_visit_cells`). Both give the same values.
    """
    root = parse(xml)
    values = _scan_cells(xml, strings, styles)
    if values is None:
        values = _visit_cells(root, strings, styles)
    return SheetRead(values, _features(root))


def read_features(xml: bytes) -> SheetFeatures:
    """The merged ranges and hidden rows and columns of a worksheet part (the part is
    parsed only when it has any; only its end, after the cells, when it has merged ranges
    and nothing hidden)."""
    if b"mergeCell" not in xml and b"hidden=" not in xml:
        return SheetFeatures()
    if b"hidden=" not in xml:
        tail = _after_cells(xml)
        if tail is not None:
            return _features(parse(tail))
    return _features(parse(xml))


def _after_cells(xml: bytes) -> bytes | None:
    """The part without its rows: its root element's start tag, then everything after
    ``</sheetData>`` (merged ranges, conditional formats, page setup...), for a part in
    the plain form applications write (an unprefixed root and ``sheetData``); else None."""
    start = xml.find(b"<worksheet")
    end = xml.rfind(b"</sheetData>")
    if start < 0 or end < 0 or xml.find(b"<!", 0, start) >= 0 or b"<![CDATA[" in xml:
        return None
    head_end = xml.find(b">", start)
    if head_end < 0 or head_end > end or xml[head_end - 1 : head_end] == b"/":
        return None
    return xml[: head_end + 1] + xml[end + len(b"</sheetData>") :]


def _features(root) -> SheetFeatures:
    hidden_rows = []
    row_number = 0
    for row in root.iter(_ROW):
        number = row.get("r")
        row_number = int(number) if number and number.isdigit() else row_number + 1
        if row.get("hidden") in ("1", "true"):
            hidden_rows.append(row_number)
    merged = []
    for merge in root.iter(_MERGE):
        ref = merge.get("ref") or ""
        first, _, last = ref.partition(":")
        a, b = _A1.match(first), _A1.match(last or first)
        if a and b:
            merged.append((int(a.group(2)), column_number(a.group(1)), int(b.group(2)), column_number(b.group(1))))
    hidden_columns: list[int] = []
    for col in root.iter(_COL):
        if col.get("hidden") in ("1", "true"):
            low, high = int(col.get("min") or 0), int(col.get("max") or 0)
            if low:
                hidden_columns.extend(range(low, min(high or low, 16_384) + 1))
    return SheetFeatures(tuple(merged), tuple(hidden_rows), tuple(hidden_columns))


def _visit_cells(root, strings: list[str], styles: DateStyles) -> dict[tuple[int, int], object]:
    values: dict[tuple[int, int], object] = {}
    columns: dict[str, int] = {}
    dates = styles.dates
    row_number = 0
    for row in root.iter(_ROW):
        number = row.get("r")
        row_number = int(number) if number and number.isdigit() else row_number + 1
        column = 0
        for cell in row.iterchildren(_CELL):
            coordinate = cell.get("r")
            if coordinate:
                match = _A1.match(coordinate)
                letters = match.group(1) if match else None
                column = columns.get(letters) if letters else None
                if column is None:
                    column = columns[letters] = column_number(letters)
            else:
                column += 1
            values[row_number, column] = _cell_value(cell, strings, styles, dates)
    return values


_SCAN_CELL = re.compile(r'<c r="([A-Z]{1,3})([0-9]+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_SCAN_V = re.compile(r"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_SCAN_F = re.compile(r"<f(?:\s[^>]*)?(?:/>|>(.*?)</f>)", re.S)
_SCAN_T = re.compile(r"<t(?:\s[^>]*)?(?:/>|>(.*?)</t>)", re.S)
_SCAN_PHONETIC = re.compile(r"<rPh\b.*?</rPh>", re.S)
_SCAN_KIND = re.compile(r'\bt="([a-zA-Z]+)"')
_SCAN_STYLE = re.compile(r'\bs="([0-9]+)"')


def _unescape(text: str) -> str:
    if "&" not in text:
        return text
    import html  # here: its table of entities takes 2 ms to import, and most texts have no "&"

    return html.unescape(text)


def _scan_cells(xml: bytes, strings: list[str], styles: DateStyles) -> dict[tuple[int, int], object] | None:
    """The cells of a part read from its text, or None when it is not in the plain form
    this reads (then :func:`_visit_cells` reads it)."""
    head = xml[:200]
    if b"encoding=" in head and not re.search(rb'encoding=["\']utf-?8["\']', head, re.I):
        return None
    try:
        text = xml.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if re.search(r"<[A-Za-z_][\w.-]*:(?:c|row|v|f|is|t)\b", text) or "<![CDATA[" in text:
        return None
    found = _SCAN_CELL.findall(text)
    if len(found) != text.count("<c ") + text.count("<c>") + text.count("<c/"):
        return None
    values: dict[tuple[int, int], object] = {}
    columns: dict[str, int] = {}
    dates, epoch, durations = styles.dates, styles.epoch, styles.durations
    for letters, number, attributes, inner in found:
        column = columns.get(letters)
        if column is None:
            column = columns[letters] = column_number(letters)
        kind = "n"
        if "t=" in attributes:
            match = _SCAN_KIND.search(attributes)
            kind = match.group(1) if match else "n"
        if not inner:
            values[int(number), column] = None
            continue
        if kind == "inlineStr":
            if "<is" not in inner:
                values[int(number), column] = None
                continue
            body = _SCAN_PHONETIC.sub("", inner) if "<rPh" in inner else inner
            values[int(number), column] = _unescape("".join(t or "" for t in _SCAN_T.findall(body)))
            continue
        v = _SCAN_V.search(inner) if "<v" in inner else None
        text_value = v.group(1) if v else None
        if text_value is None or (text_value == "" and kind != "str"):
            if "<f" in inner:
                f = _SCAN_F.search(inner)
                values[int(number), column] = UncalculatedFormula("=" + _unescape(f.group(1) or "")) if f else None
            else:
                values[int(number), column] = None
            continue
        if kind == "n":
            value = _number(text_value)
            if dates:
                match = _SCAN_STYLE.search(attributes) if "s=" in attributes else None
                style = int(match.group(1)) if match else 0  # no style: the workbook's default, 0
                if style in dates:
                    from openpyxl.utils.datetime import from_excel

                    try:
                        value = from_excel(value, epoch, timedelta=style in durations)
                    except (ValueError, OverflowError):
                        pass
            values[int(number), column] = value
        elif kind == "s":
            values[int(number), column] = strings[int(text_value)]
        elif kind == "b":
            values[int(number), column] = text_value.strip() in ("1", "true")
        elif kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            try:
                values[int(number), column] = from_ISO8601(text_value)
            except ValueError:
                values[int(number), column] = _unescape(text_value)
        else:  # str, e and anything else: the text
            values[int(number), column] = _unescape(text_value)
    return values


def _cell_value(cell, strings: list[str], styles: DateStyles, dates):
    kind = cell.get("t", "n")
    v = cell.find(_VALUE)
    text = (v.text or "") if v is not None else None
    formula = cell.find(_FORMULA)
    if kind == "inlineStr":
        inline = cell.find(_INLINE)
        return rich_text(inline) if inline is not None else None
    if text is None or (text == "" and kind != "str"):
        if formula is not None:
            return UncalculatedFormula("=" + (formula.text or ""))
        return None
    if kind == "n":
        value = _number(text)
        style = int(cell.get("s") or 0)  # no style: the workbook's default, 0
        if style in dates:
            from openpyxl.utils.datetime import from_excel

            try:
                return from_excel(value, styles.epoch, timedelta=style in styles.durations)
            except (ValueError, OverflowError):
                return value
        return value
    if kind == "s":
        return strings[int(text)]
    if kind == "str":
        return text
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e":
        return text
    if kind == "d":
        from openpyxl.utils.datetime import from_ISO8601

        try:
            return from_ISO8601(text)
        except ValueError:
            return text
    return text


def rows_from(sheet: str, values: dict[tuple[int, int], object]) -> list[list]:
    """Rows from A1 of a sheet's values, after checking its size
    (:func:`.integrity.check_sheet_size`)."""
    from .integrity import check_sheet_size

    if not values:
        check_sheet_size(sheet, 1, 1)
        return []
    height = max(r for r, _ in values)
    width = max(c for _, c in values)
    check_sheet_size(sheet, height, width)
    rows = [[None] * width for _ in range(height)]
    for (row, column), value in values.items():
        rows[row - 1][column - 1] = value
    return rows


# --------------------------------------------------------------------------- styles


FONT_NAME = "Calibri"
ALERT_COLOR = "FFC00000"

#: Cell formats the output sheets use: (bold, size, number format, horizontal, wrap,
#: link). A link cell is blue and underlined, as Excel's Hyperlink style shows it.
CellFormat = tuple
LINK_COLOR = "FF0563C1"


@dataclass
class StyleBook:
    """The workbook's ``styles.xml``, with the output sheets' formats appended.

    Existing fonts, number formats, cell formats and differential formats keep their
    indices; one that an earlier run appended (identical XML) is found and reused.
    """

    root: object
    changed: bool = False
    _xf_ids: dict = field(default_factory=dict)
    _font_ids: dict = field(default_factory=dict)
    _numfmt_ids: dict = field(default_factory=dict)
    _dxf_ids: dict = field(default_factory=dict)
    _shapes: dict = field(default_factory=dict)

    @classmethod
    def from_xml(cls, xml: bytes | None) -> "StyleBook":
        if not xml:
            xml = (
                f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/><name val="{FONT_NAME}"/></font></fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
            ).encode()
        return cls(parse(xml))

    def to_xml(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)

    # Elements of CT_Stylesheet, in schema order (a missing container is made in its place).
    _ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs", "tableStyles", "colors", "extLst")

    def _container(self, tag: str):
        found = self.root.find(_NS + tag)
        if found is not None:
            return found
        element = etree.Element(_NS + tag)
        position = self._ORDER.index(tag)
        later = [self.root.find(_NS + t) for t in self._ORDER[position + 1 :]]
        anchor = next((e for e in later if e is not None), None)
        if anchor is not None:
            anchor.addprevious(element)
        else:
            self.root.append(element)
        return element

    def _find_or_append(self, tag: str, child_xml: str, cache: dict) -> int:
        if child_xml in cache:
            return cache[child_xml]
        container = self._container(tag)
        wanted = etree.fromstring(child_xml.replace(">", f' xmlns="{MAIN}">', 1) if " xmlns=" not in child_xml else child_xml)
        canonical = _shape(wanted)
        # The entries' shapes, made once per container (not once per entry and lookup).
        shapes = self._shapes.get(tag)
        if shapes is None or len(shapes) != len(container):
            shapes = self._shapes[tag] = [_shape(child) for child in container]
        # An identical entry (one a previous run appended) is reused: search from the end.
        for index in range(len(shapes) - 1, -1, -1):
            if shapes[index] == canonical:
                cache[child_xml] = index
                return index
        container.append(wanted)
        shapes.append(canonical)
        container.set("count", str(len(container)))
        self.changed = True
        cache[child_xml] = len(container) - 1
        return cache[child_xml]

    def _numfmt(self, code: str | None) -> int:
        if not code or code == "General":
            return 0
        # Every other format is added as a custom one (Excel reads a custom format that
        # repeats a built-in one as that format).
        if code in self._numfmt_ids:
            return self._numfmt_ids[code]
        container = self._container("numFmts")
        for numfmt in container:
            if numfmt.get("formatCode") == code and int(numfmt.get("numFmtId") or 0) >= 164:
                self._numfmt_ids[code] = int(numfmt.get("numFmtId"))
                return self._numfmt_ids[code]
        used = [int(n.get("numFmtId") or 0) for n in container]
        number = max([163, *used]) + 1
        element = etree.SubElement(container, _NS + "numFmt")
        element.set("numFmtId", str(number))
        element.set("formatCode", code)
        container.set("count", str(len(container)))
        self.changed = True
        self._numfmt_ids[code] = number
        return number

    def cell_style(self, fmt: CellFormat) -> int:
        """The ``cellXfs`` index of a cell format (bold, size, number format, horizontal
        alignment, wrap, link)."""
        if fmt in self._xf_ids:
            return self._xf_ids[fmt]
        bold, size, code, horizontal, wrap, link = fmt
        underline, color = ('<u/>', f'<color rgb="{LINK_COLOR}"/>') if link else ("", "")
        font = f'<font>{"<b/>" if bold else ""}{underline}<sz val="{size}"/>{color}<name val="{FONT_NAME}"/><family val="2"/></font>'
        font_id = self._find_or_append("fonts", font, self._font_ids)
        numfmt_id = self._numfmt(code)
        alignment = ""
        if horizontal or wrap:
            attributes = (f' horizontal="{horizontal}"' if horizontal else "") + (' vertical="top" wrapText="1"' if wrap else "")
            alignment = f"<alignment{attributes}/>"
        apply_number = ' applyNumberFormat="1"' if numfmt_id else ""
        apply_alignment = ' applyAlignment="1"' if alignment else ""
        xf = (
            f'<xf numFmtId="{numfmt_id}" fontId="{font_id}" fillId="0" borderId="0" xfId="0"'
            f'{apply_number} applyFont="1"{apply_alignment}>{alignment}</xf>'
        )
        index = self._find_or_append("cellXfs", xf, {})
        self._xf_ids[fmt] = index
        return index

    def alert_dxf(self) -> int:
        """The differential format of an alert cell (bold dark red)."""
        return self._find_or_append("dxfs", f'<dxf><font><b/><color rgb="{ALERT_COLOR}"/></font></dxf>', self._dxf_ids)


#: The children of a font (CT_Font, in ``<fonts>`` and in differential formats) in the
#: order the Open XML SDK's schema wants them. ECMA-376 lists them as an unordered choice
#: and Excel reads any order; openpyxl writes ``<name>`` and ``<color>`` first.
FONT_ORDER = ("b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign", "sz", "color", "name", "family", "charset", "scheme")


def _font_rank(child) -> int:
    if isinstance(child.tag, str) and child.tag.startswith(_NS) and child.tag[len(_NS) :] in FONT_ORDER:
        return FONT_ORDER.index(child.tag[len(_NS) :])
    return len(FONT_ORDER)  # anything else keeps its place after them


def schema_ordered_fonts(xml: bytes) -> bytes:
    """``styles.xml`` with each font's children in :data:`FONT_ORDER` and nothing else
    changed (same elements, attributes, indices and declaration); the bytes as given when
    every font already is in that order."""
    root = parse(xml)
    changed = False
    for font in root.iter(_NS + "font"):
        children = list(font)
        ordered = sorted(children, key=_font_rank)  # stable: repeated or unknown children keep their order
        if ordered != children:
            font[:] = ordered
            changed = True
    if not changed:
        return xml
    tree = root.getroottree()
    declared = xml.lstrip().startswith(b"<?xml")
    return etree.tostring(tree, xml_declaration=declared, encoding=tree.docinfo.encoding or "UTF-8", standalone=tree.docinfo.standalone)


def _shape(element) -> tuple:
    """An element's name, attributes, text and children, to compare style entries."""
    return (
        etree.QName(element).localname,
        tuple(sorted(element.attrib.items())),
        (element.text or "").strip(),
        tuple(_shape(child) for child in element if isinstance(child.tag, str)),
    )


# --------------------------------------------------------------------------- writing

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: A character :func:`_escape` changes: markup, or one XML cannot hold.
_ESCAPED = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def _escape(text: str) -> str:
    if not _ESCAPED.search(text):  # most texts and formulas: one search
        return text
    text = _escape_markup(text)
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text


def _escape_markup(text: str) -> str:
    """``text`` with XML's markup characters escaped (and nothing else)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def _text_cell(ref: str, style: str, text: str) -> str:
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'


def _number_text(value) -> str | None:
    if type(value) is int:
        return str(value)
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        return None
    # 16 significant digits, as openpyxl and XlsxWriter write them (and Excel shows 15).
    return "%.16g" % number


def _value_cell(ref: str, style: str, value) -> str:
    kind = type(value)
    if kind is int or kind is float:
        text = _number_text(value)
        return f'<c r="{ref}"{style}><v>{text}</v></c>' if text is not None else ""
    if kind is str or isinstance(value, str):
        if not value:  # an empty text is a blank cell, as openpyxl and Excel save it
            return f'<c r="{ref}"{style}/>' if style else ""
        return _text_cell(ref, style, str(value))
    if kind is bool:
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return _value_cell(ref, style, float(value))
    if value is None:
        return f'<c r="{ref}"{style}/>' if style else ""
    return _text_cell(ref, style, str(value))


def _formula_cell(ref: str, style: str, formula: str, cached) -> str:
    body = f"<f>{_escape(formula[1:])}</f>"
    if type(cached) is int:  # most cached values (scores, ranks)
        return f'<c r="{ref}"{style}>{body}<v>{cached}</v></c>'
    if cached is None:
        return f'<c r="{ref}"{style}>{body}</c>'
    if isinstance(cached, bool):
        return f'<c r="{ref}"{style} t="b">{body}<v>{int(cached)}</v></c>'
    if isinstance(cached, (int, float)):
        text = _number_text(cached)
        return f'<c r="{ref}"{style}>{body}<v>{text}</v></c>' if text is not None else f'<c r="{ref}"{style}>{body}</c>'
    return f'<c r="{ref}"{style} t="str">{body}<v>{_escape(str(cached))}</v></c>'


#: A format, as :meth:`StyleBook.cell_style` takes it: [bold, size, number format,
#: horizontal alignment, wrap, link].
_PLAIN_FORMAT = (False, 11, None, None, False, False)


def _row_formats(output: layout.SheetOutput) -> dict[int, dict[int, tuple]]:
    """The format of every formatted cell, by row and then column (both from 1).

    The formats are given as areas (bold, number formats, wrap, alignment, merged cells,
    links), applied in that order, each setting one field of the cells it covers. Rows
    covered by the same areas share one dict, made once: a sheet of millions of formatted
    cells in a few large areas costs a dict per band of rows, not an object per cell.
    """
    rules: list[tuple[range, range, int, object]] = [(range(1, 2), range(1, 2), 0, True), (range(1, 2), range(1, 2), 1, output.title_size)]

    def add(area: str, field: int, value) -> None:
        rows, columns = printing._areas(area)
        if len(rows) and len(columns):
            rules.append((rows, columns, field, value))

    for area in output.bold:
        add(area, 0, True)
    for area, code in output.number_formats.items():
        add(area, 2, code)
    for area in output.wrap:
        add(area, 4, True)
    for area in output.align_right:
        add(area, 3, "right")
    for area in output.merged:
        add(area.split(":")[0], 4, True)
    for address in output.links:
        add(address, 5, True)
    bounds = sorted({rule[0].start for rule in rules} | {rule[0].stop for rule in rules})
    starting: dict[int, list[int]] = {}
    stopping: dict[int, list[int]] = {}
    for index, (rows, _, _, _) in enumerate(rules):
        starting.setdefault(rows.start, []).append(index)
        stopping.setdefault(rows.stop, []).append(index)
    by_row: dict[int, dict[int, tuple]] = {}
    active: set[int] = set()  # the rules covering the band, applied in their order
    for low, high in zip(bounds, bounds[1:]):
        active.difference_update(stopping.get(low, ()))
        active.update(starting.get(low, ()))
        band: dict[int, list] = {}
        for index in sorted(active):
            _, columns, field, value = rules[index]
            for column in columns:
                fmt = band.get(column)
                if fmt is None:
                    fmt = band[column] = list(_PLAIN_FORMAT)
                fmt[field] = value
        if band:
            frozen = {column: tuple(fmt) for column, fmt in band.items()}
            for row in range(low, high):
                by_row[row] = frozen
    return by_row


def _page(output: layout.SheetOutput) -> str:
    fit_height = output.pages_tall
    scale = printing.print_scale(output)
    scale_attribute = f' scale="{scale}"' if scale else ""
    return (
        '<pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.25" footer="0.3"/>'
        f'<pageSetup paperSize="9"{scale_attribute} fitToWidth="{output.pages_wide}" fitToHeight="{fit_height}" orientation="{output.orientation}"/>'
        "<headerFooter><oddFooter>&amp;C&amp;8&amp;A, page &amp;P of &amp;N</oddFooter></headerFooter>"
    ) + _row_breaks(output)


def _row_breaks(output: layout.SheetOutput) -> str:
    """``<rowBreaks>``: a manual page break after each of ``row_breaks`` (``id`` is the
    last row of a page)."""
    rows = sorted(set(output.row_breaks))
    if not rows:
        return ""
    breaks = "".join(f'<brk id="{row}" max="16383" man="1"/>' for row in rows)
    return f'<rowBreaks count="{len(rows)}" manualBreakCount="{len(rows)}">{breaks}</rowBreaks>'


def _hyperlinks(output: layout.SheetOutput) -> str:
    """``<hyperlinks>`` of the links inside the workbook: a ``location`` needs no
    relationship. The text shown is the cell's value."""
    if not output.links:
        return ""
    links = []
    for address, target in sorted(output.links.items(), key=lambda item: _cell_order(item[0])):
        row, column = _cell_order(address)
        value = output.cells[row - 1][column - 1] if row <= len(output.cells) and column <= len(output.cells[row - 1]) else None
        display = f' display="{_escape(str(value))}"' if value not in (None, "") else ""
        links.append(f'<hyperlink ref="{address}" location="{_escape(target)}"{display}/>')
    return "<hyperlinks>" + "".join(links) + "</hyperlinks>"


def _cell_order(address: str) -> tuple[int, int]:
    match = _A1.match(address)
    return int(match.group(2)), column_number(match.group(1))


def _views(output: layout.SheetOutput, selected: bool) -> str:
    tab = ' tabSelected="1"' if selected else ""
    if not output.freeze or output.freeze == "A1":
        return f'<sheetViews><sheetView{tab} workbookViewId="0"/></sheetViews>'
    match = _A1.match(output.freeze)
    column, row = column_number(match.group(1)), int(match.group(2))
    x, y = column - 1, row - 1
    if x and y:
        pane = f'<pane xSplit="{x}" ySplit="{y}" topLeftCell="{output.freeze}" activePane="bottomRight" state="frozen"/>'
        selection = '<selection pane="topRight"/><selection pane="bottomLeft"/><selection pane="bottomRight"/>'
    elif y:
        pane = f'<pane ySplit="{y}" topLeftCell="{output.freeze}" activePane="bottomLeft" state="frozen"/>'
        selection = '<selection pane="bottomLeft"/>'
    else:
        pane = f'<pane xSplit="{x}" topLeftCell="{output.freeze}" activePane="topRight" state="frozen"/>'
        selection = '<selection pane="topRight"/>'
    return f"<sheetViews><sheetView{tab} workbookViewId=\"0\">{pane}{selection}</sheetView></sheetViews>"


def _conditional_formats(output: layout.SheetOutput, styles: StyleBook) -> str:
    parts = []
    priority = 0
    for areas, scale in ((output.color_scales, _CORRELATION_SCALE), (output.heatmaps, _SCORE_SCALE), (output.rank_scales, _RANK_SCALE)):
        for area in areas:
            priority += 1
            parts.append(f'<conditionalFormatting sqref="{area}"><cfRule type="colorScale" priority="{priority}">{scale}</cfRule></conditionalFormatting>')
    if output.alert_cells:
        dxf = styles.alert_dxf()
        for address in output.alert_cells:
            priority += 1
            parts.append(
                f'<conditionalFormatting sqref="{address}"><cfRule type="expression" dxfId="{dxf}" priority="{priority}">'
                f"<formula>{_escape(stale_check.alert_rule(address))}</formula></cfRule></conditionalFormatting>"
            )
    return "".join(parts)


_SCORE_SCALE = (
    '<colorScale><cfvo type="min"/><cfvo type="percentile" val="50"/><cfvo type="max"/>'
    '<color rgb="FFF8696B"/><color rgb="FFFFEB84"/><color rgb="FF63BE7B"/></colorScale>'
)
_RANK_SCALE = (
    '<colorScale><cfvo type="min"/><cfvo type="percentile" val="50"/><cfvo type="max"/>'
    '<color rgb="FF63BE7B"/><color rgb="FFFFEB84"/><color rgb="FFF8696B"/></colorScale>'
)
_CORRELATION_SCALE = (
    '<colorScale><cfvo type="num" val="-1"/><cfvo type="num" val="0"/><cfvo type="num" val="1"/>'
    '<color rgb="FFF8696B"/><color rgb="FFFFFFFF"/><color rgb="FF63BE7B"/></colorScale>'
)


def _row_template(shape: tuple, letters: list[str], styles: list[str]) -> str | None:
    """A ``str.format`` template for a row of whole numbers, numbers, texts and blanks
    (``{0}`` the row number, then field ``{c + 1}`` the text of the value in column ``c``,
    from :func:`_template_fields`), each cell with its style attribute from ``styles``; or
    None for a row holding anything else or writing no cell."""
    parts = []
    for c, kind in enumerate(shape):
        s = styles[c]
        if kind is int or kind is float:
            parts.append(f'<c r="{letters[c]}{{0}}"{s}><v>{{{c + 1}}}</v></c>')
        elif kind is str:
            parts.append(f'<c r="{letters[c]}{{0}}"{s} t="inlineStr"><is><t>{{{c + 1}}}</t></is></c>')
        elif kind is type(None):
            if s:
                parts.append(f'<c r="{letters[c]}{{0}}"{s}/>')
        else:
            return None
    return "".join(parts) or None


class _Unplain(Exception):
    """A value a row template cannot write as it is (see :func:`_template_fields`)."""


def _float_field(value: float) -> str:
    text = _number_text(value)
    if text is None:  # NaN or infinite: no cell
        raise _Unplain
    return text


@functools.lru_cache(maxsize=65536)
def _text_field(value: str) -> str:
    """A text as a template writes it: only one that is not empty (a blank cell), has no
    space at either end (kept by ``xml:space``) and no character XML cannot hold."""
    if not value or value[0].isspace() or value[-1].isspace() or _ILLEGAL.search(value):
        raise _Unplain
    return _escape_markup(value)  # nothing illegal in it, as just searched


#: The field of a value that is not a whole number or a blank (those are their own).
_FIELD = {float: _float_field, str: _text_field}


def _template_fields(row: list) -> list | None:
    """The fields of a row for its :func:`_row_template`, or None when a value is not
    written as the template writes it (an empty, spaced or unwritable text, a NaN)."""
    try:
        # Whole numbers and blanks are their own fields: no call for them.
        return [value if type(value) is int or value is None else _FIELD[type(value)](value) for value in row]
    except _Unplain:
        return None


def render_sheet(output: layout.SheetOutput, styles: StyleBook, *, selected: bool = False, chunk_rows: int = 2000, notes_rid: str | None = None) -> Iterator[bytes]:
    """The worksheet part of ``output``, in UTF-8 chunks of about ``chunk_rows`` rows.
    ``notes_rid``: the relationship id of the legacy drawing that shows the sheet's notes
    (:func:`render_comments`, :func:`render_notes_vml`), when it has any."""
    cells = output.cells
    height = len(cells)
    width = max((len(r) for r in cells), default=1) or 1
    styled = _row_formats(output)
    style_of: dict[tuple, str] = {}

    def style(key: tuple) -> str:
        text = style_of.get(key)
        if text is None:
            index = styles.cell_style(key)
            text = style_of[key] = f' s="{index}"' if index else ""
        return text

    last = f"{column_letter(width)}{max(height, 1)}"
    tab = f'<tabColor rgb="FF{output.tab_color.upper()}"/>' if output.tab_color else ""
    head = [
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">',
        f'<sheetPr>{tab}<pageSetUpPr fitToPage="{0 if printing.print_scale(output) else 1}"/></sheetPr>',
        f'<dimension ref="A1:{last}"/>',
        _views(output, selected),
        '<sheetFormatPr defaultRowHeight="15"/>',
    ]
    if output.widths:
        cols = sorted((column_number(letter), width) for letter, width in output.widths.items())
        head.append("<cols>" + "".join(f'<col min="{n}" max="{n}" width="{w}" customWidth="1"/>' for n, w in cols) + "</cols>")
    head.append("<sheetData>")
    yield "".join(head).encode()
    letters = [column_letter(c) for c in range(1, width + 1)]
    formulas_mode = output.formulas
    overrides: dict[tuple[int, int], str] = {}
    for address, formula in output.formula_cells.items():
        match = _A1.match(address)
        overrides[int(match.group(2)), column_number(match.group(1))] = formula
    heights = output.row_heights
    formulas_at: dict[int, dict[int, str]] = {}
    for (r, c), formula in overrides.items():
        formulas_at.setdefault(r, {})[c] = formula
    buffer: list[str] = []
    templates: dict[tuple, str | None] = {}
    band_styles: dict[tuple, list[str]] = {}

    def attributes_of(row_styles: dict | None, length: int) -> list[str]:
        """Each column's style attribute in a band of rows (its formats) for rows of
        ``length`` cells, made once. Styles are made in column order, as cells first use
        them, whichever path writes the row: the same styles.xml either way."""
        attributes = band_styles.get((id(row_styles), length))
        if attributes is None:
            formats = row_styles or {}
            attributes = band_styles[id(row_styles), length] = [style(formats[c]) if c in formats else "" for c in range(1, length + 1)]
        return attributes

    for r, row in enumerate(cells, start=1):
        number = str(r)
        row_styles = styled.get(r)
        row_formulas = formulas_at.get(r)
        parts = []
        if row_formulas is None and not (formulas_mode and any(type(v) is str and v[:1] == "=" for v in row)):
            # The common row: numbers, texts and blanks, no formula. Each shape of row
            # (the type of each value) in each band of formatted rows is written by one
            # template made for it: one str.format call instead of a reference and a cell
            # built per value, for sheets of millions of cells.
            if "" in row:  # an empty text is written as a blank cell is: the template's blank
                row = [None if type(v) is str and not v else v for v in row]
            key = (tuple(map(type, row)), id(row_styles))
            template = templates.get(key)
            if template is None and key not in templates:
                template = templates[key] = _row_template(key[0], letters, attributes_of(row_styles, len(row)))
            fields = _template_fields(row) if template is not None else None
            if fields is not None:
                height_attr = f' ht="{heights[r]}" customHeight="1"' if r in heights else ""
                buffer.append(f'<row r="{number}"{height_attr}>' + template.format(number, *fields) + "</row>")
                if len(buffer) >= chunk_rows:
                    yield "".join(buffer).encode("utf-8", "surrogatepass")
                    buffer = []
                continue
        if row_styles is None and row_formulas is None and not formulas_mode:
            for c, value in enumerate(row):
                kind = type(value)
                if kind is int:
                    parts.append(f'<c r="{letters[c]}{number}"><v>{value}</v></c>')
                elif value is None or value == "":
                    continue
                elif kind is str:
                    parts.append(_text_cell(f"{letters[c]}{number}", "", value))
                else:
                    parts.append(_value_cell(f"{letters[c]}{number}", "", value))
        else:
            attributes = attributes_of(row_styles, len(row))
            computed = output.formula_values
            cached_row = computed[r - 1] if formulas_mode and computed and r <= len(computed) else ()
            for c, value in enumerate(row, start=1):
                s = attributes[c - 1]
                ref = f"{letters[c - 1]}{number}"
                formula = row_formulas.get(c) if row_formulas else None
                if formula is not None:  # a formula over a value: the value is what it shows
                    parts.append(_formula_cell(ref, s, formula, value))
                elif formulas_mode and type(value) is not int and isinstance(value, str) and value.startswith("="):
                    parts.append(_formula_cell(ref, s, value, cached_row[c - 1] if c <= len(cached_row) else None))
                elif value is None and not s:
                    continue
                else:
                    parts.append(_value_cell(ref, s, value))
        height_attr = f' ht="{heights[r]}" customHeight="1"' if r in heights else ""
        body = "".join(parts)  # a blank text or NaN writes no cell: a row of nothing but them is left out
        if body or height_attr:
            buffer.append(f'<row r="{number}"{height_attr}>' + body + "</row>")
        if len(buffer) >= chunk_rows:
            yield "".join(buffer).encode("utf-8", "surrogatepass")
            buffer = []
    # Formats and formulas beyond the cells' rows or columns (none today) are not written.
    buffer.append("</sheetData>")
    if output.merged:
        buffer.append(f'<mergeCells count="{len(output.merged)}">' + "".join(f'<mergeCell ref="{a}"/>' for a in output.merged) + "</mergeCells>")
    buffer.append(_conditional_formats(output, styles))
    buffer.append(_hyperlinks(output))
    buffer.append(_page(output))
    if notes_rid:
        buffer.append(f'<legacyDrawing r:id="{notes_rid}"/>')
    buffer.append("</worksheet>")
    yield "".join(buffer).encode("utf-8", "surrogatepass")


def print_names(output: layout.SheetOutput) -> list[tuple[str, str]]:
    """The sheet-scoped defined names of an output sheet: print titles and print area."""
    from ..model import quote_sheet

    sheet = quote_sheet(output.name)
    names = []
    titles = []
    if output.print_title_rows:
        first, _, last = output.print_title_rows.partition(":")
        titles.append(f"{sheet}!${first}:${last or first}")
    if output.print_title_columns:
        first, _, last = output.print_title_columns.partition(":")
        titles.append(f"{sheet}!${first}:${last or first}")
    if titles:
        names.append(("_xlnm.Print_Titles", ",".join(titles)))
    if output.print_area:
        area = ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in output.print_area.split(":"))
        names.append(("_xlnm.Print_Area", f"{sheet}!{area}"))
    return names



# --------------------------------------------------------------------------- notes

#: The author every note of an output sheet is written under.
NOTE_AUTHOR = "cityopp-xl"


def render_comments(output: layout.SheetOutput) -> bytes:
    """The comments part (``xl/commentsN.xml``) of an output sheet's notes, in cell order."""
    items = []
    for address, text in sorted(output.notes.items(), key=lambda item: _cell_order(item[0])):
        space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
        items.append(f'<comment ref="{address}" authorId="0"><text><t{space}>{_escape(text)}</t></text></comment>')
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}">'
        f"<authors><author>{NOTE_AUTHOR}</author></authors><commentList>{''.join(items)}</commentList></comments>"
    ).encode("utf-8", "surrogatepass")


def render_notes_vml(output: layout.SheetOutput) -> bytes:
    """The legacy VML drawing Excel needs to show the notes of a sheet: one hidden note
    box per note, anchored beside its cell (shown when the cell is pointed at)."""
    shapes = []
    for number, address in enumerate(sorted(output.notes, key=_cell_order), start=1):
        row, column = _cell_order(address)
        # Anchor: left column, offset, top row, offset, right column, offset, bottom row,
        # offset (0-based), a box of three columns by four rows beside the cell.
        anchor = f"{column}, 15, {max(row - 2, 0)}, 10, {column + 3}, 15, {row + 3}, 4"
        shapes.append(
            f'<v:shape id="_x0000_s{1024 + number}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
            f'margin-top:1.5pt;width:216pt;height:75pt;z-index:{number};visibility:hidden" fillcolor="#ffffe1" o:insetmode="auto">'
            '<v:fill color2="#ffffe1"/><v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
            '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:Anchor>{anchor}</x:Anchor><x:AutoFill>False</x:AutoFill>"
            f"<x:Row>{row - 1}</x:Row><x:Column>{column - 1}</x:Column></x:ClientData></v:shape>"
        )
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
        '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        + "".join(shapes)
        + "</xml>"
    ).encode()

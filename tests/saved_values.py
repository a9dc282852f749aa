"""A workbook's formulas given the values a spreadsheet computes, where the file has none.

``with_saved_values(path, out)`` writes a copy of ``path`` in which every formula cell saved
without a value (``<v></v>`` or no ``<v>``) carries the value LibreOffice computes for it,
as Excel stores a formula's value when it saves a workbook it calculated; every other byte
of every part is kept. A workbook whose formulas all have values is copied as it is.
"""

from __future__ import annotations

import html
import re
import shutil
import zipfile
from pathlib import Path

from libreoffice import recalculated_values

from cityopp_xl.adapters.xlsxpackage import Package, replace_parts
from cityopp_xl.model import column_number

# A formula cell saved without a value: no <v>, or an empty one on a cell not typed as a
# string (an empty <v> of a t="str" cell is the empty text, a value). A formula's text holds
# no "<" (it is escaped), so a match never runs into the next cell.
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"((?:(?!t="str")[^>])*)>(<f>[^<]*</f>)(?:<v></v>|<v/>)?</c>')


def formula_cell(ref: str, attributes: str, formula: str, value) -> str:
    """A formula cell's XML (``formula``: its ``<f>`` element) with ``value`` saved as its
    value, typed as Excel types it: a boolean, a number, or else text."""
    if isinstance(value, bool):
        return f'<c r="{ref}"{attributes} t="b">{formula}<v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{attributes}>{formula}<v>{repr(float(value)) if isinstance(value, float) else value}</v></c>'
    return f'<c r="{ref}"{attributes} t="str">{formula}<v>{html.escape(str(value), quote=False)}</v></c>'


def with_saved_values(path: Path, out: Path) -> Path:
    shutil.copy2(path, out)
    package = Package(out)
    try:
        missing = {}
        for entry in package.sheets:
            if entry.part and entry.kind == "worksheet":
                text = package.read(entry.part).decode("utf-8")
                if _CELL.search(text):
                    missing[entry.name] = (entry.part, text)
    finally:
        package.close()
    if not missing:
        return out
    values = recalculated_values(path)
    parts = {}
    for sheet, (part, text) in missing.items():
        rows = values[sheet]

        def filled(match: re.Match) -> str:
            letters, number, attributes, formula = match.groups()
            row = rows[int(number) - 1] if int(number) <= len(rows) else []
            column = column_number(letters) - 1
            value = row[column] if column < len(row) else None
            return formula_cell(f"{letters}{number}", re.sub(r'\s+t="[^"]*"', "", attributes), formula, "" if value is None else value)

        parts[part] = _CELL.sub(filled, text).encode("utf-8")
    replace_parts(out, parts)
    return out

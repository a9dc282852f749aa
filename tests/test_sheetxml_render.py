"""The worksheet writer (:func:`cityopp_xl.adapters.sheetxml.render_sheet`) writes every
cell as the plain per-cell rule says: its value (or formula and cached value) with the
style of the formats covering it, the styles made in the order cells first use them.

The writer takes shortcuts for large sheets (formats by bands of rows, one template per
shape of row); the rule it must match is written out here cell by cell, the simple way,
and compared with what it writes for sheets of every kind of value, format and formula."""

from __future__ import annotations

import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityopp_xl.adapters import layout, printing
from cityopp_xl.adapters.sheetxml import StyleBook, _formula_cell, _value_cell, render_sheet
from cityopp_xl.model import column_letter

EMPTY_STYLES = None  # StyleBook.from_xml(None): a workbook without styles of its own

values = st.one_of(
    st.none(),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 2.0, -0.0, 1e20, 3.25]),
    st.text(alphabet="ab <&>\"' \t\x01é", max_size=6),
    st.sampled_from(["", " spaced", "tail ", "=SUM(A1:B1)", "=A1", "plain"]),
    st.booleans(),
)


def _area(draw, rows: int, columns: int) -> str:
    r1 = draw(st.integers(1, rows + 1))
    r2 = draw(st.integers(r1, rows + 2))
    c1 = draw(st.integers(1, columns + 1))
    c2 = draw(st.integers(c1, columns + 2))
    first = f"{column_letter(c1)}{r1}"
    return first if (r1, c1) == (r2, c2) and draw(st.booleans()) else f"{first}:{column_letter(c2)}{r2}"


@st.composite
def sheets(draw) -> layout.SheetOutput:
    rows = draw(st.integers(1, 12))
    width = draw(st.integers(1, 6))
    # Rows repeat (as the rows of a score sheet do), so that templates are reused.
    pool = draw(st.lists(st.lists(values, min_size=0, max_size=width), min_size=1, max_size=4))
    cells = [list(draw(st.sampled_from(pool))) for _ in range(rows)]
    areas = lambda: [_area(draw, rows, width) for _ in range(draw(st.integers(0, 3)))]  # noqa: E731
    formulas = draw(st.booleans())
    return layout.SheetOutput(
        name="Sheet",
        after="",
        cells=cells,
        bold=areas(),
        number_formats={area: draw(st.sampled_from(["0", "0.00", "0%"])) for area in areas()},
        wrap=areas(),
        align_right=areas(),
        merged=areas(),
        links={area.split(":")[0]: "'Other'!A1" for area in areas()},
        formulas=formulas,
        formula_values=[[draw(values) for _ in row] for row in cells] if formulas and draw(st.booleans()) else None,
        formula_cells={f"{column_letter(draw(st.integers(1, width)))}{draw(st.integers(1, rows))}": "=NOW()" for _ in range(draw(st.integers(0, 2)))},
        row_heights={draw(st.integers(1, rows)): 30.0 for _ in range(draw(st.integers(0, 2)))},
        title_size=draw(st.sampled_from([11, 14])),
    )


def _format_of(output: layout.SheetOutput, row: int, column: int) -> tuple | None:
    """The format of one cell, from every area that covers it (None: not formatted)."""
    fmt, covered = [False, 11, None, None, False, False], False

    def inside(area: str) -> bool:
        rows, columns = printing._areas(area)
        return row in rows and column in columns

    if (row, column) == (1, 1):
        fmt[0], fmt[1], covered = True, output.title_size, True
    rules = (
        [(area, 0, True) for area in output.bold]
        + [(area, 2, code) for area, code in output.number_formats.items()]
        + [(area, 4, True) for area in output.wrap]
        + [(area, 3, "right") for area in output.align_right]
        + [(area.split(":")[0], 4, True) for area in output.merged]
        + [(address, 5, True) for address in output.links]
    )
    for area, field, value in rules:
        if inside(area):
            fmt[field], covered = value, True
    return tuple(fmt) if covered else None


def _cells_one_by_one(output: layout.SheetOutput, styles: StyleBook) -> str:
    """The ``<sheetData>`` the per-cell rule gives."""
    overrides = {}
    for address, formula in output.formula_cells.items():
        match = re.fullmatch(r"([A-Z]+)(\d+)", address)
        overrides[int(match.group(2)), match.group(1)] = formula
    out = []
    for r, row in enumerate(output.cells, start=1):
        parts = []
        for c, value in enumerate(row, start=1):
            fmt = _format_of(output, r, c)
            index = styles.cell_style(fmt) if fmt is not None else 0
            s = f' s="{index}"' if index else ""
            ref = f"{column_letter(c)}{r}"
            if (r, column_letter(c)) in overrides:
                parts.append(_formula_cell(ref, s, overrides[r, column_letter(c)], value))
            elif output.formulas and isinstance(value, str) and value.startswith("="):
                computed = output.formula_values
                cached = computed[r - 1][c - 1] if computed else None
                parts.append(_formula_cell(ref, s, value, cached))
            elif value is None and not s:
                continue
            else:
                parts.append(_value_cell(ref, s, value))  # "" for a blank text or NaN without a style
        parts = [part for part in parts if part]
        height = f' ht="{output.row_heights[r]}" customHeight="1"' if r in output.row_heights else ""
        if parts or height:
            out.append(f'<row r="{r}"{height}>' + "".join(parts) + "</row>")
    return "<sheetData>" + "".join(out) + "</sheetData>"


def _sheet_data(xml: bytes) -> str:
    text = xml.decode("utf-8", "surrogatepass")
    return text[text.index("<sheetData>") : text.index("</sheetData>") + len("</sheetData>")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheets(), st.integers(1, 5))
def test_every_cell_is_written_as_the_per_cell_rule_says(output, chunk_rows):
    written_styles, expected_styles = StyleBook.from_xml(EMPTY_STYLES), StyleBook.from_xml(EMPTY_STYLES)
    written = b"".join(render_sheet(output, written_styles, chunk_rows=chunk_rows))
    assert _sheet_data(written) == _cells_one_by_one(output, expected_styles)
    # The same styles, made in the same order: the same styles.xml.
    assert written_styles.to_xml() == expected_styles.to_xml()


def test_a_large_band_of_formatted_numbers_is_written_cell_by_cell_the_same():
    # The shape of the Indicator scores sheet: one text and many numbers a row, all under
    # one number format, a bold header; whole, half and NaN scores.
    body = [[f"City {r}", *[(r * c) % 7 + (0.5 if c % 3 == 0 else 0) for c in range(1, 40)]] for r in range(1, 300)]
    body[10][5] = math.nan
    body[20][0] = " spaced city"
    cells = [["Title"], [], ["Header", *[f"V{c}" for c in range(1, 40)]], *body]
    output = layout.SheetOutput(
        name="Indicator scores", after="", cells=cells, bold=[f"A3:{column_letter(40)}3"], number_formats={f"B4:{column_letter(40)}{len(cells)}": "0"}
    )
    written_styles, expected_styles = StyleBook.from_xml(EMPTY_STYLES), StyleBook.from_xml(EMPTY_STYLES)
    written = b"".join(render_sheet(output, written_styles))
    assert _sheet_data(written) == _cells_one_by_one(output, expected_styles)
    assert written_styles.to_xml() == expected_styles.to_xml()

"""The presentation sheets of a new workbook: City profile and Charts.

Both are made once, with the workbook (:func:`add_presentation_sheets`, called by
:func:`~cityopp_xl.adapters.xlsx.write_input_workbook`), and Recalculate never touches
them. Every figure on them is a native worksheet formula, and every chart reads cells,
over the owned sheets at fixed addresses: the Overall sheet (rank in column A, city in
B, the dimension scores from C, then Total and Tier, one row per city from row 5) and the
``Dn scores`` sheets (rank, city, the variable scores, Total). Recalculate rewrites those
sheets in place, same names and same layout, in both paths (``cityopp recalc`` and the
Excel ribbon), so the references stay valid and the sheets follow every run without
Python. Lookups go by city name (INDEX/MATCH on the city column), so they work whether the
owned sheets list the cities by rank (values) or in edition order (live formulas).

A formula pointing at a sheet that does not exist is an error some spreadsheet
applications repair away when they open the file, so a new workbook also gets
placeholders for those sheets (:func:`placeholder_outputs`: the title, a "not calculated
yet" note and the header row); before the first Recalculate the presentation sheets show
blanks and a "Recalculate first" note.

Only classic functions are used (INDEX, MATCH, IF, IFERROR, ISNUMBER, ISNA, COUNT, COUNTIF,
MEDIAN, MIN, MAX, SMALL), so no ``_xlfn.`` prefix is needed and LibreOffice computes the
same numbers as Excel.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from pathlib import Path

from openpyxl.chart import BarChart, RadarChart, Reference, Series
from openpyxl.chart.series import SeriesLabel, StrRef
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.chart.text import RichText
from openpyxl.drawing.line import LineProperties
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RichTextProperties
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break

from ..model import Framework, column_letter, quote_sheet
from . import layout, printing
from .xlsx import ALERT_COLOR, FONT_NAME, HEADER_FILL, INPUT_FILL, landscape, score_color_scale, write_sheet

#: Where the Overall and ``Dn scores`` tables sit (the formulas here read their bodies).
SCORE = layout.SCORE_GEOMETRY
#: The City profile's drop-down cell (the chosen city).
CITY_CELL = "C4"
RECALCULATE_FIRST = "Recalculate first: the Overall sheet has no scores yet."
NOT_A_CITY = "Pick a city from the list (the Overall sheet does not list this one)."
#: One colour per dimension in the stacked chart (a qualitative palette, in order).
PALETTE = ("4E79A7", "F28E2B", "E15759", "76B7B2", "59A14F", "EDC948", "B07AA1", "FF9DA7", "9C755F", "BAB0AC")
CITY_COLOR = "C00000"
#: City profile columns: labels and names (B), score, rank, median or dimension, the places
#: from the strongest and the weakest (F, G); the radar chart over G to P.
PROFILE_WIDTHS = {"A": 2, "B": 56, "C": 12, "D": 9, "E": 34, "F": 9} | {chr(c): 9 for c in range(ord("G"), ord("Q"))}
PROFILE_LAST_COLUMN = "P"
#: Width of the Charts table's columns of city names (a name and "and 2 more").
CITY_NAMES_WIDTH = 15
#: Text right of a column of numbers: aligned left and indented, clear of the numbers.
AFTER_NUMBER = Alignment(horizontal="left", indent=2)
#: Rows of the variable list printed on one page; a longer list takes two.
LIST_ROWS_PER_PAGE = 40
#: Variables tied at the city's strongest (weakest) score listed by name; more are counted.
MAX_LISTED = 5
#: Print scales (percent): the City profile's first page and its variable list over two more
#: pages; the Charts sheet's pages are the width of its table.
PROFILE_SCALE = 70
CHARTS_SCALE = 85
MEDIAN_COLOR = "7F7F7F"
#: Centimetres per pixel (96 pixels to the inch) and Excel's pixels per character of width.
_CM_PER_PIXEL = 2.54 / 96


def _cm(width_characters: float) -> float:
    return (width_characters * 7 + 5) * _CM_PER_PIXEL


def _bold(size: float = 11, color: str | None = None) -> Font:
    return Font(name=FONT_NAME, size=size, bold=True, color=color)


def _column(sheet: str, column: str | int, n: int) -> str:
    """An absolute body column of an owned sheet (a :data:`SCORE` column), e.g.
    ``Overall!$C$5:$C$64``."""
    return f"{quote_sheet(sheet)}!{SCORE.data_range(column, n, absolute=True)}"


# --------------------------------------------------------------------------- placeholders


def placeholder_outputs(framework: Framework, n: int) -> list[layout.SheetOutput]:
    """The ``Dn scores`` and Overall sheets of a workbook not yet recalculated: their
    title, a note and the header row they will have, so that formulas and charts pointing
    at them are valid from the start. Recalculate replaces them in place."""
    note = "Not calculated yet: Recalculate (the CityOpp tab in Excel, or cityopp recalc on any computer) writes this sheet."
    dimensions = list(framework.dimensions)
    tables = [
        (layout.score_sheet(position), layout.data_sheet(position), f"{dimension}: scores", [v.name for v in framework.variables_of(dimension)], ["Total"])
        for position, dimension in enumerate(dimensions, start=1)
    ]
    tables.append((layout.SHEET_OVERALL, layout.score_sheet(len(dimensions)), "Overall scores", dimensions, ["Total", "Tier"]))
    outputs = []
    for name, after, title, scored, after_scores in tables:
        header = ["Rank", "City", *scored, *after_scores]
        header_range = SCORE.header_range(len(header))
        outputs.append(
            layout.SheetOutput(
                name=name,
                after=after,
                cells=SCORE.top([[title], [note], [None]], header),
                bold=[header_range],
                widths=SCORE.column_widths(len(scored) + 1, len(after_scores) - 1),
                freeze=SCORE.freeze,
                wrap=[header_range],
                print_title_rows=SCORE.print_title_rows,
                pages_tall=printing.pages_tall(n),
            )
        )
    return [printing.polish(output) for output in outputs]


# --------------------------------------------------------------------------- the workbook


def add_presentation_sheets(book, framework: Framework, cities: list[str]) -> dict[str, dict[str, object]]:
    """Add the placeholders of the owned sheets that are missing, then the City profile
    and Charts sheets right after the About sheet, to an openpyxl workbook. Returns what
    each formula of the two sheets shows before the first Recalculate ({sheet: {cell:
    value}}): openpyxl saves formulas without values, :func:`save_cached_values` adds them."""
    n = len(cities)
    for output in placeholder_outputs(framework, n):
        if output.name in book.sheetnames:
            continue
        index = book.sheetnames.index(output.after) + 1 if output.after in book.sheetnames else len(book.sheetnames)
        write_sheet(book.create_sheet(output.name, index), output)
    place = book.sheetnames.index(layout.SHEET_ABOUT) + 1 if layout.SHEET_ABOUT in book.sheetnames else 0
    empty = Shown([], [[] for _ in framework.dimensions], cities[0] if cities else None)
    profile = book.create_sheet(layout.SHEET_CITY_PROFILE, place)
    shows = {layout.SHEET_CITY_PROFILE: _city_profile(profile, framework, cities, empty)}
    charts = book.create_sheet(layout.SHEET_CHARTS, place + 1)
    shows[layout.SHEET_CHARTS] = _charts(charts, framework, n, empty)
    # A spreadsheet application computes every formula on open anyway.
    book.calculation.fullCalcOnLoad = True
    return shows


def presentation_values(path: Path, framework: Framework, cities: list[str]) -> dict[str, dict[str, object]]:
    """What each formula of the City profile and Charts sheets of the workbook at ``path``
    shows, from the values its Overall and ``Dn scores`` sheets hold and the city picked
    in :data:`CITY_CELL`: {sheet: {cell: value}}, computed by the same renderers that write
    the formulas (on a scratch sheet), so each value is worked out beside its formula."""
    import openpyxl

    n = len(cities)
    book = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:

        def body(name: str) -> list[list]:
            if name not in book.sheetnames:
                return []
            return [list(row) for row in book[name].iter_rows(min_row=SCORE.first_row, max_row=SCORE.last_row(n), values_only=True)]

        picked = None
        if layout.SHEET_CITY_PROFILE in book.sheetnames:
            found = list(book[layout.SHEET_CITY_PROFILE].iter_rows(min_row=4, max_row=4, values_only=True))
            column = layout.column_number(CITY_CELL[0]) - 1
            picked = found[0][column] if found and len(found[0]) > column else None
        shown = Shown(body(layout.SHEET_OVERALL), [body(layout.score_sheet(k)) for k in range(1, len(framework.dimensions) + 1)], picked)
    finally:
        book.close()
    scratch = openpyxl.Workbook()
    return {
        layout.SHEET_CITY_PROFILE: _city_profile(scratch.create_sheet(layout.SHEET_CITY_PROFILE), framework, cities, shown),
        layout.SHEET_CHARTS: _charts(scratch.create_sheet(layout.SHEET_CHARTS), framework, n, shown),
    }


def save_cached_values(path: Path, shows: dict[str, dict[str, object]]) -> None:
    """Save ``shows`` ({sheet: {cell: value}}) as the cached values of those formula cells
    of the workbook at ``path``, so that a viewer that does not recalculate (a preview, a
    web viewer) shows them; every other part is copied as stored, and the file is
    replaced whole or not at all. For the sheets this module made only: the presentation
    sheets are not the add-in's, so Recalculate never calls this."""
    from lxml import etree

    from .xlsxpackage import Package, replace_parts

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    package = Package(path)
    try:
        parts = {entry.part: entry.name for entry in package.sheets if entry.name in shows and entry.part}
        changed = {}
        for part, name in parts.items():
            root = etree.fromstring(package.read(part))
            values = shows[name]
            for cell in root.iter(f"{main}c"):
                formula = cell.find(f"{main}f")
                ref = cell.get("r")
                if formula is None or ref not in values:
                    continue
                for old in cell.findall(f"{main}v"):
                    cell.remove(old)
                value = values[ref]
                cached = etree.SubElement(cell, f"{main}v")
                if isinstance(value, bool):
                    cell.set("t", "b")
                    cached.text = str(int(value))
                elif _is_number(value):
                    cell.attrib.pop("t", None)
                    cached.text = repr(value) if isinstance(value, float) else str(value)
                else:
                    cell.set("t", "str")
                    cached.text = "" if value is None else str(value)
            changed[part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    finally:
        package.close()
    if changed:
        replace_parts(path, changed)


def cache_formula_values(path: Path, framework: Framework, cities: list[str]) -> None:
    """Give the City profile and Charts formulas of the workbook at ``path`` the values they
    show now (:func:`presentation_values`, :func:`save_cached_values`): the build does it
    after the master's Recalculate, so the shipped file shows its figures in any viewer."""
    save_cached_values(path, presentation_values(path, framework, cities))


def _title(sheet, text: str, note: str, last_column: str) -> None:
    sheet["A1"] = text
    sheet["A1"].font = _bold(layout.TITLE_FONT_SIZE)
    _note(sheet, 2, note, last_column)


def _header_cells(sheet, row: int, first_column: int, values: list[str], text_columns: tuple[int, ...] = (0,)) -> None:
    """Bold shaded headers from ``first_column``; the ``text_columns`` (offsets) are
    aligned left like their text, the others right like their numbers."""
    for offset, value in enumerate(values):
        cell = sheet.cell(row=row, column=first_column + offset, value=value)
        cell.font = _bold()
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="bottom", horizontal="left" if offset in text_columns else "right", indent=2 if offset in text_columns and offset else 0)
    lines = max(printing.text_lines(v, sheet.column_dimensions[column_letter(first_column + i)].width or printing.DEFAULT_WIDTH) for i, v in enumerate(values))
    sheet.row_dimensions[row].height = lines * printing.LINE_HEIGHT


def _note(sheet, row: int, text: str, last_column: str) -> None:
    """A note wrapped across columns A to ``last_column``, as tall as its lines."""
    sheet.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(f"A{row}:{last_column}{row}")
    width = sum(sheet.column_dimensions[column_letter(c)].width or printing.DEFAULT_WIDTH for c in range(1, layout.column_number(last_column) + 1))
    sheet.row_dimensions[row].height = printing.text_lines(text, width, printing.NOTE_FILL) * printing.LINE_HEIGHT


def _print_setup(sheet, area: str, breaks: list[int], scale: int) -> None:
    """Landscape A4 pages at a fixed ``scale`` (percent) with narrow margins, a new page
    after each row of ``breaks``. A fixed scale, not "fit to page": Excel ignores manual
    page breaks when it fits a sheet to pages, and each page here is laid out to fit."""
    landscape(sheet)
    sheet.sheet_properties.pageSetUpPr.fitToPage = False
    # At most ``scale``, and no larger than lets the printed columns fit across the page
    # (841.9 points of A4 landscape less the two 0.4-inch margins).
    last = layout.column_number("".join(c for c in area.split(":")[-1] if c.isalpha()))
    points = sum(printing.column_points(sheet.column_dimensions[column_letter(c)].width or printing.DEFAULT_WIDTH) for c in range(1, last + 1))
    sheet.page_setup.scale = min(scale, math.floor(100 * (841.9 - 2 * 0.4 * 72) / points))
    sheet.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5, header=0.2, footer=0.25)
    sheet.print_area = area
    for row in breaks:
        sheet.row_breaks.append(Break(id=row))


def _rank_colors(n: int) -> ColorScaleRule:
    # A rank among n cities: 1 green, the middle yellow, n red (fixed, whatever the city).
    return ColorScaleRule(
        start_type="num", start_value=1, start_color="63BE7B",
        mid_type="num", mid_value=(n + 1) / 2, mid_color="FFEB84",
        end_type="num", end_value=n, end_color="F8696B",
    )


# --------------------------------------------------------------------------- cached values


@dataclass
class Shown:
    """What the owned sheets hold, as the presentation formulas read it: the body rows (from
    :data:`SCORE`'s first body row, one per city, columns from A) of the Overall sheet and of each
    ``Dn scores`` sheet, and the city picked in :data:`CITY_CELL`. Empty rows stand for
    placeholders (a workbook not yet recalculated)."""

    overall: list[list]
    scores: list[list[list]]
    city: object = None

    def overall_column(self, position: int) -> list:
        return _body_column(self.overall, position)


def _body_column(rows: list[list], position: int) -> list:
    return [row[position] if position < len(row) else None for row in rows]


def _is_number(value) -> bool:
    return type(value) in (int, float)


def _numbers(values) -> list:
    return [v for v in values if _is_number(v)]


def _text(value) -> str:
    """A value joined into text as a spreadsheet's ``&`` does it (60, not 60.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _match(value, column: list) -> int | None:
    """MATCH(value, column, 0): the position of the first equal cell (text compared
    without case), or None (#N/A)."""
    if value is None or value == "":
        return None
    key = value.casefold() if isinstance(value, str) else value
    for position, cell in enumerate(column):
        if (cell.casefold() if isinstance(cell, str) else cell) == key and cell is not None:
            return position
    return None


def _index(column: list, position: int | None):
    """IFERROR(INDEX(column, position), ""): an empty cell reads as 0."""
    if position is None:
        return ""
    value = column[position]
    return 0 if value is None else value


def _median(column: list):
    """IF(COUNT(column)=0, "", MEDIAN(column))."""
    numbers = sorted(_numbers(column))
    if not numbers:
        return ""
    middle = len(numbers) // 2
    value = numbers[middle] if len(numbers) % 2 else (numbers[middle - 1] + numbers[middle]) / 2
    return int(value) if float(value).is_integer() else value


class _Cells:
    """Formulas written on an openpyxl sheet, each with the value it shows (:class:`Shown`),
    kept to be saved as the formula's cached value (:func:`cache_formula_values`)."""

    def __init__(self, sheet):
        self.sheet = sheet
        self.values: dict[str, object] = {}

    def put(self, ref: str, formula: str, value):
        self.sheet[ref] = formula
        self.values[ref] = value
        return self.sheet[ref]


# --------------------------------------------------------------------------- City profile


def _city_profile(sheet, framework: Framework, cities: list[str], shown: "Shown") -> dict[str, object]:
    """Write the City profile; returns what each of its formulas shows for ``shown``."""
    n = len(cities)
    dimensions = list(framework.dimensions)
    variables = list(framework.variables)
    count = len(dimensions)
    cells = _Cells(sheet)
    city = f"${CITY_CELL[0]}${CITY_CELL[1:]}"
    overall_city = _column(layout.SHEET_OVERALL, "city", n)
    overall_rank = _column(layout.SHEET_OVERALL, "rank", n)
    total = _column(layout.SHEET_OVERALL, count, n)
    tier = _column(layout.SHEET_OVERALL, count + 1, n)
    match_overall = f"MATCH({city},{overall_city},0)"
    # The same figures in Python, from the values the owned sheets hold (the cached values).
    picked = shown.city
    at = _match(picked, shown.overall_column(SCORE.index("city")))
    for letter, width in PROFILE_WIDTHS.items():
        sheet.column_dimensions[letter].width = width

    cells.put("A1", f'=IF({city}="","City profile","City profile: "&{city})', "City profile" if picked in (None, "") else f"City profile: {_text(picked)}")
    sheet["A1"].font = _bold(layout.TITLE_FONT_SIZE)
    _note(
        sheet,
        2,
        f"Pick a city in {CITY_CELL} (a drop-down list of the Cities sheet). Every figure here is a worksheet formula over the Overall "
        "and 'Dn scores' sheets, so it follows every Recalculate and needs no Python. Rank: among the "
        f"{n} cities, 1 = best, tied scores share the better rank.",
        PROFILE_LAST_COLUMN,
    )
    sheet["B4"] = "City (pick from the list)"
    sheet["B4"].font = _bold()
    choice = sheet[CITY_CELL]
    choice.value = cities[0] if cities else None
    choice.font = _bold(12)
    choice.fill = INPUT_FILL
    edge = Side(style="medium", color="7F7F7F")
    choice.border = Border(left=edge, right=edge, top=edge, bottom=edge)
    cells.put(
        "D4",
        f'=IF(COUNT({overall_rank})=0,"{RECALCULATE_FIRST}",IF(ISNA({match_overall}),"{NOT_A_CITY}",""))',
        RECALCULATE_FIRST if not _numbers(shown.overall_column(SCORE.index("rank"))) else NOT_A_CITY if at is None else "",
    )
    sheet["D4"].font = _bold(color=ALERT_COLOR)
    pick = DataValidation(
        type="list",
        formula1=f"{quote_sheet(layout.SHEET_CITIES)}!$A${layout.TABLE_HEADER_ROW + 1}:$A${layout.TABLE_HEADER_ROW + n}",
        allow_blank=False,
        showErrorMessage=True,
        showInputMessage=True,
    )
    pick.error = "Pick a city from the list (the Cities sheet)."
    pick.errorTitle = "City profile"
    pick.prompt = "Pick a city: every figure on this sheet follows it."
    pick.promptTitle = "City"
    sheet.add_data_validation(pick)
    pick.add(CITY_CELL)

    for row, (label, formula, column) in enumerate(
        [
            ("Overall score", f'=IFERROR(INDEX({total},{match_overall}),"")', SCORE.index(count)),
            ("Overall rank", f'=IFERROR(INDEX({overall_rank},{match_overall}),"")', SCORE.index("rank")),
            ("Tier", f'=IFERROR(INDEX({tier},{match_overall}),"")', SCORE.index(count + 1)),
        ],
        start=5,
    ):
        sheet.cell(row=row, column=2, value=label).font = _bold()
        cell = cells.put(f"C{row}", formula, _index(shown.overall_column(column), at))
        cell.font = _bold(12)
        cell.alignment = Alignment(horizontal="right")
    cells.put("D6", f'=IF(ISNUMBER(C6),"of {n}","")', f"of {n}" if _is_number(cells.values["C6"]) else "")
    sheet["D6"].alignment = Alignment(indent=1)

    # The ten dimensions: score, rank, and the median city for comparison.
    head = 9
    _header_cells(sheet, head, 2, ["Dimension", "Score", "Rank", "Median of all cities"])
    first, last = head + 1, head + count
    for offset, dimension in enumerate(dimensions):
        row = first + offset
        scores_sheet, scores = layout.score_sheet(offset + 1), shown.scores[offset]
        column = _column(layout.SHEET_OVERALL, offset, n)
        sheet.cell(row=row, column=2, value=dimension)
        cells.put(f"C{row}", f'=IFERROR(INDEX({column},{match_overall}),"")', _index(shown.overall_column(SCORE.index(offset)), at))
        cells.put(
            f"D{row}",
            f'=IFERROR(INDEX({_column(scores_sheet, "rank", n)},MATCH({city},{_column(scores_sheet, "city", n)},0)),"")',
            _index(_body_column(scores, SCORE.index("rank")), _match(picked, _body_column(scores, SCORE.index("city")))),
        )
        cells.put(f"E{row}", f'=IF(COUNT({column})=0,"",MEDIAN({column}))', _median(shown.overall_column(SCORE.index(offset))))
    overall_row = last + 1
    sheet.cell(row=overall_row, column=2, value="Overall (sum of the dimensions)")
    cells.put(f"C{overall_row}", "=C5", cells.values["C5"])
    cells.put(f"D{overall_row}", "=C6", cells.values["C6"])
    cells.put(f"E{overall_row}", f'=IF(COUNT({total})=0,"",MEDIAN({total}))', _median(shown.overall_column(SCORE.index(count))))
    for column in range(2, 6):
        sheet.cell(row=overall_row, column=column).font = _bold()
        sheet.cell(row=overall_row, column=column).border = Border(top=Side(style="thin"))
    sheet.conditional_formatting.add(f"D{first}:D{last}", _rank_colors(n))

    # Page 2: every variable score of the city, by dimension with the dimension's subtotal,
    # and each variable's place within the city; above the list, the city's strongest and
    # weakest scores and how many variables are at each.
    strong_head = overall_row + 2
    weak_head = strong_head + MAX_LISTED + 2
    all_title = weak_head + MAX_LISTED + 3
    extremes = {"strongest": all_title + 2, "weakest": all_title + 3}
    all_head = all_title + 4
    rows = []  # (kind, dimension position, variable position, variable) per row of the list
    # A long list goes on over a second page after half of the dimensions, under its
    # header row again.
    split_after = (count + 1) // 2 if len(variables) + count > LIST_ROWS_PER_PAGE else None
    for dimension_position, dimension in enumerate(dimensions, start=1):
        rows += [("variable", dimension_position, variable_position, variable) for variable_position, variable in enumerate(framework.variables_of(dimension))]
        rows.append(("subtotal", dimension_position, None, None))
        if dimension_position == split_after and dimension_position < count:
            rows.append(("header", dimension_position, None, None))
    v_first, v_last = all_head + 1, all_head + len(rows)
    list_header = ["Variable", "Score", "Rank", "Dimension", "Strongest", "Weakest"]
    breaks = [all_title - 2]
    score_range, dimension_range = f"$C${v_first}:$C${v_last}", f"$E${v_first}:$E${v_last}"
    places = {"strongest": f"$F${v_first}:$F${v_last}", "weakest": f"$G${v_first}:$G${v_last}"}
    sheet.cell(row=all_title, column=1, value="All variable scores of the city").font = _bold(12)
    _note(
        sheet,
        all_title + 1,
        f"Each variable score 1 to {n} (best city {n}) from the 'Dn scores' sheets, and each dimension's score (the sum of its variables); Rank among the {n} cities; "
        "Strongest and Weakest: the variable's place in the city from its highest and from its lowest score (equal scores in framework order).",
        PROFILE_LAST_COLUMN,
    )
    _header_cells(sheet, all_head, 2, list_header, text_columns=(0, 3))
    listed: list[dict] = []  # the Python side of each row: name, score, rank, dimension, places
    subtotal_font = _bold()
    dimension_first = v_first
    for offset, (kind, dimension_position, variable_position, variable) in enumerate(rows):
        row = v_first + offset
        dimension = dimensions[dimension_position - 1]
        scores_sheet, scores = layout.score_sheet(dimension_position), shown.scores[dimension_position - 1]
        if kind == "header":
            breaks.append(row - 1)
            _header_cells(sheet, row, 2, list_header, text_columns=(0, 3))
            listed.append({"name": list_header[0], "score": list_header[1], "rank": list_header[2], "dimension": None})
            dimension_first = row + 1
            continue
        if kind == "subtotal":
            span = f"C{dimension_first}:C{row - 1}"
            sheet.cell(row=row, column=2, value=f"{dimension}: dimension score")
            above = [entry["score"] for entry in listed[-(row - dimension_first):]]
            cells.put(f"C{row}", f'=IF(COUNT({span})=0,"",SUM({span}))', sum(v for v in above if _is_number(v)) if _numbers(above) else "")
            cells.put(f"D{row}", f"=D{first + dimension_position - 1}", cells.values[f"D{first + dimension_position - 1}"])
            for column in range(2, 5):
                sheet.cell(row=row, column=column).font = subtotal_font
                sheet.cell(row=row, column=column).border = Border(top=Side(style="thin"))
            listed.append({"name": f"{dimension}: dimension score", "score": cells.values[f"C{row}"], "rank": cells.values[f"D{row}"], "dimension": None})
            dimension_first = row + 1
            continue
        column = _column(scores_sheet, variable_position, n)
        sheet.cell(row=row, column=2, value=variable.name)
        cells.put(f"C{row}", f'=IFERROR(INDEX({column},MATCH({city},{_column(scores_sheet, "city", n)},0)),"")', _index(_body_column(scores, SCORE.index(variable_position)), _match(picked, _body_column(scores, SCORE.index("city")))))
        value = cells.values[f"C{row}"]
        cells.put(f"D{row}", f'=IF(ISNUMBER(C{row}),COUNTIF({column},">"&C{row})+1,"")', sum(1 for v in _numbers(_body_column(scores, SCORE.index(variable_position))) if v > value) + 1 if _is_number(value) else "")
        sheet.cell(row=row, column=5, value=variable.dimension)
        listed.append({"name": variable.name, "score": value, "rank": cells.values[f"D{row}"], "dimension": variable.dimension})
    # A place among the city's variables (subtotal rows, with no dimension in column E, left
    # out): the scores above (below) it, plus the equal scores up to this row, so that equal
    # scores keep the framework order.
    own = [entry["score"] for entry in listed if entry["dimension"] is not None and _is_number(entry["score"])]
    for offset, entry in enumerate(listed):
        if entry["dimension"] is None:
            continue
        row = v_first + offset
        value = entry["score"]
        equal_so_far = f"COUNTIFS($C${v_first}:C{row},C{row},$E${v_first}:E{row},\"<>\")"
        so_far = sum(1 for e in listed[: offset + 1] if e["dimension"] is not None and e["score"] == value) if _is_number(value) else 0
        for letter, sign, key in (("F", ">", "strongest"), ("G", "<", "weakest")):
            beyond = sum(1 for v in own if (v > value if sign == ">" else v < value)) if _is_number(value) else 0
            entry[key] = beyond + so_far if _is_number(value) else ""
            cells.put(f"{letter}{row}", f'=IF(ISNUMBER(C{row}),COUNTIFS({score_range},"{sign}"&C{row},{dimension_range},"<>")+{equal_so_far},"")', entry[key])
    sheet.conditional_formatting.add(f"D{v_first}:D{v_last}", _rank_colors(n))

    # The city's strongest and weakest score, and how many variables are at each.
    for key, row in extremes.items():
        sheet.cell(row=row, column=2, value=f"{key.capitalize()} score of the city").font = _bold()
        at_place = next((e for e in listed if e.get(key) == 1), None)
        extreme = at_place["score"] if at_place else ""
        cells.put(f"C{row}", f'=IFERROR(INDEX({score_range},MATCH(1,{places[key]},0)),"")', extreme)
        tied = sum(1 for v in own if v == extreme) if _is_number(extreme) else ""
        cells.put(f"D{row}", f'=IF(ISNUMBER(C{row}),COUNTIFS({score_range},C{row},{dimension_range},"<>"),"")', tied)
        cells.put(f"E{row}", f'=IF(ISNUMBER(D{row}),IF(D{row}=1,"variable","variables")&" at this score","")', ("variable" if tied == 1 else "variables") + " at this score" if _is_number(tied) else "")
        sheet.cell(row=row, column=5).alignment = AFTER_NUMBER

    # Every variable at the strongest (weakest) score, found by its place in the city; more
    # than MAX_LISTED are counted instead ("25 variables at 60").
    for head_row, title, key in ((strong_head, "Strongest variables", "strongest"), (weak_head, "Weakest variables", "weakest")):
        _header_cells(sheet, head_row, 2, [title, "Score", "Rank", "Dimension"], text_columns=(0, 3))
        tied_cell, score_cell = f"$D${extremes[key]}", f"$C${extremes[key]}"
        tied, extreme = cells.values[f"D{extremes[key]}"], cells.values[f"C{extremes[key]}"]
        for k in range(1, MAX_LISTED + 1):
            row = head_row + k
            found = f"MATCH({k},{places[key]},0)"
            entry = next((e for e in listed if e.get(key) == k), None)
            for column, source, field_name in ((2, "B", "name"), (3, "C", "score"), (4, "D", "rank"), (5, "E", "dimension")):
                lookup = f"INDEX(${source}${v_first}:${source}${v_last},{found})"
                if column == 2 and k == 1:
                    formula = f'=IF(NOT(ISNUMBER({tied_cell})),"",IF({tied_cell}>{MAX_LISTED},{tied_cell}&" variables at "&{score_cell}&": see the next page",{lookup}))'
                    value = "" if not _is_number(tied) else f"{tied} variables at {_text(extreme)}: see the next page" if tied > MAX_LISTED else entry[field_name]
                else:
                    formula = f'=IF(NOT(ISNUMBER({tied_cell})),"",IF(OR({tied_cell}>{MAX_LISTED},{k}>{tied_cell}),"",{lookup}))'
                    value = "" if not _is_number(tied) or tied > MAX_LISTED or k > tied else entry[field_name]
                cells.put(f"{column_letter(column)}{row}", formula, value)
            sheet.cell(row=row, column=5).alignment = AFTER_NUMBER  # dimension names after the ranks
        sheet.conditional_formatting.add(f"D{head_row + 1}:D{head_row + MAX_LISTED}", _rank_colors(n))
    sheet.cell(
        row=weak_head + MAX_LISTED + 1,
        column=2,
        value=f"Every variable at the city's strongest and at its weakest score is listed, up to {MAX_LISTED}; more are counted, and every variable is on the next page.",
    ).font = Font(name=FONT_NAME, size=9, italic=True)

    for row in range(first, overall_row + 1):
        for column in (3, 4):
            sheet.cell(row=row, column=column).number_format = "0"
        sheet.cell(row=row, column=5).number_format = "0.0"  # a median of an even count may end in .5
    for offset, entry in enumerate(listed):
        if entry["dimension"] is not None:
            sheet.cell(row=v_first + offset, column=5).alignment = AFTER_NUMBER

    chart = RadarChart(type="marker")
    chart.title = "Dimension scores against the median city"
    chart.title.tx.rich.p[0].pPr = ParagraphProperties(defRPr=CharacterProperties(sz=1200, b=True))
    chart.style = 2
    labels = Reference(sheet, min_col=2, min_row=first, max_row=last)
    for column, color, label in ((3, CITY_COLOR, StrRef(f"{quote_sheet(sheet.title)}!{city}")), (5, MEDIAN_COLOR, StrRef(f"{quote_sheet(sheet.title)}!$E${head}"))):
        series = Series(Reference(sheet, min_col=column, min_row=first, max_row=last), title=None)
        series.tx = SeriesLabel(strRef=label)
        series.graphicalProperties.line.solidFill = color
        series.graphicalProperties.line.width = 28575 if column == 3 else 19050
        if column == 5:
            series.graphicalProperties.line.dashStyle = "dash"
        series.marker.symbol = "circle" if column == 3 else "none"
        series.marker.size = 5
        series.marker.graphicalProperties = GraphicalProperties(solidFill=color, ln=LineProperties(solidFill=color))
        series.smooth = False
        chart.series.append(series)
    chart.set_categories(labels)
    best = max(n * len(framework.variables_of(d)) for d in dimensions)
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = best
    chart.y_axis.majorUnit = max(n, 1)
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.y_axis.txPr = _text_properties(700)
    chart.x_axis.txPr = _text_properties(900)
    chart.legend.position = "b"
    chart.legend.txPr = _text_properties(900)
    chart.width = _cm(sum(PROFILE_WIDTHS[column_letter(c)] for c in range(7, 17)))
    chart.height = 14.5
    sheet.add_chart(chart, "G4")

    sheet.freeze_panes = "A5"
    _print_setup(sheet, f"A1:{PROFILE_LAST_COLUMN}{v_last}", breaks, scale=PROFILE_SCALE)
    return cells.values


# --------------------------------------------------------------------------- Charts


def _text_properties(size: int, rotation: int | None = None, bold: bool = False) -> RichText:
    """Chart text properties: ``size`` in hundredths of a point, rotation in degrees."""
    body = RichTextProperties(rot=rotation * 60000 if rotation is not None else None, vert="horz" if rotation is not None else None)
    return RichText(bodyPr=body, p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(sz=size, b=bold)), endParaRPr=CharacterProperties(sz=size))])


def _charts(sheet, framework: Framework, n: int, shown: Shown) -> dict[str, object]:
    """Write the Charts sheet; returns what each of its formulas shows for ``shown``."""
    dimensions = list(framework.dimensions)
    count = len(dimensions)
    cells = _Cells(sheet)
    # Printed part (columns A to M): the two charts and the dimension table, whose city
    # columns (B, F) are wider.
    widths = {"A": 30} | {column_letter(c): 10 for c in range(2, 14)} | {"B": CITY_NAMES_WIDTH, "F": CITY_NAMES_WIDTH}
    # Right of it, on screen only: the chart's data, the cities in rank order.
    table = 15  # column O
    widths |= {"N": 3, column_letter(table): layout.WIDTH_CITY, column_letter(table + 1): 6}
    widths |= {column_letter(table + 2 + i): 13 for i in range(count)} | {column_letter(table + 2 + count): 9}
    widths |= {column_letter(table + 3 + count): 9, column_letter(table + 4 + count): 9}
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width
    printed = "M"
    page_width = sum(widths[column_letter(c)] for c in range(1, 14))
    _title(
        sheet,
        "Charts",
        "Drawn from the Overall sheet through worksheet formulas (the tables beside each chart), so they follow every Recalculate and need no Python.",
        printed,
    )

    # The cities in rank order (ties in Overall order), whatever order the Overall sheet
    # lists them in: a sort key per Overall row (rank + row/10000), then the k-th smallest.
    head = 6
    first, last = head + 1, head + n
    city_letter = column_letter(table)
    key_letter, row_letter = column_letter(table + 3 + count), column_letter(table + 4 + count)
    keys = f"${key_letter}${first}:${key_letter}${last}"
    sheet.cell(row=4, column=table, value="The chart's data: overall scores in rank order").font = _bold(12)
    sheet.cell(row=5, column=table, value="Read from the Overall sheet; tied cities keep its order. The two grey columns only sort the rows.")
    _header_cells(sheet, head, table, ["City", "Rank", *dimensions, "Total"])
    for offset, value in enumerate(["Sort key", "Overall row"]):
        cell = sheet.cell(row=head, column=table + 3 + count + offset, value=value)
        cell.font = Font(name=FONT_NAME, size=9, italic=True, color="7F7F7F")
        cell.alignment = Alignment(horizontal="right", vertical="bottom")
    overall = quote_sheet(layout.SHEET_OVERALL)
    sources = ["city", "rank", *range(count + 1)]
    ranks = shown.overall_column(SCORE.index("rank"))
    key_values = [ranks[k - 1] + k / 10000 if k <= len(ranks) and _is_number(ranks[k - 1]) else "" for k in range(1, n + 1)]
    in_order = sorted(_numbers(key_values))
    for k in range(1, n + 1):
        row = first + k - 1
        rank = f"{overall}!${SCORE.letter('rank')}${SCORE.row(k - 1)}"
        cells.put(f"{key_letter}{row}", f'=IF(ISNUMBER({rank}),{rank}+{k}/10000,"")', key_values[k - 1])
        found = key_values.index(in_order[k - 1]) + 1 if k <= len(in_order) else ""
        cells.put(f"{row_letter}{row}", f'=IFERROR(MATCH(SMALL({keys},{k}),{keys},0),"")', found)
        for offset, source in enumerate(sources):
            value = "" if found == "" else _index(shown.overall_column(SCORE.index(source)), found - 1)
            cell = cells.put(f"{column_letter(table + offset)}{row}", f'=IF(${row_letter}{row}="","",INDEX({_column(layout.SHEET_OVERALL, source, n)},${row_letter}{row}))', value)
            if offset:
                cell.number_format = layout.SCORE_FORMAT
        for column in (key_letter, row_letter):
            sheet[f"{column}{row}"].font = Font(name=FONT_NAME, size=9, color="7F7F7F")
    for offset in range(count + 1):
        letter = column_letter(table + 2 + offset)
        sheet.conditional_formatting.add(f"{letter}{first}:{letter}{last}", score_color_scale())

    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.gapWidth = 35
    chart.title = f"Overall score of each city in rank order: its {count} dimension scores stacked"
    chart.title.tx.rich.p[0].pPr = ParagraphProperties(defRPr=CharacterProperties(sz=1300, b=True))
    for i in range(count):
        letter = column_letter(table + 2 + i)
        series = Series(Reference(sheet, range_string=f"{quote_sheet(sheet.title)}!${letter}${first}:${letter}${last}"), title=None)
        series.tx = SeriesLabel(strRef=StrRef(f"{quote_sheet(sheet.title)}!${letter}${head}"))
        series.graphicalProperties.solidFill = PALETTE[i % len(PALETTE)]
        series.graphicalProperties.line.noFill = True
        chart.series.append(series)
    chart.set_categories(Reference(sheet, range_string=f"{quote_sheet(sheet.title)}!${city_letter}${first}:${city_letter}${last}"))
    chart.x_axis.tickLblSkip = 1
    chart.x_axis.txPr = _text_properties(750, rotation=-90)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.title = "Overall score (sum of the dimension scores)"
    chart.y_axis.txPr = _text_properties(800)
    chart.y_axis.scaling.min = 0
    chart.legend.position = "b"
    chart.legend.txPr = _text_properties(800)
    chart.width = _cm(page_width) - 0.3
    chart.height = 15.5
    sheet.add_chart(chart, "A4")

    # Page 2: each dimension's spread across the cities.
    spread_title = 36
    spread_head = spread_title + 2
    sheet.cell(row=spread_title, column=1, value="Each dimension across the cities").font = _bold(12)
    _note(
        sheet,
        spread_title + 1,
        f"The lowest, median and highest city score of each dimension (a dimension of k variables scores at most {n}k), and the lowest and highest "
        "city by name (with the number of others tied with it, in the Overall sheet's order).",
        "F",
    )
    _header_cells(sheet, spread_head, 1, ["Dimension", "Lowest city", "Lowest", "Median", "Highest", "Highest city"], text_columns=(0, 1, 5))
    cities_column = _column(layout.SHEET_OVERALL, "city", n)
    for offset, dimension in enumerate(dimensions):
        row = spread_head + 1 + offset
        column = _column(layout.SHEET_OVERALL, offset, n)
        values = shown.overall_column(SCORE.index(offset))
        numbers = _numbers(values)
        sheet.cell(row=row, column=1, value=dimension)
        for letter, function, value in (("C", "MIN", min(numbers, default="")), ("D", "MEDIAN", _median(values)), ("E", "MAX", max(numbers, default=""))):
            cells.put(f"{letter}{row}", f'=IF(COUNT({column})=0,"",{function}({column}))', value)
            sheet[f"{letter}{row}"].number_format = "0.0" if function == "MEDIAN" else "0"
        for letter, function, extreme in (("B", "MIN", min(numbers, default=None)), ("F", "MAX", max(numbers, default=None))):
            found = f"{function}({column})"
            tied = f"COUNTIF({column},{found})"
            others = values.count(extreme) - 1 if extreme is not None else 0
            name = "" if extreme is None else _text(_index(shown.overall_column(SCORE.index("city")), values.index(extreme))) + (f" and {others} more" if others else "")
            cells.put(
                f"{letter}{row}",
                f'=IF(COUNT({column})=0,"",INDEX({cities_column},MATCH({found},{column},0))&IF({tied}>1," and "&({tied}-1)&" more",""))',
                name,
            )
            sheet[f"{letter}{row}"].alignment = AFTER_NUMBER
    spread_first, spread_last = spread_head + 1, spread_head + count

    spread = BarChart()
    spread.type = "bar"
    spread.grouping = "clustered"
    spread.gapWidth = 60
    spread.title = "Lowest, median and highest city in each dimension"
    spread.title.tx.rich.p[0].pPr = ParagraphProperties(defRPr=CharacterProperties(sz=1200, b=True))
    for column, color in ((3, "F8696B"), (4, "FFC000"), (5, "63BE7B")):
        series = Series(Reference(sheet, min_col=column, min_row=spread_first, max_row=spread_last), title=None)
        series.tx = SeriesLabel(strRef=StrRef(f"{quote_sheet(sheet.title)}!${column_letter(column)}${spread_head}"))
        series.graphicalProperties.solidFill = color
        series.graphicalProperties.line.noFill = True
        spread.series.append(series)
    spread.set_categories(Reference(sheet, min_col=1, min_row=spread_first, max_row=spread_last))
    spread.x_axis.scaling.orientation = "maxMin"  # the first dimension at the top
    spread.x_axis.txPr = _text_properties(800)
    spread.x_axis.delete = False
    spread.y_axis.delete = False
    spread.y_axis.scaling.min = 0
    spread.y_axis.txPr = _text_properties(800)
    spread.y_axis.crosses = "max"  # with the categories reversed, keep the values axis at the bottom
    spread.legend.position = "b"
    spread.width = _cm(sum(widths[column_letter(c)] for c in range(7, 14))) - 0.3
    spread.height = 12.5
    sheet.add_chart(spread, f"G{spread_title}")

    sheet.freeze_panes = "A4"
    _print_setup(sheet, f"A1:{printed}{spread_title + 27}", [spread_title - 2], scale=CHARTS_SCALE)
    return cells.values


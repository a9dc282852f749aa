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
from . import layout
from .xlsx import ALERT_COLOR, FONT_NAME, HEADER_FILL, INPUT_FILL, landscape, score_color_scale, write_sheet

#: First body row of the Overall and ``Dn scores`` sheets (title, two notes, header).
FIRST_ROW = 5
#: The City profile's drop-down cell (the chosen city).
CITY_CELL = "C4"
RECALCULATE_FIRST = "Recalculate first: the Overall sheet has no scores yet."
NOT_A_CITY = "Pick a city from the list (the Overall sheet does not list this one)."
#: One colour per dimension in the stacked chart (a qualitative palette, in order).
PALETTE = ("4E79A7", "F28E2B", "E15759", "76B7B2", "59A14F", "EDC948", "B07AA1", "FF9DA7", "9C755F", "BAB0AC")
CITY_COLOR = "C00000"
#: City profile columns: labels and names (B), score, rank, median or dimension, the places
#: from the strongest and the weakest (F, G); the radar chart over G to P.
PROFILE_WIDTHS = {"A": 2, "B": 51, "C": 12, "D": 9, "E": 34, "F": 9} | {chr(c): 9 for c in range(ord("G"), ord("Q"))}
PROFILE_LAST_COLUMN = "P"
#: Print scales (percent): the City profile's second page holds every variable; the Charts
#: sheet's pages are the width of its table.
PROFILE_SCALE = 62
CHARTS_SCALE = 90
MEDIAN_COLOR = "7F7F7F"
#: Centimetres per pixel (96 pixels to the inch) and Excel's pixels per character of width.
_CM_PER_PIXEL = 2.54 / 96


def _cm(width_characters: float) -> float:
    return (width_characters * 7 + 5) * _CM_PER_PIXEL


def _bold(size: float = 11, color: str | None = None) -> Font:
    return Font(name=FONT_NAME, size=size, bold=True, color=color)


def _column(sheet: str, letter: str, n: int) -> str:
    """An absolute body column of an owned sheet, e.g. ``Overall!$C$5:$C$64``."""
    return f"{quote_sheet(sheet)}!${letter}${FIRST_ROW}:${letter}${FIRST_ROW + n - 1}"


# --------------------------------------------------------------------------- placeholders


def placeholder_outputs(framework: Framework, n: int) -> list[layout.SheetOutput]:
    """The ``Dn scores`` and Overall sheets of a workbook not yet recalculated: their
    title, a note and the header row they will have, so that formulas and charts pointing
    at them are valid from the start. Recalculate replaces them in place."""
    note = "Not calculated yet: Recalculate (the CityOpp tab in Excel, or cityopp recalc on any computer) writes this sheet."
    outputs = []
    dimensions = list(framework.dimensions)
    for position, dimension in enumerate(dimensions, start=1):
        variables = [v.name for v in framework.variables_of(dimension)]
        header = ["Rank", "City", *variables, "Total"]
        last = column_letter(len(header))
        outputs.append(
            layout.SheetOutput(
                name=layout.score_sheet(position),
                after=layout.data_sheet(position),
                cells=[[f"{dimension}: scores"], [note], [None], header],
                bold=[f"A4:{last}4"],
                widths={"A": 6, "B": layout.WIDTH_CITY} | {column_letter(3 + i): layout.WIDTH_SCORE for i in range(len(variables) + 1)},
                freeze="C5",
                wrap=[f"A4:{last}4"],
                print_title_rows="4:4",
                pages_tall=layout.pages_tall(n),
            )
        )
    header = ["Rank", "City", *dimensions, "Total", "Tier"]
    last = column_letter(len(header))
    outputs.append(
        layout.SheetOutput(
            name=layout.SHEET_OVERALL,
            after=layout.score_sheet(len(dimensions)),
            cells=[["Overall scores"], [note], [None], header],
            bold=[f"A4:{last}4"],
            widths={"A": 6, "B": layout.WIDTH_CITY} | {column_letter(3 + i): layout.WIDTH_SCORE for i in range(len(dimensions) + 1)} | {last: 13},
            freeze="C5",
            wrap=[f"A4:{last}4"],
            print_title_rows="4:4",
            pages_tall=layout.pages_tall(n),
        )
    )
    return [layout.polish(output) for output in outputs]


# --------------------------------------------------------------------------- the workbook


def add_presentation_sheets(book, framework: Framework, cities: list[str]) -> None:
    """Add the placeholders of the owned sheets that are missing, then the City profile
    and Charts sheets right after the About sheet, to an openpyxl workbook."""
    n = len(cities)
    for output in placeholder_outputs(framework, n):
        if output.name in book.sheetnames:
            continue
        index = book.sheetnames.index(output.after) + 1 if output.after in book.sheetnames else len(book.sheetnames)
        write_sheet(book.create_sheet(output.name, index), output)
    place = book.sheetnames.index(layout.SHEET_ABOUT) + 1 if layout.SHEET_ABOUT in book.sheetnames else 0
    profile = book.create_sheet(layout.SHEET_CITY_PROFILE, place)
    _city_profile(profile, framework, cities)
    charts = book.create_sheet(layout.SHEET_CHARTS, place + 1)
    _charts(charts, framework, n)
    # openpyxl stores no computed results: have the spreadsheet compute every formula on open.
    book.calculation.fullCalcOnLoad = True


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
        cell.alignment = Alignment(wrap_text=True, vertical="bottom", horizontal="left" if offset in text_columns else "right", indent=1 if offset in text_columns and offset else 0)
    lines = max(layout.text_lines(v, sheet.column_dimensions[column_letter(first_column + i)].width or layout.DEFAULT_WIDTH) for i, v in enumerate(values))
    sheet.row_dimensions[row].height = lines * layout.LINE_HEIGHT


def _note(sheet, row: int, text: str, last_column: str) -> None:
    """A note wrapped across columns A to ``last_column``, as tall as its lines."""
    sheet.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells(f"A{row}:{last_column}{row}")
    width = sum(sheet.column_dimensions[column_letter(c)].width or layout.DEFAULT_WIDTH for c in range(1, layout.column_number(last_column) + 1))
    sheet.row_dimensions[row].height = layout.text_lines(text, width, layout.NOTE_FILL) * layout.LINE_HEIGHT


def _print_setup(sheet, area: str, breaks: list[int], scale: int) -> None:
    """Landscape A4 pages at a fixed ``scale`` (percent) with narrow margins, a new page
    after each row of ``breaks``. A fixed scale, not "fit to page": Excel ignores manual
    page breaks when it fits a sheet to pages, and each page here is laid out to fit."""
    landscape(sheet)
    sheet.sheet_properties.pageSetUpPr.fitToPage = False
    sheet.page_setup.scale = scale
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


# --------------------------------------------------------------------------- City profile


def _city_profile(sheet, framework: Framework, cities: list[str]) -> None:
    n = len(cities)
    dimensions = list(framework.dimensions)
    variables = list(framework.variables)
    count = len(dimensions)
    city = f"${CITY_CELL[0]}${CITY_CELL[1:]}"
    overall_city = _column(layout.SHEET_OVERALL, "B", n)
    overall_rank = _column(layout.SHEET_OVERALL, "A", n)
    total = _column(layout.SHEET_OVERALL, column_letter(3 + count), n)
    tier = _column(layout.SHEET_OVERALL, column_letter(4 + count), n)
    match_overall = f"MATCH({city},{overall_city},0)"
    for letter, width in PROFILE_WIDTHS.items():
        sheet.column_dimensions[letter].width = width

    sheet["A1"] = f'=IF({city}="","City profile","City profile: "&{city})'
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
    sheet["D4"] = (
        f'=IF(COUNT({overall_rank})=0,"{RECALCULATE_FIRST}",IF(ISNA({match_overall}),"{NOT_A_CITY}",""))'
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

    for row, (label, formula) in enumerate(
        [
            ("Overall score", f'=IFERROR(INDEX({total},{match_overall}),"")'),
            ("Overall rank", f'=IFERROR(INDEX({overall_rank},{match_overall}),"")'),
            ("Tier", f'=IFERROR(INDEX({tier},{match_overall}),"")'),
        ],
        start=5,
    ):
        sheet.cell(row=row, column=2, value=label).font = _bold()
        cell = sheet.cell(row=row, column=3, value=formula)
        cell.font = _bold(12)
        cell.alignment = Alignment(horizontal="right")
    sheet["D6"] = f'=IF(ISNUMBER(C6),"of {n}","")'
    sheet["D6"].alignment = Alignment(indent=1)

    # The ten dimensions: score, rank, and the median city for comparison.
    head = 9
    _header_cells(sheet, head, 2, ["Dimension", "Score", "Rank", "Median of all cities"])
    first, last = head + 1, head + count
    for offset, dimension in enumerate(dimensions):
        row = first + offset
        scores_sheet = layout.score_sheet(offset + 1)
        column = _column(layout.SHEET_OVERALL, column_letter(3 + offset), n)
        sheet.cell(row=row, column=2, value=dimension)
        sheet.cell(row=row, column=3, value=f'=IFERROR(INDEX({column},{match_overall}),"")')
        sheet.cell(row=row, column=4, value=f'=IFERROR(INDEX({_column(scores_sheet, "A", n)},MATCH({city},{_column(scores_sheet, "B", n)},0)),"")')
        sheet.cell(row=row, column=5, value=f'=IF(COUNT({column})=0,"",MEDIAN({column}))')
    overall_row = last + 1
    sheet.cell(row=overall_row, column=2, value="Overall (sum of the dimensions)")
    sheet.cell(row=overall_row, column=3, value="=C5")
    sheet.cell(row=overall_row, column=4, value="=C6")
    sheet.cell(row=overall_row, column=5, value=f'=IF(COUNT({total})=0,"",MEDIAN({total}))')
    for column in range(2, 6):
        sheet.cell(row=overall_row, column=column).font = _bold()
        sheet.cell(row=overall_row, column=column).border = Border(top=Side(style="thin"))
    sheet.conditional_formatting.add(f"D{first}:D{last}", _rank_colors(n))

    # Every variable score of the city (page 2), and its order within the city.
    all_title = overall_row + 13
    all_head = all_title + 2
    v_first, v_last = all_head + 1, all_head + len(variables)
    score_range = f"$C${v_first}:$C${v_last}"
    strong_range, weak_range = f"$F${v_first}:$F${v_last}", f"$G${v_first}:$G${v_last}"
    sheet.cell(row=all_title, column=1, value="All variable scores of the city").font = _bold(12)
    _note(
        sheet,
        all_title + 1,
        f"Each variable score 1 to {n} (best city {n}) from the 'Dn scores' sheets; Rank among the {n} cities; "
        "Strongest and Weakest: the variable's place in the city from its highest and from its lowest score (equal scores in framework order).",
        PROFILE_LAST_COLUMN,
    )
    _header_cells(sheet, all_head, 2, ["Variable", "Score", "Rank", "Dimension", "Strongest", "Weakest"], text_columns=(0, 3))
    position_of = {}
    for dimension_position, dimension in enumerate(dimensions, start=1):
        for variable_position, variable in enumerate(framework.variables_of(dimension)):
            position_of[variable.name] = (dimension_position, variable_position)
    for offset, variable in enumerate(variables):
        row = v_first + offset
        dimension_position, variable_position = position_of[variable.name]
        scores_sheet = layout.score_sheet(dimension_position)
        column = _column(scores_sheet, column_letter(3 + variable_position), n)
        sheet.cell(row=row, column=2, value=variable.name)
        sheet.cell(row=row, column=3, value=f'=IFERROR(INDEX({column},MATCH({city},{_column(scores_sheet, "B", n)},0)),"")')
        sheet.cell(row=row, column=4, value=f'=IF(ISNUMBER(C{row}),COUNTIF({column},">"&C{row})+1,"")')
        sheet.cell(row=row, column=5, value=variable.dimension)
        # A place among the city's variables: the scores above (below) it, plus the equal
        # scores up to this row, so that equal scores keep the framework order.
        equal_so_far = f"COUNTIF($C${v_first}:C{row},C{row})"
        sheet.cell(row=row, column=6, value=f'=IF(ISNUMBER(C{row}),COUNTIF({score_range},">"&C{row})+{equal_so_far},"")')
        sheet.cell(row=row, column=7, value=f'=IF(ISNUMBER(C{row}),COUNTIF({score_range},"<"&C{row})+{equal_so_far},"")')
    sheet.conditional_formatting.add(f"D{v_first}:D{v_last}", _rank_colors(n))

    # The three strongest and three weakest variables, found by their place in the city.
    strong_head = overall_row + 2
    weak_head = strong_head + 5
    shown = min(3, len(variables))
    for head_row, title, places in ((strong_head, "Strongest variables", strong_range), (weak_head, "Weakest variables", weak_range)):
        _header_cells(sheet, head_row, 2, [title, "Score", "Rank", "Dimension"], text_columns=(0, 3))
        for k in range(1, shown + 1):
            row = head_row + k
            found = f"MATCH({k},{places},0)"
            for column, source in ((2, "B"), (3, "C"), (4, "D"), (5, "E")):
                sheet.cell(row=row, column=column, value=f'=IFERROR(INDEX(${source}${v_first}:${source}${v_last},{found}),"")')
        sheet.conditional_formatting.add(f"D{head_row + 1}:D{head_row + shown}", _rank_colors(n))
    sheet.cell(row=weak_head + shown + 1, column=2, value="Equal scores are listed in framework order; every variable is on the next page.").font = Font(name=FONT_NAME, size=9, italic=True)

    for row in range(first, overall_row + 1):
        for column in (3, 4, 5):
            sheet.cell(row=row, column=column).number_format = "0"
    for row in range(strong_head, v_last + 1):
        if row > all_head or row in range(strong_head + 1, strong_head + shown + 1) or row in range(weak_head + 1, weak_head + shown + 1):
            sheet.cell(row=row, column=5).alignment = Alignment(indent=1)  # dimension names after the ranks

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
    chart.y_axis.txPr = _text(700)
    chart.x_axis.txPr = _text(900)
    chart.legend.position = "b"
    chart.legend.txPr = _text(900)
    chart.width = _cm(sum(PROFILE_WIDTHS[column_letter(c)] for c in range(7, 17)))
    chart.height = 14.5
    sheet.add_chart(chart, "G4")

    sheet.freeze_panes = "A5"
    _print_setup(sheet, f"A1:{PROFILE_LAST_COLUMN}{v_last}", [all_title - 2], scale=PROFILE_SCALE)


# --------------------------------------------------------------------------- Charts


def _text(size: int, rotation: int | None = None, bold: bool = False) -> RichText:
    """Chart text properties: ``size`` in hundredths of a point, rotation in degrees."""
    body = RichTextProperties(rot=rotation * 60000 if rotation is not None else None, vert="horz" if rotation is not None else None)
    return RichText(bodyPr=body, p=[Paragraph(pPr=ParagraphProperties(defRPr=CharacterProperties(sz=size, b=bold)), endParaRPr=CharacterProperties(sz=size))])


def _charts(sheet, framework: Framework, n: int) -> None:
    dimensions = list(framework.dimensions)
    count = len(dimensions)
    # Printed part (columns A to M): the two charts and the dimension table.
    widths = {"A": 22} | {column_letter(c): 11 for c in range(2, 14)}
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
    sources = ["B", "A"] + [column_letter(3 + i) for i in range(count + 1)]
    for k in range(1, n + 1):
        row = first + k - 1
        source_row = FIRST_ROW + k - 1
        sheet[f"{key_letter}{row}"] = f'=IF(ISNUMBER({overall}!$A${source_row}),{overall}!$A${source_row}+{k}/10000,"")'
        sheet[f"{row_letter}{row}"] = f'=IFERROR(MATCH(SMALL({keys},{k}),{keys},0),"")'
        for offset, source in enumerate(sources):
            cell = sheet.cell(row=row, column=table + offset, value=f'=IF(${row_letter}{row}="","",INDEX({_column(layout.SHEET_OVERALL, source, n)},${row_letter}{row}))')
            if offset:
                cell.number_format = "0"
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
    chart.x_axis.txPr = _text(750, rotation=-90)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.title = "Overall score (sum of the dimension scores)"
    chart.y_axis.txPr = _text(800)
    chart.y_axis.scaling.min = 0
    chart.legend.position = "b"
    chart.legend.txPr = _text(800)
    chart.width = _cm(page_width) - 0.3
    chart.height = 15.5
    sheet.add_chart(chart, "A4")

    # Page 2: each dimension's spread across the cities.
    spread_title = 36
    spread_head = spread_title + 2
    sheet.cell(row=spread_title, column=1, value="Each dimension across the cities").font = _bold(12)
    _note(sheet, spread_title + 1, f"The lowest, median and highest city score of each dimension (a dimension of k variables scores at most {n}k).", "E")
    _header_cells(sheet, spread_head, 1, ["Dimension", "", "Lowest", "Median", "Highest"])
    for offset, dimension in enumerate(dimensions):
        row = spread_head + 1 + offset
        column = _column(layout.SHEET_OVERALL, column_letter(3 + offset), n)
        sheet.cell(row=row, column=1, value=dimension)
        for letter, function in (("C", "MIN"), ("D", "MEDIAN"), ("E", "MAX")):
            sheet[f"{letter}{row}"] = f'=IF(COUNT({column})=0,"",{function}({column}))'
            sheet[f"{letter}{row}"].number_format = "0"
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
    spread.x_axis.txPr = _text(800)
    spread.x_axis.delete = False
    spread.y_axis.delete = False
    spread.y_axis.scaling.min = 0
    spread.y_axis.txPr = _text(800)
    spread.y_axis.crosses = "max"  # with the categories reversed, keep the values axis at the bottom
    spread.legend.position = "b"
    spread.width = _cm(sum(widths[column_letter(c)] for c in range(7, 14))) - 0.3
    spread.height = 12.5
    sheet.add_chart(spread, f"G{spread_title}")

    sheet.freeze_panes = "A4"
    _print_setup(sheet, f"A1:{printed}{spread_title + 27}", [spread_title - 2], scale=CHARTS_SCALE)


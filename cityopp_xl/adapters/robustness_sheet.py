"""The Robustness sheet: each city's rank interval over the scenarios, drawn in cells.

Rendering only: :func:`cityopp_xl.robustness.build_robustness` computes every number.

The interval chart is a bar drawn in cells, not a chart object: every writer (openpyxl,
xlwings, a package writer) renders a :class:`~cityopp_xl.adapters.layout.SheetOutput`
from values, number formats and colour scales alone, and a chart would need its own code
in each. Right of the table, narrow columns stand for the ranks 1..N (for more than
:data:`BAR_COLUMNS` cities each column stands for a band of ranks). A city's cells from its
best to its worst rank hold 1 and its baseline rank's cell -1; the sheet's -1/0/+1 colour
scale fills them green and red, and their number format shows nothing for 1 and a dot
for -1, so the bar also reads in black and white. Blank cells are not filled.
"""

from __future__ import annotations

import math

from .. import robustness as core
from ..model import column_letter, tuples
from ..pipeline import Pipeline
from . import layout

SHEET_ROBUSTNESS = layout.SHEET_ROBUSTNESS
HEADER_ROW = 4
#: Columns of the table left of the bar: rank, city, overall, best, worst, scenarios, at rank.
TABLE_HEADER = ["Rank", "City", "Overall", "Best", "Worst", "Scenarios", "At rank"]
#: The most columns the bar takes (one per rank up to this many cities).
BAR_COLUMNS = 60
BAR_WIDTH = 1.6
#: In the bar: best..worst shows as an empty green cell, the baseline rank as a dot on red.
BAR_FORMAT = ';"\u25cf";'
IN_INTERVAL = 1
BASELINE_MARK = -1
WIDTH_SCENARIO = 40
#: Recalculate computes the leave-one-out scenarios up to this many cities, and draws the
#: bar with up to :data:`BAR_COLUMNS` columns (above it, :data:`LARGE_BAR_COLUMNS`).
LARGE_EDITION = 1000
LARGE_BAR_COLUMNS = 20
FAMILY_NOTES = {
    "drop_variable": "the overall score without one variable (its dimension keeps the others)",
    "drop_dimension": "the overall score without one dimension",
    "leave_city_out": "one city removed (N - 1 cities), every indicator re-scored among the rest; ranks compared on the baseline's scale",
    "tie_rule": "every variable of 2 or 3 indicators scored from raw values under the other tie rule",
    "missing": "a city with no value scores the median score of the cities with one, instead of 1",
}


def bar_bands(cities: int) -> tuple[int, int]:
    """(columns, ranks per column) of the bar for an edition of ``cities`` cities.

    Above :data:`LARGE_EDITION` cities the bar takes :data:`LARGE_BAR_COLUMNS` columns: its
    cells, every one of them given the bar's number format, were a tenth of the cells a
    Recalculate of 3,000 cities writes.
    """
    columns = min(cities, BAR_COLUMNS if cities <= LARGE_EDITION else LARGE_BAR_COLUMNS)
    band = math.ceil(cities / columns) if columns else 1
    return math.ceil(cities / band) if columns else 0, band


def _bar(best: int, worst: int, rank: int, columns: int, band: int) -> list:
    cells: list = [None] * columns
    for column in range((best - 1) // band, (worst - 1) // band + 1):
        cells[column] = IN_INTERVAL
    cells[(rank - 1) // band] = BASELINE_MARK
    return cells


def robustness_sheet(pipeline: Pipeline, result: core.Robustness, run_time: str, after: str = layout.SHEET_INSIGHTS) -> layout.SheetOutput:
    """The Robustness sheet of a run: the interval table with its bar, the family summary,
    the cities whose interval crosses a tier boundary, and a short reading."""
    intervals = result.intervals
    n = len(result.cities)
    columns, band = bar_bands(n)
    first_bar = len(TABLE_HEADER) + 1
    after_bar = first_bar + columns
    counts = result.families["scenarios"].to_dict()
    made = ", ".join(f"{counts[f]} {core.FAMILY_WORDS[f]}" for f in result.families.index)
    scale = "one column per rank" if band == 1 else f"one column per {band} ranks"
    rows: list[list] = [
        ["Robustness: how much each city's rank depends on the method's choices"],
        [
            f"Each city's rank in {len(result.scenarios) - 1} scenarios ({made}), on the baseline's scale. Best and worst: its best and worst rank over "
            f"the scenarios it is in; at rank: in how many of them it keeps its rank. The bar runs from rank 1 (left) to {n}, {scale}: "
            "green from the best to the worst rank, a dot on red at the rank of the unchanged method. `cityopp robustness` writes every scenario's ranks."
        ],
        [layout._stamp(run_time)],
        [*TABLE_HEADER, *[_bar_label(c, band, columns) for c in range(columns)], "Best in", "Worst in"],
    ]
    for city, row in zip(intervals.index, tuples(intervals)):
        rows.append(
            [
                row.rank,
                city,
                row.overall,
                row.best_rank,
                row.worst_rank,
                row.scenarios,
                row.at_rank,
                *_bar(row.best_rank, row.worst_rank, row.rank, columns, band),
                row.best_scenario,
                row.worst_scenario,
            ]
        )
    last_city = HEADER_ROW + n
    rows.append([])
    family_title = len(rows) + 1
    rows.append([None, "Scenario families"])
    rows.append([None, "Family", "Scenarios", "Mean shift", "Max shift", "Cities moved", "What changes"])
    family_header = len(rows)
    for family, row in result.families.iterrows():
        rows.append([None, family, row["scenarios"], row["mean_abs_shift"], row["max_abs_shift"], row["cities_changed"], FAMILY_NOTES[family]])
    family_last = len(rows)
    rows.append([])
    crossings = result.tier_crossings
    crossing_title = len(rows) + 1
    rows.append([None, f"Intervals that cross a tier boundary: {len(crossings)}"])
    rows.append([None, "City", "Rank", "Best", "Worst", "Tier", "Tiers spanned"])
    crossing_header = len(rows)
    for city, row in crossings.iterrows():
        rows.append([None, city, row["rank"], row["best_rank"], row["worst_rank"], row["tier"], row["tiers"]])
    rows.append([])
    reading_title = len(rows) + 1
    rows.append(["Reading"])
    rows += [[line] for line in core.reading(result)]
    bar_area = f"{column_letter(first_bar)}{HEADER_ROW + 1}:{column_letter(after_bar - 1)}{max(last_city, HEADER_ROW + 1)}"
    widths = {"A": 6, "B": layout.WIDTH_CITY, "C": 9, "D": 7, "E": 7, "F": 10, "G": 8}
    widths |= {column_letter(first_bar + c): BAR_WIDTH for c in range(columns)}
    widths |= {column_letter(after_bar): WIDTH_SCENARIO, column_letter(after_bar + 1): WIDTH_SCENARIO}
    last_column = column_letter(after_bar + 1)
    return layout.SheetOutput(
        name=SHEET_ROBUSTNESS,
        after=after,
        cells=layout._rect(rows),
        # Bold headers get aligned over the numbers under them (printing.polish): the bar's
        # labels and the tier-crossing table, which may be empty, stay plain, so that the
        # number of formatting calls does not depend on the data.
        bold=[
            f"A{HEADER_ROW}:G{HEADER_ROW}",
            f"{column_letter(after_bar)}{HEADER_ROW}:{last_column}{HEADER_ROW}",
            f"B{family_title}:B{family_title}",
            f"B{family_header}:G{family_header}",
            f"B{crossing_title}:B{crossing_title}",
            f"A{reading_title}:A{reading_title}",
        ],
        number_formats={bar_area: BAR_FORMAT, f"C{HEADER_ROW + 1}:C{max(last_city, HEADER_ROW + 1)}": "#,##0", f"D{family_header + 1}:D{max(family_last, family_header + 1)}": "0.00"},
        widths=widths,
        freeze=f"C{HEADER_ROW + 1}",
        wrap=[f"C{family_header}:G{family_header}", f"C{crossing_header}:G{crossing_header}"],
        color_scales=[bar_area],
        print_title_rows=f"{HEADER_ROW}:{HEADER_ROW}",
        # The scenario names of each best and worst rank are for the screen: lists too long
        # for a printed cell (`cityopp robustness` writes them all).
        print_area=f"A1:{column_letter(after_bar - 1)}{len(rows)}",
    )


def _bar_label(column: int, band: int, columns: int) -> str | None:
    """The first rank of a bar column, on the first column and every tenth but the last: as
    text, which runs on over the blank labels to its right (a number would show as ## in
    so narrow a column; the last column's label would run into the next header)."""
    if column == 0 or ((column + 1) % 10 == 0 and column < columns - 1):
        return str(column * band + 1) if column == 0 else str((column + 1) * band)
    return None


def render_robustness(pipeline: Pipeline, run_time: str, *, after: str = layout.SHEET_INSIGHTS) -> layout.SheetOutput:
    """The Robustness sheet of a run: every scenario family computed, then laid out.

    Editions of more than :data:`LARGE_EDITION` cities leave the leave-one-out
    family to ``cityopp robustness``: its work grows with the square of the number of
    cities (about 10 s at 3,000 cities, a third of such a Recalculate), and the sheet says
    so.
    """
    cities = len(pipeline["raw"].index)
    families = None if cities <= LARGE_EDITION else [f for f in core.FAMILIES if f != "leave_city_out"]
    sheet = robustness_sheet(pipeline, core.build_robustness(pipeline, families), run_time, after=after)
    if families is not None:
        sheet.cells[1][0] += (
            f" With more than {LARGE_EDITION:,} cities, Recalculate leaves out the scenarios without each city: "
            "`cityopp robustness` computes them."
        )
    return sheet

"""Live-formula mode: the score sheets as native spreadsheet formulas over the input cells.

In this mode the Indicator scores sheet, the ``Dn scores`` sheets and the Overall sheet
hold formulas instead of numbers, so a reviewer can change an input cell and watch every
score, total, rank and tier update, and click any cell to see how it was built. The
formulas use only functions every spreadsheet application has had for decades (``IF``,
``ISNUMBER``, ``SUMPRODUCT``, ``ABS``, ``CHOOSE``, ``SUM``, ``RANK``), so none needs an
``_xlfn.`` prefix and the formula text is the same in the file, in Excel's formula bar
and through xlwings.

The formulas, for a city in sheet row ``r`` (N is column B of the Indicator scores sheet):

* ``higher``: ``=IF(ISNUMBER(x), $Br-SUMPRODUCT(ISNUMBER(rng)*(rng>x)), 1)``, where ``x``
  is the city's input cell and ``rng`` the input column: N minus the number of cities with
  a strictly better value; a blank or text cell is no value and scores 1. The ``ISNUMBER``
  factor keeps blanks (which compare as 0) and text out of the count. ``COUNTIF`` with
  ``">"&x`` is avoided: it turns the number into text and loses precision.
* ``lower``: the same with ``rng<x``.
* ``target:T``: a distance column ``=IF(ISNUMBER(x), ABS(x-T), "")``, then the ``lower``
  formula over that column (a distance is computed cell by cell, so a text marker in the
  input column can never turn the count into an error).
* ``tiers``: ``=IF(ISNUMBER(x), CHOOSE(x, 60, 50, ...), 1)``: the points table in the formula.
* A variable of 2 or 3 indicators: a sum column ``=C7+D7``, then its re-score,
  ``=$B7-SUMPRODUCT(--(E$7:E$66>E7))`` (ties ``best``) or
  ``=1+SUMPRODUCT(--(E$7:E$66<E7))`` (ties ``worst``); a one-indicator ``worst`` variable
  re-scores its indicator score the same way.
* A pre-scored variable: ``='D1 data'!B5``, the given score itself.
* Dimension total ``=SUM(C5:G5)``, overall total ``=SUM(C5:L5)``, ranks
  ``=RANK(H5,H$5:H$64)`` (competition ranks on whole-number totals), tier a nested ``IF``
  on the Settings thresholds of the run.

Score sheets list the cities in edition order (a formula cannot sort its own rows), each
with a live Rank column; the value mode sorts them by rank.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

from ..direction import Direction, Formula
from ..direction import formula_number as _number
from ..errors import CityOppError, Problem
from ..model import Variable, column_letter, column_number, quote_sheet
from ..pipeline import Pipeline
from ..validate import Inputs
from . import audit_sheets, layout, score_sheets

#: First body row of the Indicator scores sheet (three title rows, three header rows).
INDICATOR_FIRST_ROW = 7
#: Where the ``Dn scores`` and Overall tables sit.
SCORE = layout.SCORE_GEOMETRY

_ADDRESS = re.compile(r"^(?P<sheet>.+)!\$?(?P<column>[A-Z]{1,3})\$?(?P<row>\d+)$")


@dataclass(frozen=True)
class InputColumn:
    """Where one input column (an indicator id or a pre-scored variable) lives.

    ``rows`` maps each city to its sheet row (cities are matched by name, so the data rows
    need not be in edition order).
    """

    sheet: str
    column: str
    rows: dict

    def cell(self, city: str) -> str:
        """The city's input cell, e.g. ``'D1 data'!B5``."""
        return f"{quote_sheet(self.sheet)}!{self.column}{self.rows[city]}"

    @property
    def range(self) -> str:
        """The whole input column, absolute, e.g. ``'D1 data'!$B$5:$B$64``."""
        first, last = min(self.rows.values()), max(self.rows.values())
        return f"{quote_sheet(self.sheet)}!${self.column}${first}:${self.column}${last}"


def split_address(address: str) -> tuple[str, str, int]:
    """``"D1 data!B5"`` -> ``("D1 data", "B", 5)`` (the form readers give cell addresses in)."""
    match = _ADDRESS.match(address)
    if not match:
        raise ValueError(f"not a cell address: {address!r}")
    sheet = match["sheet"]
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, match["column"], int(match["row"])


def input_columns(inputs: Inputs) -> dict[str, InputColumn]:
    """Every input column's cells, from the addresses the reader recorded.

    Raises :class:`CityOppError` when the inputs did not come from a workbook (CSV files
    have no cells for formulas to point at).
    """
    found: dict[str, dict] = {}
    for (city, key), address in inputs.addresses.items():
        try:
            sheet, column, row = split_address(address)
        except ValueError:
            raise CityOppError(f"live formulas need input cells in a workbook; '{key}' comes from {address}") from None
        entry = found.setdefault(key, {"sheet": sheet, "column": column, "rows": {}})
        entry["rows"][city] = row
    cities = list(inputs.values.index)
    columns = {}
    for key in inputs.framework.input_columns():
        entry = found.get(key)
        if entry is None or set(entry["rows"]) != set(cities):
            raise CityOppError(f"live formulas need an input cell for every city of '{key}'")
        columns[key] = InputColumn(entry["sheet"], entry["column"], entry["rows"])
    return columns


def find_formula_problems(inputs: Inputs, values_of: Callable[[str], list[list]]) -> list[Problem]:
    """Input cells that the engine reads as numbers but a formula would not: numbers stored
    as text (``'12,345'``, ``'15%'``, ``' 7 '``). A formula reads text as no value, so the
    live workbook would disagree with the engine; each such cell is an error in this mode.

    ``values_of(sheet)`` returns a sheet's cells from A1 as rows (a formula in an input
    cell, given as its ``=...`` text, is not text and is fine).
    """
    problems: list[Problem] = []
    cache: dict[str, list[list]] = {}
    for (city, key), address in inputs.addresses.items():
        number = inputs.values.at[city, key]
        if isinstance(number, float) and math.isnan(number):
            continue
        sheet, column, row = split_address(address)
        if sheet not in cache:
            cache[sheet] = values_of(sheet) or []
        rows = cache[sheet]
        col = column_number(column)
        value = rows[row - 1][col - 1] if row - 1 < len(rows) and col - 1 < len(rows[row - 1]) else None
        if isinstance(value, str) and not value.startswith("="):
            problems.append(
                Problem(
                    address,
                    f"the number '{value}' stored as text",
                    "a number cell: live formulas read text as no value (type it as a number, or recalculate with values)",
                )
            )
    return problems


def _string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _text_cell(value):
    """Text written in formula mode: text starting with "=" is written as a string formula
    so that it stays text."""
    if isinstance(value, str) and not isinstance(value, Formula) and value.startswith("="):
        return Formula("=" + _string(value))
    return value


def _cells(rows: list[list]) -> list[list]:
    """The cells of a sheet in formula mode: :func:`layout._rect`, a :class:`Formula` as its
    text and a text starting with "=" as the string formula of :func:`_text_cell`. Whole
    numbers, blanks and plain texts (most cells) pass without a call each."""
    width = max(len(row) for row in rows)
    cells = []
    for row in rows:
        cell = [v if type(v) is int or v is None or (type(v) is str and v[:1] != "=") else (str(v) if type(v) is Formula else _other_cell(v)) for v in row]
        if len(cell) < width:
            cell += [None] * (width - len(cell))
        cells.append(cell)
    return cells


def _other_cell(value):
    """A cell of :func:`_cells` that is not a whole number, a blank, a plain text or a
    formula: the value :func:`layout._rect` makes of it, in formula mode."""
    value = layout.cell_value(value)
    if type(value) is int or value is None or (type(value) is str and value[:1] != "="):
        return value
    value = _text_cell(value)
    return str(value) if isinstance(value, Formula) else value


# --------------------------------------------------------------------------- formulas


def rescore_formula(cell: str, rng: str, n: str, ties: str) -> Formula:
    """Re-score a column of whole scores (or their sums): ``best`` N minus the number
    strictly higher, ``worst`` 1 plus the number strictly lower."""
    if ties == "worst":
        return Formula(f"=1+SUMPRODUCT(--({rng}<{cell}))")
    return Formula(f"={n}-SUMPRODUCT(--({rng}>{cell}))")


def tier_label_formula(total: str, tiers: tuple[tuple[str, float], ...], other: str) -> Formula:
    """The label of the first tier (highest first) whose minimum ``total`` reaches, else ``other``."""
    expression = _string(other)
    for label, minimum in reversed(tiers):
        expression = f"IF({total}>={_number(minimum)},{_string(label)},{expression})"
    return Formula("=" + expression)


# --------------------------------------------------------------------------- sheets


@dataclass
class _Column:
    dimension: str
    variable: str
    header: str
    make: Callable[[str, int], Formula]  # (city, sheet row) -> formula
    value: Callable[[str], object] = lambda city: None  # city -> what the formula computes
    letter: str = ""


def render_formula_sheets(pipeline: Pipeline, run_time: str) -> dict[str, layout.SheetOutput]:
    """The Indicator scores, ``Dn scores`` and Overall sheets as live formulas.

    Returns them by sheet name; each ``after`` is set as in value mode except the
    Indicator scores sheet's, which the caller places.
    """
    inputs = pipeline.inputs
    columns = input_columns(inputs)
    cities = list(pipeline["raw"].index)
    indicator_sheet, variable_letters = _indicator_sheet(pipeline, columns, cities, run_time)
    sheets = {}
    framework = pipeline.framework
    for position, dimension in enumerate(framework.dimensions, start=1):
        sheets[layout.score_sheet(position)] = _dimension_sheet(pipeline, position, dimension, cities, variable_letters, run_time)
    sheets[layout.SHEET_OVERALL] = _overall_sheet(pipeline, cities, run_time)
    sheets[layout.SHEET_INDICATOR_SCORES] = indicator_sheet
    return sheets


def _indicator_sheet(pipeline: Pipeline, inputs: dict[str, InputColumn], cities: list[str], run_time: str):
    framework = pipeline.framework
    first, last = INDICATOR_FIRST_ROW, INDICATOR_FIRST_ROW + len(cities) - 1
    plan: list[_Column] = []

    def add(column: _Column) -> str:
        column.letter = column_letter(3 + len(plan))
        plan.append(column)
        return column.letter

    def body(letter: str) -> str:
        return f"{letter}${first}:{letter}${last}"

    raw, indicator_scores, variable_scores = pipeline["raw"], pipeline["indicator_scores"], pipeline["variable_scores"]

    def cell_of(frame, column: str, blank=""):
        values = frame[column].to_dict()
        return lambda city: blank if values[city] != values[city] else layout.cell_value(values[city])

    def variable_columns(variable: Variable, dimension: str) -> str:
        name = variable.name
        if variable.prescored:
            source = inputs[name]
            return add(_Column(dimension, name, "given variable score", lambda city, r: Formula(f"={source.cell(city)}"), cell_of(raw, name, 0)))
        scores = []
        for indicator in variable.indicators:
            source = inputs[indicator.id]
            direction = indicator.direction
            header = f"{indicator.id} {indicator.name} [{direction}]"
            score = cell_of(indicator_scores, indicator.id)
            if direction.distance_label is None:
                scores.append(add(_Column(dimension, name, header, _score_maker(direction, _input_cell(source), source.range), score)))
            else:
                distances = direction.distances(raw[indicator.id]).to_frame("d")
                distance = add(_Column(dimension, name, f"{indicator.id} {indicator.name}: {direction.distance_label}", _distance_maker(source, direction), cell_of(distances, "d")))
                scores.append(add(_Column(dimension, name, header, _score_maker(direction, _row_cell(distance), body(distance)), score)))
        variable_score = cell_of(variable_scores, name)
        if len(scores) > 1:
            ids = [i.id for i in variable.indicators]
            sums = indicator_scores[ids].sum(axis=1).to_frame("s")
            total = add(_Column(dimension, name, "sum of indicator scores", _sum_maker(scores), cell_of(sums, "s")))
            return add(_Column(dimension, name, f"variable score (sum re-scored, ties {variable.ties})", _rescore_maker(total, body(total), variable.ties), variable_score))
        if variable.ties == "worst":
            return add(_Column(dimension, name, audit_sheets.HEADER_SINGLE_WORST, _rescore_maker(scores[0], body(scores[0]), "worst"), variable_score))
        return scores[0]

    letters: dict[str, str] = {}
    for dimension in framework.dimensions:
        for variable in framework.variables_of(dimension):
            letters[variable.name] = variable_columns(variable, dimension)

    rows = [
        ["Indicator scores: every step from indicator to variable (live formulas)"],
        [
            "Live formulas over the data sheets: each indicator score is N minus the number of cities with a strictly better value "
            "(SUMPRODUCT over the input column; a blank or text cell is no value and scores 1; tiers look the points up with CHOOSE; "
            "a target indicator ranks its distance column); a variable of 2 or 3 indicators re-scores its sum column. "
            "Pre-scored variables point at the given score. Change an input cell and every score updates."
        ],
        [layout._stamp(run_time)],
        ["", "", *[c.dimension for c in plan]],
        ["", "", *[c.variable for c in plan]],
        ["City", "N", *[c.header for c in plan]],
    ]
    computed = [[None] * (2 + len(plan)) for _ in rows]
    n = len(cities)
    for i, city in enumerate(cities):
        r = first + i
        rows.append([city, Formula(f"=ROWS($A${first}:$A${last})"), *[c.make(city, r) for c in plan]])
        computed.append([None, n, *[c.value(city) for c in plan]])
    last_col = column_letter(2 + len(plan))
    output = layout.SheetOutput(
        name=layout.SHEET_INDICATOR_SCORES,
        after=layout.SHEET_OVERALL,
        cells=_cells(rows),
        bold=[f"A4:{last_col}6"],
        wrap=[f"C4:{last_col}6"],
        number_formats={f"{c.letter}{first}:{c.letter}{last}": layout.SCORE_FORMAT for c in plan if ": distance" not in c.header},
        print_title_rows="4:6",
        widths={"A": layout.WIDTH_CITY, "B": 5} | {column_letter(3 + i): 14 for i in range(len(plan))},
        freeze="C7",
        formulas=True,
        formula_values=computed,
        live=True,
    )
    return output, letters


def _score_maker(direction: Direction, x_of: Callable[[str, int], str], rng: str):
    """The direction's live score of the cell ``x_of(city, r)`` among ``rng``."""

    def make(city: str, r: int) -> Formula:
        return direction.score_formula(x_of(city, r), rng, f"$B{r}")

    return make


def _input_cell(source: InputColumn) -> Callable[[str, int], str]:
    """The city's input cell (``'D1 data'!B5``)."""
    return lambda city, r: source.cell(city)


def _row_cell(letter: str) -> Callable[[str, int], str]:
    """The cell of column ``letter`` on the city's own row (``E7``)."""
    return lambda city, r: f"{letter}{r}"


def _distance_maker(source: InputColumn, direction: Direction):
    def make(city: str, r: int) -> Formula:
        return direction.distance_formula(source.cell(city))

    return make


def _sum_maker(letters: list[str]):
    def make(city: str, r: int) -> Formula:
        return Formula("=" + "+".join(f"{letter}{r}" for letter in letters))

    return make


def _rescore_maker(letter: str, rng: str, ties: str):
    def make(city: str, r: int) -> Formula:
        return rescore_formula(f"{letter}{r}", rng, f"$B{r}", ties)

    return make


def _dimension_sheet(pipeline: Pipeline, position: int, dimension: str, cities: list[str], letters: dict[str, str], run_time: str) -> layout.SheetOutput:
    variables = [v.name for v in pipeline.framework.variables_of(dimension)]
    n = len(cities)
    first, last = SCORE.first_row, SCORE.last_row(n)
    total_col = SCORE.letter(len(variables))
    last_variable = SCORE.letter(len(variables) - 1)
    source = quote_sheet(layout.SHEET_INDICATOR_SCORES)
    rows = SCORE.top(
        [
            [f"{dimension}: scores"],
            [
                f"Live formulas. Variable scores 1 to {n} (best city {n}) from the Indicator scores sheet; total = SUM of the "
                f"{len(variables)} variable scores (at most {n * len(variables)}); Rank = RANK of the total (tied totals share the better rank). "
                "Cities in edition order: the ranks update live, the rows do not move."
            ],
            [layout._stamp(run_time)],
        ],
        ["Rank", "City", *variables, "Total"],
    )
    ranks = pipeline["dimension_ranks"][dimension].to_dict()
    totals = pipeline["dimension_scores"][dimension].to_dict()
    scores = {v: pipeline["variable_scores"][v].to_dict() for v in variables}
    computed = [[None] for _ in rows] + [
        [layout.cell_value(ranks[city]), None, *[layout.cell_value(scores[v][city]) for v in variables], layout.cell_value(totals[city])] for city in cities
    ]
    for i, city in enumerate(cities):
        r = SCORE.row(i)
        rows.append(
            [
                Formula(f"=RANK({total_col}{r},{total_col}${first}:{total_col}${last})"),
                city,
                *[Formula(f"={source}!{letters[v]}{INDICATOR_FIRST_ROW + i}") for v in variables],
                Formula(f"=SUM({SCORE.cell(i, 0)}:{last_variable}{r})"),
            ]
        )
    return score_sheets.score_table_output(
        layout.score_sheet(position), layout.data_sheet(position), _cells(rows), n, scores=len(variables) + 1, formulas=True, formula_values=computed, live=True
    )


def _overall_sheet(pipeline: Pipeline, cities: list[str], run_time: str) -> layout.SheetOutput:
    framework = pipeline.framework
    settings = pipeline.settings
    dimensions = list(framework.dimensions)
    n = len(cities)
    first, last = SCORE.first_row, SCORE.last_row(n)
    total_col = SCORE.letter(len(dimensions))
    last_dimension = SCORE.letter(len(dimensions) - 1)
    tiers = "; ".join(f"{label}: {_number(minimum)} or more" for label, minimum in settings.tiers)
    rows = SCORE.top(
        [
            ["Overall scores"],
            [
                f"Live formulas. {len(dimensions)} dimension totals from the score sheets (each at most {n * len(framework.variables_of(dimensions[0]))}); "
                f"total = their SUM, no weights; Rank = RANK of the total (tied totals share the better rank). Tiers: {tiers}; otherwise {settings.other_tier}. "
                "Cities in edition order: the ranks update live, the rows do not move."
            ],
            [layout._stamp(run_time)],
        ],
        ["Rank", "City", *dimensions, "Total", "Tier"],
    )
    overall = pipeline["overall"]
    dimension_scores = pipeline["dimension_scores"]
    computed = [[None] for _ in rows] + [
        [
            layout.cell_value(overall.at[city, "rank"]),
            None,
            *[layout.cell_value(dimension_scores.at[city, d]) for d in dimensions],
            layout.cell_value(overall.at[city, "overall"]),
            overall.at[city, "tier"],
        ]
        for city in cities
    ]
    for i, city in enumerate(cities):
        r = SCORE.row(i)
        total_cells = []
        for position in range(1, len(dimensions) + 1):
            sheet = quote_sheet(layout.score_sheet(position))
            dimension_total = SCORE.cell(i, len(framework.variables_of(dimensions[position - 1])))
            total_cells.append(Formula(f"={sheet}!{dimension_total}"))
        rows.append(
            [
                Formula(f"=RANK({total_col}{r},{total_col}${first}:{total_col}${last})"),
                city,
                *total_cells,
                Formula(f"=SUM({SCORE.cell(i, 0)}:{last_dimension}{r})"),
                tier_label_formula(f"{total_col}{r}", settings.tiers, settings.other_tier),
            ]
        )
    return score_sheets.score_table_output(
        layout.SHEET_OVERALL, layout.score_sheet(len(dimensions)), _cells(rows), n, scores=len(dimensions) + 1, text=1, formulas=True, formula_values=computed, live=True
    )

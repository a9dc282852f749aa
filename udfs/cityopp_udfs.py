"""CityOpp worksheet functions: =RANKSCORE, =TIERSCORE, =VARSCORE, =COMPRANK.

Each function is decorated twice, so the same Python function is a worksheet function
in desktop Excel on Windows (``@xw.func``: add ``udfs.cityopp_udfs`` to the xlwings
UDF Modules and click *Import Functions*) and through xlwings Server / xlwings Lite /
Office.js (``xlwings.server.func``). Each converts its range arguments, calls the
scoring core and returns a number or a spilled column; any problem comes back as a short
text such as ``RANKSCORE: values must be numbers or blanks (row 3: 'n/a')``, never a
traceback.
"""

import functools
import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
import xlwings as xw
from xlwings import server
from xlwings.conversion import CleanDataFromReadStage, Converter, ValueAccessor
from xlwings.conversion.framework import Accessor

from cityopp_xl import scoring
from cityopp_xl.direction import Direction
from cityopp_xl.validate import parse_number, quote_cell


def _look_for_jsnull_once() -> None:
    """Look for Pyodide's ``JsNull`` once per process instead of once per cell.

    xlwings 0.37 tries ``from pyodide.ffi import JsNull`` for every cell of a range
    argument and for every argument, to recognise the empty cells of xlwings Lite.
    Outside Pyodide that import fails every time, and the failed imports took 95% of a
    =RANKSCORE over 3,000 cities (bench/run.py). Whether the module exists does not
    change while Python runs, so the answers are the same; inside Pyodide xlwings' own
    checks are kept.
    """
    from xlwings import utils
    from xlwings.pro import udfs_officejs

    try:
        from pyodide.ffi import JsNull  # noqa: F401
    except ImportError:
        if hasattr(utils, "is_jsnull"):
            utils.is_jsnull = lambda value: False
        if hasattr(udfs_officejs, "js_to_none"):
            udfs_officejs.js_to_none = lambda arg: arg


_look_for_jsnull_once()


class UdfError(ValueError):
    """Raised inside a worksheet function for input it cannot use; shown as cell text."""


def _friendly(name: str):
    """Return any problem as ``NAME: message`` text in the cell instead of an error."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except UdfError as exc:
                return f"{name}: {exc}"
            except Exception as exc:  # the cell must never show a traceback
                return f"{name}: {type(exc).__name__}: {exc}"

        return wrapper

    return decorate


# --------------------------------------------------------------------------- conversion


def _shape(values) -> tuple[list, str]:
    """Flatten a range argument to a list; remember whether it was a row or a column."""
    if isinstance(values, _CheckedRange):
        return values.cells, values.orientation
    if values is None:
        return [], "column"
    if not isinstance(values, list):
        return [values], "column"
    if values and isinstance(values[0], list):
        flat = _flatten(values)
        if flat is None:
            raise UdfError("give one row or one column of values")
        return flat
    return list(values), "column"


def _flatten(matrix: list[list]) -> tuple[list, str] | None:
    """The cells of a 2-D range that is one row or one column, and which it is; None for
    a block of cells."""
    if len(matrix) == 1 and len(matrix[0]) > 1:
        return list(matrix[0]), "row"
    try:  # every row holds exactly one cell (unpacking fails otherwise)
        return [cell for (cell,) in matrix], "column"
    except (ValueError, TypeError):
        return None


_PLAIN = {float, int, type(None)}


def _numbers(cells: list, what: str) -> pd.Series:
    if type(cells) is _PlainCells or set(map(type, cells)) <= _PLAIN:
        # The common case, plain numbers and blanks, in one step (None reads as NaN);
        # anything else, and an infinite or too large number, is read cell by cell by the
        # documented rules.
        try:
            numbers = np.array(cells, dtype="float64")
        except OverflowError:
            numbers = None
        if numbers is not None and not np.isinf(numbers).any():
            return pd.Series(numbers, index=pd.RangeIndex(len(numbers)))
    out = []
    for position, cell in enumerate(cells, start=1):
        number, found, severity = parse_number(cell)
        if found is not None and severity == "error":
            raise UdfError(f"{what} must be numbers or blanks (item {position}: {found})")
        out.append(number)
    return pd.Series(out, index=pd.RangeIndex(len(out)), dtype="float64")


class Cells:
    """Type of a range argument: read as xlwings reads a value (a 2-D list), faster.

    xlwings cleans every cell of a range argument one by one (empty strings, error and
    data-type dictionaries, Lite's ``JsNull``); for a column of 3,000 cities that took
    longer than scoring it (bench/run.py). When Office.js sent one column or one row of
    nothing but numbers and empty cells, which that cleaning would leave as they are,
    :class:`_CleanCells` checks the cells once and hands them on flattened; any other
    argument, any reading option, and desktop Excel get xlwings' own cleaning. Error
    cells read as their text (``#N/A``), which the functions report.
    """


class _PlainCells(list):
    """The cells of one column or row, each checked to be a float, an int or None."""


class _CheckedRange(list):
    """A range argument as Office.js sent it (a 2-D list), with its checked cells."""

    __slots__ = ("cells", "orientation")


def _checked_range(matrix: list) -> _CheckedRange | None:
    flat = _flatten(matrix) if matrix and isinstance(matrix[0], list) else None
    if flat is None:
        return None  # a block: xlwings' cleaning, then _shape explains
    cells, orientation = flat
    if not set(map(type, cells)) <= _PLAIN:
        return None
    checked = _CheckedRange(matrix)
    checked.cells, checked.orientation = _PlainCells(cells), orientation
    return checked


class _CleanCells(CleanDataFromReadStage):
    def __call__(self, c):
        if c.engine.name == "officejs" and self.numbers_handler is None and self.empty_as is None:
            checked = _checked_range(c.value)
            if checked is not None:
                c.value = checked
                return
        super().__call__(c)


class _CellsAccessor(Accessor):
    @staticmethod
    def reader(options):
        # An error cell (#N/A, #DIV/0!) reads as its text, so that the function names it
        # instead of scoring it as a blank (xlwings' default reads it as None).
        options = {"err_to_str": True, **options}
        return ValueAccessor.reader(options).insert_stage(_CleanCells(options), replace=CleanDataFromReadStage)


_CellsAccessor.register(Cells)


class Spill:
    """Whole scores to spill: ``rows``, a list of rows of Python ints, as Excel takes them.

    Not a list itself, so that xlwings hands it to :class:`_SpillConverter` without first
    walking every row to check that a list of lists is not jagged. The rows of a column
    are one-int tuples shared between spills (:func:`_spill`): compared with a list of
    lists, a spill compares its rows as lists."""

    __slots__ = ("rows",)

    def __init__(self, rows: list):
        self.rows = rows

    def __eq__(self, other):
        other = other.rows if isinstance(other, Spill) else other
        if not isinstance(other, list) or len(other) != len(self.rows):
            return False
        return all(list(mine) == list(theirs) for mine, theirs in zip(self.rows, other))

    def __repr__(self):
        return f"Spill({[list(row) for row in self.rows]!r})"


class _SpillConverter(Converter):
    """Hands a :class:`Spill` to Excel as it is: xlwings' default conversion of a result
    checks every cell for NaN, dates and errors, which took twice as long as scoring a
    column of 3,000 cities (bench/run.py), and a column of ints has none of them."""

    base_type = "raw"

    @staticmethod
    def write_value(value, options):
        return value.rows  # a plain list: xlwings sizes dynamic arrays by `type(...) is list`


_SpillConverter.register(Spill)

#: ``_SCORE_ROWS[k] == (k,)``: the rows of a spilled column, made once per score and
#: shared (tuples, so no spill can change another's), in a NumPy object array so that a
#: column's rows are picked in one step. Making a new one-cell list per city took as long
#: as scoring the column, and the 3,000 new lists of a spill then cost a pass of the
#: garbage collector (bench/run.py). Grown on demand, up to Excel's row count.
_SCORE_ROWS = np.empty(0, dtype=object)
_SHARED_ROWS_UP_TO = 1_048_576


def _spill(scores, orientation: str) -> Spill:
    global _SCORE_ROWS
    values = np.asarray(scores, dtype="int64")
    if orientation == "row":
        return Spill([values.tolist()])
    if not len(values):
        return Spill([])
    low, high = int(values.min()), int(values.max())
    if low < 0 or high > _SHARED_ROWS_UP_TO:
        return Spill([(v,) for v in values.tolist()])
    if high >= len(_SCORE_ROWS):
        size = min(max(high + 1, 2 * len(_SCORE_ROWS)), _SHARED_ROWS_UP_TO + 1)
        _SCORE_ROWS = np.fromiter(((k,) for k in range(size)), dtype=object, count=size)
    return Spill(_SCORE_ROWS.take(values).tolist())


def _direction(text) -> Direction:
    text = "higher" if text in (None, "") else str(text)
    if text.strip().lower() == "tiers":
        raise UdfError("for tiers use TIERSCORE(tiers, points)")
    direction, problems = Direction.parse(text)
    if direction is None:
        raise UdfError(f"direction {quote_cell(text)} is not higher, lower or target:T")
    return direction


def _ties(text) -> str:
    rule = "best" if text in (None, "") else str(text).strip().lower()
    if rule not in ("best", "worst"):
        raise UdfError(f"ties {quote_cell(text)} is not best or worst")
    return rule


def _single_text(value) -> str | None:
    """The text of a one-cell argument holding text (ranges arrive as 2-D lists)."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) else None


def _scalar(value):
    """The one cell of a single-value argument. None is a blank cell: xlwings Server
    turns Office.js's ``[[null]]`` for a blank cell into None, as for an omitted argument
    (desktop Excel through xlwings' COM add-in sends ``[[None]]``, Office.js may send
    ``[[""]]``); a single-value argument is never optional, so None is always a blank."""
    if value is None:
        return None
    cells, _ = _shape(value)
    if len(cells) != 1:
        raise UdfError("value must be a single cell")
    return cells[0]


# --------------------------------------------------------------------------- functions

ValuesArg = Annotated[Cells, {"ndim": 2, "doc": "The values of all cities: one column (or row). Blank cells are cities with no value."}]
DirectionArg = Annotated[Any, {"doc": 'Optional. "higher" (default), "lower", or "target:T" for closest to T is best.'}]
TiesArg = Annotated[Any, {"doc": 'Optional. "best" (default): tied cities share the best score of their group; "worst": they share the lowest.'}]


@server.func
@xw.func
@_friendly("RANKSCORE")
def rankscore(
    value: Annotated[Cells, {"ndim": 2, "doc": "The value to score (one cell), or the whole column to score every city at once."}],
    values: ValuesArg = None,
    direction: DirectionArg = "higher",
    ties: TiesArg = "best",
):
    """Rank score, from 1 to N (N = number of cities): the best city scores N, tied cities share the best score of their group, a blank scores 1. RANKSCORE(value, values) scores one value; RANKSCORE(values) spills the score of every city."""
    text = _single_text(values)
    if values is None or text is not None:
        if text is not None:  # RANKSCORE(values, "lower") or RANKSCORE(values, "lower", "worst")
            direction, ties = text, (direction if direction not in (None, "", "higher") else ties)
        cells, orientation = _shape(value)
        series = _numbers(cells, "values")
        if len(series) < 2:
            raise UdfError("give at least 2 values to rank")
        better = scoring.transform(series, _direction(direction))
        return _spill(scoring.rank_score(better, _ties(ties)), orientation)
    cells, _ = _shape(values)
    column = _numbers(cells, "values")
    if len(column) < 2:
        raise UdfError("give at least 2 values to rank")
    number, found, severity = parse_number(_scalar(value))
    if found is not None and severity == "error":
        raise UdfError(f"value must be a number or blank ({found})")
    if math.isnan(number):
        return 1
    rule = _ties(ties)
    direction = _direction(direction)
    # Score the value among the column, as one more reading of its own cell: its cell is
    # in the column, so N stays the column's length.
    better = scoring.transform(column, direction)
    mine = float(scoring.transform(pd.Series([number]), direction).iloc[0])
    if rule == "best":
        return int(len(column) - int((better > mine).sum()))
    return int(1 + int((better < mine).sum()) + int(better.isna().sum()))


@server.func
@xw.func
@_friendly("TIERSCORE")
def tierscore(
    tiers: Annotated[Cells, {"ndim": 2, "doc": "Tier numbers (1 = highest tier), one cell or a column. Blank = no tier."}],
    points: Annotated[Cells, {"ndim": 2, "doc": 'The points of tiers 1, 2, 3, ...: a range, or text such as "60,50,40,30,20,10,5".'}],
):
    """Tier score: the points of each city's tier from a points table; a blank scores 1. Spills for a column of tiers."""
    text = _single_text(points)
    if text is not None:
        items = [p for p in text.replace(";", ",").split(",") if p.strip()]
        table = tuple(parse_number(p)[0] for p in items)
        if any(math.isnan(p) for p in table):
            raise UdfError(f"points {quote_cell(text)} is not a list of numbers such as 60,50,40")
    else:
        table = tuple(_numbers(_shape(points)[0], "points").dropna())
    if not table:
        raise UdfError("give the points table")
    if not all(float(p).is_integer() and abs(p) < 2**53 for p in table):
        raise UdfError("points must be whole numbers, such as 60,50,40")
    if tiers is None:
        return 1  # one blank cell (see _scalar): no tier scores 1
    cells, orientation = _shape(tiers)
    if not cells:
        raise UdfError("give at least one tier")
    series = _numbers(cells, "tiers")
    bad = series.dropna()[~series.dropna().isin(np.arange(1, len(table) + 1))]
    if len(bad):
        raise UdfError(f"tier {bad.iloc[0]:g} is not a whole number from 1 to {len(table)}")
    scores = scoring.tier_scores(series, table)
    return int(scores.iloc[0]) if len(cells) == 1 else _spill(scores, orientation)


@server.func
@xw.func
@_friendly("VARSCORE")
def varscore(
    scores1: Annotated[Cells, {"ndim": 2, "doc": "Indicator scores of the first indicator, one per city."}],
    scores2: Annotated[Cells, {"ndim": 2, "doc": "Indicator scores of the second indicator, same cities in the same order."}],
    scores3: Annotated[Cells, {"ndim": 2, "doc": "Optional. Indicator scores of a third indicator."}] = None,
    ties: TiesArg = "best",
):
    """Variable score of 2 or 3 indicators, from 1 to N: adds the indicator scores of each city and scores the sums again by rank (ties as chosen). Spills one score per city."""
    if _single_text(scores3) is not None:
        scores3, ties = None, _single_text(scores3)  # VARSCORE(a, b, "worst")
    columns = [c for c in (scores1, scores2, scores3) if c is not None]
    if len(columns) < 2:
        raise UdfError("give the indicator scores of 2 or 3 indicators")
    shaped = [_shape(c) for c in columns]
    lengths = {len(cells) for cells, _ in shaped}
    if len(lengths) != 1:
        raise UdfError("the indicator score columns must have the same number of cities")
    if lengths.pop() < 2:
        raise UdfError("give the indicator scores of at least 2 cities")
    frame = pd.concat([_numbers(cells, "indicator scores") for cells, _ in shaped], axis=1)
    if frame.isna().any().any():
        raise UdfError("indicator scores must not be blank (a city with no value scores 1)")
    sums = frame.sum(axis=1)
    return _spill(scoring.rank_score(sums, _ties(ties)), shaped[0][1])


@server.func
@xw.func
@_friendly("COMPRANK")
def comprank(
    total: Annotated[Cells, {"ndim": 2, "doc": "One total to rank (one cell), or the whole column of totals to rank every city."}],
    totals: Annotated[Cells, {"ndim": 2, "doc": "Optional. The totals of all cities, when ranking one total."}] = None,
):
    """Competition rank of totals, 1 = highest: equal totals share the better rank and the next rank skips (15, 15, 17). COMPRANK(total, totals) ranks one; COMPRANK(totals) spills every rank."""
    if totals is None:
        cells, orientation = _shape(total)
        if not cells:
            raise UdfError("give at least one total")
        series = _numbers(cells, "totals")
        if series.isna().any():
            raise UdfError("totals must not be blank")
        return _spill(scoring.competition_rank(series), orientation)
    column = _numbers(_shape(totals)[0], "totals").dropna()
    number, found, severity = parse_number(_scalar(total))
    if found is not None or math.isnan(number):
        raise UdfError("total must be a number")
    return int(1 + (column > number).sum())


# --------------------------------------------------------------------------- Excel names

#: Each function's name in Excel, upper case as Excel's own functions are, on every path.
#: xlwings names a function after its Python name: desktop Excel's *Import Functions*
#: (``ImportPythonUDFs``) writes a VBA ``Function <name>`` that calls
#: ``XLPy.CallUDF("<module>", "<name>", ...)``, and the Office.js code associates
#: ``<NAME>`` with a call sending ``<name>``. So the name becomes the upper-case one, and
#: the module answers that name too (below): xlwings looks the function up by it with
#: ``getattr``. The alias is not a module attribute of its own, so xlwings, which lists
#: the module's members, still finds each function once.
EXCEL_NAMES = {function.__name__.upper(): function for function in (rankscore, tierscore, varscore, comprank)}
for _name, _function in EXCEL_NAMES.items():
    _function.__xlfunc__["name"] = _name
del _name, _function  # a module attribute holding a function would be listed twice


def __getattr__(name: str):
    """``RANKSCORE`` and the other Excel names, for xlwings' look-up by name."""
    try:
        return EXCEL_NAMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None

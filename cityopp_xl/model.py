"""The index's structure as data: indicators, variables, dimensions, directions, tie rules, settings.

Nothing here knows about Excel or files. Readers (``adapters/``) turn sheets or CSV files
into :class:`SheetTable` objects; :func:`framework_from_table` and
:func:`settings_from_table` turn those into a :class:`Framework` and :class:`Settings`,
collecting every problem with the cell it came from.
"""

from __future__ import annotations

import collections
import math
import re
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from .direction import Direction, parse_direction
from .errors import MethodError, Problem
TIE_RULES = ("best", "worst")

#: Column names of the framework table, in the order the workbook shows them.
FRAMEWORK_COLUMNS = (
    "id",
    "dimension",
    "variable",
    "indicator",
    "direction",
    "ties",
    "points",
    "prescored",
    "unit",
    "data_year",
    "source",
)
REQUIRED_FRAMEWORK_COLUMNS = ("id", "dimension", "variable", "indicator", "direction")

_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0", ""}


# --------------------------------------------------------------------------- tables


def column_letter(number: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """'A' -> 1, 'AA' -> 27 (the inverse of :func:`column_letter`)."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def quote_sheet(sheet: str) -> str:
    """A sheet name as Excel writes it in a reference: quoted when it has spaces or punctuation."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


@dataclass(frozen=True)
class SheetTable:
    """A table read from a sheet (or a CSV file), with enough to name any of its cells.

    ``frame`` holds the table body: one row per data row, one column per header, indexed
    by the 0-based body row number. ``first_row`` is the sheet row of the first body row
    (1-based) and ``first_col`` the sheet column of the first frame column (1-based).
    """

    sheet: str
    frame: pd.DataFrame
    first_row: int = 2
    first_col: int = 1
    #: "a1" names cells as ``Sheet!C7``; "csv" as ``file.csv line 7 (column 'value')``.
    style: str = "a1"

    def address(self, row: int, column=None) -> str:
        """The A1 reference (``Sheet!C7``) of a body cell, by body row and column name.

        With ``column=None`` the reference is the row's first cell.
        """
        position = self.frame.index.get_loc(row)
        col = 0 if column is None else self.column_position(column)
        if self.style == "csv":
            name = self.frame.columns[col]
            return f"{self.sheet} line {self.first_row + position} (column '{name}')"
        return f"{self.sheet}!{column_letter(self.first_col + col)}{self.first_row + position}"

    def addresses(self, rows: dict, column=None) -> dict:
        """``{key: self.address(row, column)}`` for every key → body row of ``rows``, the
        column found once."""
        if self.style == "csv":
            return {key: self.address(row, column) for key, row in rows.items()}
        col = 0 if column is None else self.column_position(column)
        prefix, first, get_loc = f"{self.sheet}!{column_letter(self.first_col + col)}", self.first_row, self.frame.index.get_loc
        return {key: f"{prefix}{first + get_loc(row)}" for key, row in rows.items()}

    def column_position(self, column) -> int:
        """The 0-based position of the first column named ``column`` (ValueError when
        there is none), by the columns' hash table rather than a walk along them."""
        try:
            position = self.frame.columns.get_loc(column)
        except (KeyError, TypeError):
            position = None
        if type(position) is int:
            return position
        return list(self.frame.columns).index(column)  # a repeated name, or none: the first, or ValueError

    def header_row_address(self) -> str:
        """The header row's first cell (``Sheet!A4``), or ``file.csv line 1``."""
        if self.style == "csv":
            return f"{self.sheet} line {self.first_row - 1}"
        return f"{self.sheet}!{column_letter(self.first_col)}{self.first_row - 1}"

    def header_address(self, column) -> str:
        """The A1 reference of a column's header cell (the row above the body)."""
        col = self.column_position(column)
        if self.style == "csv":
            return f"{self.sheet} line {self.first_row - 1} (header '{column}')"
        return f"{self.sheet}!{column_letter(self.first_col + col)}{self.first_row - 1}"


# --------------------------------------------------------------------------- framework


@dataclass(frozen=True)
class Indicator:
    """One measured quantity; ``id`` is its key in data sheets and files."""

    id: str
    name: str
    direction: Direction
    unit: str = ""
    data_year: str = ""
    source: str = ""


@dataclass(frozen=True)
class Variable:
    """1 to 3 indicators whose scores are summed and re-scored (or one pre-scored column).

    ``ties`` is the tie rule of the variable score: ``best`` (tied cities share the best
    score of their group) or ``worst`` (they share the lowest). ``prescored`` means the
    data carry the variable score itself, taken as given and only checked.
    """

    name: str
    dimension: str
    indicators: tuple[Indicator, ...]
    ties: str = "best"
    prescored: bool = False


@dataclass(frozen=True)
class Framework:
    """Dimensions → variables → indicators, in framework order. No weights anywhere."""

    variables: tuple[Variable, ...]

    @property
    def dimensions(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for variable in self.variables:
            seen.setdefault(variable.dimension, None)
        return tuple(seen)

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        return tuple(i for v in self.variables for i in v.indicators)

    def variables_of(self, dimension: str) -> tuple[Variable, ...]:
        return tuple(v for v in self.variables if v.dimension == dimension)

    def variable(self, name: str) -> Variable:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    def input_columns(self, dimension: str | None = None) -> list[str]:
        """The data columns the framework expects: indicator ids, or the variable name of a
        pre-scored variable (its one column holds the variable score)."""
        variables = self.variables if dimension is None else self.variables_of(dimension)
        columns: list[str] = []
        for variable in variables:
            if variable.prescored:
                columns.append(variable.name)
            else:
                columns.extend(i.id for i in variable.indicators)
        return columns

    def column_labels(self) -> dict[str, str]:
        """A readable label per input column: ``"1 Total GDP"`` or ``"<variable> (score)"``."""
        labels: dict[str, str] = {}
        for variable in self.variables:
            if variable.prescored:
                labels[variable.name] = f"{variable.name} (score)"
            else:
                for indicator in variable.indicators:
                    labels[indicator.id] = f"{indicator.id} {indicator.name}"
        return labels

    def to_frame(self) -> pd.DataFrame:
        """One row per indicator with the columns of :data:`FRAMEWORK_COLUMNS`."""
        return pd.DataFrame(self.records(), columns=list(FRAMEWORK_COLUMNS))

    def records(self) -> list[dict]:
        """The rows of :meth:`to_frame`, one dict per indicator."""
        rows = []
        for variable in self.variables:
            for indicator in variable.indicators:
                rows.append(
                    {
                        "id": indicator.id,
                        "dimension": variable.dimension,
                        "variable": variable.name,
                        "indicator": indicator.name,
                        "direction": str(indicator.direction),
                        "ties": variable.ties,
                        "points": indicator.direction.points_text,
                        "prescored": "yes" if variable.prescored else "no",
                        "unit": indicator.unit,
                        "data_year": indicator.data_year,
                        "source": indicator.source,
                    }
                )
        return rows

    def rules(self) -> dict:
        """The rules in force, JSON-serialisable (for the run log)."""
        return {
            v.name: {
                "dimension": v.dimension,
                "ties": v.ties,
                "prescored": v.prescored,
                "indicators": {
                    i.id: str(i.direction)
                    + (f" points={i.direction.points_text}" if i.direction.points else "")
                    for i in v.indicators
                },
            }
            for v in self.variables
        }


def _text(value) -> str:
    """A cell as trimmed text ('' for blank; 3.0 -> '3')."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def parse_flag(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    return None


def column_values(frame: pd.DataFrame, header) -> dict:
    """Row label -> value of one column of ``frame``, read in one step (``frame.at`` cell
    by cell costs pandas' indexing machinery for every cell)."""
    if frame.index.is_unique and frame.columns.is_unique:
        column = frame[header]
        if column.dtype == object:
            # Read values are Python objects already: to_dict would box each one.
            values = column.tolist()
            if not any(isinstance(value, np.generic) for value in values):
                return dict(zip(frame.index.tolist(), values))
        return column.to_dict()
    return {row: frame.at[row, header] for row in frame.index}


def tuples(frame: pd.DataFrame):
    """``frame.itertuples(index=False)``, each column read as one list: itertuples walks a
    text column value by value through pandas."""
    row = collections.namedtuple("Pandas", list(frame.columns), rename=True)
    return map(row._make, zip(*(column.tolist() for _, column in frame.items())))


def with_dtypes(frame: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    """``frame.astype(dtypes)`` for a few named columns: each not of its dtype already is
    converted and set on a shallow copy (``astype`` with a dict rebuilds the whole frame,
    about 1 ms a table); ``frame`` itself when every column is."""
    current = dict(zip(frame.columns, frame.dtypes.tolist()))
    result = frame
    for column, dtype in dtypes.items():
        if current.get(column) == dtype:
            continue
        if result is frame:
            result = frame.copy(deep=False)
        result[column] = frame[column].astype(dtype)
    return result


def framework_from_table(table: SheetTable) -> tuple[Framework | None, list[Problem]]:
    """Build the framework from its table (one row per indicator, framework order).

    Parameters
    ----------
    table : SheetTable
        Columns named as :data:`FRAMEWORK_COLUMNS` (``id, dimension, variable, indicator,
        direction`` required; ``ties``, ``points``, ``prescored`` optional; other columns
        ignored). Blank rows are skipped.

    Returns
    -------
    (Framework or None, problems)
        None when an error makes the framework unusable; every problem names its cell.
    """
    frame = table.frame
    problems: list[Problem] = []
    columns = {str(c).strip().lower(): c for c in frame.columns}
    missing = [c for c in REQUIRED_FRAMEWORK_COLUMNS if c not in columns]
    if missing:
        problems.append(
            Problem(
                where=table.header_row_address(),
                found=f"no column {', '.join(repr(m) for m in missing)} in the header",
                expected=f"the columns {', '.join(REQUIRED_FRAMEWORK_COLUMNS)}",
            )
        )
        return None, problems

    by_column = {name: column_values(frame, header) for name, header in columns.items()}

    def cell(row, name):
        return _text(by_column[name][row]) if name in columns else ""

    def where(row, name):
        return table.address(row, columns[name]) if name in columns else table.address(row)

    variables: dict[str, dict] = {}
    seen_ids: dict[str, str] = {}
    placeholders: list[tuple[object, str]] = []
    for row in frame.index:
        values = {name: cell(row, name) for name in FRAMEWORK_COLUMNS}
        if not any(values[name] for name in REQUIRED_FRAMEWORK_COLUMNS):
            continue  # a blank row
        if values["variable"] and not (values["id"] or values["indicator"] or values["direction"]):
            # A variable named on a row of its own: a placeholder with no indicator yet.
            placeholders.append((row, values["variable"]))
            continue
        for name in REQUIRED_FRAMEWORK_COLUMNS:
            if not values[name] and name != "direction":
                problems.append(Problem(where(row, name), f"a blank {name}", f"the indicator's {name}"))
        identifier = values["id"]
        if identifier and identifier in seen_ids:
            problems.append(
                Problem(where(row, "id"), f"indicator id '{identifier}' again (first at {seen_ids[identifier]})", "a unique id per indicator")
            )
        elif identifier:
            seen_ids[identifier] = where(row, "id")
        direction, direction_problems = parse_direction(values["direction"], values["points"])
        for found, expected in direction_problems:
            problems.append(Problem(where(row, "direction" if "points" not in found else "points"), found, expected))
        if direction is not None and direction.ranked and values["points"]:
            problems.append(
                Problem(where(row, "points"), f"points '{values['points']}' on a '{direction}' indicator", "points only with direction 'tiers'", "warning")
            )
        ties = values["ties"].lower() or "best"
        ties_given = bool(values["ties"])
        if ties not in TIE_RULES:
            problems.append(Problem(where(row, "ties"), f"tie rule '{values['ties']}'", "best or worst"))
            ties, ties_given = "best", False  # reported once: not compared with other rows
        prescored = parse_flag(values["prescored"])
        if prescored is None:
            problems.append(Problem(where(row, "prescored"), f"'{values['prescored']}'", "yes or no"))
            prescored = False
        name, dimension = values["variable"], values["dimension"]
        if not name or not identifier:
            continue
        entry = variables.get(name)
        if entry is None:
            entry = variables[name] = {
                "dimension": dimension,
                "indicators": [],
                "ties": ties,
                "prescored": prescored,
                "row": row,
                "ties_given": ties_given,
            }
        else:
            if entry["dimension"] != dimension:
                problems.append(
                    Problem(where(row, "dimension"), f"variable '{name}' in dimension '{dimension}'", f"'{entry['dimension']}', as on its first row {where(entry['row'], 'dimension')}")
                )
            if ties_given and entry["ties_given"] and ties != entry["ties"]:
                problems.append(
                    Problem(where(row, "ties"), f"tie rule '{ties}' for variable '{name}'", f"'{entry['ties']}', as on its first row (one rule per variable)")
                )
            elif ties_given and not entry["ties_given"]:
                entry["ties"], entry["ties_given"] = ties, True
            if prescored != entry["prescored"]:
                problems.append(
                    Problem(where(row, "prescored"), f"prescored '{values['prescored']}' for variable '{name}'", "the same flag on every row of a variable")
                )
        entry["indicators"].append(
            Indicator(
                id=identifier,
                name=values["indicator"],
                direction=direction or Direction("higher"),
                unit=values["unit"],
                data_year=values["data_year"],
                source=values["source"],
            )
        )

    for row, name in placeholders:
        if name in variables:
            problems.append(Problem(where(row, "variable"), f"a row naming variable '{name}' with no id, indicator or direction (ignored)", "one row per indicator", "warning"))
        else:
            problems.append(
                Problem(where(row, "variable"), f"variable '{name}' with 0 indicators (no id, indicator or direction on its row)", "1 to 3 indicators per variable: fill in the row's indicator or delete the row")
            )
    built: list[Variable] = []
    for name, entry in variables.items():
        count = len(entry["indicators"])
        if not 1 <= count <= 3:
            problems.append(
                Problem(where(entry["row"], "variable"), f"variable '{name}' with {count} indicators", "1 to 3 indicators per variable")
            )
        built.append(Variable(name, entry["dimension"], tuple(entry["indicators"]), entry["ties"], entry["prescored"]))

    # Variables of a dimension must be contiguous? No: order of first appearance is kept.
    framework = Framework(tuple(built))
    for dimension in framework.dimensions:
        count = len(framework.variables_of(dimension))
        if count != 5:
            first = next(v for v in framework.variables if v.dimension == dimension)
            problems.append(
                Problem(
                    where(variables[first.name]["row"], "dimension"),
                    f"dimension '{dimension}' with {count} variables",
                    "5 variables per dimension, as in the published method (scoring goes on)",
                    "warning",
                )
            )
    if not built:
        problems.append(Problem(f"{table.sheet}", "no indicator rows", "one row per indicator"))
    if any(p.blocking for p in problems):
        return None, problems
    return framework, problems


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """Run settings that are not part of the framework.

    ``tiers``: (label, minimum overall score) from the highest tier down; a city is in the
    first tier whose minimum its overall score reaches, else in ``other_tier``.
    ``formulas``: write the score sheets as live spreadsheet formulas over the input cells
    (Settings row ``output, formulas``) instead of values (``output, values``, the default).
    It changes how scores are written, never what they are, so it is not in :meth:`to_dict`.
    """

    tiers: tuple[tuple[str, float], ...] = (("First tier", 2400.0), ("Second tier", 2000.0), ("Third tier", 1500.0))
    other_tier: str = "Other"
    formulas: bool = False

    def to_dict(self) -> dict:
        return {"tiers": [[label, minimum] for label, minimum in self.tiers], "other_tier": self.other_tier}

    def to_frame(self) -> pd.DataFrame:
        rows = [{"setting": "tier", "label": label, "value": minimum} for label, minimum in self.tiers]
        rows.append({"setting": "other tier", "label": self.other_tier, "value": None})
        if self.formulas:
            rows.append({"setting": "output", "label": "formulas", "value": None})
        return pd.DataFrame(rows, columns=["setting", "label", "value"])


def settings_from_table(table: SheetTable) -> tuple[Settings, list[Problem]]:
    """Read settings rows ``setting, label, value``: ``tier`` rows (label, minimum overall
    score), one ``other tier`` row (label) and optionally one ``output`` row (label
    ``formulas`` or ``values``). Unknown settings are reported as warnings."""
    problems: list[Problem] = []
    frame = table.frame
    columns = {str(c).strip().lower(): c for c in frame.columns}
    if not {"setting", "label", "value"} <= set(columns):
        problems.append(
            Problem(table.header_row_address(), "a header without setting, label, value", "the columns setting, label, value")
        )
        return Settings(), problems
    tiers: list[tuple[str, float]] = []
    tier_cells: list[str] = []
    other = Settings().other_tier
    formulas = False
    for row in frame.index:
        setting = _text(frame.at[row, columns["setting"]]).lower()
        label = _text(frame.at[row, columns["label"]])
        value = frame.at[row, columns["value"]]
        if not setting:
            continue
        if setting == "tier":
            number = _as_float(value)
            if number is None:
                problems.append(Problem(table.address(row, columns["value"]), f"'{_text(value)}'", "a minimum overall score (a number)"))
                continue
            tiers.append((label or f"Tier {len(tiers) + 1}", number))
            tier_cells.append(table.address(row, columns["value"]))
        elif setting == "other tier":
            other = label or other
        elif setting == "output":
            if label.lower() not in ("formulas", "values"):
                problems.append(Problem(table.address(row, columns["label"]), f"output '{label}'", "formulas (live spreadsheet formulas) or values"))
                continue
            formulas = label.lower() == "formulas"
        else:
            problems.append(Problem(table.address(row, columns["setting"]), f"unknown setting '{setting}'", "tier, other tier or output", "warning"))
    # Tiers are listed from the highest down and a city takes the first it reaches:
    # minimums out of order would be a guess at which label was meant, so they stop the run.
    for (above, low), (below, high), first, second in zip(tiers, tiers[1:], tier_cells, tier_cells[1:]):
        if high >= low:
            first_row, second_row = (int("".join(ch for ch in cell if ch.isdigit())) for cell in (first.split("!", 1)[1], second.split("!", 1)[1]))
            sheet_cells = f"{first}{':' if second_row == first_row + 1 else ','}{second.split('!', 1)[1]}"
            problems.append(
                Problem(
                    sheet_cells,
                    f"tier '{below}' with minimum {high:g} below tier '{above}' with minimum {low:g}",
                    "tier minimums strictly falling from the first tier row down (the highest tier first)",
                )
            )
    return Settings(tuple(tiers), other, formulas), problems


def _as_float(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(float(value)) else float(value)
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return None


def check_framework(framework: Framework | None, problems: Iterable[Problem]) -> Framework:
    """Raise :class:`MethodError` listing every blocking problem, else return the framework."""
    problems = list(problems)
    if framework is None or any(p.blocking for p in problems):
        raise MethodError(problems)
    return framework

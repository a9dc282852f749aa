"""Input checks: turn the tables a reader found into the frames the core scores.

Every check runs over the whole input and collects :class:`~cityopp_xl.errors.Problem`
records that name the cell; :func:`check_problems` raises once with the whole list.

Accepted cell contents in a data column (documented in the README):

* a number; a blank cell (no value: scores 1);
* text holding a number: surrounding spaces, thousands separators (``12,345``),
  a percent sign (``15%`` reads as 0.15) and full-width digits (``１２３``) are accepted;
* the markers ``n/a``, ``NA``, ``-``, ``—``, ``–``, ``..``, ``null`` read as a blank cell,
  with a warning;
* anything else (other text such as ``1.2万``, booleans, dates, Excel error values such as
  ``#DIV/0!``) is an error that blocks scoring.

City names match the Cities sheet exactly after trimming spaces; a near miss (different
case, apostrophe, spacing) is reported with the name it probably means.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError, Problem
from .model import Framework, SheetTable, Settings, _text

MISSING_MARKERS = {"n/a", "na", "-", "—", "–", "..", "null", "none", "nan"}
EXCEL_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
_GROUPED = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?")


@dataclass
class Inputs:
    """Everything a run scores, as frames.

    ``values``: index ``city`` (edition order), one float column per input column of the
    framework (indicator ids, and the variable name of each pre-scored variable); NaN =
    no value. ``published``: index ``city``, one column per dimension plus ``overall`` and
    ``overall_rank`` as printed (NaN where not given), or None.
    ``addresses``: (city, column) → A1 reference of the source cell, for messages.
    """

    framework: Framework
    values: pd.DataFrame
    settings: Settings = field(default_factory=Settings)
    published: pd.DataFrame | None = None
    addresses: dict = field(default_factory=dict, repr=False)
    column_addresses: dict = field(default_factory=dict, repr=False)


# --------------------------------------------------------------------------- cells


class UncalculatedFormula(str):
    """A formula cell whose calculated value was not saved with the workbook."""


def parse_number(value) -> tuple[float, str | None, str]:
    """Read one data cell by the documented rules.

    Returns ``(number, found, severity)``: number is NaN for no value; ``found`` is None
    when the cell was read cleanly, else a description of what was found, with
    ``severity`` ``"warning"`` (read as documented) or ``"error"`` (not readable).
    """
    if value is None:
        return math.nan, None, ""
    if isinstance(value, UncalculatedFormula):
        return math.nan, f"the formula '{value}' with no calculated value saved (open and save the workbook in Excel, or paste values)", "error"
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return math.nan, f"the boolean {str(bool(value)).upper()}", "error"
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time, pd.Timestamp)):
        return math.nan, f"the date {value}", "error"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if math.isnan(number):
            return math.nan, None, ""
        if math.isinf(number):
            return math.nan, f"{number}", "error"
        return number, None, ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text == "":
        return math.nan, None, ""
    if text.upper() in EXCEL_ERRORS:
        return math.nan, f"the Excel error {text}", "error"
    if text.lower() in MISSING_MARKERS:
        return math.nan, f"'{value}' (read as a blank: no value, scores 1)", "warning"
    body = text.replace(" ", "")
    percent = body.endswith("%")
    if percent:
        body = body[:-1]
    if _GROUPED.fullmatch(body):
        body = body.replace(",", "")
    if _NUMBER.fullmatch(body):
        number = float(body)
        return (number / 100 if percent else number), None, ""
    return math.nan, f"'{value}'", "error"


def canonical_city(name: str) -> str:
    """A loose key for near-miss city names: case, apostrophes, spaces and hyphens ignored."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return re.sub(r"[\s'’‘`´\-_.]", "", text)


# --------------------------------------------------------------------------- cities


def read_cities(table: SheetTable) -> tuple[list[str], list[Problem]]:
    """The edition's cities from the Cities table (first column ``city``), in order."""
    problems: list[Problem] = []
    frame = table.frame
    if len(frame.columns) == 0 or str(frame.columns[0]).strip().lower() != "city":
        problems.append(Problem(f"{table.sheet}!A{table.first_row - 1}", "no 'city' header", "'city' in the first header cell"))
        return [], problems
    column = frame.columns[0]
    cities: list[str] = []
    seen: dict[str, str] = {}
    for row in frame.index:
        name = _text(frame.at[row, column])
        if not name:
            continue
        if name in seen:
            problems.append(Problem(table.address(row, column), f"city '{name}' again (first at {seen[name]})", "each city once"))
            continue
        seen[name] = table.address(row, column)
        cities.append(name)
    if len(cities) < 2:
        problems.append(Problem(f"{table.sheet}", f"{len(cities)} cit{'y' if len(cities) == 1 else 'ies'}", "at least 2 cities to rank"))
    return cities, problems


def match_city_rows(table: SheetTable, cities: list[str], column=None) -> tuple[dict[str, object], list[Problem]]:
    """Map each city of the edition to its row in ``table`` (by the first column).

    Returns ``{city: row label}`` and problems: unknown names (with the likely intended
    name), duplicated rows, cities absent from the table, city cells left blank on a row
    that holds data.
    """
    frame = table.frame
    column = frame.columns[0] if column is None else column
    known = set(cities)
    loose = {canonical_city(c): c for c in cities}
    rows: dict[str, object] = {}
    misspelled: set[str] = set()
    problems: list[Problem] = []
    for row in frame.index:
        name = _text(frame.at[row, column])
        if not name:
            others = [frame.at[row, c] for c in frame.columns if c != column]
            if any(_text(v) for v in others):
                problems.append(Problem(table.address(row, column), "a blank city name on a row with data", "a city name from the Cities sheet"))
            continue
        if name not in known:
            guess = loose.get(canonical_city(name))
            if guess:
                misspelled.add(guess)
            expected = f"'{guess}', as spelled on the Cities sheet" if guess else "a city listed on the Cities sheet"
            problems.append(Problem(table.address(row, column), f"city '{name}'", expected))
            continue
        if name in rows:
            first = table.address(rows[name], column)
            problems.append(Problem(table.address(row, column), f"city '{name}' again (first at {first})", "each city on one row only"))
            continue
        rows[name] = row
    for city in cities:
        if city not in rows and city not in misspelled:
            problems.append(Problem(table.sheet, f"no row for city '{city}'", "one row per city of the Cities sheet"))
    return rows, problems


# --------------------------------------------------------------------------- data sheets


def match_columns(table: SheetTable, expected: list[str], labels: dict[str, str]) -> tuple[dict[str, object], list[Problem]]:
    """Map each expected input column (indicator id or pre-scored variable) to a header.

    A header matches its column when it equals the column's label (``"1 Total GDP"``),
    the bare key (``"1"`` or the variable name), or starts with the indicator id followed
    by a space.
    """
    problems: list[Problem] = []
    mapping: dict[str, object] = {}
    headers = list(table.frame.columns)[1:]
    by_text = {}
    for key in expected:
        by_text[labels.get(key, key).strip().casefold()] = key
        by_text[key.strip().casefold()] = key
    for header in headers:
        text = _text(header)
        if not text:
            if table.frame[header].map(_text).astype(bool).any():
                problems.append(Problem(table.header_address(header), "a column of data without a header", "an indicator header such as '1 Total GDP'"))
            continue
        key = by_text.get(text.casefold())
        if key is None:
            token = text.split()[0]
            key = token if token in expected and labels.get(token, "").startswith(token + " ") else None
        if key is None:
            problems.append(Problem(table.header_address(header), f"column '{text}'", "an indicator of this dimension as listed on the Framework sheet"))
            continue
        if key in mapping:
            problems.append(Problem(table.header_address(header), f"indicator '{text}' again (first at {table.header_address(mapping[key])})", "each indicator in one column"))
            continue
        mapping[key] = header
    for key in expected:
        if key not in mapping:
            problems.append(Problem(table.sheet, f"no column for '{labels.get(key, key)}'", "one column per indicator of this dimension, as on the Framework sheet"))
    return mapping, problems


def read_dimension_values(
    table: SheetTable, framework: Framework, dimension: str, cities: list[str]
) -> tuple[pd.DataFrame, dict, dict, list[Problem]]:
    """Read one dimension's data table into floats.

    Returns ``(values, addresses, column_addresses, problems)``: ``values`` indexed by
    city in edition order with one float column per input column of the dimension (NaN
    = no value); ``addresses`` maps (city, column) to the A1 reference of the cell.
    """
    expected = framework.input_columns(dimension)
    labels = framework.column_labels()
    rows, problems = match_city_rows(table, cities)
    columns, column_problems = match_columns(table, expected, labels)
    problems += column_problems
    n = len(cities)
    prescored = {v.name for v in framework.variables_of(dimension) if v.prescored}
    tiers = {i.id: i.direction.points for v in framework.variables_of(dimension) if not v.prescored for i in v.indicators if i.direction.kind == "tiers"}
    data: dict[str, list[float]] = {}
    addresses: dict = {}
    column_addresses: dict = {key: table.header_address(header) for key, header in columns.items()}
    for key in expected:
        header = columns.get(key)
        out: list[float] = []
        for city in cities:
            row = rows.get(city)
            if header is None or row is None:
                out.append(math.nan)
                continue
            where = table.address(row, header)
            addresses[(city, key)] = where
            number, found, severity = parse_number(table.frame.at[row, header])
            if found is not None:
                expected_text = "a number, or a blank cell for no value" if severity == "error" else "a number or a blank cell"
                problems.append(Problem(where, found, expected_text, severity))
            if not math.isnan(number) and key in prescored:
                if not float(number).is_integer() or not 1 <= number <= n:
                    problems.append(Problem(where, f"score {_text(number)} for pre-scored '{key}'", f"a whole score from 1 to {n}"))
                    number = math.nan
            elif math.isnan(number) and key in prescored and found is None:
                problems.append(Problem(where, f"a blank score for pre-scored '{key}'", f"a whole score from 1 to {n} (a pre-scored variable is taken as given)"))
            if not math.isnan(number) and key in tiers:
                if not float(number).is_integer() or not 1 <= number <= len(tiers[key]):
                    problems.append(Problem(where, f"tier {_text(number)}", f"a whole tier number from 1 to {len(tiers[key])} (the points table has {len(tiers[key])} entries)"))
                    number = math.nan
            out.append(number)
        data[key] = out
    frame = pd.DataFrame(data, index=pd.Index(cities, name="city"), columns=expected, dtype="float64")
    return frame, addresses, column_addresses, problems


def read_published(table: SheetTable, framework: Framework, cities: list[str]) -> tuple[pd.DataFrame, list[Problem]]:
    """Published figures (``city``, one column per dimension, ``overall``, ``overall_rank``).

    Missing columns or cells are NaN (nothing to reconcile); unreadable cells are warnings.
    """
    problems: list[Problem] = []
    rows, city_problems = match_city_rows(table, cities)
    problems += [Problem(p.where, p.found, p.expected, "warning") for p in city_problems]
    wanted = list(framework.dimensions) + ["overall", "overall_rank"]
    headers = {_text(h).casefold(): h for h in table.frame.columns}
    data = {}
    for name in wanted:
        header = headers.get(name.casefold())
        column = []
        for city in cities:
            row = rows.get(city)
            if header is None or row is None:
                column.append(math.nan)
                continue
            number, found, severity = parse_number(table.frame.at[row, header])
            if found is not None:
                problems.append(Problem(table.address(row, header), found, "a published figure (a number)", "warning"))
            column.append(number)
        data[name] = column
    return pd.DataFrame(data, index=pd.Index(cities, name="city"), dtype="float64"), problems


def check_problems(problems: list[Problem]) -> None:
    """Raise :class:`InputError` with every problem when any of them blocks scoring."""
    if any(p.blocking for p in problems):
        raise InputError(problems)

"""Input checks: turn the tables a reader found into the frames the core scores.

Every check runs over the whole input and collects :class:`~cityopp_xl.errors.Problem`
records that name the cell; :func:`check_problems` raises once with the whole list.

Accepted cell contents in a data column (documented in the README):

* a number; a blank cell (no value: scores 1);
* text holding a number, read after Unicode NFKC normalisation (so full-width
  ``１２３``, ``１５％`` and ``，`` read as ``123``, ``15%`` and ``,``): digits 0-9 with an
  optional sign (``-``, ``+`` or the minus sign ``−``), decimal point and exponent;
  spaces anywhere (``1 234``, non-breaking too); thousands separators in groups of three
  (``12,345``, ``1,234.5``); a trailing percent sign (``15%`` reads as 0.15);
* the markers ``n/a``, ``NA``, ``-``, ``—``, ``–``, ``..``, ``null``, ``none`` and ``nan``
  (any case) read as a blank cell, with a warning;
* anything else is an error that blocks scoring: other text (``1.2万``, ``12,5``,
  ``(12)``, ``inf``), booleans, dates and times, Excel error values such as ``#DIV/0!``,
  a formula with no saved value, a number too large for a float.

City names match the Cities sheet exactly after trimming spaces; a near miss (different
case, apostrophe, spacing, full-width letters) is reported with the name it probably
means and never matched silently.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError, Problem
from .model import Framework, SheetTable, Settings, _text, column_letter, column_values

MISSING_MARKERS = {"n/a", "na", "-", "—", "–", "..", "null", "none", "nan"}
EXCEL_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", re.ASCII)
_GROUPED = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", re.ASCII)
#: Longest text quoted in a message before it is cut short.
QUOTE_LIMIT = 60


def show_number(number: float) -> str:
    """A number for a message: whole numbers without a decimal point, at most 15 digits."""
    if float(number).is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.15g}"


def quote_cell(value) -> str:
    """A cell's text quoted for a message: control characters escaped, long text cut."""
    text = str(value)
    if len(text) > QUOTE_LIMIT:
        text = text[: QUOTE_LIMIT - 1] + "…"
    text = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)
    return f"'{text}'"


@dataclass
class Inputs:
    """Everything a run scores, as frames.

    ``values``: index ``city`` (edition order), one float column per input column of the
    framework (indicator ids, and the variable name of each pre-scored variable); NaN =
    no value. ``published``: index ``city``, one column per dimension plus ``overall`` and
    ``overall_rank`` as printed (NaN where not given), or None.
    ``addresses``: (city, column) → A1 reference of the source cell, for messages.
    ``table_copies``: sheet → :class:`~cityopp_xl.provenance.TableCopy` of each input
    table as the workbook held it (for the stale check and diffs); empty when the inputs
    did not come from a workbook.
    ``notes``: the transcription notes (:func:`~cityopp_xl.datanotes.read_transcription_notes`),
    or None when the workbook has none. ``published_addresses``: (city, published column)
    → A1 reference of the Published sheet's cell.
    """

    framework: Framework
    values: pd.DataFrame
    settings: Settings = field(default_factory=Settings)
    published: pd.DataFrame | None = None
    addresses: dict = field(default_factory=dict, repr=False)
    column_addresses: dict = field(default_factory=dict, repr=False)
    table_copies: dict = field(default_factory=dict, repr=False)
    notes: pd.DataFrame | None = None
    published_addresses: dict = field(default_factory=dict, repr=False)


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
        return math.nan, f"the formula {quote_cell(str(value))} with no calculated value saved (open and save the workbook in Excel, or paste values)", "error"
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return math.nan, f"the boolean {str(bool(value)).upper()}", "error"
    if isinstance(value, _dt.time):
        return math.nan, f"the time {value.isoformat()}", "error"
    if isinstance(value, (_dt.date, _dt.datetime, pd.Timestamp)):
        shown = value.date() if isinstance(value, _dt.datetime) and value.time() == _dt.time() else value
        return math.nan, f"the date {shown}", "error"
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            number = float(value)
        except OverflowError:
            return math.nan, "a number too large to score", "error"
        if math.isnan(number):
            return math.nan, None, ""
        if math.isinf(number):
            return math.nan, f"{number}", "error"
        return number, None, ""
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if text == "":
        return math.nan, None, ""
    if text.upper() in EXCEL_ERRORS:
        return math.nan, f"the Excel error {text.upper()}", "error"
    if text.lower() in MISSING_MARKERS:
        return math.nan, f"{quote_cell(value)} (read as a blank: no value, scores 1)", "warning"
    body = re.sub(r"\s", "", text).replace("\u2212", "-")
    percent = body.endswith("%")
    if percent:
        body = body[:-1]
    if _GROUPED.fullmatch(body):
        body = body.replace(",", "")
    if _NUMBER.fullmatch(body):
        number = float(body)
        if math.isinf(number):
            return math.nan, f"{quote_cell(value)}, a number too large to score", "error"
        return (number / 100 if percent else number), None, ""
    return math.nan, quote_cell(value), "error"


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
        problems.append(Problem(table.header_row_address(), "no 'city' header", "'city' in the first header cell"))
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
        where = table.address(frame.index[0], column) if len(frame.index) else f"{table.sheet}!A{table.first_row}"
        listed = f" ('{cities[0]}')" if cities else ""
        problems.append(Problem(where, f"{len(cities)} cit{'y' if len(cities) == 1 else 'ies'}{listed} on the Cities sheet", "at least 2 cities to rank (scores are ranks among the cities)"))
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
    loose: dict[str, str] = {}  # made when a name is not known (most tables have none)
    rows: dict[str, object] = {}
    misspelled: set[str] = set()
    problems: list[Problem] = []
    names = frame[column].tolist() if frame.columns.is_unique else [frame.at[row, column] for row in frame.index]
    for row, value in zip(frame.index, names):
        name = _text(value)
        if not name:
            others = [frame.at[row, c] for c in frame.columns if c != column]
            if any(_text(v) for v in others):
                problems.append(Problem(table.address(row, column), "a blank city name on a row with data", "a city name from the Cities sheet"))
            continue
        if name not in known:
            if not loose:
                loose.update((canonical_city(c), c) for c in cities)
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
    column_range = _column_range(table, column)
    for city in cities:
        if city not in rows and city not in misspelled:
            problems.append(Problem(column_range, f"no row for city '{city}'", "one row per city of the Cities sheet"))
    return rows, problems


def _column_range(table: SheetTable, column) -> str:
    """The A1 range of a table column's body (``Sheet!A5:A11``), or its header when empty."""
    if not len(table.frame.index):
        return table.header_address(column)
    first = table.address(table.frame.index[0], column)
    last = table.address(table.frame.index[-1], column).split("!", 1)[1]
    return f"{first}:{last}"


# --------------------------------------------------------------------------- data sheets


def match_columns(table: SheetTable, expected: list[str], labels: dict[str, str]) -> tuple[dict[str, object], list[Problem]]:
    """Map each expected input column (indicator id or pre-scored variable) to a header.

    A header matches its column when it equals the column's label (``"1 Total GDP"``),
    the bare key (``"1"`` or the variable name), or starts with the indicator id followed
    by a space. A header whose id is one indicator's and whose name is another's
    (``"3 Total GDP"``) is an error naming both: which of the two was meant cannot be known.
    """
    problems: list[Problem] = []
    mapping: dict[str, object] = {}
    headers = list(table.frame.columns)[1:]
    by_text = {}
    for key in expected:
        by_text[labels.get(key, key).strip().casefold()] = key
        by_text[key.strip().casefold()] = key
    # Every indicator's name (from its label "<id> <name>"), to catch an id and a name that disagree.
    by_name = {" ".join(label[len(key) + 1 :].split()).casefold(): key for key, label in labels.items() if label.startswith(key + " ")}
    for header in headers:
        text = _text(header)
        if not text:
            if table.frame[header].map(_text).astype(bool).any():
                problems.append(Problem(table.header_address(header), "a column of data without a header", "an indicator header such as '1 Total GDP'"))
            continue
        key = by_text.get(text.casefold())
        if key is None:
            token, _, rest = text.partition(" ")
            key = token if token in expected and labels.get(token, "").startswith(token + " ") else None
            other = by_name.get(" ".join(rest.split()).casefold())
            if key is not None and other is not None and other != key:
                problems.append(
                    Problem(
                        table.header_address(header),
                        f"header '{text}': id {key} is indicator '{labels[key]}', but '{rest.strip()}' names indicator '{labels[other]}'",
                        f"a header whose id and indicator name agree ('{labels[key]}' or '{labels[other]}', as on the Framework sheet)",
                    )
                )
        if key is None:
            problems.append(Problem(table.header_address(header), f"column '{text}'", "an indicator of this dimension as listed on the Framework sheet"))
            continue
        if key in mapping:
            problems.append(Problem(table.header_address(header), f"indicator '{text}' again (first at {table.header_address(mapping[key])})", "each indicator in one column"))
            continue
        mapping[key] = header
    columns = list(table.frame.columns)
    header_row = table.header_address(columns[0]) + (":" + table.header_address(columns[-1]).split("!", 1)[1] if len(columns) > 1 else "")
    for key in expected:
        if key not in mapping:
            problems.append(Problem(header_row, f"no column for '{labels.get(key, key)}'", "one column per indicator of this dimension, as on the Framework sheet"))
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
    tiers = {i.id: i.direction.points for v in framework.variables_of(dimension) if not v.prescored for i in v.indicators if not i.direction.ranked}
    data: dict[str, list[float]] = {}
    addresses = CellAddresses()
    column_addresses: dict = {key: table.header_address(header) for key, header in columns.items()}
    plain = _PlainColumns(table, rows, cities)
    for key in expected:
        header = columns.get(key)
        read = plain.read(header, n if key in prescored else None, len(tiers[key]) if key in tiers else None) if header is not None else None
        if read is not None:
            data[key], prefix = read
            addresses.add_column(key, prefix, plain.row_numbers)
            continue
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
                    problems.append(Problem(where, f"score {show_number(number)} for pre-scored '{key}'", f"a whole score from 1 to {n}"))
                    number = math.nan
            elif math.isnan(number) and key in prescored and found is None:
                problems.append(Problem(where, f"a blank score for pre-scored '{key}'", f"a whole score from 1 to {n} (a pre-scored variable is taken as given)"))
            if not math.isnan(number) and key in tiers:
                if not float(number).is_integer() or not 1 <= number <= len(tiers[key]):
                    problems.append(Problem(where, f"tier {show_number(number)}", f"a whole tier number from 1 to {len(tiers[key])} (the points table has {len(tiers[key])} entries)"))
                    number = math.nan
            out.append(number)
        data[key] = out
    frame = _float_frame(data, expected, cities)
    problems += find_uninformative_data(table, frame, columns, dimension)
    return frame, addresses, column_addresses, problems


class _PlainColumns:
    """Reads the columns of a data table that hold only plain numbers and blank cells in one
    step each: at 3,000 cities x 300 indicators the cell-by-cell rules took most of a
    Recalculate (bench/run.py). A column with anything else (text, booleans, dates, an
    infinite number) or a value its checks would report is read cell by cell instead, so
    what is read and every message stay exactly the same."""

    _TYPES = {float, int, type(None)}

    def __init__(self, table: SheetTable, rows: dict, cities: list[str]):
        self.table = table
        self.located = [city for city in cities if city in rows]
        index = table.frame.index
        self.positions = np.array([index.get_loc(rows[city]) for city in self.located], dtype="int64")
        self.slots = np.array([i for i, city in enumerate(cities) if city in rows], dtype="int64")
        self.count = len(cities)
        self.usable = table.frame.columns.is_unique and table.style == "a1" and all(isinstance(p, (int, np.integer)) for p in self.positions.tolist())
        #: city -> sheet row of its cells, shared by the addresses of every plain column
        self.row_numbers = dict(zip(self.located, (table.first_row + p for p in self.positions.tolist())))
        self.block: np.ndarray | None = None

    def read(self, header, score_limit: int | None, tier_limit: int | None) -> tuple[np.ndarray, str] | None:
        """``(values of every city, NaN where no row; the column's A1 prefix such as
        "D1 data!C")``, or None when the column must be read cell by cell. ``score_limit``: the column
        holds pre-scored scores 1..limit; ``tier_limit``: tier numbers 1..limit."""
        if not self.usable:
            return None
        if self.block is None:  # the table's cells as one object array, made once
            self.block = self.table.frame.to_numpy(dtype=object)
        position = self.table.column_position(header)
        cells = self.block[self.positions, position].tolist()
        if not set(map(type, cells)) <= self._TYPES:
            return None
        try:
            numbers = np.array(cells, dtype="float64")
        except OverflowError:
            return None
        if np.isinf(numbers).any():
            return None
        given = numbers[~np.isnan(numbers)]
        for limit in (score_limit, tier_limit):
            if limit is not None and not ((given == np.floor(given)) & (given >= 1) & (given <= limit)).all():
                return None
        if score_limit is not None and len(given) < len(numbers):
            return None  # a blank pre-scored score is reported
        values = np.full(self.count, np.nan)
        values[self.slots] = numbers
        return values, f"{self.table.sheet}!{column_letter(self.table.first_col + position)}"


class CellAddresses(Mapping):
    """(city, column) → A1 reference of the source cell (``"D1 data!C7"``), as a read-only
    mapping in reading order.

    A column read in one step is kept as its A1 prefix and the cities' sheet rows (shared
    by the columns of a table), and its references are made when asked: 900,000 strings
    at 3,000 cities x 300 indicators were 150 MB of a Recalculate (bench/run.py).
    """

    def __init__(self):
        self._columns: dict = {}  # column -> (prefix, {city: row}) or {city: reference}

    def add_column(self, column, prefix: str, rows: dict) -> None:
        """Every city of ``rows`` (city → sheet row) has its cell at ``prefix`` + row."""
        self._columns[column] = (prefix, rows)

    def __setitem__(self, pair, reference: str) -> None:
        city, column = pair
        cells = self._columns.get(column)
        if isinstance(cells, tuple):
            cells = self._columns[column] = {c: f"{cells[0]}{row}" for c, row in cells[1].items()}
        elif cells is None:
            cells = self._columns[column] = {}
        cells[city] = reference

    def update(self, other) -> None:
        if isinstance(other, CellAddresses):
            for column, cells in other._columns.items():
                if column in self._columns:
                    for city in (cells[1] if isinstance(cells, tuple) else cells):
                        self[(city, column)] = other[(city, column)]
                else:
                    self._columns[column] = cells
        else:
            for pair, reference in dict(other).items():
                self[pair] = reference

    def cells_of(self, column) -> dict:
        """Each city's cell of ``column`` as ``(prefix, row)``: ``("D1 data!C", 7)`` for
        ``"D1 data!C7"`` (empty for a column with no cell). A column read in one step is
        never made into references."""
        cells = self._columns.get(column)
        if cells is None:
            return {}
        if isinstance(cells, tuple):
            prefix, rows = cells
            return {city: (prefix, row) for city, row in rows.items()}
        split = {}
        for city, reference in cells.items():
            prefix = reference.rstrip("0123456789")
            if len(prefix) < len(reference):
                split[city] = (prefix, int(reference[len(prefix) :]))
        return split

    def __getitem__(self, pair) -> str:
        try:
            city, column = pair
            cells = self._columns[column]
            if isinstance(cells, tuple):
                return f"{cells[0]}{cells[1][city]}"
            return cells[city]
        except (KeyError, TypeError, ValueError):
            raise KeyError(pair) from None

    def __iter__(self):
        for column, cells in self._columns.items():
            for city in (cells[1] if isinstance(cells, tuple) else cells):
                yield (city, column)

    def __len__(self) -> int:
        return sum(len(cells[1] if isinstance(cells, tuple) else cells) for cells in self._columns.values())

    def __repr__(self) -> str:
        return f"CellAddresses({len(self)} cells)"


def find_uninformative_data(table: SheetTable, frame: pd.DataFrame, headers: dict, dimension: str) -> list[Problem]:
    """Warnings for data that cannot tell cities apart (scoring goes on; every city gets
    the same score): a data sheet whose cells are all blank, a blank column while others
    have values, or a sheet where every column holds one value repeated for every city
    (a value filled down by mistake)."""
    located = [key for key in frame.columns if key in headers]
    rows = table.frame.index
    if not located or not len(rows):
        return []
    columns = list(table.frame.columns)
    ordered = sorted((columns.index(headers[key]), key) for key in located)
    corner = table.address(rows[-1], headers[ordered[-1][1]]).split("!", 1)[1]
    body = f"{table.address(rows[0], headers[ordered[0][1]])}:{corner}"
    # A column with a number for a city is not blank; only the others are read as texts.
    array = frame.to_numpy(dtype="float64")
    numbered = dict(zip(frame.columns, (~np.isnan(array)).any(axis=0).tolist()))
    blank = {key: not numbered[key] and all(_text(v) == "" for v in table.frame[headers[key]].tolist()) for key in located}
    if all(blank.values()):
        return [Problem(body, f"no value at all in the data of '{dimension}' (every city scores 1 in each of its indicators)", "the dimension's values (scoring goes on)", "warning")]
    problems = []
    for _, key in ordered:
        if blank[key]:
            problems.append(Problem(_column_range(table, headers[key]), f"no value for any city in column '{_text(headers[key])}' (every city scores 1)", "the indicator's values (scoring goes on)", "warning"))
    # On the float array (``frame`` is float64): without a blank, nunique() == 1 is every
    # row equal to the first. Through pandas (a column selection, isna, nunique) this was
    # 0.01 s of a Recalculate of the 2025 master.
    values = array if len(located) == len(frame.columns) else array[:, [frame.columns.get_loc(key) for key in located]]
    if len(values) > 1 and not np.isnan(values).any() and (values == values[0]).all():
        problems.append(Problem(body, f"the same value for every city in each column of '{dimension}' (every city gets the same score)", "values that tell cities apart (scoring goes on)", "warning"))
    return problems


def find_nothing_to_score(values: pd.DataFrame, where: str) -> list[Problem]:
    """An error when ``values`` (cities x input columns) holds no value at all: every city
    would tie in every indicator, so a ranking would be made up. ``where`` names the data
    (``D1 data to D10 data``, a CSV file). One blank dimension is only a warning
    (:func:`find_uninformative_data`)."""
    if values.size and values.notna().to_numpy().any():
        return []
    return [Problem(where, "no value at all (every input cell is blank, so every city would tie everywhere)", "the edition's values: with none there is nothing to score")]


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
        cells = column_values(table.frame, header) if header is not None else {}
        column = []
        for city in cities:
            row = rows.get(city)
            if header is None or row is None:
                column.append(math.nan)
                continue
            number, found, severity = parse_number(cells[row])
            if found is not None:
                problems.append(Problem(table.address(row, header), found, "a published figure (a number)", "warning"))
            column.append(number)
        data[name] = column
    return _float_frame(data, wanted, cities), problems


def _float_frame(data: dict, columns: list[str], cities: list[str]) -> pd.DataFrame:
    """The float frame of ``data`` (column → one value per city), indexed ``city``, built
    as one block filled a column at a time (a frame made from the dict of columns
    converts and joins each one: twice the time)."""
    block = np.empty((len(cities), len(columns)), dtype="float64")
    for position, column in enumerate(columns):
        block[:, position] = data[column]
    return pd.DataFrame(block, index=pd.Index(cities, name="city"), columns=columns)


def check_problems(problems: list[Problem]) -> None:
    """Raise :class:`InputError` with every problem when any of them blocks scoring."""
    if any(p.blocking for p in problems):
        raise InputError(problems)
